// The progress report's body and what it does to a test (DESIGN §6), without a
// store: the schema's 400s name the field, stages only move forward, a result
// ends the test with a line that never contradicts its status, and a canceled
// or ended test refuses every report but the one that ended it.
import fc from 'fast-check';
import { formatIssues } from '../../shared/config';
import {
  allTestsPassed,
  PREPARING_VM,
  RUNNING_TESTS,
  STATUS_LINE_MAX,
  stageMessage,
  testsFailed,
  testsFailedExitCode,
  vmReportedFailure,
} from '../../shared/domain/messages';
import { STAGES, TEST_STATUSES, type Stage, type TestRecord } from '../../shared/domain/test';
import {
  decideReport,
  endOf,
  progressReportSchema,
  storedResult,
  SUMMARY_MAX,
  type ProgressReport,
} from '../../shared/progress/report';
import { at, testRecord } from '../contracts/store/fixtures';

type Completed = Extract<ProgressReport, { stage: 'completed' }>;
type Result = Completed['result'];

/** Half of a surrogate pair: Firestore stores it as U+FFFD, so the text changes on the way. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const VM = { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'SPOT' } as const;

function running(stage: Stage | null = 'preparation', overrides: Partial<TestRecord> = {}) {
  return testRecord({
    id: 't1',
    status: 'running',
    stage,
    message: stage ? stageMessage(stage) : 'VM started, preparing tests',
    startedAt: at(1),
    instance: VM,
    tokenHash: 'f'.repeat(64),
    ...overrides,
  });
}

function completed(result: Result): Completed {
  return { testId: 't1', stage: 'completed', result };
}

const failedReport = (message: string): Extract<ProgressReport, { stage: 'failed' }> => ({
  testId: 't1',
  stage: 'failed',
  message,
});

const stageReport = (stage: Stage): ProgressReport => ({ testId: 't1', stage });

/** Every kind of report, for the "refuses every report" rules. */
const EVERY_REPORT: readonly [string, ProgressReport][] = [
  ['preparation', stageReport('preparation')],
  ['testing', stageReport('testing')],
  ['completed', completed({ exitCode: 0, passed: 3, failed: 0, summary: '3 passed' })],
  ['failed', failedReport('disk full')],
];

/** The test as the end `report` asks for left it. */
function endedBy(
  test: TestRecord,
  report: Extract<ProgressReport, { stage: 'completed' | 'failed' }>,
) {
  const end = endOf(report);
  return {
    ...test,
    status: end.status,
    message: end.message,
    result: end.result ?? null,
    finishedAt: at(9),
  };
}

function problemsOf(body: unknown): string[] {
  const parsed = progressReportSchema.safeParse(body);
  if (parsed.success) throw new Error(`accepted: ${JSON.stringify(body)}`);
  return formatIssues(parsed.error.issues);
}

