// The test document of DESIGN §2: one (repository, commit, platform, trigger) to run.

export const TEST_STATUSES = [
  'waiting',
  'pending',
  'queued',
  'starting',
  'running',
  'passed',
  'failed',
  'error',
  'timed_out',
  'canceled',
] as const;
export type TestStatus = (typeof TEST_STATUSES)[number];

export const TERMINAL_STATUSES = ['passed', 'failed', 'error', 'timed_out', 'canceled'] as const;
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

/** The statuses a test can still leave: every status but the terminal ones. */
export const LIVE_STATUSES = ['waiting', 'pending', 'queued', 'starting', 'running'] as const;

/** Statuses in which a test holds one of its platform's capacity slots. */
export const SLOT_HOLDING_STATUSES = ['starting', 'running'] as const;

export const TRIGGERS = ['push', 'pull_request', 'manual'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** What a `running` test's VM is doing. */
export const STAGES = ['preparation', 'testing'] as const;
export type Stage = (typeof STAGES)[number];

/** Why a `waiting` test waits. */
export const WAIT_REASONS = ['build', 'approval', 'maintenance'] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

export const PROVISIONING_MODELS = ['SPOT', 'STANDARD'] as const;
export type ProvisioningModel = (typeof PROVISIONING_MODELS)[number];

export interface TestInstance {
  name: string;
  zone: string;
  provisioning: ProvisioningModel;
}

export interface TestResult {
  exitCode: number;
  passed: number | null;
  failed: number | null;
  summary: string;
}

/** A failing test case named in a run's JUnit files; every text one line of at most 300 characters. */
export interface FailingTestCase {
  name: string;
  classname: string | null;
  /** The innermost `<testsuite>` around it. */
  suite: string | null;
  /** The result file it was read from, e.g. `results/junit.xml`. */
  file: string;
  kind: 'failure' | 'error';
  message: string | null;
}

/** What a failed run's JUnit files tell: their counts, and the first failing cases (at most 50). */
export interface TestFailures {
  counts: { tests: number; failures: number; errors: number; skipped: number };
  cases: FailingTestCase[];
}

/** A VM deletion that was asked for and must be checked until the VM is gone. */
export interface VmDeletion {
  name: string;
  zone: string;
  requestedAt: Date;
  attempts: number;
  doneAt: Date | null;
  /** When the expired sweep should next check this deletion; null once done or given up. */
  nextCheckAt: Date | null;
}

/** The commit status last posted to GitHub for a test: it is posted again only when it changes. */
export interface PostedCommitStatus {
  state: 'pending' | 'success' | 'failure' | 'error';
  description: string;
  at: Date;
}

export interface TimelineEntry {
  at: Date;
  status: TestStatus;
  stage?: Stage;
  message: string;
}

export interface TestRecord {
  id: string;
  /** "owner/name" */
  repo: string;
  sha: string;
  ref: string;
  /** Where the VM fetches the commit from: the PR's head repository for a fork. */
  cloneUrl: string;
  /** Who pushed or opened the PR (GitHub login), when known. */
  author: string | null;
  trigger: Trigger;
  /** PR number, for pull_request tests; null otherwise */
  pr: number | null;
  /**
   * What people call the change: the PR's title (as the event or, for a
   * /retest, GitHub told it), or the first line of a push's head commit
   * message; a re-run keeps its earlier run's. One line of at most 200
   * characters (domain/title.ts fitTitle); null when GitHub did not say.
   */
  title: string | null;
  /** Re-run counter: an explicit re-run of the same commit makes a new test with run + 1. */
  run: number;
  /**
   * For PR tests: the `pull_request.updated_at` of the event that created the
   * test, i.e. how new its head is. Events arrive out of order; a head event
   * older than the PR's newest tests changes nothing, and superseding cancels
   * only tests of older heads. Null for pushes and manual runs.
   */
  headUpdatedAt: Date | null;
  /**
   * What GitHub said of the repository in the event that made the test: true
   * for a public one (repository.private false), false for a private one,
   * null when the event did not say. The status views hide private details.
   */
  repoPublic: boolean | null;
  platform: string;
  status: TestStatus;
  stage: Stage | null;
  waitReason: WaitReason | null;
  /**
   * While `waiting`: when the test began waiting for its `waitReason` (a new
   * reason starts a new wait; posting a status does not touch it). Null
   * otherwise. The store keeps it; the expired sweep ends waits past their limit.
   */
  waitingSince: Date | null;
  /** The friendly one-line text shown to people (≤ 140 characters). */
  message: string;
  /** VM creation attempts so far; the VM name and requestId derive from it. */
  attempts: number;
  /** Bumped each time a new Cloud Task is created for the test; the task name derives from it. */
  enqueueGeneration: number;
  createdAt: Date;
  updatedAt: Date;
  queuedAt: Date | null;
  startedAt: Date | null;
  /** Webhook received (createdAt) → VM insert done, in ms: how fast tests start. */
  timeToStartMs: number | null;
  finishedAt: Date | null;
  deadlineAt: Date | null;
  /** While `starting`: when a crashed handler's claim may be taken over. */
  leaseExpiresAt: Date | null;
  instance: TestInstance | null;
  result: TestResult | null;
  /** A failed run's failing tests, read from its uploaded JUnit files at the end; null when none were named. */
  failures: TestFailures | null;
  /** SHA-256 of the per-test token, hex. The token itself is never stored. */
  tokenHash: string | null;
  deletion: VmDeletion | null;
  /** What GitHub shows for this test now; null until the first status is posted. */
  githubStatus: PostedCommitStatus | null;
  /**
   * When the expired sweep next checks that GitHub shows this ended test's
   * final status (DESIGN §3.7). Set when the test ends; cleared once the status
   * noted as posted is the final one, or when the sweep gives up. Null while
   * the test is live.
   */
  statusCheckAt: Date | null;
  /**
   * Which shard of its platform's capacity slots the test holds a slot in
   * (store/rules.ts SLOT_SHARDS); absent while it holds none. Only the store
   * sets it, in the transaction that takes or gives back the slot, so that a
   * release touches that shard alone.
   */
  slotShard?: number;
  timeline: TimelineEntry[];
}

export function isTerminal(status: TestStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export function holdsSlot(status: TestStatus): boolean {
  return (SLOT_HOLDING_STATUSES as readonly string[]).includes(status);
}
