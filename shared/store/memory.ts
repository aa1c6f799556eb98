// The in-memory double of the store, with the Firestore adapter's semantics:
// records are cloned on the way in and out, and every change runs alone (one
// lock for the whole store), so concurrent calls behave like transactions.
// Slots are sharded as on Firestore (rules.ts SLOT_SHARDS, shardCap): the
// same shard is taken, refused or given back as there.
import { mergeBuild, type BuildRecord } from '../builds/record';
import { approvalId, buildId } from '../domain/naming';
import { isTerminal, type TestRecord } from '../domain/test';
import { createKeyedLock } from './keyed-lock';
import {
  DEADLINE_STATUSES,
  type ApprovalRecord,
  type DeliveryRecord,
  type Lease,
  type PlatformSwitch,
  type SlotOutcome,
  type TestStore,
  type TransitionResult,
} from './port';
import {
  assertCreateBatch,
  assertLeaseName,
  assertListByStatusOptions,
  assertMaxConcurrent,
  assertStatusFilter,
  isDeletionDue,
  isStatusCheckDue,
  listLimit,
  mayRecordDeletion,
  mayTakeLease,
  normalizeApproval,
  normalizeBuild,
  normalizeDelivery,
  ALL_SHARDS,
  planReconcile,
  planRelease,
  planShardedAcquire,
  planTransition,
  recordedShard,
  shardsToRelease,
  statusCheckAfterPost,
  withSlotShard,
  type Holders,
} from './rules';

type Order = 'asc' | 'desc';

type SortKey = (test: TestRecord) => Date | null | undefined;

function byField(
  field:
    | 'createdAt'
    | 'updatedAt'
    | 'deadlineAt'
    | 'headUpdatedAt'
    | 'waitingSince'
    | 'statusCheckAt'
    | SortKey,
  order: Order,
) {
  const sign = order === 'asc' ? 1 : -1;
  const key: SortKey = typeof field === 'function' ? field : (test) => test[field];
  return (a: TestRecord, b: TestRecord): number => {
    const diff = (key(a)?.getTime() ?? 0) - (key(b)?.getTime() ?? 0);
    if (diff !== 0) return sign * diff;
    return sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  };
}

