// The store's policy, shared by every adapter: what a transition does to a
// test, how slots are counted, which arguments are valid. Adapters only read
// and write; they decide nothing here.
import type { BuildRecord } from '../builds/record';
import { firstStatusCheck, needsStatusCheck } from '../domain/github';
import {
  holdsSlot,
  isTerminal,
  type PostedCommitStatus,
  type TestRecord,
  type TimelineEntry,
  type VmDeletion,
} from '../domain/test';
import { checkMove } from '../domain/transitions';
import {
  DEFAULT_LIST_LIMIT,
  MAX_CREATE_BATCH,
  MAX_LIST_LIMIT,
  PATCHABLE_FIELDS,
  TIMELINE_LIMIT,
  type ApprovalRecord,
  type DeliveryRecord,
  type Lease,
  type ListByStatusOptions,
  type TestPatch,
  type TransitionRequest,
  type TransitionResult,
} from './port';

export type TransitionRefusal = Extract<TransitionResult, { ok: false; current: TestRecord }>;

/** The test after `move`, or why the move is refused. Slots are not considered here. */
export function planTransition(
  current: TestRecord,
  move: TransitionRequest,
): { ok: true; next: TestRecord } | TransitionRefusal {
  const check = checkMove(current.status, move.from, move.to);
  if (!check.ok) return { ok: false, reason: check.reason, current };
  if (!meetsExpectation(current, move.expect)) {
    return { ok: false, reason: 'unexpected_status', current };
  }
  const entry: TimelineEntry = { at: move.at, status: move.to, message: move.message };
  if (move.stage) entry.stage = move.stage;
  const patched = { ...current, ...pickPatch(move.patch) };
  const waitReason = move.to === 'waiting' ? patched.waitReason : null;
  const next: TestRecord = {
    ...patched,
    status: move.to,
    // A test waits for something only while it is `waiting`.
    waitReason,
    waitingSince: waitingSince(current, move, waitReason),
    // Every end has its final status checked until GitHub shows it (DESIGN §3.7).
    statusCheckAt: isTerminal(move.to) ? firstStatusCheck(move.at) : current.statusCheckAt,
    message: move.message,
    stage: move.stage === undefined ? current.stage : move.stage,
    updatedAt: move.at,
    timeline: [...current.timeline, entry].slice(-TIMELINE_LIMIT),
  };
  return { ok: true, next };
}

/** A wait for the same reason goes on from when it began; a wait for a new reason begins now. */
function waitingSince(
  current: TestRecord,
  move: TransitionRequest,
  reason: TestRecord['waitReason'],
): Date | null {
  if (move.to !== 'waiting') return null;
  const same = current.status === 'waiting' && current.waitReason === reason;
  return same && current.waitingSince ? current.waitingSince : move.at;
}

function meetsExpectation(current: TestRecord, expect: TransitionRequest['expect']): boolean {
  if (!expect) return true;
  if (expect.stage && !expect.stage.includes(current.stage)) return false;
  if (expect.waitReason && !expect.waitReason.includes(current.waitReason)) return false;
  if (
    expect.waitingSince !== undefined &&
    (expect.waitingSince?.getTime() ?? null) !== (current.waitingSince?.getTime() ?? null)
  ) {
    return false;
  }
  const { enqueueGeneration, attempts } = expect;
  if (enqueueGeneration !== undefined && enqueueGeneration !== current.enqueueGeneration) {
    return false;
  }
  return attempts === undefined || attempts === current.attempts;
}

/** Only the patchable fields, whatever the caller passed at run time. */
function pickPatch(patch: TestPatch | undefined): TestPatch {
  const picked: Record<string, unknown> = {};
  if (!patch) return picked;
  for (const field of PATCHABLE_FIELDS) {
    if (patch[field] !== undefined) picked[field] = patch[field];
  }
  return picked as TestPatch;
}

/** Whether `update` may note progress on `current`'s deletion: the same VM's. */
export function isSameDeletion(current: VmDeletion | null, update: VmDeletion): boolean {
  return current !== null && current.name === update.name && current.zone === update.zone;
}

/** `recordDeletion`'s check: the same VM's deletion, at the attempts the writer expects (if it says). */
export function mayRecordDeletion(
  current: VmDeletion | null,
  update: VmDeletion,
  expect: { attempts: number } | undefined,
): boolean {
  if (!isSameDeletion(current, update)) return false;
  return expect === undefined || current?.attempts === expect.attempts;
}