describe('progressReportSchema', () => {
  it.each<[string, unknown]>([
    ['preparation', { testId: 't1', stage: 'preparation' }],
    ['testing, with a message', { testId: 't1', stage: 'testing', message: 'make check' }],
    [
      'completed, every result field',
      {
        testId: 't1',
        stage: 'completed',
        message: 'done',
        result: { exitCode: 0, passed: 12, failed: 0, summary: '12 passed' },
      },
    ],
    ['completed, exit code only', { testId: 't1', stage: 'completed', result: { exitCode: 2 } }],
    [
      'completed, null counts',
      { testId: 't1', stage: 'completed', result: { exitCode: 1, passed: null, failed: null } },
    ],
    ['failed, with its reason', { testId: 't1', stage: 'failed', message: 'git fetch failed' }],
  ])('accepts %s', (_name, body) => {
    expect(progressReportSchema.safeParse(body)).toEqual({ success: true, data: body });
  });

  it.each<[string, unknown, RegExp]>([
    ['a missing testId', { stage: 'testing' }, /^testId: /],
    ['an empty testId', { testId: '', stage: 'testing' }, /^testId: /],
    ['an unknown stage', { testId: 't1', stage: 'done' }, /^stage: /],
    ['a missing stage', { testId: 't1' }, /^stage: /],
    ['completed without a result', { testId: 't1', stage: 'completed' }, /^result: /],
    [
      'a non-integer exit code',
      { testId: 't1', stage: 'completed', result: { exitCode: 1.5 } },
      /^result\.exitCode: /,
    ],
    [
      'a missing exit code',
      { testId: 't1', stage: 'completed', result: { passed: 1 } },
      /^result\.exitCode: /,
    ],
    [
      'a negative passed count',
      { testId: 't1', stage: 'completed', result: { exitCode: 0, passed: -1 } },
      /^result\.passed: /,
    ],
    [
      'a negative failed count',
      { testId: 't1', stage: 'completed', result: { exitCode: 1, failed: -2 } },
      /^result\.failed: /,
    ],
    [
      'a fractional count',
      { testId: 't1', stage: 'completed', result: { exitCode: 1, failed: 0.5 } },
      /^result\.failed: /,
    ],
    ['failed without its reason', { testId: 't1', stage: 'failed' }, /^message: /],
    ['an unknown key', { testId: 't1', stage: 'testing', token: 'x' }, /^token: unknown key$/],
    [
      'an unknown key in the result',
      { testId: 't1', stage: 'completed', result: { exitCode: 0, skipped: 1 } },
      /^result\.skipped: unknown key$/,
    ],
    [
      'a result on a stage report',
      { testId: 't1', stage: 'testing', result: { exitCode: 0 } },
      /^result: unknown key$/,
    ],
  ])('rejects %s, naming the field', (_name, body, field) => {
    const problems = problemsOf(body);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(field);
  });
});

describe('storedResult', () => {
  it('keeps the counts, null when not given, and the summary on one line', () => {
    expect(
      storedResult({ exitCode: 3, summary: '  2 failed\n\n  1 passed\r\n\tin 4s \u2028' }),
    ).toEqual({ exitCode: 3, passed: null, failed: null, summary: '2 failed 1 passed in 4s' });
    expect(storedResult({ exitCode: 0, passed: 4, failed: 0 })).toEqual({
      exitCode: 0,
      passed: 4,
      failed: 0,
      summary: '',
    });
  });

  it(`cuts a long summary to ${SUMMARY_MAX} characters, with an ellipsis`, () => {
    const { summary } = storedResult({ exitCode: 1, summary: 'x\n'.repeat(5000) });
    expect(summary).toHaveLength(SUMMARY_MAX);
    expect(summary.endsWith('…')).toBe(true);
    expect(summary.startsWith('x x x')).toBe(true);
  });

  it('never cuts a character in half at the limit', () => {
    // The cut falls between the two halves of the emoji's surrogate pair.
    const summary = `${'x'.repeat(SUMMARY_MAX - 2)}😀 and more`;
    const stored = storedResult({ exitCode: 1, summary }).summary;
    expect(stored.length).toBeLessThanOrEqual(SUMMARY_MAX);
    expect(stored.endsWith('…')).toBe(true);
    expect(stored).not.toMatch(LONE_SURROGATE);
  });

  it('keeps a summary of exactly the limit whole', () => {
    const exact = 'y'.repeat(SUMMARY_MAX);
    expect(storedResult({ exitCode: 0, summary: exact }).summary).toBe(exact);
  });
});

describe('endOf', () => {
  it('a passing run: passed, "All tests passed (N passed)", the stored result', () => {
    expect(endOf(completed({ exitCode: 0, passed: 7, failed: 0, summary: 'ok\nok' }))).toEqual({
      status: 'passed',
      message: 'All tests passed (7 passed)',
      result: { exitCode: 0, passed: 7, failed: 0, summary: 'ok ok' },
    });
  });

  it('a failed stage: error with the reason on one line, no result', () => {
    expect(endOf({ testId: 't1', stage: 'failed', message: 'git fetch\nfailed' })).toEqual({
      status: 'error',
      message: 'Test run failed: git fetch failed',
    });
  });
});

