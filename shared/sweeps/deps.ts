// What the sweeps need, and how each step reports what it did. A step never
// throws for one test: it logs, counts an error and goes on with the next, so
// one bad test cannot abort the run (a fault of the original cron).
import type { VmProvisioner } from '../compute/port';
import type { VmciConfig } from '../config';
import type { GitHubLookupPort } from '../github/lookups';
import type { Logger } from '../log';
import type { AfterEndDeps } from '../tests/after-end';

export type SweepPendingDeps = AfterEndDeps & { config: VmciConfig };

export type SweepExpiredDeps = SweepPendingDeps & {
  vms: VmProvisioner;
  /** Asked for a build workflow's runs when a build wait has had no news (builds.ts). */
  github: GitHubLookupPort;
  /** How long one Compute deletion may wait for its operation. */
  deleteBudgetMs: number;
};

/** Counts of one step: what it looked at, what it changed, what it could not do. */
export interface StepCounts {
  /** Candidates read. */
  found: number;
  /** Actions taken (a task created, a test ended, a VM deleted, a slot fixed). */
  done: number;
  /** Candidates that needed nothing after all, or that another writer handled first. */
  skipped: number;
  errors: number;
  /** The step stopped at its batch limit: the rest waits for the next run. */
  more: boolean;
}

export const noCounts = (): StepCounts => ({
  found: 0,
  done: 0,
  skipped: 0,
  errors: 0,
  more: false,
});

/**
 * Runs `act` for each candidate in turn and tallies what it answers; a throw is
 * logged and counted as an error, and the next candidate still runs.
 */
export async function eachCandidate<T extends { id: string }>(
  log: Logger,
  step: string,
  candidates: readonly T[],
  limit: number,
  /** 'failed': could not act now (already logged), counted as an error. */
  act: (candidate: T) => Promise<'done' | 'skipped' | 'failed'>,
  /** How many candidates are handled at once; 1 keeps their order. */
  concurrency = 1,
): Promise<StepCounts> {
  const counts = noCounts();
  counts.found = candidates.length;
  counts.more = candidates.length >= limit;
  await forEachLimited(candidates, concurrency, async (candidate) => {
    try {
      const verdict = await act(candidate);
      counts[verdict === 'failed' ? 'errors' : verdict] += 1;
    } catch (error) {
      counts.errors += 1;
      log.error(`Sweep step ${step} failed for one candidate`, { candidate: candidate.id, error });
    }
  });
  return counts;
}

/**
 * Compute calls wait for their operation (seconds each): a batch of them is
 * run this many at a time, so one run stays within the scheduler's deadline.
 */
export const COMPUTE_CONCURRENCY = 8;

/** Runs `fn` over `items`, at most `concurrency` at once. `fn` must not throw. */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

export function addCounts(a: StepCounts, b: StepCounts): StepCounts {
  return {
    found: a.found + b.found,
    done: a.done + b.done,
    skipped: a.skipped + b.skipped,
    errors: a.errors + b.errors,
    more: a.more || b.more,
  };
}