/** A deletion that is not done and whose next check is strictly before `now`. */
export function isDeletionDue(deletion: VmDeletion | null, now: Date): boolean {
  if (!deletion || deletion.doneAt !== null) return false;
  // `?? null`: a record written before nextCheckAt existed is never due, as on Firestore.
  const next = deletion.nextCheckAt ?? null;
  return next !== null && next.getTime() < now.getTime();
}

/**
 * `statusCheckAt` after `posted` is noted on `test`: an ended test whose noted
 * status is its final one needs no more checks; one that shows anything else
 * keeps its check, or gets one (an older status noted after the final one).
 */
export function statusCheckAfterPost(test: TestRecord, posted: PostedCommitStatus): Date | null {
  if (!isTerminal(test.status)) return test.statusCheckAt;
  if (!needsStatusCheck(test, posted)) return null;
  return test.statusCheckAt ?? firstStatusCheck(posted.at);
}

/** A status check that is set and strictly before `now`. */
export function isStatusCheckDue(test: Pick<TestRecord, 'statusCheckAt'>, now: Date): boolean {
  // `?? null`: a record written before the field existed is never due, as on Firestore.
  const at = test.statusCheckAt ?? null;
  return at !== null && at.getTime() < now.getTime();
}

/** A platform's slot holders in one shard: test id → when it took the slot. */
export type Holders = Record<string, Date>;

/**
 * How many shards (documents) each platform's slots are spread over, so that
 * claims on one platform are not all transactions on one document (Firestore
 * sustains about one write a second per document). Fixed, not derived from
 * maxConcurrent: a change of maxConcurrent changes the shards' caps but never
 * moves a holder to another layout.
 */
export const SLOT_SHARDS = 16;

/** The shards of a platform, 0 to SLOT_SHARDS - 1. */
export const ALL_SHARDS: readonly number[] = Array.from({ length: SLOT_SHARDS }, (_, k) => k);

/**
 * Shard `shard`'s share of `maxConcurrent`: floor(M / S), one more for the
 * first M % S shards. The shares sum to M exactly, and each share only grows
 * with M, so writers that disagree on M for a while (a configuration change
 * rolling out) hold at most the larger M between them: each shard is checked
 * against its own cap in its own transaction, which keeps the platform at or
 * under M under any race (DESIGN §3.5).
 */
export function shardCap(maxConcurrent: number, shard: number): number {
  const base = Math.floor(maxConcurrent / SLOT_SHARDS);
  return base + (shard < maxConcurrent % SLOT_SHARDS ? 1 : 0);
}

/** The shards with a share of `maxConcurrent` (cap > 0): the first min(M, SLOT_SHARDS). */
export function usableShards(maxConcurrent: number): number {
  return Math.min(maxConcurrent, SLOT_SHARDS);
}