describe('decideReport on a running test', () => {
  it('preparation → testing moves forward, with the stage line', () => {
    expect(decideReport(running('preparation'), stageReport('testing'))).toEqual({
      kind: 'stage',
      stage: 'testing',
      message: RUNNING_TESTS,
    });
  });

  it('a first stage on a test without one moves to it', () => {
    expect(decideReport(running(null), stageReport('preparation'))).toEqual({
      kind: 'stage',
      stage: 'preparation',
      message: PREPARING_VM,
    });
    expect(decideReport(running(null), stageReport('testing'))).toEqual({
      kind: 'stage',
      stage: 'testing',
      message: RUNNING_TESTS,
    });
  });

  it.each(STAGES)('the same stage again (%s) changes nothing', (stage) => {
    expect(decideReport(running(stage), stageReport(stage))).toEqual({ kind: 'unchanged' });
  });

  it('testing → preparation is a stage regression', () => {
    expect(decideReport(running('testing'), stageReport('preparation'))).toEqual({
      kind: 'conflict',
      reason: 'stage_regression',
    });
  });

  it('completed with exit 0 ends it passed, "All tests passed (N)"', () => {
    const decision = decideReport(
      running('testing'),
      completed({ exitCode: 0, passed: 12, failed: 0, summary: '12 passed' }),
    );
    expect(decision).toEqual({
      kind: 'end',
      end: {
        status: 'passed',
        message: allTestsPassed(12),
        result: { exitCode: 0, passed: 12, failed: 0, summary: '12 passed' },
      },
    });
    expect(allTestsPassed(12)).toBe('All tests passed (12 passed)');
  });

  it('completed with exit 0 and no counts: "All tests passed"', () => {
    expect(decideReport(running('testing'), completed({ exitCode: 0 }))).toMatchObject({
      kind: 'end',
      end: { status: 'passed', message: 'All tests passed' },
    });
  });

  it('completed with failures and passes ends it failed, "F of P+F tests failed"', () => {
    const decision = decideReport(
      running('testing'),
      completed({ exitCode: 1, passed: 3, failed: 2 }),
    );
    expect(decision).toEqual({
      kind: 'end',
      end: {
        status: 'failed',
        message: '2 of 5 tests failed',
        result: { exitCode: 1, passed: 3, failed: 2, summary: '' },
      },
    });
    expect(testsFailed(2, 5)).toBe('2 of 5 tests failed');
  });

  it('completed with a non-zero exit and no counts: "Tests failed (exit code X)"', () => {
    expect(decideReport(running('testing'), completed({ exitCode: 137 }))).toEqual({
      kind: 'end',
      end: {
        status: 'failed',
        message: testsFailedExitCode(137),
        result: { exitCode: 137, passed: null, failed: null, summary: '' },
      },
    });
    expect(testsFailedExitCode(137)).toBe('Tests failed (exit code 137)');
  });

  it('exit 0 with failures counted is a failure: status and line never contradict', () => {
    expect(
      decideReport(running('testing'), completed({ exitCode: 0, passed: 4, failed: 1 })),
    ).toMatchObject({ kind: 'end', end: { status: 'failed', message: '1 of 5 tests failed' } });
    expect(decideReport(running('testing'), completed({ exitCode: 0, failed: 3 }))).toMatchObject({
      kind: 'end',
      end: { status: 'failed', message: '3 tests failed' },
    });
  });

  it('a non-zero exit with zero failures counted is still a failure', () => {
    expect(
      decideReport(running('testing'), completed({ exitCode: 2, passed: 5, failed: 0 })),
    ).toMatchObject({
      kind: 'end',
      end: { status: 'failed', message: 'Tests failed (exit code 2)' },
    });
  });

  it('a completed report during preparation still ends the test', () => {
    expect(decideReport(running('preparation'), completed({ exitCode: 0 }))).toMatchObject({
      kind: 'end',
      end: { status: 'passed' },
    });
  });

  it('the failed stage ends it as an error with the VM’s reason', () => {
    expect(decideReport(running('preparation'), failedReport('apt-get: lock held'))).toEqual({
      kind: 'end',
      end: { status: 'error', message: vmReportedFailure('apt-get: lock held') },
    });
    expect(vmReportedFailure('apt-get: lock held')).toBe('Test run failed: apt-get: lock held');
  });
});

