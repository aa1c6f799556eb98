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

/** A platform's slot holders: test id → when it took the slot. */
export type Holders = Record<string, Date>;

export function planAcquire(
  holders: Holders,
  testId: string,
  maxConcurrent: number,
  at: Date,
):
  | { acquired: true; alreadyHeld: boolean; holders: Holders; count: number }
  | { acquired: false; count: number } {
  const count = Object.keys(holders).length;
  if (testId in holders) return { acquired: true, alreadyHeld: true, holders, count };
  if (count >= maxConcurrent) return { acquired: false, count };
  return {
    acquired: true,
    alreadyHeld: false,
    holders: { ...holders, [testId]: at },
    count: count + 1,
  };
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
 * Whether `testId` should hold one of `platform`'s slots, given the test as
 * read (null when it does not exist), and the holders after making it so.
 */
export function planReconcile(
  holders: Holders,
  platform: string,
  testId: string,
  test: Pick<TestRecord, 'platform' | 'status'> | null,
  at: Date,
): { change: 'released' | 'restored' | 'none'; holders: Holders; count: number } {
  const should = test !== null && test.platform === platform && holdsSlot(test.status);
  const held = testId in holders;
  if (held && !should) {
    const release = planRelease(holders, testId);
    return { change: 'released', holders: release.holders, count: release.count };
  }
  if (!held && should) {
    // maxConcurrent is not asked: the test already runs, whether the count allows it or not.
    const restored = { ...holders, [testId]: at };
    return { change: 'restored', holders: restored, count: Object.keys(restored).length };
  }
  return { change: 'none', holders, count: Object.keys(holders).length };
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
