// Waiting has an end (issue 12, item 5): a test that waits for its platform's
// build workflow longer than `waitForBuildMinutes`, or for a maintainer's
// approval longer than `waitForApprovalDays`, ends `error` with a line that
// says what to do, so GitHub does not show it pending forever. The time is
// measured from when the test began waiting for that reason (`waitingSince`).
// A wait for a platform's maintenance never expires: it ends when the
// maintenance does. Every end is endTest's compare-and-set on the status and
// the wait read, so a test released meanwhile (its build finished, it was
// approved) is left alone, and two runs at once end each test once.
import { buildWaitMinutes } from '../config/schema';
import { approvalWaitExpired, buildWaitExpired } from '../domain/messages';
import type { WaitReason } from '../domain/test';
import { endTest } from '../tests/end-test';
import { addCounts, eachCandidate, noCounts, type StepCounts, type SweepExpiredDeps } from './deps';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** The waits that expire, per platform: how long they may last, and the final line. */
function limitsOf(deps: SweepExpiredDeps, platform: string) {
  const settings = deps.config.platforms[platform]!;
  const days = deps.config.waitForApprovalDays;
  const minutes = buildWaitMinutes(settings);
  const limits: { reason: Exclude<WaitReason, 'maintenance'>; ms: number; message: string }[] = [
    { reason: 'approval', ms: days * DAY_MS, message: approvalWaitExpired(days) },
    {
      reason: 'build',
      ms: minutes * MINUTE_MS,
      message: buildWaitExpired(settings.buildWorkflow, minutes),
    },
  ];
  return limits;
}

/** Ends the tests whose wait for a build or an approval outlasted its limit, per platform. */
export async function endExpiredWaits(deps: SweepExpiredDeps): Promise<StepCounts> {
  let total = noCounts();
  for (const platform of Object.keys(deps.config.platforms)) {
    for (const limit of limitsOf(deps, platform)) {
      total = addCounts(total, await endWaits(deps, platform, limit));
    }
  }
  return total;
}

async function endWaits(
  deps: SweepExpiredDeps,
  platform: string,
  limit: ReturnType<typeof limitsOf>[number],
): Promise<StepCounts> {
  const batch = deps.config.sweeps.expiredBatch;
  const before = new Date(deps.now().getTime() - limit.ms);
  const tests = await deps.store.listWaitingBefore(platform, limit.reason, before, batch);
  return eachCandidate(deps.log, 'waits', tests, batch, async (test) => {
    const ended = await endTest(
      deps,
      test,
      { status: 'error', message: limit.message },
      { waitReason: limit.reason, waitingSince: test.waitingSince },
    );
    if (!ended.ended) return 'skipped';
    deps.log.child({ testId: test.id, platform }).info('A wait ran past its limit; test ended', {
      waitReason: limit.reason,
      waitingSince: test.waitingSince,
      limitMinutes: limit.ms / MINUTE_MS,
      statusMessage: limit.message,
    });
    return 'done';
  });
}
