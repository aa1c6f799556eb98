// What vm-ci knows of a platform's build workflow on one commit (issue 14,
// item 1): a test that starts waiting for a build which already finished must
// not wait forever, so every completed build is kept per (repository, commit,
// workflow file), and what GitHub's Actions API says is kept the same way.
// Pure: how a record is made from runs and how two records merge.

/**
 * success: a run succeeded (its artifact can be fetched); failure: runs
 * completed and none succeeded; running: a run is queued or in progress;
 * none: GitHub has no run of the workflow for the commit.
 */
export const BUILD_OUTCOMES = ['success', 'failure', 'running', 'none'] as const;
export type BuildOutcome = (typeof BUILD_OUTCOMES)[number];

export interface BuildRecord {
  /** "owner/name", as configured. */
  repo: string;
  sha: string;
  /** The workflow's file name, as in `buildWorkflow` ("build.yml"). */
  workflow: string;
  outcome: BuildOutcome;
  /** The run the outcome comes from; null for `none`. */
  runId: number | null;
  runAttempt: number | null;
  /** GitHub's conclusion of that run (null while it runs, or for `none`). */
  conclusion: string | null;
  /** Where it was learned: a workflow_run event, or the Actions API. */
  source: 'event' | 'api';
  /** When it was learned. */
  at: Date;
}

/** A run as the Actions API lists it (the fields vm-ci reads). */
export interface WorkflowRunSummary {
  id: number;
  attempt: number;
  /** queued, in_progress, completed, waiting, requested, pending. */
  status: string;
  conclusion: string | null;
}

/** Conclusions after which the run may still complete again (a maintainer lets it run). */
const NOT_FINAL = ['action_required'];

const RANK: Readonly<Record<BuildOutcome, number>> = {
  none: 0,
  running: 1,
  failure: 2,
  success: 3,
};

const newer = (a: BuildRecord, b: BuildRecord): boolean =>
  (a.runId ?? 0) !== (b.runId ?? 0)
    ? (a.runId ?? 0) > (b.runId ?? 0)
    : (a.runAttempt ?? 0) !== (b.runAttempt ?? 0)
      ? (a.runAttempt ?? 0) > (b.runAttempt ?? 0)
      : a.at.getTime() > b.at.getTime();

/**
 * The record to keep when `incoming` arrives over `existing`. A success is
 * never undone (its artifact exists whatever later runs do); a completed
 * failure outranks a run in progress, which outranks no run at all. Of two
 * records of the same outcome the newer run (then the newer check) is kept.
 */
export function mergeBuild(existing: BuildRecord | null, incoming: BuildRecord): BuildRecord {
  if (existing === null) return incoming;
  const [a, b] = [RANK[incoming.outcome], RANK[existing.outcome]];
  if (a !== b) return a > b ? incoming : existing;
  return newer(incoming, existing) ? incoming : existing;
}

/** The outcome of a completed run with GitHub's `conclusion`, or null when it is not over. */
export function completedOutcome(conclusion: string | null): 'success' | 'failure' | null {
  if (conclusion === null || NOT_FINAL.includes(conclusion)) return null;
  return conclusion === 'success' ? 'success' : 'failure';
}

/**
 * What the Actions API's runs of a workflow on one commit say, as a record:
 * a success if one succeeded; else a run still going, which may yet succeed;
 * else the newest failure; else none.
 */
export function buildFromRuns(
  key: Pick<BuildRecord, 'repo' | 'sha' | 'workflow'>,
  runs: readonly WorkflowRunSummary[],
  at: Date,
): BuildRecord {
  const records = runs.map((run): BuildRecord => {
    const done = run.status === 'completed' ? completedOutcome(run.conclusion) : null;
    return {
      ...key,
      outcome: done ?? 'running',
      runId: run.id,
      runAttempt: run.attempt,
      conclusion: run.status === 'completed' ? run.conclusion : null,
      source: 'api',
      at,
    };
  });
  for (const outcome of ['success', 'running', 'failure'] as const) {
    const of = records.filter((r) => r.outcome === outcome);
    if (of.length) return of.reduce((a, b) => (newer(b, a) ? b : a));
  }
  return {
    ...key,
    outcome: 'none',
    runId: null,
    runAttempt: null,
    conclusion: null,
    source: 'api',
    at,
  };
}
