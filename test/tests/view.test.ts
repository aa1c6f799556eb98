// testView: the public JSON of a test. Every field of DESIGN §2, dates as ISO
// text, and nothing secret-ish whatever the stored record holds.
import fc from 'fast-check';
import { STAGES, TEST_STATUSES, TRIGGERS, type TestRecord } from '../../shared/domain/test';
import { testView } from '../../shared/tests/view';
import { at, testRecord } from '../contracts/store/fixtures';

const VIEW_KEYS = [
  'id',
  'repo',
  'sha',
  'ref',
  'trigger',
  'pr',
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
  'timeline',
].sort();

describe('testView', () => {
  it('shows every field of a test, dates as ISO strings', () => {
    const test = testRecord({
      id: 't1',
      trigger: 'pull_request',
      pr: 12,
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

  it('hides the ref, author, summary and zone when details are not shown', () => {
    const test = testRecord({
      id: 't1',
      ref: 'refs/heads/private-branch',
      author: 'someone',
      instance: { name: 'vmci-t1-1', zone: 'europe-west1-b', provisioning: 'SPOT' },
      result: { exitCode: 1, passed: 2, failed: 1, summary: 'private output' },
    });
    const view = testView(test, { showDetails: false });
    expect(view).toMatchObject({
      detailsHidden: true,
      ref: null,
      author: null,
      instance: { name: 'vmci-t1-1', zone: null, provisioning: 'SPOT' },
      result: { exitCode: 1, passed: 2, failed: 1, summary: null },
    });
    const json = JSON.stringify(view);
    for (const hidden of ['private-branch', 'someone', 'private output', 'europe-west1-b']) {
      expect(json).not.toContain(hidden);
    }
  });
});
