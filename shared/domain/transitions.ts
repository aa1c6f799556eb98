// Every move a test may make (DESIGN §2), as one table. Terminal statuses have
// no way out: a re-run is a new test. A move to the same status is an update
// within it (a new stage, a new enqueue generation, a new message).
import { isTerminal, type TestStatus } from './test';

export const TRANSITIONS: Readonly<Record<TestStatus, readonly TestStatus[]>> = {
  waiting: ['waiting', 'pending', 'queued', 'failed', 'error', 'canceled'],
  pending: ['pending', 'waiting', 'queued', 'error', 'canceled'],
  queued: ['queued', 'waiting', 'pending', 'starting', 'error', 'canceled'],
  starting: ['starting', 'queued', 'pending', 'running', 'error', 'timed_out', 'canceled'],
  running: ['running', 'passed', 'failed', 'error', 'timed_out', 'canceled'],
  passed: [],
  failed: [],
  error: [],
  timed_out: [],
  canceled: [],
};

export function canTransition(from: TestStatus, to: TestStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export type MoveCheck =
  { ok: true } | { ok: false; reason: 'terminal' | 'not_allowed' | 'unexpected_status' };

/**
 * Checks a compare-and-set move: the test must be in one of `expected` (the
 * status the writer read) and the table must allow `from → to`.
 */
export function checkMove(
  current: TestStatus,
  expected: readonly TestStatus[],
  to: TestStatus,
): MoveCheck {
  if (!expected.includes(current)) return { ok: false, reason: 'unexpected_status' };
  if (isTerminal(current)) return { ok: false, reason: 'terminal' };
  if (!canTransition(current, to)) return { ok: false, reason: 'not_allowed' };
  return { ok: true };
}
