// sweepExpired (DESIGN §3.4, §3.5, §3.7), every 5 minutes: no VM outlives its
// test, the capacity cap stays true, no wait lasts forever and every final
// status reaches GitHub. It finishes recorded VM deletions, ends tests past
// their time limit, checks build waits without news on GitHub (builds.ts),
// ends waits for a build or an approval past theirs (waits.ts), deletes VMs that no live test owns, ends tests whose VM powered
// off or vanished without a result, puts the capacity slots right, and posts
// again the final statuses GitHub may not show (final-statuses.ts). Every
// query is bounded by `sweeps.expiredBatch`; every end is endTest's
// compare-and-set, every deletion and re-post a claimed attempt or a named
// Compute request, so two runs at once end, delete and post each thing once.
import { timeLimitExceeded } from '../domain/messages';
import type { TestRecord } from '../domain/test';
import { endTest } from '../tests/end-test';
import { teardownTestVm } from '../tests/teardown';
import { COMPUTE_CONCURRENCY, eachCandidate, type StepCounts, type SweepExpiredDeps } from './deps';
import { repostFinalStatuses } from './final-statuses';
import { reconcileSlots } from './slots';
import { sweepVms, type VmSweepSummary } from './vm-pass';
import { endExpiredWaits } from './waits';
import { checkBuildWaits } from './builds';

export interface SweepExpiredSummary {
  /** Recorded deletions due for a check: retried, found done, or given up. */
  deletions: StepCounts;
  /** Tests past their deadline: ended `timed_out`. */
  timedOut: StepCounts;
  /** Tests that waited for a build or an approval past its limit: ended `error`. */
  waits: StepCounts;
  /** Build waits without news, checked on GitHub: released, failed, or ended as not run. */
  builds: StepCounts;
  vms: VmSweepSummary;
  /** Capacity slots held by tests that do not hold them, or missing for tests that do. */
  slots: StepCounts;
  /** Ended tests whose final status GitHub may not show: posted again (or given up). */
  statuses: StepCounts;
}

export async function sweepExpired(deps: SweepExpiredDeps): Promise<SweepExpiredSummary> {
  // Deletions first: the ends below record new ones, which their teardown tasks do at once.
  const deletions = await finishDeletions(deps);
  const timedOut = await endTimedOut(deps);
  // Before the limits: a build that is over counts, however late the news.
  const builds = await checkBuildWaits(deps);
  const waits = await endExpiredWaits(deps);
  const vms = await sweepVms(deps);
  const slots = await reconcileSlots(deps);
  // Last: what the steps above ended has had its own post; only older ends are due.
  const statuses = await repostFinalStatuses(deps);
  return { deletions, timedOut, builds, waits, vms, slots, statuses };
}

async function finishDeletions(deps: SweepExpiredDeps): Promise<StepCounts> {
  const { expiredBatch: limit, deletionMaxAttempts, deletionBackoffSeconds } = deps.config.sweeps;
  const tests = await deps.store.listDueDeletions(deps.now(), limit);
  return eachCandidate(
    deps.log,
    'deletions',
    tests,
    limit,
    async (test) => {
      const deletion = test.deletion!;
      if (deletion.attempts >= deletionMaxAttempts) return giveUpDeletion(deps, test);
      const outcome = await teardownTestVm(deps, test, {
        budgetMs: deps.deleteBudgetMs,
        backoffBaseMs: deletionBackoffSeconds * 1000,
        expectAttempts: deletion.attempts,
      });
      switch (outcome.outcome) {
        case 'gone':
        case 'deleting':
          return 'done';
        case 'failed':
          return 'failed';
        default:
          return 'skipped';
      }
    },
    COMPUTE_CONCURRENCY,
  );
}

/** Stops retrying, once, and says so where Error Reporting shows it. */
async function giveUpDeletion(
  deps: SweepExpiredDeps,
  test: TestRecord,
): Promise<'failed' | 'skipped'> {
  const deletion = test.deletion!;
  const { recorded } = await deps.store.recordDeletion(
    test.id,
    { ...deletion, nextCheckAt: null },
    { attempts: deletion.attempts },
  );
  if (!recorded) return 'skipped';
  deps.log
    .child({ testId: test.id, platform: test.platform, instance: deletion.name })
    .error('VM deletion given up: delete the VM by hand', {
      error: new Error(
        `VM ${deletion.name} in ${deletion.zone} was not deleted after ${deletion.attempts} attempts`,
      ),
      zone: deletion.zone,
      attempts: deletion.attempts,
      requestedAt: deletion.requestedAt,
    });
  return 'failed';
}

async function endTimedOut(deps: SweepExpiredDeps): Promise<StepCounts> {
  const limit = deps.config.sweeps.expiredBatch;
  const tests = await deps.store.listPastDeadline(deps.now(), limit);
  return eachCandidate(deps.log, 'timedOut', tests, limit, async (test) => {
    const ended = await endTest(deps, test, {
      status: 'timed_out',
      message: timeLimitExceeded(limitMinutes(deps, test)),
    });
    return ended.ended ? 'done' : 'skipped';
  });
}

/** The limit the deadline was set from (the configuration may have changed since). */
function limitMinutes(deps: SweepExpiredDeps, test: TestRecord): number {
  if (test.startedAt && test.deadlineAt) {
    return Math.round((test.deadlineAt.getTime() - test.startedAt.getTime()) / 60_000);
  }
  return deps.config.platforms[test.platform]?.maxRunMinutes ?? 0;
}
