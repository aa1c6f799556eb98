// The store port: everything the functions persist, as one small interface.
// Conflicts (a lost race, a full platform, a duplicate) come back as data;
// only programming errors (a bad limit, an oversized batch) and infrastructure
// failures throw.
import type { BuildRecord } from '../builds/record';
import type {
  PostedCommitStatus,
  Stage,
  TestRecord,
  TestStatus,
  VmDeletion,
  WaitReason,
} from '../domain/test';

/** How many timeline entries a test keeps: the newest ones. */
export const TIMELINE_LIMIT = 100;
/** Most tests one `createTests` call may write (one Firestore transaction). */
export const MAX_CREATE_BATCH = 500;
/** Most records one list call may return. */
export const MAX_LIST_LIMIT = 1000;
/** Default limit of `listBySha` and `listByPr`. */
export const DEFAULT_LIST_LIMIT = 100;
/** Statuses whose `deadlineAt` the expiry sweep enforces. */
export const DEADLINE_STATUSES = ['starting', 'running'] as const satisfies readonly TestStatus[];

/** Fields a transition may set through `patch`; everything else is identity or owned by the store. */
export const PATCHABLE_FIELDS = [
  'waitReason',
  'attempts',
  'enqueueGeneration',
  'queuedAt',
  'startedAt',
  'timeToStartMs',
  'finishedAt',
  'deadlineAt',
  'leaseExpiresAt',
  'instance',
  'result',
  'failures',
  'tokenHash',
  'deletion',
] as const satisfies readonly (keyof TestRecord)[];
export type PatchableField = (typeof PATCHABLE_FIELDS)[number];

/** Identity fields, and the fields a transition sets from its own arguments. */
export type FixedField =
  | 'id'
  | 'repo'
  | 'sha'
  | 'ref'
  | 'cloneUrl'
  | 'author'
  | 'title'
  | 'trigger'
  | 'pr'
  | 'run'
  | 'headUpdatedAt'
  | 'repoPublic'
  | 'platform'
  | 'createdAt'
  | 'status'
  | 'stage'
  | 'message'
  | 'updatedAt'
  | 'githubStatus'
  | 'waitingSince'
  | 'statusCheckAt'
  // Owned by the store: the shard of the slot the test holds.
  | 'slotShard'
  | 'timeline';

// A new TestRecord field must be classified as patchable or fixed before this compiles.
type Unclassified = Exclude<keyof TestRecord, PatchableField | FixedField>;
export const EVERY_TEST_FIELD_CLASSIFIED: [Unclassified] extends [never] ? true : never = true;

export type TestPatch = Partial<Pick<TestRecord, PatchableField>>;

export type SlotRequest = { op: 'acquire'; maxConcurrent: number } | { op: 'release' };

/**
 * What a transition did to its platform's slots: the shard whose slot the test
 * holds (acquire), or whether it gave one back (release). Neither counts the
 * platform's holders: that would read every shard, and a claim reads one
 * (slotHolders counts them).
 */
export type SlotOutcome =
  { op: 'acquire'; alreadyHeld: boolean; shard: number } | { op: 'release'; released: boolean };

export interface TransitionRequest {
  /** The statuses the writer expects the test to be in (compare-and-set). */
  from: readonly TestStatus[];
  to: TestStatus;
  /** Becomes `updatedAt` and the timeline entry's `at`. */
  at: Date;
  /** The friendly line: becomes the test's `message` and the timeline entry's. */
  message: string;
  /** Omitted: the stage stays; null clears it; a stage sets it and is noted in the timeline. */
  stage?: Stage | null;
  /** Fields to set; an `undefined` value leaves the field as it is. */
  patch?: TestPatch;
  /** Take or give back the test's platform slot in the same transaction. */
  slot?: SlotRequest;
  /** More of the state the writer read, checked with the status: a mismatch is `unexpected_status`. */
  expect?: {
    stage?: readonly (Stage | null)[];
    /** The test's `enqueueGeneration` must be exactly this. */
    enqueueGeneration?: number;
    /** The test's `attempts` (VM creations) must be exactly this. */
    attempts?: number;
    waitReason?: readonly (WaitReason | null)[];
    /** The test's `waitingSince` must be exactly this (the same wait as read). */
    waitingSince?: Date | null;
  };
}