describe('decideReport on a test that is not running', () => {
  it.each(EVERY_REPORT)('a starting test is not ready for %s', (_name, report) => {
    expect(decideReport(running(null, { status: 'starting' }), report)).toEqual({
      kind: 'not_ready',
    });
  });

  describe.each(['waiting', 'pending', 'queued'] as const)('a %s test', (status) => {
    it.each(EVERY_REPORT)('refuses %s: not_running', (_name, report) => {
      const test = testRecord({ id: 't1', status, tokenHash: 'f'.repeat(64) });
      expect(decideReport(test, report)).toEqual({ kind: 'conflict', reason: 'not_running' });
    });
  });

  it.each(EVERY_REPORT)('a canceled test refuses %s: canceled', (_name, report) => {
    const test = running('testing', {
      status: 'canceled',
      message: 'PR closed',
      finishedAt: at(5),
    });
    expect(decideReport(test, report)).toEqual({ kind: 'conflict', reason: 'canceled' });
  });

  it('a canceled test refuses even a completed report that matches its result', () => {
    const report = completed({ exitCode: 0, passed: 3, failed: 0 });
    const test = { ...endedBy(running('testing'), report), status: 'canceled' as const };
    expect(decideReport(test, report)).toEqual({ kind: 'conflict', reason: 'canceled' });
  });

  describe('a test ended by a completed report', () => {
    const report = completed({ exitCode: 1, passed: 3, failed: 2, summary: '2 failed\n3 passed' });
    const ended = endedBy(running('testing'), report);

    it('is the stored shape this file expects', () => {
      expect(ended).toMatchObject({
        status: 'failed',
        message: '2 of 5 tests failed',
        result: { exitCode: 1, passed: 3, failed: 2, summary: '2 failed 3 passed' },
      });
    });

    it('the same report again changes nothing', () => {
      expect(decideReport(ended, report)).toEqual({ kind: 'unchanged' });
    });

    it('the same report with its summary re-wrapped is still the same report', () => {
      const rewrapped = completed({ ...report.result, summary: '2 failed  3 passed\n' });
      expect(decideReport(ended, rewrapped)).toEqual({ kind: 'unchanged' });
    });

    it.each<[string, Result]>([
      ['another exit code', { exitCode: 2, passed: 3, failed: 2, summary: '2 failed 3 passed' }],
      ['other counts', { exitCode: 1, passed: 4, failed: 1, summary: '2 failed 3 passed' }],
      ['a count left out', { exitCode: 1, passed: 3, summary: '2 failed 3 passed' }],
      ['another summary', { exitCode: 1, passed: 3, failed: 2, summary: 'other' }],
      ['a passing result', { exitCode: 0, passed: 5, failed: 0 }],
    ])('a completed report with %s conflicts: ended', (_name, result) => {
      expect(decideReport(ended, completed(result))).toEqual({ kind: 'conflict', reason: 'ended' });
    });

    it.each(STAGES)('a %s report conflicts: ended', (stage) => {
      expect(decideReport(ended, stageReport(stage))).toEqual({
        kind: 'conflict',
        reason: 'ended',
      });
    });

    it('a failed report conflicts: ended', () => {
      expect(decideReport(ended, failedReport('boom'))).toEqual({
        kind: 'conflict',
        reason: 'ended',
      });
    });
  });

  describe('a test ended by a failed report', () => {
    const report = failedReport('git fetch failed');
    const ended = endedBy(running('preparation'), report);

    it('the same reason again changes nothing', () => {
      expect(ended).toMatchObject({ status: 'error', result: null });
      expect(decideReport(ended, report)).toEqual({ kind: 'unchanged' });
    });

    it('another reason, or a result, conflicts: ended', () => {
      expect(decideReport(ended, failedReport('disk full'))).toEqual({
        kind: 'conflict',
        reason: 'ended',
      });
      expect(decideReport(ended, completed({ exitCode: 0 }))).toEqual({
        kind: 'conflict',
        reason: 'ended',
      });
    });
  });

  it('a test ended otherwise (timed out) refuses a report whose line it does not carry', () => {
    const test = running('testing', {
      status: 'timed_out',
      message: 'Could not complete tests: time limit of 30 min exceeded',
      finishedAt: at(31),
    });
    for (const [, report] of EVERY_REPORT) {
      expect(decideReport(test, report)).toEqual({ kind: 'conflict', reason: 'ended' });
    }
  });
});

