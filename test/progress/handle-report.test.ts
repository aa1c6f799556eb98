// handleReport on the in-memory store and on the Firestore emulator (DESIGN §6):
// the per-test token gates everything (one 401 for every way it is wrong),
// stages move forward with a pending status, a result ends the test with its
// final status, gives back its slot, asks for its VM's teardown and starts the
// platform's next pending test; a repeated result changes nothing.
import { deriveVmToken, hashVmToken } from '../../shared/auth/vm-token';
import type { TestRecord } from '../../shared/domain/test';
import { createMemoryStatusPort, type MemoryStatusPort } from '../../shared/github/memory-statuses';
import { handleReport, type ReportDeps } from '../../shared/progress/handle-report';
import type { ProgressReport } from '../../shared/progress/report';
import { createMemoryQueue, type MemoryQueue } from '../../shared/queue/memory';
import type { TestStore } from '../../shared/store/port';
import { afterTestEnded } from '../../shared/tests/after-end';
import { cancelTest } from '../../shared/tests/cancel';
import { at, T0, testRecord, useStore } from '../contracts/store/fixtures';
import { captureLog } from '../support/capture-log';
import { storeKinds } from '../tests/stores';

const SECRET = 'progress-token-secret-0123456789';
const PUBLIC_URL = 'https://ci.example.com';
const ZONE = 'europe-west1-b';
const NOW = at(10);

function vmOf(id: string, attempt = 1) {
  return { name: `vmci-${id}-${attempt}`, zone: ZONE, provisioning: 'SPOT' as const };
}

function tokenOf(id: string, attempt = 1): string {
  return deriveVmToken(SECRET, id, vmOf(id, attempt).name);
}

/** A test whose VM runs, holding the hash of the token its VM was given. */
function runningTest(id: string, overrides: Partial<TestRecord> = {}): TestRecord {
  return testRecord({
    id,
    status: 'running',
    stage: 'preparation',
    message: 'Preparing the VM',
    attempts: 1,
    enqueueGeneration: 1,
    startedAt: at(1),
    deadlineAt: at(61),
    instance: vmOf(id),
    tokenHash: hashVmToken(tokenOf(id)),
    githubStatus: { state: 'pending', description: 'Preparing the VM', at: at(2) },
    timeline: [
      { at: T0, status: 'queued', message: 'Tests queued' },
      { at: at(1), status: 'starting', message: 'Starting a VM' },
      { at: at(2), status: 'running', stage: 'preparation', message: 'Preparing the VM' },
    ],
    ...overrides,
  });
}

interface Harness {
  deps: ReportDeps;
  store: TestStore;
  statuses: MemoryStatusPort;
  queue: MemoryQueue;
  logs: ReturnType<typeof captureLog>;
  setNow(date: Date): void;
}

function harness(store: TestStore): Harness {
  const statuses = createMemoryStatusPort();
  const queue = createMemoryQueue();
  const logs = captureLog();
  let now = NOW;
  const deps: ReportDeps = {
    store,
    statuses,
    queue,
    log: logs.log,
    now: () => now,
    statusContext: 'ci/{platform}',
    publicUrl: PUBLIC_URL,
  };
  return { deps, store, statuses, queue, logs, setNow: (date) => (now = date) };
}

const stage = (testId: string, s: 'preparation' | 'testing'): ProgressReport => ({
  testId,
  stage: s,
});

function completed(
  testId: string,
  result: Extract<ProgressReport, { stage: 'completed' }>['result'],
): ProgressReport {
  return { testId, stage: 'completed', result };
}

