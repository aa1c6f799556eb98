// A final status always reaches GitHub (DESIGN §3.7; issue 12, item 4). Every
// end sets the test's `statusCheckAt`; noting its final status as posted
// clears it. An ended test whose check is due, so whose final status GitHub
// may not show (its post failed, or an older status landed after it), has it
// posted again here, through publishTestStatus, which posts only what differs
// from the status noted as posted.
//
// Each try is claimed first: the check is moved on by the back-off
// (statusCheckBackoffMs: as long as the status has been failing, from 1 to 30
// minutes) in a compare-and-set, so two runs at once post each status once,
// and a failed try is already scheduled again. A status GitHub still does not
// show `sweeps.statusGiveUpHours` after the test ended (the repository is
// gone, the token lost its access, GitHub kept failing) is given up at its
// next failed try, with one ERROR line for Error Reporting.
import { expectedStatus, statusCheckBackoffMs } from '../domain/github';
import type { TestRecord } from '../domain/test';
import { publishTestStatus } from '../github/publish';
import { eachCandidate, type StepCounts, type SweepExpiredDeps } from './deps';

/**
 * GitHub posts of one run made at once: each may retry for a few seconds, so
 * a batch in a GitHub outage stays within the scheduler's deadline, while
 * GitHub (which asks for serial requests) sees few at a time.
 */
export const GITHUB_CONCURRENCY = 4;

export async function repostFinalStatuses(deps: SweepExpiredDeps): Promise<StepCounts> {
  const limit = deps.config.sweeps.expiredBatch;
  const tests = await deps.store.listDueStatusChecks(deps.now(), limit);
  return eachCandidate(
    deps.log,
    'statuses',
    tests,
    limit,
    (test) => repost(deps, test),
    GITHUB_CONCURRENCY,
  );
}

async function repost(
  deps: SweepExpiredDeps,
  listed: TestRecord,
): Promise<'done' | 'skipped' | 'failed'> {
  const now = deps.now().getTime();
  const endedAt = (listed.finishedAt ?? listed.updatedAt).getTime();
  const next = new Date(now + statusCheckBackoffMs(now - endedAt));
  const claim = await deps.store.claimStatusCheck(listed.id, listed.statusCheckAt!, next);
  if (!claim.claimed) return 'skipped';
  const test = claim.test;
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  const outcome = await publishTestStatus(deps, test, { retriedLater: true });
  if (outcome.posted) {
    log.info('Final commit status posted again', {
      status: test.status,
      shown: test.githubStatus,
      endedAt: new Date(endedAt),
    });
    return 'done';
  }
  if (outcome.reason === 'unchanged') {
    // Noted as shown already (a post noted between the list and the claim): nothing more to check.
    await deps.store.claimStatusCheck(test.id, next, null);
    return 'skipped';
  }
  const giveUpMs = deps.config.sweeps.statusGiveUpHours * 3_600_000;
  if (now - endedAt < giveUpMs) return 'failed';
  const given = await deps.store.claimStatusCheck(test.id, next, null);
  if (given.claimed) {
    const expected = expectedStatus(test);
    log.error('Final commit status given up: GitHub does not show it', {
      error: new Error(
        `The ${expected.state} status of ${test.repo}@${test.sha} (${test.platform}) ` +
          `could not be posted within ${deps.config.sweeps.statusGiveUpHours} h of the end: ` +
          (outcome.result && !outcome.result.ok ? outcome.result.detail : 'failed'),
      ),
      repo: test.repo,
      sha: test.sha,
      state: expected.state,
      description: expected.description,
      httpStatus: outcome.result && !outcome.result.ok ? outcome.result.httpStatus : undefined,
      endedAt: new Date(endedAt),
    });
  }
  return 'failed';
}