export function createMemoryStore(): TestStore {
  const tests = new Map<string, TestRecord>();
  const deliveries = new Map<string, DeliveryRecord>();
  const approvals = new Map<string, ApprovalRecord>();
  const builds = new Map<string, BuildRecord>();
  /** Each platform's shards, SLOT_SHARDS of them. */
  const capacity = new Map<string, Holders[]>();
  const leases = new Map<string, Lease>();
  const switches = new Map<string, PlatformSwitch>();
  const lock = createKeyedLock();

  // Like a database transaction: `read` takes a snapshot, the turn passes (as a
  // round trip would), then `write` acts on the snapshot. Only the lock keeps
  // racing calls from acting on the same stale snapshot.
  const transact = <S, T>(read: () => S, write: (snapshot: S) => T): Promise<T> =>
    lock.run(['store'], async () => {
      const snapshot = read();
      await new Promise<void>((resolve) => setImmediate(resolve));
      return write(snapshot);
    });

  const select = (
    keep: (test: TestRecord) => boolean,
    sort: (a: TestRecord, b: TestRecord) => number,
    limit: number,
  ): Promise<TestRecord[]> =>
    Promise.resolve([...tests.values()].filter(keep).sort(sort).slice(0, limit).map(clone));

  /** A copy of `platform`'s shards. */
  const shardsOf = (platform: string): Holders[] =>
    ALL_SHARDS.map((shard) => ({ ...capacity.get(platform)?.[shard] }));
  const setShard = (platform: string, shard: number, holders: Holders): void => {
    const shards = capacity.get(platform) ?? ALL_SHARDS.map(() => ({}));
    shards[shard] = holders;
    capacity.set(platform, shards);
  };
  /** Gives back `testId`'s slot in whichever of `shards` holds it: whether one did. */
  const releaseIn = (
    platform: string,
    holders: readonly Holders[],
    testId: string,
    shards: readonly number[],
  ): boolean => {
    let released = false;
    for (const shard of shards) {
      const plan = planRelease(holders[shard] ?? {}, testId);
      if (plan.released) setShard(platform, shard, plan.holders);
      released ||= plan.released;
    }
    return released;
  };
  /** Notes `shard` as the test's slot (null: none), without touching anything else of it. */
  const recordShard = (testId: string, shard: number | null): void => {
    const test = tests.get(testId);
    if (test) tests.set(testId, withSlotShard(test, shard));
  };

  return {
    async createTests(input) {
      assertCreateBatch(input);
      const copies = input.map(clone);
      return transact(
        () => copies.map((test) => tests.has(test.id)),
        (present) => {
          const created: string[] = [];
          const existing: string[] = [];
          copies.forEach((test, i) => {
            if (present[i]) {
              existing.push(test.id);
            } else {
              tests.set(test.id, test);
              created.push(test.id);
            }
          });
          return { created, existing };
        },
      );
    },

    async createTestsForDelivery(input, records) {
      assertCreateBatch(input);
      const copies = input.map(clone);
      const normalized = records.map(normalizeDelivery);
      return transact(
        () => ({
          seen: normalized.map((r) => deliveries.get(r.id)).find((r) => r !== undefined),
          present: copies.map((test) => tests.has(test.id)),
        }),
        ({ seen, present }) => {
          if (seen) return { seen: clone(seen) };
          const created: string[] = [];
          const existing: string[] = [];
          copies.forEach((test, i) => {
            if (present[i]) existing.push(test.id);
            else {
              tests.set(test.id, test);
              created.push(test.id);
            }
          });
          for (const record of normalized) deliveries.set(record.id, record);
          return { created, existing };
        },
      );
    },

    async getTest(id) {
      const test = tests.get(id);
      return test ? clone(test) : null;
    },

    async recordStatusPosted(id, posted) {
      const copy = clone(posted);
      return transact(
        () => tests.has(id),
        (present) => {
          const test = tests.get(id);
          if (!present || !test) return { recorded: false as const };
          const statusCheckAt = statusCheckAfterPost(test, copy);
          const noted = { ...test, githubStatus: copy, statusCheckAt };
          tests.set(id, noted);
          return { recorded: true as const, test: clone(noted) };
        },
      );
    },

    async listDueStatusChecks(now, limit) {
      const checked = listLimit(limit);
      return select(
        (t) => isTerminal(t.status) && isStatusCheckDue(t, now),
        byField('statusCheckAt', 'asc'),
        checked,
      );
    },

    async claimStatusCheck(id, expected, next) {
      const to = next && new Date(next);
      return transact(
        () => tests.get(id)?.statusCheckAt?.getTime(),
        (seen) => {
          const test = tests.get(id);
          if (!test || seen === undefined || seen !== expected.getTime()) {
            return { claimed: false as const };
          }
          const claimed = { ...test, statusCheckAt: to };
          tests.set(id, claimed);
          return { claimed: true as const, test: clone(claimed) };
        },
      );
    },

    async listWaitingBefore(platform, reason, before, limit) {
      const checked = listLimit(limit);
      return select(
        (t) =>
          t.status === 'waiting' &&
          t.platform === platform &&
          t.waitReason === reason &&
          t.waitingSince !== null &&
          t.waitingSince.getTime() < before.getTime(),
        byField('waitingSince', 'asc'),
        checked,
      );
    },

    async recordDeletion(id, deletion, expect) {
      const copy = clone(deletion);
      return transact(
        () => tests.get(id),
        (snapshot) => {
          if (!snapshot || !mayRecordDeletion(snapshot.deletion, copy, expect)) {
            return { recorded: false };
          }
          const test = tests.get(id)!;
          tests.set(id, { ...test, deletion: copy });
          return { recorded: true };
        },
      );
    },

    async listBySha(repo, sha, opts = {}) {
      const limit = listLimit(opts.limit);
      return select((t) => t.repo === repo && t.sha === sha, byField('createdAt', 'asc'), limit);
    },

    async listByPr(repo, pr, opts = {}) {
      const limit = listLimit(opts.limit);
      const statuses = opts.statuses;
      if (statuses) assertStatusFilter(statuses);
      return select(
        (t) => t.repo === repo && t.pr === pr && (!statuses || statuses.includes(t.status)),
        byField('createdAt', 'desc'),
        limit,
      );
    },

    async listRecent(filter, opts) {
      const limit = listLimit(opts.limit);
      const before = opts.createdBefore?.getTime();
      return select(
        (t) =>
          (filter.repo === undefined || t.repo === filter.repo) &&
          (filter.platform === undefined || t.platform === filter.platform) &&
          (filter.status === undefined || t.status === filter.status) &&
          (before === undefined || t.createdAt.getTime() < before),
        byField('createdAt', 'desc'),
        limit,
      );
    },

    async countByStatus(platform, status) {
      return [...tests.values()].filter((t) => t.platform === platform && t.status === status)
        .length;
    },

    async setPlatformSwitch(value) {
      await transact(
        () => null,
        () => switches.set(value.platform, { ...value, at: new Date(value.at) }),
      );
    },

    async listPlatformSwitches() {
      return [...switches.values()]
        .sort((a, b) => (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0))
        .map((value) => ({ ...value, at: new Date(value.at) }));
    },

    async listByPrHead(repo, pr, opts = {}) {
      const limit = listLimit(opts.limit);
      // A null headUpdatedAt counts as 0: last when newest comes first, as on Firestore.
      return select((t) => t.repo === repo && t.pr === pr, byField('headUpdatedAt', 'desc'), limit);
    },

    async transition(id, move) {
      if (move.slot?.op === 'acquire') assertMaxConcurrent(move.slot.maxConcurrent);
      const copy = clone(move);
      const read = () => {
        const stored = tests.get(id);
        return stored && { stored: clone(stored), shards: shardsOf(stored.platform) };
      };
      return transact(read, (snapshot): TransitionResult => {
        if (!snapshot) return { ok: false, reason: 'not_found' };
        const { stored, shards } = snapshot;
        const { platform } = stored;
        const plan = planTransition(stored, copy);
        if (!plan.ok) return plan;
        let next = plan.next;
        let slot: SlotOutcome | undefined;
        if (copy.slot?.op === 'acquire') {
          const recorded = recordedShard(stored, platform);
          const acquire = planShardedAcquire(
            shards,
            recorded,
            id,
            copy.slot.maxConcurrent,
            copy.at,
          );
          if (!acquire.acquired) {
            return { ok: false, reason: 'no_capacity', current: stored, holders: acquire.count };
          }
          setShard(platform, acquire.shard, acquire.holders);
          next = withSlotShard(next, acquire.shard);
          slot = { op: 'acquire', alreadyHeld: acquire.alreadyHeld, shard: acquire.shard };
        } else if (copy.slot?.op === 'release') {
          const where = shardsToRelease(recordedShard(stored, platform));
          const released = releaseIn(platform, shards, id, where);
          next = withSlotShard(next, null);
          slot = { op: 'release', released };
        }
        tests.set(id, clone(next));
        return { ok: true, test: next, previous: stored, ...(slot ? { slot } : {}) };
      });
    },

    async listByStatus(status, opts) {
      const limit = listLimit(opts.limit);
      assertListByStatusOptions(opts);
      const before = opts.updatedBefore?.getTime();
      return select(
        (t) =>
          t.status === status &&
          (opts.platform === undefined || t.platform === opts.platform) &&
          (opts.waitReason === undefined || t.waitReason === opts.waitReason) &&
          (before === undefined || t.updatedAt.getTime() < before),
        byField('updatedAt', 'asc'),
        limit,
      );
    },

    async listPastDeadline(now, limit) {
      const checked = listLimit(limit);
      const live: readonly string[] = DEADLINE_STATUSES;
      return select(
        (t) => live.includes(t.status) && t.deadlineAt !== null && t.deadlineAt < now,
        byField('deadlineAt', 'asc'),
        checked,
      );
    },

    async listDueDeletions(now, limit) {
      const checked = listLimit(limit);
      return select(
        (t) => isDeletionDue(t.deletion, now),
        byField((t) => t.deletion?.nextCheckAt, 'asc'),
        checked,
      );
    },

    async recordDelivery(record) {
      const normalized = normalizeDelivery(record);
      return transact(
        () => deliveries.get(normalized.id),
        (existing) => {
          if (existing) return { first: false, record: clone(existing) };
          deliveries.set(normalized.id, normalized);
          return { first: true, record: clone(normalized) };
        },
      );
    },

    async setDeliveryAnswer(id, response) {
      const record = deliveries.get(id);
      if (record) deliveries.set(id, normalizeDelivery({ ...record, response }));
    },

    async getDelivery(id) {
      const record = deliveries.get(id);
      return record ? clone(record) : null;
    },

    async recordApproval(record) {
      const normalized = normalizeApproval(record);
      const id = approvalId(normalized.repo, normalized.pr, normalized.sha);
      return transact(
        () => approvals.get(id),
        (existing) => {
          if (existing) return { first: false, record: clone(existing) };
          approvals.set(id, normalized);
          return { first: true, record: clone(normalized) };
        },
      );
    },

    async getApproval(repo, pr, sha) {
      const record = approvals.get(approvalId(repo, pr, sha));
      return record ? clone(record) : null;
    },

    async recordBuild(record) {
      const normalized = normalizeBuild(record);
      const id = buildId(normalized.repo, normalized.sha, normalized.workflow);
      return transact(
        () => builds.get(id),
        (existing) => {
          const kept = mergeBuild(existing ?? null, normalized);
          builds.set(id, kept);
          return { ...kept, at: new Date(kept.at) };
        },
      );
    },

    async getBuild(repo, sha, workflow) {
      const record = builds.get(buildId(repo, sha, workflow));
      return record ? { ...record, at: new Date(record.at) } : null;
    },

    async acquireSlot(platform, testId, maxConcurrent, at) {
      assertMaxConcurrent(maxConcurrent);
      const when = new Date(at);
      return transact(
        () => ({
          recorded: recordedShard(tests.get(testId) ?? null, platform),
          shards: shardsOf(platform),
        }),
        ({ recorded, shards }) => {
          const plan = planShardedAcquire(shards, recorded, testId, maxConcurrent, when);
          if (!plan.acquired) return { acquired: false, holders: plan.count };
          setShard(platform, plan.shard, plan.holders);
          // A test on this platform records its shard, as a transition's claim does.
          if (recorded.known && recorded.shard !== plan.shard) recordShard(testId, plan.shard);
          return { acquired: true, alreadyHeld: plan.alreadyHeld, shard: plan.shard };
        },
      );
    },

    async releaseSlot(platform, testId) {
      return transact(
        () => ({
          recorded: recordedShard(tests.get(testId) ?? null, platform),
          shards: shardsOf(platform),
        }),
        ({ recorded, shards }) => {
          const released = releaseIn(platform, shards, testId, shardsToRelease(recorded));
          if (recorded.known && recorded.shard !== null) recordShard(testId, null);
          return { released };
        },
      );
    },

    async reconcileSlot(platform, testId, at) {
      const when = new Date(at);
      return transact(
        () => ({ test: tests.get(testId) ?? null, shards: shardsOf(platform) }),
        ({ test, shards }) => {
          const plan = planReconcile(shards, platform, testId, test, when);
          for (const [shard, holders] of plan.writes) setShard(platform, shard, holders);
          const recorded = recordedShard(test, platform);
          if (recorded.known && recorded.shard !== plan.slotShard)
            recordShard(testId, plan.slotShard);
          return { change: plan.change, holders: plan.count };
        },
      );
    },

    async slotHolders(platform) {
      return shardsOf(platform)
        .flatMap((holders) => Object.keys(holders))
        .sort();
    },

    async takeLease(name, holder, at, until) {
      assertLeaseName(name);
      return transact(
        () => leases.get(name) ?? null,
        (current) => {
          if (!mayTakeLease(current, holder, at)) return { taken: false };
          leases.set(name, { holder, until: new Date(until.getTime()) });
          return { taken: true };
        },
      );
    },

    async releaseLease(name, holder) {
      assertLeaseName(name);
      return transact(
        () => leases.get(name) ?? null,
        (current) => {
          if (current?.holder !== holder) return { released: false };
          leases.delete(name);
          return { released: true };
        },
      );
    },
  };
}

/** Deep copy of records: plain objects, arrays, Dates. (structuredClone would make Dates of another realm under Jest.) */
function clone<T>(value: T): T {
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(clone) as T;
  if (typeof value === 'object' && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = clone(item);
    return copy as T;
  }
  return value;
}