/** FNV-1a (32 bits) of the id's UTF-16 code units: stable across processes and releases. */
export function slotHash(testId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < testId.length; i++) {
    hash ^= testId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The shards a claim of `testId` tries, in order: its preferred shard (a
 * stable hash over the usable shards, so that claims spread over them), then
 * the next usable ones around. Empty when maxConcurrent is 0.
 */
export function shardProbeOrder(testId: string, maxConcurrent: number): number[] {
  const usable = usableShards(maxConcurrent);
  if (usable === 0) return [];
  const first = slotHash(testId) % usable;
  return Array.from({ length: usable }, (_, i) => (first + i) % usable);
}

/**
 * Where a restored slot goes (reconcile does not know maxConcurrent): the
 * shard with the fewest holders, the lowest of them on a tie. Caps only fall
 * from shard to shard (shardCap), so whenever some shard has room for the
 * current maxConcurrent, this one has: the restored holder takes free room if
 * there is any, as it would have counted against the one cap before sharding.
 */
export function restoreShard(counts: readonly number[]): number {
  let best = 0;
  counts.forEach((count, k) => {
    if (count < counts[best]!) best = k;
  });
  return best;
}

/**
 * What the test as read tells of where its slot of `platform` is. A test on
 * that platform records the shard of its slot (`slotShard`, written in the
 * transaction that takes the slot; none: it holds none, or, for a test written
 * before shards, unknown). A test that does not exist, or runs on another
 * platform, tells nothing: its holders must be looked for in every shard.
 */
export function recordedShard(
  test: Pick<TestRecord, 'platform' | 'slotShard'> | null,
  platform: string,
): { known: true; shard: number | null } | { known: false } {
  if (test === null || test.platform !== platform) return { known: false };
  return { known: true, shard: typeof test.slotShard === 'number' ? test.slotShard : null };
}

/** The test with its `slotShard` set to `shard`, or without one (null). */
export function withSlotShard(test: TestRecord, shard: number | null): TestRecord {
  const { slotShard: _previous, ...rest } = test;
  return shard === null ? rest : { ...rest, slotShard: shard };
}

/** The shards that hold `testId`, lowest first. */
export function shardsHolding(shards: readonly Holders[], testId: string): number[] {
  return ALL_SHARDS.filter((k) => testId in (shards[k] ?? {}));
}

export function countHolders(shards: readonly Holders[]): number {
  return shards.reduce((sum, holders) => sum + Object.keys(holders).length, 0);
}

/** A claim on one shard, against that shard's cap; a holder asking again keeps its slot. */
export function planAcquire(
  holders: Holders,
  testId: string,
  cap: number,
  at: Date,
):
  | { acquired: true; alreadyHeld: boolean; holders: Holders; count: number }
  | { acquired: false; count: number } {
  const count = Object.keys(holders).length;
  if (testId in holders) return { acquired: true, alreadyHeld: true, holders, count };
  if (count >= cap) return { acquired: false, count };
  return {
    acquired: true,
    alreadyHeld: false,
    holders: { ...holders, [testId]: at },
    count: count + 1,
  };
}

/**
 * A claim with every shard of the platform in view (the in-memory store; the
 * Firestore adapter reaches the same answer reading one shard at a time): a
 * slot the test is known to hold is kept; otherwise the first shard in probe
 * order with room takes it; none has room: refused, with the platform's total.
 * A test on the platform that records no shard holds none (only the store puts
 * a test in a shard, and it records it in the same transaction).
 */
export function planShardedAcquire(
  shards: readonly Holders[],
  recorded: ReturnType<typeof recordedShard>,
  testId: string,
  maxConcurrent: number,
  at: Date,
):
  | { acquired: true; alreadyHeld: boolean; shard: number; holders: Holders }
  | { acquired: false; count: number } {
  const held = recorded.known
    ? recorded.shard !== null && testId in (shards[recorded.shard] ?? {})
      ? [recorded.shard]
      : []
    : shardsHolding(shards, testId);
  if (held[0] !== undefined) {
    const shard = held[0];
    return { acquired: true, alreadyHeld: true, shard, holders: shards[shard] ?? {} };
  }
  for (const shard of shardProbeOrder(testId, maxConcurrent)) {
    const plan = planAcquire(shards[shard] ?? {}, testId, shardCap(maxConcurrent, shard), at);
    if (plan.acquired) {
      return { acquired: true, alreadyHeld: plan.alreadyHeld, shard, holders: plan.holders };
    }
  }
  return { acquired: false, count: countHolders(shards) };
}

export function planRelease(
  holders: Holders,
  testId: string,
): { released: boolean; holders: Holders; count: number } {
  if (!(testId in holders)) return { released: false, holders, count: Object.keys(holders).length };
  const rest = { ...holders };
  delete rest[testId];
  return { released: true, holders: rest, count: Object.keys(rest).length };
}

/**
 * The shards a release of `testId` reads: the one the test records; every
 * shard when it records none (a test stored before shards) or tells nothing.
 */
export function shardsToRelease(recorded: ReturnType<typeof recordedShard>): readonly number[] {
  return recorded.known && recorded.shard !== null ? [recorded.shard] : ALL_SHARDS;
}

/**
 * Whether `testId` should hold one of `platform`'s slots, given the test as
 * read (null when it does not exist) and every shard of the platform, and
 * what to write to make it so: the shards that change, the platform's holders
 * after, and the shard the test's slot is in then (null: none).
 *
 * A slot is restored past the caps (the test already runs): into
 * restoreShard's choice. A slot held twice (it cannot be, save by a test
 * written before shards) keeps the shard the test records, and the other is
 * released. A lower maxConcurrent never evicts holders: after a decrease the
 * total may stay above it until holders end.
 */
export function planReconcile(
  shards: readonly Holders[],
  platform: string,
  testId: string,
  test: Pick<TestRecord, 'platform' | 'status' | 'slotShard'> | null,
  at: Date,
): {
  change: 'released' | 'restored' | 'none';
  writes: Map<number, Holders>;
  count: number;
  slotShard: number | null;
} {
  const should = test !== null && test.platform === platform && holdsSlot(test.status);
  const held = shardsHolding(shards, testId);
  const writes = new Map<number, Holders>();
  const count = countHolders(shards);
  if (held.length === 0) {
    if (!should) return { change: 'none', writes, count, slotShard: null };
    // maxConcurrent is not asked: the test already runs, whether the count allows it or not.
    const shard = restoreShard(ALL_SHARDS.map((k) => Object.keys(shards[k] ?? {}).length));
    writes.set(shard, { ...shards[shard], [testId]: at });
    return { change: 'restored', writes, count: count + 1, slotShard: shard };
  }
  const recorded = recordedShard(test, platform);
  const keep = !should
    ? null
    : recorded.known && recorded.shard !== null && held.includes(recorded.shard)
      ? recorded.shard
      : held[0]!;
  for (const shard of held) {
    if (shard !== keep) writes.set(shard, planRelease(shards[shard] ?? {}, testId).holders);
  }
  const change = writes.size > 0 ? 'released' : 'none';
  return { change, writes, count: count - writes.size, slotShard: keep };
}

export function assertMaxConcurrent(maxConcurrent: number): void {
  if (!Number.isInteger(maxConcurrent) || maxConcurrent < 0) {
    throw new RangeError(`maxConcurrent must be a whole number ≥ 0, got ${maxConcurrent}`);
  }
}

export function listLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(value) || value < 1 || value > MAX_LIST_LIMIT) {
    throw new RangeError(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${limit}`);
  }
  return value;
}

/** A waitReason filter is served by one index only: the one that also has the platform. */
export function assertListByStatusOptions(opts: ListByStatusOptions): void {
  if (opts.waitReason !== undefined && opts.platform === undefined) {
    throw new RangeError('listByStatus: waitReason needs platform');
  }
}

export function assertStatusFilter(statuses: readonly unknown[]): void {
  if (statuses.length < 1 || statuses.length > 10) {
    throw new RangeError(`statuses must list 1 to 10 statuses, got ${statuses.length}`);
  }
}

export function assertCreateBatch(tests: readonly TestRecord[]): void {
  if (tests.length > MAX_CREATE_BATCH) {
    throw new RangeError(
      `createTests takes at most ${MAX_CREATE_BATCH} tests, got ${tests.length}`,
    );
  }
  const seen = new Set<string>();
  for (const { id } of tests) {
    if (seen.has(id)) throw new RangeError(`createTests got test id ${id} twice`);
    seen.add(id);
  }
}

/** The delivery as it will read back: the response body normalised through JSON. */
export function normalizeDelivery(record: DeliveryRecord): DeliveryRecord {
  return {
    id: record.id,
    event: record.event,
    receivedAt: new Date(record.receivedAt),
    expireAt: new Date(record.expireAt),
    response: { status: record.response.status, body: jsonRoundTrip(record.response.body) },
  };
}

/** The approval as it will read back; throws RangeError for one that names no commit of a PR. */
export function normalizeApproval(record: ApprovalRecord): ApprovalRecord {
  if (!Number.isSafeInteger(record.pr) || record.pr < 1) {
    throw new RangeError(`an approval needs a PR number, got ${String(record.pr)}`);
  }
  if (record.repo === '' || record.sha === '') {
    throw new RangeError('an approval needs a repository and a commit');
  }
  return {
    repo: record.repo,
    pr: record.pr,
    sha: record.sha,
    approvedBy: record.approvedBy,
    approvedAt: new Date(record.approvedAt),
    delivery: record.delivery,
  };
}

/** The build record as it will read back; throws RangeError for one that names no commit's workflow. */
export function normalizeBuild(record: BuildRecord): BuildRecord {
  if (record.repo === '' || record.sha === '' || record.workflow === '') {
    throw new RangeError('a build record needs a repository, a commit and a workflow');
  }
  return {
    repo: record.repo,
    sha: record.sha,
    workflow: record.workflow,
    outcome: record.outcome,
    runId: record.runId,
    runAttempt: record.runAttempt,
    conclusion: record.conclusion,
    source: record.source,
    at: new Date(record.at),
  };
}

export function jsonRoundTrip(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? null : JSON.parse(text);
}

/** Whether `holder` may take a lease now held as `current` (expired or its own: yes). */
export function mayTakeLease(current: Lease | null, holder: string, at: Date): boolean {
  return current === null || current.holder === holder || current.until <= at;
}

/** A lease name is a document id: 1 to 200 of [A-Za-z0-9_.-] (RangeError otherwise). */
export function assertLeaseName(name: string): void {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(name) || name === '.' || name === '..') {
    throw new RangeError(`not a lease name: ${JSON.stringify(name)}`);
  }
}
