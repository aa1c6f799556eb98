import fc from 'fast-check';
import {
  BUILD_WORKFLOW_FAILED,
  CANCELED_BY_MAINTAINER,
  GCP_MESSAGES,
  PREPARING_VM,
  PR_CLOSED,
  RUNNING_TESTS,
  STARTING_VM,
  STATUS_LINE_MAX,
  TESTS_QUEUED,
  USER_BLOCKED,
  VM_STOPPED_WITHOUT_RESULT,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
  allTestsPassed,
  finalRetriableMessage,
  fitStatusLine,
  isPassingResult,
  newCommitWaitsForApproval,
  platformInMaintenance,
  resultMessage,
  stageMessage,
  supersededBy,
  testsFailed,
  testsFailedExitCode,
  timeLimitExceeded,
  vmCreationFailed,
  vmReportedFailure,
  waitMessage,
  waitingForSlot,
} from '../../shared/domain/messages';
import { STAGES, WAIT_REASONS } from '../../shared/domain/test';

const LINE_BREAK = /[\p{Cc}\u2028\u2029]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function expectStatusLine(line: string): void {
  expect(typeof line).toBe('string');
  expect(line.length).toBeGreaterThan(0);
  expect(line.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
  expect(line).not.toMatch(LINE_BREAK);
  expect(line).toBe(line.trim());
  expect(line).not.toMatch(LONE_SURROGATE);
}

// Text that tries hard to break a status line: long, multi-line, astral, control characters.
const nastyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.string({ unit: 'binary-ascii', maxLength: 400 }),
  fc
    .tuple(fc.string({ maxLength: 60 }), fc.constantFrom('\n', '\r\n', '\u2028', '\t', '\u0085'))
    .map(([s, br]) => Array.from({ length: 8 }, () => s).join(br)),
  fc.nat({ max: 1000 }).map((n) => '😀'.repeat(n)),
  fc.constant('x'.repeat(10_000)),
);

const anyNumber = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MAX_SAFE_INTEGER, 1e21, NaN),
);
const anyCount = fc.option(anyNumber, { nil: null });

describe('fitStatusLine', () => {
  it.each([
    { text: 'Tests queued', expected: 'Tests queued' },
    { text: '  a\n\n b\t\tc \r\n', expected: 'a b c' },
    { text: 'one\u2028two\u0085three', expected: 'one two three' },
    { text: 'x'.repeat(140), expected: 'x'.repeat(140) },
    { text: 'x'.repeat(141), expected: `${'x'.repeat(139)}…` },
  ])('turns $text.length characters into one fitting line', ({ text, expected }) => {
    expect(fitStatusLine(text)).toBe(expected);
  });

  it('never cuts a surrogate pair in half', () => {
    const text = `${'a'.repeat(138)}😀${'b'.repeat(10)}`;
    const line = fitStatusLine(text);
    expect(line).toBe(`${'a'.repeat(138)}…`);
    expect(line).not.toMatch(LONE_SURROGATE);
  });

  it('keeps a whole emoji when it fits before the ellipsis', () => {
    const line = fitStatusLine(`${'a'.repeat(137)}😀${'b'.repeat(10)}`);
    expect(line).toBe(`${'a'.repeat(137)}😀…`);
  });

  it('always gives one line of at most 140 characters', () => {
    fc.assert(
      fc.property(
        nastyText.filter((s) => /[^\s\p{Cc}]/u.test(s)),
        (text) => {
          expectStatusLine(fitStatusLine(text));
        },
      ),
    );
  });

  it('leaves a short single-line text unchanged', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9]([A-Za-z0-9 .,:()-]{0,138}[A-Za-z0-9.)])?$/),
        (s) => {
          fc.pre(!s.includes('  '));
          expect(fitStatusLine(s)).toBe(s);
        },
      ),
    );
  });
});

describe('every message is one line of at most 140 characters', () => {
  const textMessages: ReadonlyArray<[string, (s: string) => string]> = [
    ['platformInMaintenance', platformInMaintenance],
    ['waitingForSlot', waitingForSlot],
    ['supersededBy', supersededBy],
    ['vmReportedFailure', vmReportedFailure],
    ['vmCreationFailed', vmCreationFailed],
    ['finalRetriableMessage', (s) => finalRetriableMessage(`GCP quota limit reached. ${s}`)],
    ['waitMessage(maintenance)', (s) => waitMessage('maintenance', s)],
  ];
  it.each(textMessages)('%s', (_name, message) => {
    fc.assert(fc.property(nastyText, (text) => expectStatusLine(message(text))));
  });

  const numberMessages: ReadonlyArray<[string, (n: number, m: number | null) => string]> = [
    ['allTestsPassed', (n) => allTestsPassed(n)],
    ['testsFailed', (n, m) => testsFailed(n, m)],
    ['testsFailedExitCode', (n) => testsFailedExitCode(n)],
    ['timeLimitExceeded', (n) => timeLimitExceeded(n)],
  ];
  it.each(numberMessages)('%s', (_name, message) => {
    fc.assert(fc.property(anyNumber, anyCount, (n, m) => expectStatusLine(message(n, m))));
  });

  it('resultMessage', () => {
    fc.assert(
      fc.property(
        fc.record({ exitCode: anyNumber, passed: anyCount, failed: anyCount, summary: nastyText }),
        (result) => expectStatusLine(resultMessage(result)),
      ),
    );
  });

  it.each([
    TESTS_QUEUED,
    WAITING_FOR_BUILD,
    WAITING_FOR_APPROVAL,
    STARTING_VM,
    PREPARING_VM,
    RUNNING_TESTS,
    VM_STOPPED_WITHOUT_RESULT,
    PR_CLOSED,
    CANCELED_BY_MAINTAINER,
    USER_BLOCKED,
    BUILD_WORKFLOW_FAILED,
    ...Object.values(GCP_MESSAGES),
    ...Object.values(GCP_MESSAGES).map(finalRetriableMessage),
    vmCreationFailed(),
  ])('%s', (line) => {
    expectStatusLine(line);
  });
});

