// A failed run's end names its failing tests (issue 14): handleReport reads the
// JUnit files the VM uploaded, on the in-memory store and on the Firestore
// emulator. A passing run reads nothing; a storage failure or a slow read
// leaves the plain counts line; the same report again is still 200 unchanged.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveVmToken, hashVmToken } from '../../shared/auth/vm-token';
import type { TestRecord } from '../../shared/domain/test';
import { createMemoryFileStore } from '../../shared/files/memory';
import type { TestFileStore } from '../../shared/files/port';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { handleReport, type ReportDeps } from '../../shared/progress/handle-report';
import type { ProgressReport } from '../../shared/progress/report';
import { createMemoryQueue } from '../../shared/queue/memory';
import { readTestFailures } from '../../shared/results/read-failures';
import type { TestStore } from '../../shared/store/port';
import { at, testRecord, useStore } from '../contracts/store/fixtures';
import { captureLog } from '../support/capture-log';
import { storeKinds } from '../tests/stores';

const SECRET = 'failing-tests-token-secret-0123456789';
const FIXTURES = join(__dirname, '../fixtures/junit');
const PYTEST = readFileSync(join(FIXTURES, 'pytest.xml'));
const CTEST = readFileSync(join(FIXTURES, 'ctest.xml'));
const NAMED =
  '3 of 4 tests failed: test_parser.test_utf8, test_parser.TestLexer.test_eof, test_parser.test_query';

const tokenOf = (id: string) => deriveVmToken(SECRET, id, `vmci-${id}-1`);

function runningTest(id: string): TestRecord {
  return testRecord({
    id,
    status: 'running',
    stage: 'testing',
    message: 'Running tests',
    attempts: 1,
    instance: { name: `vmci-${id}-1`, zone: 'local-a', provisioning: 'STANDARD' },
    tokenHash: hashVmToken(tokenOf(id)),
  });
}

function completed(
  testId: string,
  result: Extract<ProgressReport, { stage: 'completed' }>['result'],
): ProgressReport {
  return { testId, stage: 'completed', result };
}

const FAILING = { exitCode: 1, passed: 1, failed: 3, summary: '1 passed, 3 failed' };

/** A file store that counts its calls and can be made to fail. */
function spyFiles() {
  const inner = createMemoryFileStore();
  const calls: string[] = [];
  let broken: Error | null = null;
  let delayMs = 0;
  const call = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    calls.push(name);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (broken) throw broken;
    return run();
  };
  const files: TestFileStore = {
    put: (...args) => inner.put(...args),
    list: (testId) => call('list', () => inner.list(testId)),
    read: (testId, name, range) => call(`read ${name}`, () => inner.read(testId, name, range)),
  };
  return {
    files,
    inner,
    calls,
    breakWith: (error: Error) => void (broken = error),
    slowBy: (ms: number) => void (delayMs = ms),
  };
}

function harness(store: TestStore, files: TestFileStore) {
  const logs = captureLog();
  const statuses = createMemoryStatusPort();
  const deps: ReportDeps = {
    store,
    files,
    statuses,
    queue: createMemoryQueue(),
    log: logs.log,
    now: () => at(10),
    statusContext: 'ci/{platform}',
    publicUrl: 'https://ci.example.com',
  };
  return { deps, logs, statuses };
}