/** Lets `n` turns of the event loop pass. */
async function turns(n: number): Promise<void> {
  for (let k = 0; k < n; k++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const PASSING = { exitCode: 0, passed: 12, failed: 0, summary: '12 passed in 3.1s' };

describe.each(storeKinds('vmci-progress'))('handleReport ($name)', ({ make }) => {
  const current = useStore(make);

  async function setup(...tests: TestRecord[]): Promise<Harness> {
    const { store } = current();
    await store.createTests(tests);
    return harness(store);
  }

  it('the right token and `testing`: 200, stage testing, a pending "Running tests" status', async () => {
    const h = await setup(runningTest('t1'));

    const answer = await handleReport(h.deps, tokenOf('t1'), stage('t1', 'testing'));

    const stored = await h.store.getTest('t1');
    expect(answer).toEqual({ http: 200, outcome: 'stage', test: expect.any(Object) });
    expect(stored).toMatchObject({
      status: 'running',
      stage: 'testing',
      message: 'Running tests',
      updatedAt: NOW,
      githubStatus: { state: 'pending', description: 'Running tests', at: NOW },
    });
    expect(stored?.timeline.at(-1)).toEqual({
      at: NOW,
      status: 'running',
      stage: 'testing',
      message: 'Running tests',
    });
    expect(h.statuses.posts()).toEqual([
      {
        repo: 'ccextractor/ccextractor',
        sha: 'a'.repeat(40),
        state: 'pending',
        context: 'ci/linux',
        description: 'Running tests',
        targetUrl: `${PUBLIC_URL}/status/tests/t1`,
      },
    ]);
    expect(h.queue.tasks()).toEqual([]);
    expect(h.logs.text()).not.toContain(tokenOf('t1'));
  });

  it('the same stage again: 200 unchanged, nothing written or posted', async () => {
    const before = runningTest('t1', { stage: 'testing', message: 'Running tests' });
    const h = await setup(before);

    const answer = await handleReport(h.deps, tokenOf('t1'), stage('t1', 'testing'));

    expect(answer).toEqual({ http: 200, outcome: 'unchanged', test: before });
    expect(await h.store.getTest('t1')).toEqual(before);
    expect(h.statuses.posts()).toEqual([]);
  });

  describe('every wrong token gets the same bare 401, and changes nothing', () => {
    it.each<[string, string | null, string]>([
      ['a forged token', 'not-a-token-at-all', 't1'],
      ['a token made with another secret', deriveVmToken('other-secret', 't1', 'vmci-t1-1'), 't1'],
      ['another test’s token', tokenOf('t2'), 't1'],
      ['a token derived for another test id', deriveVmToken(SECRET, 't9', 'vmci-t1-1'), 't1'],
      ['the token of the test’s earlier VM', tokenOf('t1', 0), 't1'],
      ['the token’s hash itself', hashVmToken(tokenOf('t1')), 't1'],
      ['no token', null, 't1'],
      ['an unknown test id, with its own well-made token', tokenOf('nope'), 'nope'],
    ])('%s', async (_name, token, testId) => {
      const t1 = runningTest('t1');
      const t2 = runningTest('t2', { sha: 'b'.repeat(40) });
      const h = await setup(t1, t2);
      const reports: ProgressReport[] = [
        stage(testId, 'testing'),
        completed(testId, PASSING),
        { testId, stage: 'failed', message: 'boom' },
      ];

      for (const report of reports) {
        expect(await handleReport(h.deps, token, report)).toStrictEqual({ http: 401 });
      }

      expect(await h.store.getTest('t1')).toEqual(t1);
      expect(await h.store.getTest('t2')).toEqual(t2);
      expect(await h.store.getTest('nope')).toBeNull();
      expect(h.statuses.posts()).toEqual([]);
      expect(h.queue.tasks()).toEqual([]);
    });

    it('a test without a token hash yet refuses even a well-made token', async () => {
      const before = runningTest('t1', { tokenHash: null });
      const h = await setup(before);

      expect(await handleReport(h.deps, tokenOf('t1'), stage('t1', 'testing'))).toStrictEqual({
        http: 401,
      });
      expect(await h.store.getTest('t1')).toEqual(before);
    });
  });

  it('a stage regression: 409 stage_regression, the test unchanged', async () => {
    const before = runningTest('t1', { stage: 'testing', message: 'Running tests' });
    const h = await setup(before);

    const answer = await handleReport(h.deps, tokenOf('t1'), stage('t1', 'preparation'));

    expect(answer).toEqual({ http: 409, reason: 'stage_regression', test: before });
    expect(await h.store.getTest('t1')).toEqual(before);
    expect(h.statuses.posts()).toEqual([]);
  });

  it('a passing result: passed, slot released, VM deletion recorded, success posted, teardown asked', async () => {
    const h = await setup(runningTest('t1', { stage: 'testing', message: 'Running tests' }));
    await h.store.acquireSlot('linux', 't1', 2, at(1));
    await h.store.acquireSlot('linux', 'other', 2, at(1));

    const answer = await handleReport(h.deps, tokenOf('t1'), completed('t1', PASSING));

    const stored = await h.store.getTest('t1');
    expect(answer).toMatchObject({ http: 200, outcome: 'ended', test: { status: 'passed' } });
    expect(stored).toMatchObject({
      status: 'passed',
      stage: 'testing',
      message: 'All tests passed (12 passed)',
      result: { exitCode: 0, passed: 12, failed: 0, summary: '12 passed in 3.1s' },
      finishedAt: NOW,
      leaseExpiresAt: null,
      tokenHash: hashVmToken(tokenOf('t1')),
      deletion: { name: 'vmci-t1-1', zone: ZONE, requestedAt: NOW, attempts: 0, doneAt: null },
      githubStatus: { state: 'success', description: 'All tests passed (12 passed)', at: NOW },
    });
    expect(stored?.timeline.at(-1)).toMatchObject({
      at: NOW,
      status: 'passed',
      message: 'All tests passed (12 passed)',
    });
    expect(await h.store.slotHolders('linux')).toEqual(['other']);
    expect(h.statuses.posts()).toEqual([
      expect.objectContaining({
        state: 'success',
        context: 'ci/linux',
        description: 'All tests passed (12 passed)',
        targetUrl: `${PUBLIC_URL}/status/tests/t1`,
      }),
    ]);
    expect(h.queue.tasks()).toEqual([expect.objectContaining({ testId: 't1', generation: 2 })]);
    expect(h.logs.entries).toContainEqual(
      expect.objectContaining({
        level: 'info',
        message: 'Test ended',
        fields: expect.objectContaining({ from: 'running', status: 'passed', exitCode: 0 }),
        labels: { testId: 't1', platform: 'linux' },
      }),
    );
    expect(h.logs.text()).not.toContain(tokenOf('t1'));
  });

  it('the teardown task names the generation after the test’s own', async () => {
    const h = await setup(runningTest('t1', { enqueueGeneration: 4 }));

    await handleReport(h.deps, tokenOf('t1'), completed('t1', PASSING));

    expect(h.queue.tasks()).toEqual([expect.objectContaining({ testId: 't1', generation: 5 })]);
  });

  it('the same result again: 200 unchanged; nothing posted, no task, the test as it was', async () => {
    const h = await setup(runningTest('t1', { stage: 'testing' }));
    await h.store.acquireSlot('linux', 't1', 2, at(1));
    await handleReport(h.deps, tokenOf('t1'), completed('t1', PASSING));
    const after = await h.store.getTest('t1');
    const posts = h.statuses.posts();
    const tasks = h.queue.tasks();
    h.setNow(at(11));

    const again = await handleReport(h.deps, tokenOf('t1'), completed('t1', PASSING));

    expect(again).toEqual({ http: 200, outcome: 'unchanged', test: after });
    expect(await h.store.getTest('t1')).toEqual(after);
    expect(h.statuses.posts()).toEqual(posts);
    expect(h.queue.tasks()).toEqual(tasks);
  });

  it('the same result again, its summary cut at the limit: still 200 unchanged', async () => {
    // A summary longer than the stored limit, with an emoji straddling the cut.
    const summary = `${'x'.repeat(998)}😀${' tail'.repeat(10)}`;
    const result = { exitCode: 1, passed: 1, failed: 1, summary };
    const h = await setup(runningTest('t1', { stage: 'testing' }));
    expect(await handleReport(h.deps, tokenOf('t1'), completed('t1', result))).toMatchObject({
      http: 200,
      outcome: 'ended',
    });
    const after = await h.store.getTest('t1');

    const again = await handleReport(h.deps, tokenOf('t1'), completed('t1', result));

    expect(again).toEqual({ http: 200, outcome: 'unchanged', test: after });
  });

  it('another result after the end: 409 ended, nothing changed', async () => {
    const h = await setup(runningTest('t1', { stage: 'testing' }));
    await handleReport(h.deps, tokenOf('t1'), completed('t1', PASSING));
    const after = await h.store.getTest('t1');
    const posts = h.statuses.posts();
    const tasks = h.queue.tasks();

    const other = await handleReport(
      h.deps,
      tokenOf('t1'),
      completed('t1', { exitCode: 1, passed: 11, failed: 1 }),
    );
    const late = await handleReport(h.deps, tokenOf('t1'), stage('t1', 'testing'));

    expect(other).toEqual({ http: 409, reason: 'ended', test: after });
    expect(late).toEqual({ http: 409, reason: 'ended', test: after });
    expect(await h.store.getTest('t1')).toEqual(after);
    expect(h.statuses.posts()).toEqual(posts);
    expect(h.queue.tasks()).toEqual(tasks);
  });

  it('a report on a canceled test: 409 canceled, nothing posted', async () => {
    const before = runningTest('t1', {
      status: 'canceled',
      message: 'PR closed',
      finishedAt: at(5),
      githubStatus: { state: 'error', description: 'PR closed', at: at(5) },
    });
    const h = await setup(before);

    for (const report of [
      stage('t1', 'testing'),
      completed('t1', PASSING),
      { testId: 't1', stage: 'failed', message: 'x' } as const,
    ]) {
      expect(await handleReport(h.deps, tokenOf('t1'), report)).toEqual({
        http: 409,
        reason: 'canceled',
        test: before,
      });
    }
    expect(await h.store.getTest('t1')).toEqual(before);
    expect(h.statuses.posts()).toEqual([]);
    expect(h.queue.tasks()).toEqual([]);
  });

  it('a starting test: 503 not_ready, nothing changed', async () => {
    const before = runningTest('t1', { status: 'starting', stage: null, message: 'Starting a VM' });
    const h = await setup(before);

    expect(await handleReport(h.deps, tokenOf('t1'), stage('t1', 'preparation'))).toEqual({
      http: 503,
      reason: 'not_ready',
    });
    expect(await handleReport(h.deps, tokenOf('t1'), completed('t1', PASSING))).toEqual({
      http: 503,
      reason: 'not_ready',
    });
    expect(await h.store.getTest('t1')).toEqual(before);
    expect(h.statuses.posts()).toEqual([]);
  });

  it('a queued test (its VM from an older attempt still reporting): 409 not_running', async () => {
    const before = runningTest('t1', { status: 'queued', stage: null, message: 'Tests queued' });
    const h = await setup(before);

    expect(await handleReport(h.deps, tokenOf('t1'), stage('t1', 'testing'))).toEqual({
      http: 409,
      reason: 'not_running',
      test: before,
    });
  });

  it('a freed slot starts the platform’s oldest pending test, and only that one', async () => {
    const pending = (id: string, minutes: number, sha: string, platform = 'linux') =>
      testRecord({
        id,
        sha,
        platform,
        status: 'pending',
        message: `Waiting for a free ${platform} VM slot`,
        enqueueGeneration: 3,
        createdAt: at(minutes),
        updatedAt: at(minutes),
        queuedAt: null,
        timeline: [{ at: at(minutes), status: 'pending', message: 'Waiting' }],
      });
    // p-win waits longest, but for another platform's slot.
    const h = await setup(
      runningTest('r1', { stage: 'testing' }),
      pending('p-new', 3, 'c'.repeat(40)),
      pending('p-old', 2, 'b'.repeat(40)),
      pending('p-win', 1, 'd'.repeat(40), 'windows'),
    );
    await h.store.acquireSlot('linux', 'r1', 1, at(1));

    const answer = await handleReport(h.deps, tokenOf('r1'), completed('r1', PASSING));

    expect(answer).toMatchObject({ http: 200, outcome: 'ended' });
    expect(await h.store.getTest('p-old')).toMatchObject({
      status: 'queued',
      enqueueGeneration: 4,
      queuedAt: NOW,
      message: 'Tests queued',
    });
    expect(await h.store.getTest('p-new')).toMatchObject({
      status: 'pending',
      enqueueGeneration: 3,
    });
    expect(await h.store.getTest('p-win')).toMatchObject({
      status: 'pending',
      enqueueGeneration: 3,
    });
    expect(await h.store.slotHolders('linux')).toEqual([]);
    const tasks = h.queue.tasks().map(({ testId, generation }) => ({ testId, generation }));
    expect(tasks.sort((a, b) => a.testId.localeCompare(b.testId))).toEqual([
      { testId: 'p-old', generation: 4 },
      { testId: 'r1', generation: 2 },
    ]);
    expect(h.statuses.statuses('ccextractor/ccextractor', 'b'.repeat(40))).toEqual([
      expect.objectContaining({ state: 'pending', description: 'Tests queued' }),
    ]);
  });

  it('an end that frees no slot (none was held) starts no pending test', async () => {
    const waiting = testRecord({
      id: 'p1',
      sha: 'b'.repeat(40),
      status: 'pending',
      enqueueGeneration: 0,
      queuedAt: null,
    });
    const h = await setup(runningTest('r1', { stage: 'testing' }), waiting);
    await h.store.acquireSlot('linux', 'someone-else', 1, at(1));

    expect(await handleReport(h.deps, tokenOf('r1'), completed('r1', PASSING))).toMatchObject({
      http: 200,
      outcome: 'ended',
    });

    expect(await h.store.getTest('p1')).toEqual(waiting);
    expect(await h.store.slotHolders('linux')).toEqual(['someone-else']);
    expect(h.queue.tasks()).toEqual([expect.objectContaining({ testId: 'r1', generation: 2 })]);
  });

  it('a failing suite: failed, a failure status "2 of 5 tests failed"', async () => {
    const h = await setup(runningTest('t1', { stage: 'testing' }));

    const answer = await handleReport(
      h.deps,
      tokenOf('t1'),
      completed('t1', { exitCode: 1, failed: 2, passed: 3, summary: '2 failed, 3 passed' }),
    );

    expect(answer).toMatchObject({ http: 200, outcome: 'ended' });
    expect(await h.store.getTest('t1')).toMatchObject({
      status: 'failed',
      message: '2 of 5 tests failed',
      result: { exitCode: 1, passed: 3, failed: 2, summary: '2 failed, 3 passed' },
    });
    expect(h.statuses.posts()).toEqual([
      expect.objectContaining({ state: 'failure', description: '2 of 5 tests failed' }),
    ]);
  });

  it('a `failed` report: error, "Test run failed: <reason>", no result, teardown asked', async () => {
    const h = await setup(runningTest('t1'));

    const answer = await handleReport(h.deps, tokenOf('t1'), {
      testId: 't1',
      stage: 'failed',
      message: 'git fetch failed:\nrepository not found',
    });

    expect(answer).toMatchObject({ http: 200, outcome: 'ended' });
    expect(await h.store.getTest('t1')).toMatchObject({
      status: 'error',
      message: 'Test run failed: git fetch failed: repository not found',
      result: null,
      finishedAt: NOW,
      deletion: { name: 'vmci-t1-1', doneAt: null },
    });
    expect(h.statuses.posts()).toEqual([
      expect.objectContaining({
        state: 'error',
        description: 'Test run failed: git fetch failed: repository not found',
      }),
    ]);
    expect(h.queue.tasks()).toEqual([expect.objectContaining({ testId: 't1', generation: 2 })]);
  });

  it('a result racing a cancel: each test ends once, passed or canceled, with one final status', async () => {
    const { store, peer } = current();
    const N = 10;
    const ids = Array.from({ length: N }, (_, i) => `race${i}`);
    const shaOf = (i: number) => i.toString(16).padStart(40, 'e');
    await store.createTests(
      ids.map((id, i) => runningTest(id, { stage: 'testing', sha: shaOf(i) })),
    );
    for (const id of ids) await store.acquireSlot('linux', id, N, at(1));
    const h = harness(store);
    // The cancel comes from another instance (the webhook), which posts its own final status.
    const canceler = { ...h.deps, store: peer() };

    const runs = await Promise.all(
      ids.map(async (id, i) => {
        // Staggered starts, so either side gets to move first on either store.
        const [report, cancel] = await Promise.all([
          turns(i % 2 === 0 ? 0 : i % 4).then(() =>
            handleReport(h.deps, tokenOf(id), completed(id, PASSING)),
          ),
          (async () => {
            await turns(i % 2 === 0 ? i % 3 : 0);
            const result = await cancelTest(canceler, id, 'PR closed');
            if (result.canceled) {
              await afterTestEnded(canceler, result.test, { slotReleased: result.slotReleased });
            }
            return result;
          })(),
        ]);
        return { id, report, cancel };
      }),
    );

    for (const [i, { id, report, cancel }] of runs.entries()) {
      const stored = await store.getTest(id);
      const ends = stored?.timeline.filter((e) => e.status === 'passed' || e.status === 'canceled');
      const finals = h.statuses
        .statuses('ccextractor/ccextractor', shaOf(i))
        .filter((s) => s.state !== 'pending');
      expect(ends).toHaveLength(1);
      expect(finals).toHaveLength(1);
      if (stored?.status === 'passed') {
        expect(report).toMatchObject({ http: 200, outcome: 'ended' });
        expect(cancel).toMatchObject({ canceled: false, reason: 'terminal' });
        expect(stored.result).toMatchObject({ exitCode: 0, passed: 12 });
        expect(finals[0]).toMatchObject({ state: 'success' });
      } else {
        expect(stored?.status).toBe('canceled');
        expect(report).toMatchObject({ http: 409, reason: 'canceled' });
        expect(cancel).toMatchObject({ canceled: true });
        expect(stored?.result).toBeNull();
        expect(finals[0]).toMatchObject({ state: 'error', description: 'PR closed' });
      }
      expect(stored?.deletion).toMatchObject({ name: `vmci-${id}-1`, doneAt: null });
    }
    expect(await store.slotHolders('linux')).toEqual([]);
    // One teardown task per test, whichever side ended it.
    expect(
      h.queue
        .tasks()
        .map((t) => `${t.testId}/${t.generation}`)
        .sort(),
    ).toEqual(ids.map((id) => `${id}/2`).sort());
  });
});
