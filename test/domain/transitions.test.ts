import fc from 'fast-check';
import {
  TERMINAL_STATUSES,
  TEST_STATUSES,
  isTerminal,
  type TestStatus,
} from '../../shared/domain/test';
import { TRANSITIONS, canTransition, checkMove } from '../../shared/domain/transitions';

const NON_TERMINAL = TEST_STATUSES.filter((s) => !isTerminal(s));
const status = fc.constantFrom(...TEST_STATUSES);

/** Every status reachable from `from` in one or more moves. */
function reachable(from: TestStatus): Set<TestStatus> {
  const seen = new Set<TestStatus>();
  const todo: TestStatus[] = [from];
  for (let s = todo.pop(); s !== undefined; s = todo.pop()) {
    for (const next of TRANSITIONS[s]) {
      if (!seen.has(next)) {
        seen.add(next);
        todo.push(next);
      }
    }
  }
  return seen;
}

describe('the transition table', () => {
  it('has a row for every status and names only known statuses', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...TEST_STATUSES].sort());
    for (const targets of Object.values(TRANSITIONS)) {
      for (const to of targets) expect(TEST_STATUSES).toContain(to);
    }
  });

  it.each(TERMINAL_STATUSES.map((s) => [s]))('terminal %s has no exits', (from) => {
    expect(TRANSITIONS[from]).toEqual([]);
    for (const to of TEST_STATUSES) expect(canTransition(from, to)).toBe(false);
  });

  it.each(NON_TERMINAL.map((s) => [s]))(
    '%s can be canceled or errored in one move, and may update itself',
    (from) => {
      expect(canTransition(from, 'canceled')).toBe(true);
      expect(canTransition(from, 'error')).toBe(true);
      expect(canTransition(from, from)).toBe(true);
    },
  );

  it.each(NON_TERMINAL.map((s) => [s]))('%s can still reach every terminal status', (from) => {
    const r = reachable(from);
    for (const end of ['passed', 'failed', 'timed_out', 'canceled', 'error'] as const) {
      expect(r.has(end)).toBe(true);
    }
  });

  it.each<[TestStatus, TestStatus]>([
    ['waiting', 'running'],
    ['waiting', 'passed'],
    ['pending', 'running'],
    ['pending', 'starting'],
    ['queued', 'running'],
    ['queued', 'passed'],
    ['starting', 'passed'],
    ['starting', 'waiting'],
    ['running', 'queued'],
    ['running', 'pending'],
    ['running', 'starting'],
    ['running', 'waiting'],
  ])('%s → %s is not allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it.each<[TestStatus, TestStatus]>([
    ['waiting', 'pending'],
    ['waiting', 'failed'],
    ['pending', 'queued'],
    ['queued', 'starting'],
    ['queued', 'pending'],
    ['starting', 'running'],
    ['starting', 'queued'],
    ['starting', 'timed_out'],
    ['running', 'passed'],
    ['running', 'failed'],
    ['running', 'timed_out'],
  ])('%s → %s is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it('only `running` and `starting` can time out, only `running` can pass', () => {
    const into = (to: TestStatus) => TEST_STATUSES.filter((from) => canTransition(from, to));
    expect(into('timed_out').sort()).toEqual(['running', 'starting']);
    expect(into('passed')).toEqual(['running']);
  });
});

describe('checkMove', () => {
  it.each<{
    current: TestStatus;
    expected: TestStatus[];
    to: TestStatus;
    result: ReturnType<typeof checkMove>;
  }>([
    { current: 'queued', expected: ['queued'], to: 'starting', result: { ok: true } },
    { current: 'pending', expected: ['pending', 'queued'], to: 'queued', result: { ok: true } },
    { current: 'running', expected: ['running'], to: 'running', result: { ok: true } },
    {
      current: 'starting',
      expected: ['queued'],
      to: 'starting',
      result: { ok: false, reason: 'unexpected_status' },
    },
    {
      current: 'passed',
      expected: ['running'],
      to: 'failed',
      result: { ok: false, reason: 'unexpected_status' },
    },
    {
      current: 'passed',
      expected: ['passed'],
      to: 'failed',
      result: { ok: false, reason: 'terminal' },
    },
    {
      current: 'canceled',
      expected: ['canceled', 'running'],
      to: 'canceled',
      result: { ok: false, reason: 'terminal' },
    },
    {
      current: 'running',
      expected: ['running'],
      to: 'queued',
      result: { ok: false, reason: 'not_allowed' },
    },
    {
      current: 'waiting',
      expected: ['waiting'],
      to: 'passed',
      result: { ok: false, reason: 'not_allowed' },
    },
    {
      current: 'queued',
      expected: [],
      to: 'starting',
      result: { ok: false, reason: 'unexpected_status' },
    },
  ])('$current (expected $expected) → $to', ({ current, expected, to, result }) => {
    expect(checkMove(current, expected, to)).toEqual(result);
  });

  it('allows a move exactly when the status is expected and the table allows it', () => {
    fc.assert(
      fc.property(status, fc.uniqueArray(status), status, (current, expected, to) => {
        const check = checkMove(current, expected, to);
        expect(check.ok).toBe(expected.includes(current) && canTransition(current, to));
        if (!check.ok) {
          const reason = !expected.includes(current)
            ? 'unexpected_status'
            : isTerminal(current)
              ? 'terminal'
              : 'not_allowed';
          expect(check.reason).toBe(reason);
        }
      }),
    );
  });

  it('of two writers that read the same status, at most one wins the compare-and-set', () => {
    // Model: both read `read`, race; the first write moves the test, the second checks against it.
    fc.assert(
      fc.property(status, status, status, (read, toA, toB) => {
        fc.pre(toA !== read && checkMove(read, [read], toA).ok);
        expect(checkMove(toA, [read], toB).ok).toBe(false);
      }),
    );
  });
});
