// The store on Firestore. Every change is a transaction (or a create()
// precondition). A platform's slots are spread over SLOT_SHARDS documents,
// `capacity/{platform}~{k}`, each with its share of maxConcurrent (rules.ts
// shardCap), changed only in transactions: a claim is one transaction on the
// test and one shard, so claims on one platform do not all queue on one
// document (Firestore sustains about one write a second per document), and
// the cap stays exact because each shard is checked against its own share.
// The test records its shard (`slotShard`) in the same transaction, so a
// release reads and writes that shard alone. Queries are built only from
// QUERY_SHAPES (firestore-queries.ts), whose composite indexes
// infra/gcp/firestore.indexes.json declares.
//
// Transactions that touch the same document from this process are queued
// in-process first (a keyed lock, per test and per shard): Firestore's answer
// to two transactions that read and then write the same document is a lock
// wait, then ABORTED and a retry with back-off (about 2 s per conflict on the
// emulator). The lock only avoids that cost within one instance; the
// transactions alone keep the guarantees between instances.
import {
  FieldValue,
  type DocumentReference,
  type DocumentSnapshot,
  type Firestore,
  type Transaction,
} from '@google-cloud/firestore';
import { mergeBuild } from '../builds/record';
import { approvalId, buildId, isValidFirestoreId } from '../domain/naming';
import { TERMINAL_STATUSES, type TestRecord, type TestStatus } from '../domain/test';
import {
  approvalFromDoc,
  approvalToDoc,
  buildFromDoc,
  buildToDoc,
  capacityShardId,
  capacityToDoc,
  deliveryFromDoc,
  deliveryToDoc,
  holdersFromDoc,
  leaseFromDoc,
  leaseToDoc,
  platformSwitchFromDoc,
  platformSwitchToDoc,
  testFromDoc,
  testToDoc,
  toFirestore,
} from './firestore-convert';
import {
  DEFAULT_COLLECTIONS,
  QUERY_SHAPES,
  RECENT_FILTERS,
  recentShape,
  runShape,
  type QueryShape,
  type StoreCollections,
} from './firestore-queries';
import { createKeyedLock } from './keyed-lock';
import {
  DEADLINE_STATUSES,
  type SlotOutcome,
  type SlotResult,
  type TestStore,
  type TransitionRequest,
  type TransitionResult,
} from './port';
import {
  ALL_SHARDS,
  assertCreateBatch,
  assertLeaseName,
  assertListByStatusOptions,
  assertMaxConcurrent,
  assertStatusFilter,
  listLimit,
  mayRecordDeletion,
  mayTakeLease,
  normalizeApproval,
  normalizeBuild,
  normalizeDelivery,
  planAcquire,
  planReconcile,
  planRelease,
  planShardedAcquire,
  planTransition,
  recordedShard,
  shardCap,
  shardProbeOrder,
  shardsHolding,
  shardsToRelease,
  statusCheckAfterPost,
  withSlotShard,
  type Holders,
} from './rules';

/**
 * The client gives up after 11 attempts whatever maxAttempts says (its
 * back-off allows 10 retries), failing with "Exceeded maximum number of
 * retries allowed."; that failure is thrown, for the caller's own retry.
 */
export const TRANSACTION_ATTEMPTS = 11;

export { DEFAULT_COLLECTIONS, QUERY_SHAPES, type QueryShape, type StoreCollections };

export interface FirestoreStoreOptions {
  db: Firestore;
  collections?: Partial<StoreCollections>;
}

const ALREADY_EXISTS = 6;
const NOT_FOUND = 5;

