import {
  buildFromRuns,
  completedOutcome,
  mergeBuild,
  type BuildRecord,
  type WorkflowRunSummary,
} from '../../shared/builds/record';

const KEY = { repo: 'o/r', sha: 'a'.repeat(40), workflow: 'build.yml' };
const AT = new Date('2026-12-01T10:00:00Z');

const run = (id: number, status: string, conclusion: string | null, attempt = 1) =>
  ({ id, attempt, status, conclusion }) satisfies WorkflowRunSummary;

const record = (outcome: BuildRecord['outcome'], runId: number | null, at = AT): BuildRecord => ({
  ...KEY,
  outcome,
  runId,
  runAttempt: runId === null ? null : 1,
  conclusion: outcome === 'success' ? 'success' : outcome === 'failure' ? 'failure' : null,
  source: 'event',
  at,
});

describe('completedOutcome', () => {
  it.each([
    ['success', 'success'],
    ['failure', 'failure'],
    ['cancelled', 'failure'],
    ['timed_out', 'failure'],
    ['skipped', 'failure'],
    ['startup_failure', 'failure'],
    ['action_required', null],
    [null, null],
  ])('%s → %s', (conclusion, outcome) => {
    expect(completedOutcome(conclusion)).toBe(outcome);
  });
});

describe('buildFromRuns', () => {
  it('no run at all is `none`', () => {
    expect(buildFromRuns(KEY, [], AT)).toMatchObject({
      outcome: 'none',
      runId: null,
      source: 'api',
    });
  });

  it('one success among failures and runs in progress wins', () => {
    const runs = [
      run(1, 'completed', 'failure'),
      run(2, 'completed', 'success'),
      run(3, 'queued', null),
    ];
    expect(buildFromRuns(KEY, runs, AT)).toMatchObject({
      outcome: 'success',
      runId: 2,
      conclusion: 'success',
    });
  });

  it('a run still going outranks a failed one: it may yet succeed', () => {
    const runs = [run(4, 'completed', 'failure'), run(5, 'in_progress', null)];
    expect(buildFromRuns(KEY, runs, AT)).toMatchObject({ outcome: 'running', runId: 5 });
  });

  it('a run waiting for a maintainer to let it run is still going', () => {
    const runs = [run(6, 'completed', 'action_required')];
    expect(buildFromRuns(KEY, runs, AT)).toMatchObject({
      outcome: 'running',
      conclusion: 'action_required',
    });
  });

  it('of failures, the newest run and attempt is kept', () => {
    const runs = [
      run(7, 'completed', 'failure', 2),
      run(7, 'completed', 'cancelled', 1),
      run(3, 'completed', 'failure'),
    ];
    expect(buildFromRuns(KEY, runs, AT)).toMatchObject({
      outcome: 'failure',
      runId: 7,
      runAttempt: 2,
    });
  });
});

describe('mergeBuild', () => {
  it('keeps the better outcome, in any order', () => {
    const order = [
      record('none', null),
      record('running', 3),
      record('failure', 4),
      record('success', 2),
    ];
    for (const a of order) {
      for (const b of order) {
        const best = order.indexOf(a) > order.indexOf(b) ? a : b;
        expect(mergeBuild(a, b)).toBe(best);
      }
    }
  });

  it('of the same outcome keeps the newer run, then the newer check', () => {
    expect(mergeBuild(record('failure', 5), record('failure', 4))).toEqual(record('failure', 5));
    expect(mergeBuild(record('failure', 4), record('failure', 5))).toEqual(record('failure', 5));
    const later = new Date(AT.getTime() + 60_000);
    expect(mergeBuild(record('none', null), record('none', null, later)).at).toEqual(later);
  });

  it('with nothing stored keeps what arrives', () => {
    const incoming = record('running', 1);
    expect(mergeBuild(null, incoming)).toBe(incoming);
  });
});