describe('variable parts are shortened, the fixed wording survives', () => {
  it.each([
    {
      name: 'platformInMaintenance',
      make: platformInMaintenance,
      prefix: 'Platform ',
      suffix: ' is in maintenance; tests will start when it is back',
    },
    {
      name: 'newCommitWaitsForApproval',
      make: newCommitWaitsForApproval,
      prefix: "New commit waits for a maintainer's approval: re-add the '",
      suffix: "' label",
    },
    {
      name: 'waitingForSlot',
      make: waitingForSlot,
      prefix: 'Waiting for a free ',
      suffix: ' VM slot',
    },
    {
      name: 'vmCreationFailed',
      make: (s: string) => vmCreationFailed(`X${s}`),
      prefix: 'VM creation failed (X',
      suffix: '). Please contact the administrator.',
    },
    {
      name: 'vmReportedFailure',
      make: (s: string) => vmReportedFailure(`x${s}`),
      prefix: 'Test run failed: x',
      suffix: '',
    },
  ])('$name', ({ make, prefix, suffix }) => {
    fc.assert(
      fc.property(nastyText, (text) => {
        const line = make(text);
        expect(line.startsWith(prefix)).toBe(true);
        expect(line.endsWith(suffix)).toBe(true);
      }),
    );
  });

  it('cuts a long reason with an ellipsis', () => {
    const line = vmReportedFailure(`git clone failed:\n${'fatal: '.repeat(50)}`);
    expect(line).toHaveLength(140);
    expect(line.startsWith('Test run failed: git clone failed: fatal: fatal:')).toBe(true);
    expect(line.endsWith('…')).toBe(true);
  });
});

