// testView: the public JSON of a test. Every field of DESIGN §2, dates as ISO
// text, and nothing secret-ish whatever the stored record holds.
import fc from 'fast-check';
import { STAGES, TEST_STATUSES, TRIGGERS, type TestRecord } from '../../shared/domain/test';
import { fileUrl, testFilesView, testView } from '../../shared/tests/view';
import { at, testRecord } from '../contracts/store/fixtures';

const VIEW_KEYS = [
  'id',
  'repo',
  'sha',
  'ref',
  'trigger',
  'pr',
  'title',
  'run',
  'author',
  'platform',
  'detailsHidden',
  'status',
  'stage',
  'waitReason',
  'message',
  'attempts',
  'createdAt',
  'updatedAt',
  'queuedAt',
  'startedAt',
  'timeToStartMs',
  'finishedAt',
  'deadlineAt',
  'instance',
  'result',
  'failures',
  'files',
  'timeline',
].sort();

const FAILURES = {
  counts: { tests: 3, failures: 1, errors: 0, skipped: 0 },
  cases: [
    {
      name: 'test_utf8',
      classname: 'parser',
      suite: 'unit',
      file: 'results/junit.xml',
      kind: 'failure' as const,
      message: 'secret-fixture-path mismatch',
    },
  ],
};

