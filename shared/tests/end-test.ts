// Ending a live test with an outcome (a result, a failure, later a time-out):
// the one compare-and-set end move from the status the caller read, then what
// follows every end (after-end.ts). Losing the race is data: the caller reads
// the test again and decides anew.
import type {
  TerminalStatus,
  TestFailures,
  TestRecord,
  TestResult,
  WaitReason,
} from '../domain/test';
import type { TransitionResult } from '../store/port';
import { afterTestEnded, type AfterEndDeps, type AfterEndOutcome } from './after-end';
import { endMove } from './end-move';

export interface TestEnd {
  status: TerminalStatus;
  /** The friendly line (the final status description). */
  message: string;
  result?: TestResult;
  /** A failed run's failing tests, named by its JUnit files. */
  failures?: TestFailures;
}

/**
 * More of the state the caller read, checked with the status: the VM's stage
 * (a report that lands meanwhile wins), or the wait (a test that began
 * another wait meanwhile is not ended for this one).
 */
export type EndExpectation =
  { stage: TestRecord['stage'] } | { waitReason: WaitReason; waitingSince: Date | null };

export type EndTestResult =
  | { ended: true; test: TestRecord; after: AfterEndOutcome }
  | { ended: false; refusal: Exclude<TransitionResult, { ok: true }> };

export async function endTest(
  deps: AfterEndDeps,
  test: TestRecord,
  end: TestEnd,
  expect?: EndExpectation,
): Promise<EndTestResult> {
  const move = endMove(test, end.status, end.message, deps.now());
  if (end.result) move.patch = { ...move.patch, result: end.result };
  if (end.failures) move.patch = { ...move.patch, failures: end.failures };
  if (expect && 'stage' in expect) move.expect = { stage: [expect.stage] };
  if (expect && 'waitReason' in expect) {
    move.expect = { waitReason: [expect.waitReason], waitingSince: expect.waitingSince };
  }
  const moved = await deps.store.transition(test.id, move);
  if (!moved.ok) return { ended: false, refusal: moved };
  deps.log.child({ testId: test.id, platform: test.platform }).info('Test ended', {
    from: test.status,
    status: end.status,
    statusMessage: end.message,
    exitCode: end.result?.exitCode,
  });
  const slotReleased = moved.slot?.op === 'release' && moved.slot.released;
  const after = await afterTestEnded(deps, moved.test, { slotReleased });
  return { ended: true, test: moved.test, after };
}
