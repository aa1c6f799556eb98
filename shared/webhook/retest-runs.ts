// Which run a /retest makes, once for each comment. A new run is the head's
// newest run of the platform + 1 (shared/tests/rerun.ts), which depends on
// what the store holds when it is read: two deliveries of one comment handled
// at once could read it before or after the other wrote. So the first to
// claim the comment (a create-only record, keyed by repository and comment id)
// fixes the runs, and every delivery of that comment carries out the same
// runs: the same test ids, so one run whichever delivery writes first. A
// delivery that crashed after claiming is finished by the next one.
import { createHash } from 'node:crypto';
import { newTestRecord, type TestStart } from '../domain/new-test';
import { isTerminal, type TestRecord } from '../domain/test';
import type { Logger } from '../log';
import type { DeliveryRecord, TestStore } from '../store/port';
import { latestRun } from '../tests/rerun';
import type { HandledPlan, RetestOrder, RetestReply } from './plan';
import { supersededByRetest } from './retest';

/**
 * The delivery-record id that claims a comment: a prefix no X-GitHub-Delivery
 * can have (those are letters, digits and `-`), then a hash of the repository
 * and the comment id.
 */
export function commentClaimId(repo: string, commentId: number): string {
  const hash = createHash('sha256')
    .update(JSON.stringify(['vmci/comment/v1', repo.toLowerCase(), commentId]))
    .digest('hex');
  return `comment_${hash}`;
}

export interface ClaimDeps {
  store: Pick<TestStore, 'listBySha' | 'recordDelivery'>;
  log: Logger;
}

export interface ClaimTimes {
  now: Date;
  expireAt: Date;
}

/** What the claim of a taken /retest holds: the head and each platform's run. */
interface RunsClaim {
  delivery: string;
  retest: { sha: string; runs: Record<string, number> };
}

function readRunsClaim(body: unknown): RunsClaim | null {
  const claim = body as Partial<RunsClaim> | null;
  const runs = claim?.retest?.runs;
  if (typeof claim?.retest?.sha !== 'string' || typeof runs !== 'object' || runs === null) {
    return null;
  }
  if (!Object.values(runs).every((run) => Number.isSafeInteger(run) && run >= 1)) return null;
  return claim as RunsClaim;
}

export type ClaimedRuns =
  /** The plan to carry out: its tests are the claimed runs, with the older live runs they replace. */
  | { ok: true; plan: HandledPlan; first: boolean }
  /** Another delivery of the comment claimed it for another head: nothing to do. */
  | { ok: false; reason: string; claimedBy: string };

/** The planned test as run `run`, starting as planned (its id follows the run). */
function asRun(test: TestRecord, run: number, now: Date): TestRecord {
  const start = {
    status: test.status,
    waitReason: test.waitReason,
    message: test.message,
  } as TestStart;
  return newTestRecord({ ...test, run }, start, now);
}

/**
 * Claims the comment of `plan.retest` with the runs it would make now, or
 * takes the runs claimed before; returns the plan with those runs to create,
 * and the head's live older runs of the same platforms to cancel.
 */
export async function claimRetestRuns(
  deps: ClaimDeps,
  plan: HandledPlan & { retest: RetestOrder },
  delivery: string,
  times: ClaimTimes,
): Promise<ClaimedRuns> {
  const { repo, sha, commentId } = plan.retest;
  const commitTests = await deps.store.listBySha(repo, sha);
  const proposed = Object.fromEntries(
    plan.create.map((test) => [test.platform, (latestRun(commitTests, test)?.run ?? 0) + 1]),
  );
  const claim: RunsClaim = { delivery, retest: { sha, runs: proposed } };
  const { first, record } = await deps.store.recordDelivery({
    id: commentClaimId(repo, commentId),
    event: 'issue_comment',
    receivedAt: times.now,
    expireAt: times.expireAt,
    response: { status: 202, body: claim },
  });
  let runs = proposed;
  if (!first) {
    const earlier = readRunsClaim(record.response.body);
    const claimedBy = earlier?.delivery ?? 'an earlier delivery';
    if (earlier === null || earlier.retest.sha !== sha) {
      return {
        ok: false,
        claimedBy,
        reason: `this /retest was taken by delivery ${claimedBy}${earlier ? ` for ${earlier.retest.sha.slice(0, 7)}` : ''}`,
      };
    }
    deps.log.info('/retest claimed by an earlier delivery: carrying out its runs', {
      firstDelivery: claimedBy,
      runs: earlier.retest.runs,
    });
    runs = earlier.retest.runs;
  }
  const create = plan.create.flatMap((test) => {
    const run = runs[test.platform];
    return run === undefined ? [] : [asRun(test, run, times.now)];
  });
  const replaceRuns = commitTests.flatMap((read) => {
    const planned = create.find(
      (test) =>
        test.platform === read.platform && test.trigger === read.trigger && test.pr === read.pr,
    );
    if (!planned || read.run >= planned.run || isTerminal(read.status)) return [];
    return [{ read, message: supersededByRetest(planned.run) }];
  });
  return { ok: true, first, plan: { ...plan, create, replaceRuns } };
}

/** Claims the comment of a refused /retest; only the first delivery to claim it replies. */
export async function claimRefusal(
  deps: Pick<ClaimDeps, 'store'>,
  reply: RetestReply,
  answer: DeliveryRecord['response'],
  times: ClaimTimes,
): Promise<boolean> {
  const { first } = await deps.store.recordDelivery({
    id: commentClaimId(reply.repo, reply.commentId),
    event: 'issue_comment',
    receivedAt: times.now,
    expireAt: times.expireAt,
    response: answer,
  });
  return first;
}