describe.each(storeKinds('vmci-failing-tests'))(
  'a failed run names its tests ($name)',
  ({ make }) => {
    const current = useStore(make);

    it('names the failing tests on the final line and keeps them on the test', async () => {
      const { store } = current();
      await store.createTests([runningTest('t1')]);
      const spy = spyFiles();
      await spy.inner.put('t1', 'results/pytest.xml', PYTEST, 'application/xml');
      await spy.inner.put('t1', 'results/summary.json', Buffer.from('{}'), 'application/json');
      const h = harness(store, spy.files);

      const answer = await handleReport(h.deps, tokenOf('t1'), completed('t1', FAILING));

      expect(answer).toMatchObject({ http: 200, outcome: 'ended' });
      const stored = await store.getTest('t1');
      expect(stored).toMatchObject({ status: 'failed', message: NAMED });
      expect(stored?.failures?.counts).toEqual({ tests: 5, failures: 2, errors: 1, skipped: 1 });
      expect(stored?.failures?.cases).toEqual([
        expect.objectContaining({ name: 'test_utf8', kind: 'failure', file: 'results/pytest.xml' }),
        expect.objectContaining({
          name: 'test_eof',
          suite: 'pytest',
          classname: 'test_parser.TestLexer',
        }),
        expect.objectContaining({ name: 'test_query', kind: 'error' }),
      ]);
      expect(stored?.timeline.at(-1)?.message).toBe(NAMED);
      expect(h.statuses.posts()).toEqual([
        expect.objectContaining({ state: 'failure', description: NAMED }),
      ]);
      // Only the JUnit file is read.
      expect(spy.calls).toEqual(['list', 'read results/pytest.xml']);

      // The same report again (the VM retried): 200 unchanged, nothing read or posted again.
      spy.calls.length = 0;
      const again = await handleReport(h.deps, tokenOf('t1'), completed('t1', FAILING));
      expect(again).toMatchObject({ http: 200, outcome: 'unchanged' });
      expect(spy.calls).toEqual([]);
      expect(h.statuses.posts()).toHaveLength(1);
    });

    it('merges several files in name order', async () => {
      const { store } = current();
      await store.createTests([runningTest('t1')]);
      const spy = spyFiles();
      await spy.inner.put('t1', 'results/b/pytest.xml', PYTEST, 'application/xml');
      await spy.inner.put('t1', 'results/a/ctest.xml', CTEST, 'application/xml');
      const h = harness(store, spy.files);

      await handleReport(
        h.deps,
        tokenOf('t1'),
        completed('t1', { exitCode: 1, passed: null, failed: null }),
      );

      const stored = await store.getTest('t1');
      expect(stored?.failures?.cases.map((c) => c.file)).toEqual([
        'results/a/ctest.xml',
        'results/a/ctest.xml',
        'results/b/pytest.xml',
        'results/b/pytest.xml',
        'results/b/pytest.xml',
      ]);
      expect(stored?.message).toMatch(/^5 of \d+ tests failed: parser\.utf8, lexer\.eof, /);
    });

    it('a passing run reads no file at all', async () => {
      const { store } = current();
      await store.createTests([runningTest('t1'), runningTest('t2')]);
      const spy = spyFiles();
      await spy.inner.put('t1', 'results/pytest.xml', PYTEST, 'application/xml');
      const h = harness(store, spy.files);

      await handleReport(
        h.deps,
        tokenOf('t1'),
        completed('t1', { exitCode: 0, passed: 4, failed: 0 }),
      );
      await handleReport(
        h.deps,
        tokenOf('t2'),
        completed('t2', { exitCode: 0, passed: null, failed: null }),
      );

      expect(spy.calls).toEqual([]);
      expect(await store.getTest('t1')).toMatchObject({
        status: 'passed',
        message: 'All tests passed (4 passed)',
        failures: null,
      });
    });

    it('no JUnit file, or none naming a case: the plain line, no failures kept', async () => {
      const { store } = current();
      await store.createTests([runningTest('t1'), runningTest('t2')]);
      const spy = spyFiles();
      await spy.inner.put(
        't2',
        'results/junit.xml',
        Buffer.from('<testsuite tests="3"/>'),
        'text/xml',
      );
      const h = harness(store, spy.files);

      for (const id of ['t1', 't2']) {
        await handleReport(
          h.deps,
          tokenOf(id),
          completed(id, { exitCode: 1, passed: 3, failed: 2 }),
        );
        expect(await store.getTest(id)).toMatchObject({
          status: 'failed',
          message: '2 of 5 tests failed',
          failures: null,
        });
      }
    });

    it('storage fails: the report still ends the test with the plain line, and the failure is logged', async () => {
      const { store } = current();
      await store.createTests([runningTest('t1')]);
      const spy = spyFiles();
      spy.breakWith(Object.assign(new Error('storage down'), { code: 503 }));
      const h = harness(store, spy.files);

      const answer = await handleReport(h.deps, tokenOf('t1'), completed('t1', FAILING));

      expect(answer).toMatchObject({ http: 200, outcome: 'ended' });
      expect(await store.getTest('t1')).toMatchObject({
        status: 'failed',
        message: '3 of 4 tests failed',
        failures: null,
      });
      expect(h.logs.entries).toContainEqual(
        expect.objectContaining({
          level: 'warn',
          message: 'JUnit files could not be read; the final line gives counts only',
          labels: { testId: 't1' },
        }),
      );
    });
  },
);

describe('readTestFailures', () => {
  it('gives up after its time budget, answering null', async () => {
    const spy = spyFiles();
    await spy.inner.put('t1', 'results/pytest.xml', PYTEST, 'application/xml');
    spy.slowBy(200);
    const logs = captureLog();

    const started = Date.now();
    const read = await readTestFailures({ files: spy.files, log: logs.log }, 't1', 50);

    expect(read).toBeNull();
    expect(Date.now() - started).toBeLessThan(190);
    expect(logs.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', fields: { budgetMs: 50 } }),
    );
  });

  it('reads a file only up to one byte past the 10 MiB cap, and skips it as too big', async () => {
    const spy = spyFiles();
    const huge = Buffer.alloc(11 * 1024 * 1024, 0x20);
    await spy.inner.put('t1', 'results/big.xml', huge, 'application/xml');
    // Listed small (it grew after the listing): the bounded read still refuses it.
    const files: TestFileStore = {
      ...spy.files,
      list: async (id) => (await spy.inner.list(id)).map((f) => ({ ...f, size: 10 })),
      read: async (id, name, range) => {
        expect(range).toEqual({ start: 0, end: 10 * 1024 * 1024 + 1 });
        return spy.inner.read(id, name, range);
      },
    };
    const logs = captureLog();

    expect(await readTestFailures({ files, log: logs.log }, 't1')).toBeNull();
    expect(logs.entries).toContainEqual(
      expect.objectContaining({
        message: 'JUnit files read',
        fields: expect.objectContaining({ filesSkipped: 1 }),
      }),
    );
  });
});