export type TransitionResult =
  | { ok: true; test: TestRecord; previous: TestRecord; slot?: SlotOutcome }
  | { ok: false; reason: 'not_found' }
  | { ok: false; reason: 'unexpected_status' | 'terminal' | 'not_allowed'; current: TestRecord }
  /** Every shard was full: `holders` counts the platform's holders, as the claim saw them. */
  | { ok: false; reason: 'no_capacity'; current: TestRecord; holders: number };

/** A slot taken (or kept) in `shard`, or none free: `holders` counts the platform's holders. */
export type SlotResult =
  { acquired: true; alreadyHeld: boolean; shard: number } | { acquired: false; holders: number };

export interface DeliveryRecord {
  /**
   * The X-GitHub-Delivery id, or the key of the signed body's digest (the
   * webhook records a handled event under both, so that a replay of the same
   * bytes under a new delivery id is answered as before).
   */
  id: string;
  event: string;
  receivedAt: Date;
  /** Stored as a Firestore Timestamp, so a TTL policy deletes the record after it. */
  expireAt: Date;
  /** The answer given to the first delivery; `body` must be JSON (it is stored as JSON text). */
  response: { status: number; body: unknown };
}

/** A maintainer's approval of one head commit of a PR (DESIGN §5): it covers that commit only. */
export interface ApprovalRecord {
  /** "owner/name", as configured */
  repo: string;
  pr: number;
  sha: string;
  /** Who added the approval label (GitHub login). */
  approvedBy: string;
  approvedAt: Date;
  /** The X-GitHub-Delivery of the `labeled` event. */
  delivery: string;
}

export interface ListByStatusOptions {
  platform?: string;
  limit: number;
  /** Only tests last updated strictly before this. */
  updatedBefore?: Date;
  /** Only tests waiting for this reason. Needs `platform` (RangeError without it). */
  waitReason?: WaitReason;
}

/** What `reconcileSlot` did; `holders` counts the platform's slots after it. */
export interface ReconcileResult {
  change: 'released' | 'restored' | 'none';
  holders: number;
}

export interface ListOptions {
  limit?: number;
}

export interface ListByPrOptions extends ListOptions {
  /** Only tests in one of these statuses (1 to 10 of them). */
  statuses?: readonly TestStatus[];
}

/** What the recent-tests listing may filter on (each an equality; none: every test). */
export interface RecentFilter {
  repo?: string;
  platform?: string;
  status?: TestStatus;
}

export interface ListRecentOptions {
  limit: number;
  /** Only tests created strictly before this (the next page of a listing). */
  createdBefore?: Date;
}

/**
 * An operator's switch on a platform (`vmci maintenance`): it overrides the
 * configuration's `maintenance` flag until it is switched again.
 */
export interface PlatformSwitch {
  platform: string;
  maintenance: boolean;
  /** Who switched it (an operator's email or login). */
  by: string;
  at: Date;
}