describe('exact texts', () => {
  it.each([
    [TESTS_QUEUED, 'Tests queued'],
    [WAITING_FOR_BUILD, 'Waiting for the build workflow to finish'],
    [WAITING_FOR_APPROVAL, 'Waiting for a maintainer to approve running tests'],
    [
      newCommitWaitsForApproval('safe to test'),
      "New commit waits for a maintainer's approval: re-add the 'safe to test' label",
    ],
    [
      platformInMaintenance('windows'),
      'Platform windows is in maintenance; tests will start when it is back',
    ],
    [waitingForSlot('linux'), 'Waiting for a free linux VM slot'],
    [STARTING_VM, 'Starting a VM'],
    [PREPARING_VM, 'Preparing the VM'],
    [RUNNING_TESTS, 'Running tests'],
    [allTestsPassed(42), 'All tests passed (42 passed)'],
    [allTestsPassed(0), 'All tests passed (0 passed)'],
    [allTestsPassed(null), 'All tests passed'],
    [allTestsPassed(), 'All tests passed'],
    [allTestsPassed(-1), 'All tests passed'],
    [allTestsPassed(1.5), 'All tests passed'],
    [testsFailed(3, 50), '3 of 50 tests failed'],
    [testsFailed(3), '3 tests failed'],
    [testsFailed(1, null), '1 test failed'],
    [testsFailedExitCode(2), 'Tests failed (exit code 2)'],
    [testsFailedExitCode(-1), 'Tests failed (exit code -1)'],
    [testsFailedExitCode(NaN), 'Tests failed (exit code ?)'],
    [timeLimitExceeded(60), 'Could not complete tests: time limit of 60 min exceeded'],
    [VM_STOPPED_WITHOUT_RESULT, 'The test VM stopped without reporting a result'],
    [supersededBy('0123456789abcdef0123456789abcdef01234567'), 'Superseded by 0123456'],
    [PR_CLOSED, 'PR closed'],
    [CANCELED_BY_MAINTAINER, 'Canceled by a maintainer'],
    [USER_BLOCKED, 'CI start aborted: user is blocked'],
    [BUILD_WORKFLOW_FAILED, 'Build workflow failed'],
    [
      vmReportedFailure('could not fetch the commit'),
      'Test run failed: could not fetch the commit',
    ],
    [vmReportedFailure(' \n '), 'Test run failed'],
  ])('%s', (actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('GCP messages are the texts of DESIGN §4', () => {
    expect(GCP_MESSAGES).toEqual({
      zoneExhausted:
        'GCP resources temporarily unavailable in the configured zone. The test will be retried automatically when resources become available.',
      quotaExceeded:
        'GCP quota limit reached. The test will be retried automatically when resources become available.',
      timedOut: 'GCP operation timed out. The test will be retried automatically.',
      rateLimited: 'GCP API rate limit reached. The test will be retried automatically.',
      notFound: 'Required GCP resource not found. Please contact the administrator.',
      permissionDenied: 'GCP permission denied. Please contact the administrator.',
    });
  });

  it.each([
    [GCP_MESSAGES.zoneExhausted, 'GCP resources temporarily unavailable in the configured zone.'],
    [GCP_MESSAGES.quotaExceeded, 'GCP quota limit reached.'],
    [GCP_MESSAGES.timedOut, 'GCP operation timed out.'],
    [GCP_MESSAGES.rateLimited, 'GCP API rate limit reached.'],
    [GCP_MESSAGES.notFound, GCP_MESSAGES.notFound],
    [GCP_MESSAGES.permissionDenied, GCP_MESSAGES.permissionDenied],
  ])('finalRetriableMessage(%s)', (retriable, final) => {
    expect(finalRetriableMessage(retriable)).toBe(final);
    // Applying it twice changes nothing more.
    expect(finalRetriableMessage(final)).toBe(final);
  });

  it.each([
    [undefined, 'VM creation failed. Please contact the administrator.'],
    [null, 'VM creation failed. Please contact the administrator.'],
    ['', 'VM creation failed. Please contact the administrator.'],
    ['  ', 'VM creation failed. Please contact the administrator.'],
    [
      'INVALID_FIELD_VALUE',
      'VM creation failed (INVALID_FIELD_VALUE). Please contact the administrator.',
    ],
  ])('vmCreationFailed(%p)', (code, expected) => {
    expect(vmCreationFailed(code)).toBe(expected);
  });
});

describe('resultMessage', () => {
  it.each([
    { exitCode: 0, passed: 10, failed: 0, expected: 'All tests passed (10 passed)', passing: true },
    {
      exitCode: 0,
      passed: 5,
      failed: null,
      expected: 'All tests passed (5 passed)',
      passing: true,
    },
    { exitCode: 0, passed: null, failed: null, expected: 'All tests passed', passing: true },
    { exitCode: 0, passed: -3, failed: null, expected: 'All tests passed', passing: true },
    { exitCode: 1, passed: 8, failed: 2, expected: '2 of 10 tests failed', passing: false },
    { exitCode: 1, passed: 0, failed: 4, expected: '4 of 4 tests failed', passing: false },
    { exitCode: 1, passed: null, failed: 3, expected: '3 tests failed', passing: false },
    { exitCode: 1, passed: null, failed: 1, expected: '1 test failed', passing: false },
    {
      exitCode: 2,
      passed: null,
      failed: null,
      expected: 'Tests failed (exit code 2)',
      passing: false,
    },
    { exitCode: 1, passed: 10, failed: 0, expected: 'Tests failed (exit code 1)', passing: false },
    {
      exitCode: 137,
      passed: 3,
      failed: 1.5,
      expected: 'Tests failed (exit code 137)',
      passing: false,
    },
    // A zero exit code with failures counted is still a failure: the line must not say "passed".
    { exitCode: 0, passed: 8, failed: 2, expected: '2 of 10 tests failed', passing: false },
  ])(
    'exit $exitCode, passed $passed, failed $failed → $expected',
    ({ exitCode, passed, failed, expected, passing }) => {
      const result = { exitCode, passed, failed, summary: '' };
      expect(resultMessage(result)).toBe(expected);
      expect(isPassingResult(result)).toBe(passing);
    },
  );

  it('says "passed" exactly when the result counts as a pass', () => {
    fc.assert(
      fc.property(
        fc.record({
          exitCode: fc.integer({ min: -1, max: 255 }),
          passed: fc.option(fc.nat(), { nil: null }),
          failed: fc.option(fc.nat(), { nil: null }),
        }),
        (result) => {
          expect(resultMessage(result).startsWith('All tests passed')).toBe(
            isPassingResult(result),
          );
        },
      ),
    );
  });
});

describe('wait and stage lines', () => {
  it.each(WAIT_REASONS.map((r) => [r]))('waitMessage(%s)', (reason) => {
    const expected = {
      build: WAITING_FOR_BUILD,
      approval: WAITING_FOR_APPROVAL,
      maintenance: 'Platform linux is in maintenance; tests will start when it is back',
    }[reason];
    expect(waitMessage(reason, 'linux')).toBe(expected);
  });

  it.each(STAGES.map((s) => [s]))('stageMessage(%s)', (stage) => {
    expect(stageMessage(stage)).toBe(stage === 'preparation' ? PREPARING_VM : RUNNING_TESTS);
  });
});
