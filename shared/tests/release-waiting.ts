// Moves a commit's waiting tests on when what they wait for happened (an
// approval, a build): to `pending`, into their next wait, or to `failed`.
// Each move is a compare-and-set from `waiting`, so of racing writers (a
// webhook and a sweep, two deliveries) exactly one moves each test.
import type { TestRecord, WaitReason } from '../domain/test';
import type { Logger } from '../log';
import type { TestStore, TransitionRequest } from '../store/port';
import { endMove } from './end-move';

export interface ReleaseScope {
  repo: string;
  sha: string;
  /** Only this PR's tests of the commit; absent: every test of the commit (push and PRs). */
  pr?: number;
  platforms: string[];
  /** The wait the tests are in now: only `waiting` tests with this reason move. */
  waitReason: WaitReason;
  /** The line the moved tests show. */
  message: string;
}

/** Waiting tests to move on: to `pending`, to an end, or into the next wait (`toWait`). */
export type ReleaseSelector = ReleaseScope &
  ({ to: 'pending' | 'failed' | 'canceled' } | { to: 'waiting'; toWait: WaitReason });

export interface ReleaseDeps {
  store: TestStore;
  log: Logger;
  now: () => Date;
}

/**
 * Moves the commit's tests that `selector` picks, each by compare-and-set, and
 * returns the moved ones. `known` are the commit's tests if the caller has just
 * read them (else they are listed).
 */
export async function releaseWaiting(
  deps: ReleaseDeps,
  selector: ReleaseSelector,
  known?: readonly TestRecord[],
): Promise<TestRecord[]> {
  const tests = known ?? (await deps.store.listBySha(selector.repo, selector.sha));
  const candidates = tests.filter(
    (test) =>
      test.repo === selector.repo &&
      test.sha === selector.sha &&
      test.status === 'waiting' &&
      test.waitReason === selector.waitReason &&
      selector.platforms.includes(test.platform) &&
      (selector.pr === undefined || test.pr === selector.pr),
  );
  const at = deps.now();
  const moved = await Promise.all(
    candidates.map(async (test) => {
      // A failed build ends the test through the one end move, like every other end.
      const move: TransitionRequest =
        selector.to === 'failed' || selector.to === 'canceled'
          ? endMove(test, selector.to, selector.message, at)
          : { from: ['waiting'], to: selector.to, at, message: selector.message };
      // Still in the wait it was read in: a test that moved into another wait meanwhile stays.
      move.expect = { ...move.expect, waitReason: [selector.waitReason] };
      // The store clears the wait reason of a test that stops waiting.
      if (selector.to === 'waiting') move.patch = { ...move.patch, waitReason: selector.toWait };
      const result = await deps.store.transition(test.id, move);
      if (!result.ok) {
        deps.log.child({ testId: test.id }).info('Waiting test moved meanwhile', {
          reason: result.reason,
        });
        return undefined;
      }
      return result.test;
    }),
  );
  return moved.filter((test): test is TestRecord => test !== undefined);
}