export interface TestStore {
  /**
   * Creates a webhook's tests in one atomic write, idempotently: ids that exist
   * are left untouched and reported in `existing`. Both lists keep input order.
   * Throws RangeError for duplicate ids or more than MAX_CREATE_BATCH tests.
   */
  createTests(tests: readonly TestRecord[]): Promise<{ created: string[]; existing: string[] }>;
  /**
   * createTests and recordDelivery in one transaction, for a webhook delivery
   * that only creates tests: when one of `deliveries` exists already (a
   * repeated delivery, a replayed body), nothing is written and the first
   * found, in input order, is returned as `seen`.
   */
  createTestsForDelivery(
    tests: readonly TestRecord[],
    deliveries: readonly DeliveryRecord[],
  ): Promise<{ seen: DeliveryRecord } | { created: string[]; existing: string[] }>;
  getTest(id: string): Promise<TestRecord | null>;
  /** The commit's tests, oldest first (createdAt, then id). */
  listBySha(repo: string, sha: string, opts?: ListOptions): Promise<TestRecord[]>;
  /** The PR's tests, newest first (createdAt, then id, both descending). */
  listByPr(repo: string, pr: number, opts?: ListByPrOptions): Promise<TestRecord[]>;
  /**
   * The PR's tests, newest head first: headUpdatedAt descending (a null one
   * last), then id descending. Every status.
   */
  listByPrHead(repo: string, pr: number, opts?: ListOptions): Promise<TestRecord[]>;
  /**
   * Compare-and-set in one transaction: checks the move (checkMove), applies the
   * patch, sets status, message, stage and updatedAt, appends to the timeline
   * (keeping the last TIMELINE_LIMIT entries), and takes or releases the test's
   * platform slot (noting its shard in the test's `slotShard`, or clearing it).
   * If the slot cannot be taken nothing changes: `no_capacity`.
   * It also keeps `waitingSince` (set when a wait for a new reason begins, kept
   * while the same wait goes on, cleared on leaving `waiting`) and, on a move
   * to a terminal status, sets `statusCheckAt` to firstStatusCheck(at).
   */
  transition(id: string, move: TransitionRequest): Promise<TransitionResult>;
  /** The newest tests first (createdAt, then id, both descending), filtered by `filter`. */
  listRecent(filter: RecentFilter, opts: ListRecentOptions): Promise<TestRecord[]>;
  /** How many of `platform`'s tests are in `status`. */
  countByStatus(platform: string, status: TestStatus): Promise<number>;
  /** Sets (or replaces) the switch of `value.platform`. */
  setPlatformSwitch(value: PlatformSwitch): Promise<void>;
  /** Every platform's switch, by platform name. */
  listPlatformSwitches(): Promise<PlatformSwitch[]>;
  /** Sweep query: tests in `status` (on `platform`), least recently updated first (updatedAt, then id). */
  listByStatus(status: TestStatus, opts: ListByStatusOptions): Promise<TestRecord[]>;
  /** `starting`/`running` tests whose deadlineAt is before `now`, earliest deadline first. */
  listPastDeadline(now: Date, limit: number): Promise<TestRecord[]>;
  /**
   * Tests whose VM deletion is not done and is due: `deletion.doneAt` null and
   * `deletion.nextCheckAt` strictly before `now` (a null nextCheckAt is never
   * due). Earliest nextCheckAt first, then by id.
   */
  listDueDeletions(now: Date, limit: number): Promise<TestRecord[]>;
  /**
   * Notes the commit status just posted for a test, without changing its
   * status, timeline or updatedAt. Returns false for an unknown test. For an
   * ended test it also settles `statusCheckAt` in the same transaction: cleared
   * when `posted` is the status the test should show (needsStatusCheck), and,
   * when it is not (an older status noted after the final one), kept or set to
   * firstStatusCheck(posted.at). A noted status comes back with the test as
   * stored after the note (read in the same transaction), so a publisher can
   * see whether the test moved on without reading it again.
   */
  recordStatusPosted(
    id: string,
    posted: PostedCommitStatus,
  ): Promise<{ recorded: true; test: TestRecord } | { recorded: false }>;
  /**
   * Ended tests whose final status is due for a check: `statusCheckAt`
   * strictly before `now` (a null one is never due). Earliest first, then by id.
   */
  listDueStatusChecks(now: Date, limit: number): Promise<TestRecord[]>;
  /**
   * Moves a test's next status check from `expected` to `next` (null: no more
   * checks), compare-and-set: of racing writers that read the same check, one
   * moves it. Refused for an unknown test or one whose check is not `expected`.
   */
  claimStatusCheck(
    id: string,
    expected: Date,
    next: Date | null,
  ): Promise<{ claimed: true; test: TestRecord } | { claimed: false }>;
  /**
   * `waiting` tests of `platform` waiting for `reason` since strictly before
   * `before` (by `waitingSince`), longest-waiting first, then by id.
   */
  listWaitingBefore(
    platform: string,
    reason: WaitReason,
    before: Date,
    limit: number,
  ): Promise<TestRecord[]>;
  /**
   * Notes progress on the test's VM deletion (attempts, doneAt, nextCheckAt)
   * without changing its status or timeline. Returns false for an unknown test,
   * or one whose recorded deletion is of another VM (name and zone must match),
   * or, given `expect`, one whose recorded deletion's attempts differ from
   * `expect.attempts` (compare-and-set: of racing writers with the same
   * expectation, one records).
   */
  recordDeletion(
    id: string,
    deletion: VmDeletion,
    expect?: { attempts: number },
  ): Promise<{ recorded: boolean }>;
  /** Create-if-absent. A record that exists (even past expireAt, until TTL deletes it) wins. */
  recordDelivery(record: DeliveryRecord): Promise<{ first: boolean; record: DeliveryRecord }>;
  /**
   * Replaces the answer kept in a delivery record (createTestsForDelivery's,
   * when the tasks made after it failed): a repeat then answers as the first
   * delivery finally did. A record that is gone stays gone.
   */
  setDeliveryAnswer(id: string, response: DeliveryRecord['response']): Promise<void>;
  getDelivery(id: string): Promise<DeliveryRecord | null>;
  /** Create-if-absent: the first approval of a commit is kept (`first` false for a later one). */
  recordApproval(record: ApprovalRecord): Promise<{ first: boolean; record: ApprovalRecord }>;
  getApproval(repo: string, pr: number, sha: string): Promise<ApprovalRecord | null>;
  /**
   * Keeps what is known of a build workflow on a commit, in one transaction:
   * the stored record and `record` merge by mergeBuild (a success is never
   * undone). Returns the record kept.
   */
  recordBuild(record: BuildRecord): Promise<BuildRecord>;
  getBuild(repo: string, sha: string, workflow: string): Promise<BuildRecord | null>;
  /**
   * Takes one of `platform`'s slots for `testId`; a holder asking again keeps
   * its one slot. The slots are spread over SLOT_SHARDS shards, each with its
   * share of `maxConcurrent` (shardCap): the test's preferred shard is tried
   * first, then the others; only when all are full is the slot refused. A test
   * that exists on `platform` records the shard (`slotShard`) in the same
   * transaction, as a transition's claim does.
   */
  acquireSlot(
    platform: string,
    testId: string,
    maxConcurrent: number,
    at: Date,
  ): Promise<SlotResult>;
  /** Gives back `testId`'s slot of `platform`, if it holds one (and clears the test's `slotShard`). */
  releaseSlot(platform: string, testId: string): Promise<{ released: boolean }>;
  /**
   * Makes `platform`'s slots agree with the test, reading both in one
   * transaction: the test should hold a slot iff it exists, is on `platform`
   * and its status holds one (holdsSlot). A slot it holds but should not is
   * released; one it should hold but does not is restored (taken at `at`, even
   * past maxConcurrent: the test is already running, into the shard with the
   * fewest holders). Reads every shard; keeps the test's `slotShard` right.
   */
  reconcileSlot(platform: string, testId: string, at: Date): Promise<ReconcileResult>;
  /** Test ids holding `platform`'s slots, in every shard, sorted. */
  slotHolders(platform: string): Promise<string[]>;
  /**
   * Takes the lease `name` for `holder` until `until`, in one transaction:
   * refused while another holder's lease runs past `at`; the holder asking
   * again renews it. For work that counts and then writes (filling free slots),
   * which two writers at once would both count the same way.
   */
  takeLease(name: string, holder: string, at: Date, until: Date): Promise<{ taken: boolean }>;
  /** Gives the lease back if `holder` has it; another holder's lease stays. */
  releaseLease(name: string, holder: string): Promise<{ released: boolean }>;
}

/** Who holds a lease, and until when. */
export interface Lease {
  holder: string;
  until: Date;
}
