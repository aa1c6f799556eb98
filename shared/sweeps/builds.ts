// Build waits checked again (issue 14, item 1): a test that has waited for its
// build for BUILD_CHECK_AFTER_MS without news asks GitHub's Actions API once
// per check: a run that completed (its workflow_run event was lost) moves it;
// no run at all means the workflow's path or branch filters skip the commit,
// so the test ends as not tested instead of pending until the wait's limit.
// What GitHub says is kept, so the commit's other tests are not asked again
// until the next check is due.
import { settleBuildWaits } from '../builds/settle';
import { publishTestStatus } from '../github/publish';
import { enqueueTest } from '../queue/enqueue-test';
import { afterTestEnded } from '../tests/after-end';
import { isTerminal } from '../domain/test';
import { addCounts, eachCandidate, noCounts, type StepCounts, type SweepExpiredDeps } from './deps';

/** How long a build may be silent before GitHub is asked, and between two asks. */
export const BUILD_CHECK_AFTER_MS = 10 * 60_000;

export async function checkBuildWaits(deps: SweepExpiredDeps): Promise<StepCounts> {
  let total = noCounts();
  const batch = deps.config.sweeps.expiredBatch;
  for (const [platform, settings] of Object.entries(deps.config.platforms)) {
    if (settings.buildWorkflow === undefined) continue;
    const before = new Date(deps.now().getTime() - BUILD_CHECK_AFTER_MS);
    const tests = await deps.store.listWaitingBefore(platform, 'build', before, batch);
    const counts = await eachCandidate(deps.log, 'builds', tests, batch, async (test) => {
      const moved = await settleBuildWaits(deps, [test], {
        ask: { checkedBefore: before },
        endIfNotRun: true,
      });
      for (const next of moved) {
        deps.log.child({ testId: next.id, platform }).info('Build wait settled by a check', {
          status: next.status,
          statusMessage: next.message,
        });
        if (isTerminal(next.status)) await afterTestEnded(deps, next, { slotReleased: false });
        else {
          const queued = next.status === 'pending' ? await enqueueTest(deps, next) : null;
          await publishTestStatus(deps, queued?.queued ? queued.test : next);
        }
      }
      return moved.length ? 'done' : 'skipped';
    });
    total = addCounts(total, counts);
  }
  return total;
}