describe('decideReport, for any test and report', () => {
  const RANK: Record<Stage, number> = { preparation: 1, testing: 2 };
  const rank = (stage: Stage | null) => (stage === null ? 0 : RANK[stage]);

  // Text with line breaks, controls, Unicode spaces and astral characters.
  const text = (maxLength: number) =>
    fc.string({
      unit: fc.oneof(
        fc.constantFrom('\n', '\r', '\t', ' ', '\u2028', '\u0085', '\u0000', '😀', 'é'),
        fc.integer({ min: 0, max: 0x10ffff }).map((code) => String.fromCodePoint(code)),
      ),
      maxLength,
    });
  const count = fc
    .option(fc.nat({ max: 1_000_000_000 }), { nil: undefined })
    .chain((n) => (n === undefined ? fc.constantFrom(undefined, null) : fc.constant(n)));
  const result: fc.Arbitrary<Result> = fc
    .record({
      exitCode: fc.oneof(fc.integer({ min: -2_147_483_648, max: 4_294_967_295 }), fc.constant(0)),
      passed: count,
      failed: count,
      summary: fc.option(text(1200), { nil: undefined }),
    })
    .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Result);
  const report: fc.Arbitrary<ProgressReport> = fc.oneof(
    fc.constantFrom(...STAGES).map((stage) => stageReport(stage)),
    result.map((r) => completed(r)),
    text(1000).map((m) => failedReport(m)),
  );
  const stage = fc.constantFrom<Stage | null>(null, ...STAGES);

  it('never moves a stage backwards; a running test ends with a one-line message ≤ 140', () => {
    fc.assert(
      fc.property(stage, report, (current, r) => {
        // Every report is one the door would let through.
        expect(progressReportSchema.safeParse(r).success).toBe(true);
        const decision = decideReport(running(current), r);
        switch (decision.kind) {
          case 'stage':
            expect(rank(decision.stage)).toBeGreaterThan(rank(current));
            expect(decision.message).toBe(stageMessage(decision.stage));
            break;
          case 'unchanged':
            expect(r.stage).toBe(current);
            break;
          case 'conflict':
            expect(decision.reason).toBe('stage_regression');
            expect(r.stage === 'preparation' || r.stage === 'testing').toBe(true);
            expect(rank(r.stage as Stage)).toBeLessThan(rank(current));
            break;
          case 'end': {
            const { message, status } = decision.end;
            expect(message.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
            expect(message).not.toMatch(/[\n\r\u2028\u2029\u0085\p{Cc}]/u);
            expect(message).toBe(message.trim());
            expect(message.length).toBeGreaterThan(0);
            if (r.stage === 'failed') {
              expect(status).toBe('error');
            } else if (r.stage === 'completed') {
              const passes = r.result.exitCode === 0 && !((r.result.failed ?? 0) > 0);
              expect(status).toBe(passes ? 'passed' : 'failed');
              expect(message.startsWith('All tests passed')).toBe(passes);
              expect(decision.end.result?.summary.length).toBeLessThanOrEqual(SUMMARY_MAX);
            } else {
              throw new Error(`a ${r.stage} report ended the test`);
            }
            break;
          }
          default:
            throw new Error(`unexpected decision ${JSON.stringify(decision)}`);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every report on a test that is not running, and never moves its stage', () => {
    const status = fc.constantFrom(...TEST_STATUSES.filter((s) => s !== 'running'));
    fc.assert(
      fc.property(status, stage, report, (s, current, r) => {
        const decision = decideReport(running(current, { status: s }), r);
        expect(['conflict', 'not_ready', 'unchanged']).toContain(decision.kind);
      }),
      { numRuns: 300 },
    );
  });

  it('the report that ended a test is answered unchanged when it comes again', () => {
    const terminal = result.map((r) => completed(r));
    fc.assert(
      fc.property(
        stage,
        fc.oneof(
          terminal,
          text(1000).map((m) => failedReport(m)),
        ),
        (current, r) => {
          const first = decideReport(running(current), r);
          if (first.kind !== 'end') throw new Error(`not ended: ${JSON.stringify(first)}`);
          const ended = { ...running(current), ...first.end, result: first.end.result ?? null };
          expect(decideReport(ended, r)).toEqual({ kind: 'unchanged' });
        },
      ),
      { numRuns: 300 },
    );
  });
});