describe('testView', () => {
  it('shows every field of a test, dates as ISO strings', () => {
    const test = testRecord({
      id: 't1',
      trigger: 'pull_request',
      pr: 12,
      title: 'Fix <b>the</b> parser',
      status: 'passed',
      stage: 'testing',
      message: 'All tests passed (3 passed)',
      attempts: 1,
      startedAt: at(1),
      finishedAt: at(9),
      deadlineAt: at(61),
      instance: { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'SPOT' },
      result: { exitCode: 0, passed: 3, failed: 0, summary: '3 passed' },
      tokenHash: 'f'.repeat(64),
      timeline: [
        { at: at(0), status: 'queued', message: 'Tests queued' },
        { at: at(2), status: 'running', stage: 'testing', message: 'Running tests' },
      ],
    });

    expect(testView(test, { showDetails: true })).toEqual({
      id: 't1',
      repo: 'ccextractor/ccextractor',
      sha: 'a'.repeat(40),
      ref: 'refs/heads/master',
      trigger: 'pull_request',
      pr: 12,
      title: 'Fix <b>the</b> parser',
      run: 1,
      author: 'cfsmp3',
      platform: 'linux',
      detailsHidden: false,
      status: 'passed',
      stage: 'testing',
      waitReason: null,
      message: 'All tests passed (3 passed)',
      attempts: 1,
      createdAt: '2026-11-02T10:00:00.000Z',
      updatedAt: '2026-11-02T10:00:00.000Z',
      queuedAt: '2026-11-02T10:00:00.000Z',
      startedAt: '2026-11-02T10:01:00.000Z',
      timeToStartMs: null,
      finishedAt: '2026-11-02T10:09:00.000Z',
      deadlineAt: '2026-11-02T11:01:00.000Z',
      instance: { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'SPOT' },
      result: { exitCode: 0, passed: 3, failed: 0, summary: '3 passed' },
      failures: null,
      files: null,
      timeline: [
        { at: '2026-11-02T10:00:00.000Z', status: 'queued', message: 'Tests queued' },
        {
          at: '2026-11-02T10:02:00.000Z',
          status: 'running',
          stage: 'testing',
          message: 'Running tests',
        },
      ],
    });
  });

  it('shows a null title for a record that has none, or lacks the field', () => {
    const { title: _dropped, ...untitled } = testRecord({ id: 't1', title: 'x' });
    expect(testView(untitled as TestRecord, { showDetails: true }).title).toBeNull();
    expect(testView(testRecord({ id: 't2' }), { showDetails: true }).title).toBeNull();
  });

  it('shows null for missing and invalid dates instead of throwing', () => {
    const view = testView(testRecord({ id: 't1', queuedAt: null, startedAt: new Date(NaN) }), {
      showDetails: true,
    });

    expect(view.queuedAt).toBeNull();
    expect(view.startedAt).toBeNull();
  });

  it('never shows the token hash, the clone URL or anything it does not know', () => {
    // Not ASCII, so none of the generated ASCII text can contain it by chance.
    const secret = fc.stringMatching(/^[0-9a-f]{32}$/).map((hex) => `☃${hex}`);
    const text = fc.string({ maxLength: 20 });
    const date = fc.date();
    const extras = (value: fc.Arbitrary<string>) =>
      fc.dictionary(fc.constantFrom('tokenHash', 'token', 'secret', 'key', 'x'), value);

    const record = secret.chain((s) =>
      fc.record({
        secret: fc.constant(s),
        test: fc.record({
          base: fc.record({
            status: fc.constantFrom(...TEST_STATUSES),
            trigger: fc.constantFrom(...TRIGGERS),
            message: text,
            title: fc.option(text),
            pr: fc.option(fc.nat()),
            createdAt: date,
            finishedAt: fc.option(date),
            instance: fc.option(
              fc.record({ name: text, zone: text, provisioning: fc.constant('SPOT' as const) }),
            ),
            result: fc.option(
              fc.record({
                exitCode: fc.integer(),
                passed: fc.option(fc.nat()),
                failed: fc.option(fc.nat()),
                summary: text,
              }),
            ),
            timeline: fc.array(
              fc.record({
                at: date,
                status: fc.constantFrom(...TEST_STATUSES),
                stage: fc.constantFrom(...STAGES),
                message: text,
              }),
              { maxLength: 3 },
            ),
          }),
          topExtras: extras(fc.constant(s)),
          nestedExtras: extras(fc.constant(s)),
        }),
      }),
    );

    fc.assert(
      fc.property(record, ({ secret: s, test: { base, topExtras, nestedExtras } }) => {
        const stored = {
          ...testRecord({ id: 't1', ...base }),
          tokenHash: s,
          cloneUrl: `https://x-access-token:${s}@github.com/o/r.git`,
          leaseExpiresAt: null,
          deletion: { name: s, zone: s, requestedAt: new Date(), attempts: 0, doneAt: null },
          githubStatus: { state: 'pending', description: s, at: new Date() },
          ...topExtras,
          instance: base.instance && { ...base.instance, ...nestedExtras },
          failures: {
            counts: { tests: 2, failures: 1, errors: 0, skipped: 0, ...nestedExtras },
            cases: [{ ...FAILURES.cases[0]!, ...nestedExtras }],
            ...nestedExtras,
          },
          result: base.result && { ...base.result, ...nestedExtras },
          timeline: base.timeline.map((entry) => ({ ...entry, ...nestedExtras })),
        } as TestRecord;

        const view = testView(stored, { showDetails: true });
        const json = JSON.stringify(view);

        expect(json).not.toContain(s);
        expect(json).not.toContain('tokenHash');
        expect(Object.keys(view).sort()).toEqual(VIEW_KEYS);
      }),
      { numRuns: 200 },
    );
  });

  it('shows each change once: an entry repeating the one before it is left out', () => {
    const test = testRecord({
      id: 't1',
      timeline: [
        { at: at(0), status: 'queued', message: 'Tests queued' },
        { at: at(1), status: 'starting', message: 'Starting a VM' },
        // runTest noting its VM: the same status and message.
        { at: at(2), status: 'starting', message: 'Starting a VM' },
        { at: at(3), status: 'running', stage: 'preparation', message: 'VM started' },
        { at: at(4), status: 'running', stage: 'testing', message: 'VM started' },
        { at: at(5), status: 'running', stage: 'testing', message: 'Running tests' },
        { at: at(6), status: 'queued', message: 'Tests queued' },
      ],
    });
    expect(
      testView(test, { showDetails: true }).timeline.map((e) => [e.at, e.status, e.message]),
    ).toEqual([
      [at(0).toISOString(), 'queued', 'Tests queued'],
      [at(1).toISOString(), 'starting', 'Starting a VM'],
      [at(3).toISOString(), 'running', 'VM started'],
      [at(4).toISOString(), 'running', 'VM started'],
      [at(5).toISOString(), 'running', 'Running tests'],
      [at(6).toISOString(), 'queued', 'Tests queued'],
    ]);
  });

  it('hides the ref, title, author, summary and zone when details are not shown', () => {
    const test = testRecord({
      id: 't1',
      ref: 'refs/heads/private-branch',
      title: 'Add the secret launch plan',
      author: 'someone',
      instance: { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'SPOT' },
      result: { exitCode: 1, passed: 2, failed: 1, summary: 'private output' },
    });
    const view = testView(test, { showDetails: false });
    expect(view).toMatchObject({
      detailsHidden: true,
      ref: null,
      title: null,
      author: null,
      instance: { name: 'vmci-t1-1', zone: null, provisioning: 'SPOT' },
      result: { exitCode: 1, passed: 2, failed: 1, summary: null },
    });
    const json = JSON.stringify(view);
    const secrets = [
      'private-branch',
      'secret launch',
      'someone',
      'private output',
      'europe-west1-b',
    ];
    for (const hidden of secrets) {
      expect(json).not.toContain(hidden);
    }
  });

  it('shows a failed run’s failing tests and, when looked up, its files', () => {
    const test = testRecord({
      id: 't1',
      status: 'failed',
      message: '1 of 3 tests failed: parser.test_utf8',
      result: { exitCode: 1, passed: 2, failed: 1, summary: '2 passed, 1 failed' },
      failures: FAILURES,
    });
    const files = testFilesView('https://ci.example.com/status', 't1', []);
    const view = testView(test, { showDetails: true, files });
    expect(view.failures).toEqual(FAILURES);
    expect(view.files).toEqual({
      count: 0,
      log: null,
      list: 'https://ci.example.com/status/tests/t1/files',
    });
    expect(view.message).toBe('1 of 3 tests failed: parser.test_utf8');
  });

  it('hides the failing tests and files, and names no test on the final line, when details are not shown', () => {
    const line = '1 of 3 tests failed: parser.test_utf8';
    const test = testRecord({
      id: 't1',
      status: 'failed',
      message: line,
      result: { exitCode: 1, passed: 2, failed: 1, summary: '2 passed, 1 failed' },
      failures: FAILURES,
      timeline: [
        { at: at(1), status: 'running', stage: 'testing', message: 'Running tests' },
        { at: at(2), status: 'failed', message: line },
      ],
    });
    const files = testFilesView('https://ci.example.com/status', 't1', []);
    const view = testView(test, { showDetails: false, files });
    expect(view).toMatchObject({
      failures: null,
      files: null,
      message: '1 of 3 tests failed',
      timeline: [{ message: 'Running tests' }, { message: '1 of 3 tests failed' }],
    });
    const json = JSON.stringify(view);
    for (const hidden of ['test_utf8', 'secret-fixture-path']) expect(json).not.toContain(hidden);
  });
});

describe('testFilesView and fileUrl', () => {
  const file = (name: string) => ({
    name,
    size: 1,
    contentType: 'text/plain',
    updated: new Date(0),
  });

  it('counts the files and links the log, when there is one', () => {
    expect(
      testFilesView('https://ci.example.com/status', 't1', [
        file('log.txt'),
        file('results/junit.xml'),
      ]),
    ).toEqual({
      count: 2,
      log: 'https://ci.example.com/status/tests/t1/files/log.txt',
      list: 'https://ci.example.com/status/tests/t1/files',
    });
  });

  it('encodes each segment, never the slashes between them', () => {
    expect(fileUrl('http://127.0.0.1:8080/status', 'a-1', 'results/x y/z.xml')).toBe(
      'http://127.0.0.1:8080/status/tests/a-1/files/results/x%20y/z.xml',
    );
  });
});