export function createFirestoreStore({ db, collections }: FirestoreStoreOptions): TestStore {
  const names = { ...DEFAULT_COLLECTIONS, ...collections };
  const tests = db.collection(names.tests);
  const deliveries = db.collection(names.deliveries);
  const capacity = db.collection(names.capacity);
  const approvals = db.collection(names.approvals);
  const builds = db.collection(names.builds);
  const leases = db.collection(names.leases);
  const platforms = db.collection(names.platforms);
  const lock = createKeyedLock();
  const testKey = (id: string) => `test:${id}`;
  const leaseKey = (name: string) => `lease:${name}`;
  const shardRef = (platform: string, shard: number) =>
    capacity.doc(capacityShardId(platform, shard));
  const shardKeys = (platform: string, shards: readonly (number | null | undefined)[]) =>
    shards.filter(isShard).map((shard) => `capacity:${capacityShardId(platform, shard)}`);

  /** `platform`'s `shards`, read in one call (in `tx`, or outside a transaction), by shard. */
  const readShards = async (
    tx: Transaction | null,
    platform: string,
    shards: readonly number[],
  ): Promise<Map<number, Holders>> => {
    const unique = [...new Set(shards)];
    if (unique.length === 0) return new Map();
    const refs = unique.map((shard) => shardRef(platform, shard));
    const snaps = tx ? await tx.getAll(...refs) : await db.getAll(...refs);
    return new Map(unique.map((shard, i) => [shard, holdersFromDoc(snaps[i]!)]));
  };

  const writeShard = (tx: Transaction, platform: string, shard: number, holders: Holders) =>
    tx.set(shardRef(platform, shard), capacityToDoc(platform, shard, holders));

  /**
   * The test and the `shards` of `platform` it is expected to need, in one read
   * of `tx` (one round trip, every lock taken at once); a shard found needed
   * after all (the test moved since it was read outside) is read on demand, in
   * the same transaction.
   */
  const readTestWith = async (
    tx: Transaction,
    ref: DocumentReference,
    platform: string,
    shards: readonly number[],
  ): Promise<{ snap: DocumentSnapshot; shards: TxShards }> => {
    const unique = [...new Set(shards)];
    const [snap, ...snaps] = await tx.getAll(ref, ...unique.map((k) => shardRef(platform, k)));
    const read = new Map(unique.map((k, i) => [k, holdersFromDoc(snaps[i]!)]));
    return { snap: snap!, shards: { tx, platform, read } };
  };

  /** `wanted` shards, as the transaction read them (reading those it has not yet). */
  const shardsIn = async (
    t: TxShards,
    wanted: readonly number[],
  ): Promise<ReadonlyMap<number, Holders>> => {
    const missing = wanted.filter((shard) => !t.read.has(shard));
    for (const [shard, holders] of await readShards(t.tx, t.platform, missing)) {
      t.read.set(shard, holders);
    }
    return t.read;
  };

  /**
   * One try of a claim on `shard` (null: no shard has a share), in a
   * transaction: a slot the test is known to hold is kept; otherwise `shard`
   * gives one if it has room under its cap. Needs the shard the test records
   * and `shard`. A test that tells nothing (no such test, another platform)
   * may hold a slot in any shard: every shard is read, and the claim decided
   * on all of them.
   */
  const claimIn = async (
    t: TxShards,
    testId: string,
    recorded: ReturnType<typeof recordedShard>,
    shard: number | null,
    maxConcurrent: number,
    at: Date,
  ): Promise<{ shard: number; alreadyHeld: boolean } | Full> => {
    if (!recorded.known) {
      const all = await shardsIn(t, ALL_SHARDS);
      const shards = ALL_SHARDS.map((k) => all.get(k)!);
      const plan = planShardedAcquire(shards, recorded, testId, maxConcurrent, at);
      if (!plan.acquired) return { full: true, count: null, total: plan.count };
      if (!plan.alreadyHeld) writeShard(t.tx, t.platform, plan.shard, plan.holders);
      return { shard: plan.shard, alreadyHeld: plan.alreadyHeld };
    }
    const read = await shardsIn(t, [recorded.shard, shard].filter(isShard));
    if (recorded.shard !== null && testId in read.get(recorded.shard)!) {
      return { shard: recorded.shard, alreadyHeld: true };
    }
    if (shard === null) return { full: true, count: null };
    const plan = planAcquire(read.get(shard)!, testId, shardCap(maxConcurrent, shard), at);
    if (!plan.acquired) return { full: true, count: plan.count };
    if (!plan.alreadyHeld) writeShard(t.tx, t.platform, shard, plan.holders);
    return { shard, alreadyHeld: plan.alreadyHeld };
  };

  /** Gives back `testId`'s slot in whichever of `shards` holds it: whether one did. */
  const releaseIn = async (
    t: TxShards,
    testId: string,
    shards: readonly number[],
  ): Promise<boolean> => {
    const read = await shardsIn(t, shards);
    let released = false;
    for (const shard of new Set(shards)) {
      const plan = planRelease(read.get(shard)!, testId);
      if (plan.released) writeShard(t.tx, t.platform, shard, plan.holders);
      released ||= plan.released;
    }
    return released;
  };

  /**
   * A claim over the shards in `order`: the first in a transaction (a free
   * preferred shard costs the claim no other read); when it is full, the
   * other shards of the order are read outside a transaction, and those with
   * room are tried in order, each in its own transaction that checks again.
   * The first answer that is not "full" is returned. All full: the shards
   * without a share are read too (they hold slots taken under a larger
   * maxConcurrent, or restored), for the platform's holders as last seen.
   */
  const probe = async <R extends object>(
    platform: string,
    order: readonly number[],
    maxConcurrent: number,
    attempt: (shard: number | null) => Promise<R | Full>,
  ): Promise<R | { allFull: true; holders: number; last: Full }> => {
    const first = order[0] ?? null;
    let last = await attempt(first);
    if (!isFull(last)) return last;
    if (last.total !== undefined) return { allFull: true, holders: last.total, last };
    const counts = new Map<number, number>();
    if (first !== null && last.count !== null) counts.set(first, last.count);
    const count = async (shards: readonly number[]) => {
      const unread = shards.filter((shard) => !counts.has(shard));
      for (const [shard, holders] of await readShards(null, platform, unread)) {
        counts.set(shard, Object.keys(holders).length);
      }
    };
    await count(order);
    for (const shard of order.slice(1)) {
      if (counts.get(shard)! >= shardCap(maxConcurrent, shard)) continue;
      const result = await attempt(shard);
      if (!isFull(result)) return result;
      last = result;
      if (result.total !== undefined) return { allFull: true, holders: result.total, last };
      if (result.count !== null) counts.set(shard, result.count);
    }
    await count(ALL_SHARDS);
    const holders = [...counts.values()].reduce((sum, n) => sum + n, 0);
    return { allFull: true, holders, last };
  };

  /** A transition's slot work: the shards to read with the test, and what to do in them. */
  interface SlotStep {
    platform: string;
    prefetch: readonly number[];
    run(
      shards: TxShards,
      current: TestRecord,
    ): Promise<{ slot: SlotOutcome; slotShard: number | null } | Full>;
  }

  /** The transition's transaction, with the slot step (if any) between the checks and the write. */
  const moveTest = (
    ref: DocumentReference,
    move: TransitionRequest,
    keys: string[],
    step?: SlotStep,
  ): Promise<TransitionResult | Full> =>
    lock.run(keys, () =>
      db.runTransaction(
        async (tx): Promise<TransitionResult | Full> => {
          const { snap, shards } = step
            ? await readTestWith(tx, ref, step.platform, step.prefetch)
            : { snap: await tx.get(ref), shards: null };
          if (!snap.exists) return { ok: false, reason: 'not_found' };
          const current = testFromDoc(snap);
          const plan = planTransition(current, move);
          if (!plan.ok) return plan;
          let next = plan.next;
          let slot: SlotOutcome | undefined;
          if (step && shards) {
            const taken = await step.run(shards, current);
            if (isFull(taken)) return { ...taken, current };
            slot = taken.slot;
            next = withSlotShard(next, taken.slotShard);
          }
          tx.set(ref, testToDoc(next));
          return { ok: true, test: next, previous: current, ...(slot ? { slot } : {}) };
        },
        { maxAttempts: TRANSACTION_ATTEMPTS },
      ),
    );

  /**
   * A transition that takes the test's slot: one transaction on the test and
   * one shard at a time (with the shard it records, asking again), read together.
   */
  const claimMove = async (
    seen: TestRecord,
    move: TransitionRequest,
    maxConcurrent: number,
  ): Promise<TransitionResult> => {
    const { id, platform } = seen;
    const ref = tests.doc(id);
    const claimed = await probe<TransitionResult>(
      platform,
      shardProbeOrder(id, maxConcurrent),
      maxConcurrent,
      (shard) => {
        const prefetch = [shard, seen.slotShard].filter(isShard);
        return moveTest(ref, move, [testKey(id), ...shardKeys(platform, prefetch)], {
          platform,
          prefetch,
          async run(shards, current) {
            const recorded = recordedShard(current, platform);
            const taken = await claimIn(shards, id, recorded, shard, maxConcurrent, move.at);
            if (isFull(taken)) return taken;
            return { slot: { op: 'acquire', ...taken }, slotShard: taken.shard };
          },
        });
      },
    );
    if (!('allFull' in claimed)) return claimed;
    const current = claimed.last.current!;
    return { ok: false, reason: 'no_capacity', current, holders: claimed.holders };
  };

  const query = (
    shape: QueryShape,
    values: readonly unknown[],
    opts: { below?: Date; limit: number },
  ) => runShape(db, names, shape, values, opts, testFromDoc);

  return {
    async createTests(input) {
      assertCreateBatch(input);
      if (input.length === 0) return { created: [], existing: [] };
      const refs = input.map((test) => tests.doc(test.id));
      return lock.run(
        input.map((test) => testKey(test.id)),
        () =>
          db.runTransaction(
            async (tx) => {
              const snaps = await tx.getAll(...refs);
              const created: string[] = [];
              const existing: string[] = [];
              input.forEach((test, i) => {
                if (snaps[i]?.exists) {
                  existing.push(test.id);
                } else {
                  tx.create(refs[i]!, testToDoc(test));
                  created.push(test.id);
                }
              });
              return { created, existing };
            },
            { maxAttempts: TRANSACTION_ATTEMPTS },
          ),
      );
    },

    async createTestsForDelivery(input, records) {
      assertCreateBatch(input);
      const normalized = records.map(normalizeDelivery);
      const testRefs = input.map((test) => tests.doc(test.id));
      const deliveryRefs = normalized.map((record) => deliveries.doc(record.id));
      return lock.run(
        input.map((test) => testKey(test.id)),
        () =>
          db.runTransaction(
            async (tx) => {
              const snaps = await tx.getAll(...deliveryRefs, ...testRefs);
              const seen = snaps.slice(0, deliveryRefs.length).find((snap) => snap.exists);
              if (seen) return { seen: deliveryFromDoc(seen) };
              const created: string[] = [];
              const existing: string[] = [];
              input.forEach((test, i) => {
                if (snaps[deliveryRefs.length + i]!.exists) existing.push(test.id);
                else {
                  tx.create(testRefs[i]!, testToDoc(test));
                  created.push(test.id);
                }
              });
              normalized.forEach((record, i) => tx.create(deliveryRefs[i]!, deliveryToDoc(record)));
              return { created, existing };
            },
            { maxAttempts: TRANSACTION_ATTEMPTS },
          ),
      );
    },

    async getTest(id) {
      const snap = await tests.doc(id).get();
      return snap.exists ? testFromDoc(snap) : null;
    },

    async recordStatusPosted(id, posted) {
      const ref = tests.doc(id);
      return lock.run([testKey(id)], () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(ref);
            if (!snapshot.exists) return { recorded: false as const };
            const stored = testFromDoc(snapshot);
            const statusCheckAt = statusCheckAfterPost(stored, posted);
            tx.update(ref, {
              githubStatus: toFirestore(posted),
              statusCheckAt: toFirestore(statusCheckAt),
            });
            const test = { ...stored, githubStatus: { ...posted }, statusCheckAt };
            return { recorded: true as const, test };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listDueStatusChecks(now, limit) {
      const ended: readonly TestStatus[] = TERMINAL_STATUSES;
      return query(QUERY_SHAPES.dueStatusChecks, [ended], { limit: listLimit(limit), below: now });
    },

    async claimStatusCheck(id, expected, next) {
      const ref = tests.doc(id);
      return lock.run([testKey(id)], () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(ref);
            if (!snapshot.exists) return { claimed: false as const };
            const test = testFromDoc(snapshot);
            if (test.statusCheckAt?.getTime() !== expected.getTime()) {
              return { claimed: false as const };
            }
            tx.update(ref, { statusCheckAt: toFirestore(next) });
            return { claimed: true as const, test: { ...test, statusCheckAt: next } };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listWaitingBefore(platform, reason, before, limit) {
      const values = ['waiting', platform, reason];
      return query(QUERY_SHAPES.waitingSince, values, { limit: listLimit(limit), below: before });
    },

    async recordDeletion(id, deletion, expect) {
      const ref = tests.doc(id);
      return lock.run([testKey(id)], () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(ref);
            if (!snapshot.exists) return { recorded: false };
            if (!mayRecordDeletion(testFromDoc(snapshot).deletion, deletion, expect)) {
              return { recorded: false };
            }
            tx.update(ref, { deletion: toFirestore(deletion) });
            return { recorded: true };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listBySha(repo, sha, opts = {}) {
      return query(QUERY_SHAPES.bySha, [repo, sha], { limit: listLimit(opts.limit) });
    },

    async listByPr(repo, pr, opts = {}) {
      const limit = listLimit(opts.limit);
      if (!opts.statuses) return query(QUERY_SHAPES.byPr, [repo, pr], { limit });
      assertStatusFilter(opts.statuses);
      return query(QUERY_SHAPES.byPrInStatuses, [repo, pr, opts.statuses], { limit });
    },

    async listRecent(filter, opts) {
      const limit = listLimit(opts.limit);
      const used = RECENT_FILTERS.filter((field) => filter[field] !== undefined);
      const values = used.map((field) => filter[field]);
      return query(recentShape(used), values, { limit, below: opts.createdBefore });
    },

    async countByStatus(platform, status) {
      const snap = await tests
        .where('platform', '==', platform)
        .where('status', '==', status)
        .count()
        .get();
      return snap.data().count;
    },

    async setPlatformSwitch(value) {
      assertPlatformId(value.platform);
      await platforms.doc(value.platform).set(platformSwitchToDoc(value));
    },

    async listPlatformSwitches() {
      const snap = await platforms.get();
      return snap.docs
        .map(platformSwitchFromDoc)
        .sort((a, b) => (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0));
    },

    async listByPrHead(repo, pr, opts = {}) {
      return query(QUERY_SHAPES.byPrHead, [repo, pr], { limit: listLimit(opts.limit) });
    },

    async transition(id, move) {
      if (move.slot?.op === 'acquire') assertMaxConcurrent(move.slot.maxConcurrent);
      const ref = tests.doc(id);
      if (!move.slot) return settled(await moveTest(ref, move, [testKey(id)]));
      // The platform never changes, and the shard the test holds changes only with
      // its slot: read before the transaction, they pick the locks and the shards.
      const before = await ref.get();
      if (!before.exists) return { ok: false, reason: 'not_found' };
      const seen = testFromDoc(before);
      if (move.slot.op === 'acquire') return claimMove(seen, move, move.slot.maxConcurrent);
      const { platform } = seen;
      const prefetch = shardsToRelease(recordedShard(seen, platform));
      const released = await moveTest(ref, move, [testKey(id), ...shardKeys(platform, prefetch)], {
        platform,
        prefetch,
        async run(shards, current) {
          const where = shardsToRelease(recordedShard(current, platform));
          const released = await releaseIn(shards, id, where);
          return { slot: { op: 'release', released }, slotShard: null };
        },
      });
      return settled(released);
    },

    async listByStatus(status, opts) {
      const limit = listLimit(opts.limit);
      assertListByStatusOptions(opts);
      const below = opts.updatedBefore;
      if (opts.platform === undefined) {
        return query(QUERY_SHAPES.byStatus, [status], { limit, below });
      }
      if (opts.waitReason !== undefined) {
        const values = [status, opts.platform, opts.waitReason];
        return query(QUERY_SHAPES.byWaitReasonOnPlatform, values, { limit, below });
      }
      return query(QUERY_SHAPES.byStatusOnPlatform, [status, opts.platform], { limit, below });
    },

    async listPastDeadline(now, limit) {
      const statuses: readonly TestStatus[] = DEADLINE_STATUSES;
      return query(QUERY_SHAPES.pastDeadline, [statuses], { limit: listLimit(limit), below: now });
    },

    async listDueDeletions(now, limit) {
      return query(QUERY_SHAPES.dueDeletions, [null], { limit: listLimit(limit), below: now });
    },

    async recordDelivery(record) {
      const normalized = normalizeDelivery(record);
      const ref = deliveries.doc(normalized.id);
      // A record that TTL deletes between the failed create() and the read is created again.
      for (let attempt = 1; ; attempt++) {
        try {
          await ref.create(deliveryToDoc(normalized));
          return { first: true, record: normalized };
        } catch (error) {
          if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
        }
        const snap = await ref.get();
        if (snap.exists) return { first: false, record: deliveryFromDoc(snap) };
        if (attempt === 3)
          throw new Error(`delivery ${normalized.id} keeps vanishing after create()`);
      }
    },

    async setDeliveryAnswer(id, response) {
      const { response: stored } = deliveryToDoc(
        normalizeDelivery({
          id,
          event: '',
          receivedAt: new Date(0),
          expireAt: new Date(0),
          response,
        }),
      );
      try {
        await deliveries.doc(id).update({ response: stored });
      } catch (error) {
        // Gone (its TTL, or never written): nothing to answer from.
        if ((error as { code?: unknown }).code !== NOT_FOUND) throw error;
      }
    },

    async getDelivery(id) {
      const snap = await deliveries.doc(id).get();
      return snap.exists ? deliveryFromDoc(snap) : null;
    },

    async recordApproval(record) {
      const normalized = normalizeApproval(record);
      const ref = approvals.doc(approvalId(normalized.repo, normalized.pr, normalized.sha));
      try {
        await ref.create(approvalToDoc(normalized));
        return { first: true, record: normalized };
      } catch (error) {
        if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
      }
      // Approvals are never deleted, so the one that won the create() is there.
      const snap = await ref.get();
      return { first: false, record: approvalFromDoc(snap) };
    },

    async getApproval(repo, pr, sha) {
      const snap = await approvals.doc(approvalId(repo, pr, sha)).get();
      return snap.exists ? approvalFromDoc(snap) : null;
    },

    async recordBuild(record) {
      const normalized = normalizeBuild(record);
      const ref = builds.doc(buildId(normalized.repo, normalized.sha, normalized.workflow));
      return db.runTransaction(
        async (tx) => {
          const kept = mergeBuild(buildFromDoc(await tx.get(ref)), normalized);
          if (kept === normalized) tx.set(ref, buildToDoc(normalized));
          return kept;
        },
        { maxAttempts: TRANSACTION_ATTEMPTS },
      );
    },

    async getBuild(repo, sha, workflow) {
      return buildFromDoc(await builds.doc(buildId(repo, sha, workflow)).get());
    },

    async acquireSlot(platform, testId, maxConcurrent, at) {
      assertMaxConcurrent(maxConcurrent);
      const ref = tests.doc(testId);
      // Read first to pick the locks: the shards this claim may touch.
      const before = await ref.get();
      const seen = recordedShard(before.exists ? testFromDoc(before) : null, platform);
      if (!seen.known) {
        // No test of this platform: its slot may be in any shard, so every shard is
        // read. Reads are strongly consistent: one that finds the slot held, or every
        // shard full, is a true answer as of that moment. Only a free slot needs a
        // transaction (which reads every shard again).
        const all = await readShards(null, platform, ALL_SHARDS);
        const shards = ALL_SHARDS.map((shard) => all.get(shard)!);
        const plan = planShardedAcquire(shards, seen, testId, maxConcurrent, at);
        if (!plan.acquired) return { acquired: false, holders: plan.count };
        if (plan.alreadyHeld) return { acquired: true, alreadyHeld: true, shard: plan.shard };
      }
      const result = await probe<SlotResult>(
        platform,
        shardProbeOrder(testId, maxConcurrent),
        maxConcurrent,
        (shard) => {
          const prefetch = seen.known ? [shard, seen.shard].filter(isShard) : ALL_SHARDS;
          return lock.run([testKey(testId), ...shardKeys(platform, prefetch)], () =>
            db.runTransaction(
              async (tx): Promise<SlotResult | Full> => {
                const { snap, shards } = await readTestWith(tx, ref, platform, prefetch);
                const recorded = recordedShard(snap.exists ? testFromDoc(snap) : null, platform);
                const taken = await claimIn(shards, testId, recorded, shard, maxConcurrent, at);
                if (isFull(taken)) return taken;
                // A test on this platform records its shard, as a transition's claim does.
                if (recorded.known && recorded.shard !== taken.shard) {
                  tx.update(ref, { slotShard: taken.shard });
                }
                return { acquired: true as const, ...taken };
              },
              { maxAttempts: TRANSACTION_ATTEMPTS },
            ),
          );
        },
      );
      return 'allFull' in result ? { acquired: false, holders: result.holders } : result;
    },

    async releaseSlot(platform, testId) {
      const ref = tests.doc(testId);
      const before = await ref.get();
      const seen = recordedShard(before.exists ? testFromDoc(before) : null, platform);
      // No test of this platform: the shards that hold the slot are found by a read
      // (strongly consistent: none holds it, a true answer as of that moment).
      let holding = ALL_SHARDS;
      if (!seen.known) {
        const all = await readShards(null, platform, ALL_SHARDS);
        holding = shardsHolding(
          ALL_SHARDS.map((shard) => all.get(shard)!),
          testId,
        );
        if (holding.length === 0) return { released: false };
      }
      const prefetch = seen.known ? shardsToRelease(seen) : holding;
      return lock.run([testKey(testId), ...shardKeys(platform, prefetch)], () =>
        db.runTransaction(
          async (tx) => {
            const { snap, shards } = await readTestWith(tx, ref, platform, prefetch);
            const recorded = recordedShard(snap.exists ? testFromDoc(snap) : null, platform);
            const where = recorded.known ? shardsToRelease(recorded) : holding;
            const released = await releaseIn(shards, testId, where);
            if (recorded.known && recorded.shard !== null) {
              tx.update(ref, { slotShard: FieldValue.delete() });
            }
            return { released };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async reconcileSlot(platform, testId, at) {
      const ref = tests.doc(testId);
      const shardRefs = ALL_SHARDS.map((shard) => shardRef(platform, shard));
      return lock.run([testKey(testId), ...shardKeys(platform, ALL_SHARDS)], () =>
        db.runTransaction(
          async (tx) => {
            // The test and every shard in one read of the transaction: a move that
            // ends the test (and frees its slot) meanwhile would otherwise be undone
            // by a restore.
            const [testSnap, ...shardSnaps] = await tx.getAll(ref, ...shardRefs);
            const test = testSnap!.exists ? testFromDoc(testSnap!) : null;
            const shards = shardSnaps.map(holdersFromDoc);
            const plan = planReconcile(shards, platform, testId, test, at);
            for (const [shard, holders] of plan.writes) writeShard(tx, platform, shard, holders);
            const recorded = recordedShard(test, platform);
            if (recorded.known && recorded.shard !== plan.slotShard) {
              tx.update(ref, { slotShard: plan.slotShard ?? FieldValue.delete() });
            }
            return { change: plan.change, holders: plan.count };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async slotHolders(platform) {
      const shards = await readShards(null, platform, ALL_SHARDS);
      return [...shards.values()].flatMap((holders) => Object.keys(holders)).sort();
    },

    async takeLease(name, holder, at, until) {
      assertLeaseName(name);
      const ref = leases.doc(name);
      return lock.run([leaseKey(name)], () =>
        db.runTransaction(
          async (tx) => {
            if (!mayTakeLease(leaseFromDoc(await tx.get(ref)), holder, at)) return { taken: false };
            tx.set(ref, leaseToDoc({ holder, until }));
            return { taken: true };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async releaseLease(name, holder) {
      assertLeaseName(name);
      const ref = leases.doc(name);
      return lock.run([leaseKey(name)], () =>
        db.runTransaction(
          async (tx) => {
            if (leaseFromDoc(await tx.get(ref))?.holder !== holder) return { released: false };
            tx.delete(ref);
            return { released: true };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },
  };
}

/** A claim's try on a shard that was full (`count` its holders, when read): nothing was written. */
interface Full {
  full: true;
  count: number | null;
  /** Every shard was read in the try, and all were full: the platform's holders. */
  total?: number;
  /** The test as the transaction read it (a transition's claim). */
  current?: TestRecord;
}

function isFull(value: object): value is Full {
  return 'full' in value;
}

/** A platform's shards as one transaction read them. */
interface TxShards {
  tx: Transaction;
  platform: string;
  read: Map<number, Holders>;
}

function isShard(shard: number | null | undefined): shard is number {
  return typeof shard === 'number';
}

/** A transition's answer: a claim's "full" never reaches here (claimMove turns it into no_capacity). */
function settled(result: TransitionResult | Full): TransitionResult {
  if (isFull(result)) throw new Error('a slot step that takes no slot cannot be full');
  return result;
}

function assertPlatformId(platform: string): void {
  if (!isValidFirestoreId(platform)) {
    throw new RangeError(`not a usable platform name: ${JSON.stringify(platform)}`);
  }
}
