// enqueueTest on the in-memory store and queue: the `queued` record first, then the task;
// a failed task puts the test back; retries and races never
// make a second task.
import { taskId } from '../../shared/domain/naming';
import { TESTS_QUEUED } from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import { createLogger, type Logger } from '../../shared/log';
import {
  enqueueTest,
  ensureTask,
  queuedOnCreation,
  type EnqueueTestDeps,
} from '../../shared/queue/enqueue-test';
import { createMemoryQueue, type MemoryQueue } from '../../shared/queue/memory';
import type { TaskQueue } from '../../shared/queue/port';
import { createMemoryStore } from '../../shared/store/memory';
import type { TestStore } from '../../shared/store/port';
import { at, T0, testRecord } from '../contracts/store/fixtures';

const ID = 'ccextractor-ccextractor-0123abc-linux-push-r1-3f9c0a1b2c3d4e5f';
const NOW = at(5);

interface Setup {
  store: TestStore;
  queue: MemoryQueue;
  deps: EnqueueTestDeps;
  test: TestRecord;
  logs: Array<Record<string, unknown>>;
}

function pendingTest(overrides: Partial<TestRecord> = {}): TestRecord {
  return testRecord({
    id: ID,
    status: 'pending',
    message: 'Waiting for a free linux VM slot',
    enqueueGeneration: 0,
    queuedAt: null,
    timeline: [{ at: T0, status: 'pending', message: 'Waiting for a free linux VM slot' }],
    ...overrides,
  });
}

async function setup(test: TestRecord = pendingTest()): Promise<Setup> {
  const store = createMemoryStore();
  await store.createTests([test]);
  const queue = createMemoryQueue();
  const logs: Array<Record<string, unknown>> = [];
  const log: Logger = createLogger({
    write: (line) => logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { store, queue, deps: { store, queue, log, now: () => NOW }, test, logs };
}

const taskName = (queue: MemoryQueue, generation: number) =>
  `${queue.queuePath}/tasks/${taskId(ID, generation)}`;

describe('enqueueTest', () => {
  it('creates generation 1 and moves the test pending → queued', async () => {
    const { deps, queue, store, test } = await setup();

    const result = await enqueueTest(deps, test);

    expect(result).toMatchObject({ queued: true, taskName: taskName(queue, 1), created: true });
    const stored = await store.getTest(ID);
    expect(result.queued && result.test).toEqual(stored);
    expect(stored).toMatchObject({
      status: 'queued',
      message: TESTS_QUEUED,
      enqueueGeneration: 1,
      queuedAt: NOW,
      updatedAt: NOW,
    });
    expect(stored?.timeline.at(-1)).toEqual({ at: NOW, status: 'queued', message: TESTS_QUEUED });
    expect(queue.tasks()).toEqual([
      { name: taskName(queue, 1), testId: ID, generation: 1, body: JSON.stringify({ testId: ID }) },
    ]);
  });

  it('puts the test back where it was when the queue fails, logs it, and the retry takes the next generation', async () => {
    const { deps, queue, store, test, logs } = await setup();
    queue.failNext(1, { retriable: true, code: 'UNAVAILABLE', detail: 'connection refused' });

    const failed = await enqueueTest(deps, test);

    const back = await store.getTest(ID);
    expect(failed).toEqual({
      queued: false,
      reason: 'queue_failed',
      retriable: true,
      code: 'UNAVAILABLE',
      detail: 'connection refused',
      current: back,
    });
    // Where it was, under generation 1, whose task name is never used.
    expect(back).toMatchObject({
      status: 'pending',
      message: test.message,
      queuedAt: null,
      enqueueGeneration: 1,
    });
    expect(back?.timeline.map((e) => e.status)).toEqual(['pending', 'queued', 'pending']);
    expect(queue.tasks()).toEqual([]);
    const warning = logs.find((entry) => entry.severity === 'WARNING');
    expect(warning).toMatchObject({
      'logging.googleapis.com/labels': { testId: ID },
      code: 'UNAVAILABLE',
      retriable: true,
      generation: 1,
      status: 'pending',
    });

    // The sweep's later call, from the record as it is now.
    const retried = await enqueueTest(deps, back as TestRecord);
    expect(retried).toMatchObject({ queued: true, taskName: taskName(queue, 2), created: true });
    expect(queue.tasks().map((t) => t.generation)).toEqual([2]);
  });

  it('reports a queue failure that retrying will not fix', async () => {
    const { deps, queue, store, test } = await setup();
    queue.failNext(1, { retriable: false, code: 'NOT_FOUND' });
    const result = await enqueueTest(deps, test);
    expect(result).toMatchObject({ queued: false, reason: 'queue_failed', retriable: false });
    expect(await store.getTest(ID)).toMatchObject({ status: 'pending', enqueueGeneration: 1 });
  });

  it('records the test queued before its task exists, so the task finds it queued from its first delivery', async () => {
    const { deps, queue, store, test } = await setup();
    const seen: Array<string | undefined> = [];
    const watching: TaskQueue = {
      enqueue: async (request) => {
        seen.push((await store.getTest(ID))?.status);
        return queue.enqueue(request);
      },
      taskState: (request) => queue.taskState(request),
    };

    const result = await enqueueTest({ ...deps, queue: watching }, test);

    expect(result).toMatchObject({ queued: true, taskName: taskName(queue, 1) });
    expect(seen).toEqual(['queued']);
  });

  it('after a crash between the move and the task, the queued test has no task: the lost-task sweep sees it missing', async () => {
    const { deps, queue, store, test } = await setup();
    const crashing: TaskQueue = {
      enqueue: () => Promise.reject(new Error('process killed')),
      taskState: (request) => queue.taskState(request),
    };

    await expect(enqueueTest({ ...deps, queue: crashing }, test)).rejects.toThrow('process killed');

    const stored = await store.getTest(ID);
    expect(stored).toMatchObject({ status: 'queued', enqueueGeneration: 1 });
    expect(await queue.taskState({ testId: ID, generation: 1 })).toBe('missing');
  });

  it('a test canceled while its task is created stays canceled, and its task finds nothing to run', async () => {
    const { deps, queue, store, test } = await setup();
    // The cancel lands between the move and the queue's answer.
    const racing: TaskQueue = {
      enqueue: async (request) => {
        await store.transition(ID, {
          from: ['queued'],
          to: 'canceled',
          at: NOW,
          message: 'PR closed',
        });
        return queue.enqueue(request);
      },
      taskState: (request) => queue.taskState(request),
    };

    const result = await enqueueTest({ ...deps, queue: racing }, test);

    expect(result).toMatchObject({ queued: true, taskName: taskName(queue, 1) });
    expect(await store.getTest(ID)).toMatchObject({ status: 'canceled', enqueueGeneration: 1 });
  });

  it('a test canceled while a failed enqueue puts it back stays canceled', async () => {
    const { deps, queue, store, test } = await setup();
    const failing: TaskQueue = {
      enqueue: async () => {
        await store.transition(ID, {
          from: ['queued'],
          to: 'canceled',
          at: NOW,
          message: 'PR closed',
        });
        return { ok: false, retriable: true, code: 'UNAVAILABLE', detail: 'down' };
      },
      taskState: (request) => queue.taskState(request),
    };

    const result = await enqueueTest({ ...deps, queue: failing }, test);

    expect(result).toMatchObject({
      queued: false,
      reason: 'queue_failed',
      current: { status: 'canceled' },
    });
    expect(await store.getTest(ID)).toMatchObject({ status: 'canceled' });
  });

  it('does not create a task for a record that is not in a `from` status', async () => {
    const { deps, queue, store } = await setup(pendingTest({ status: 'canceled' }));
    const result = await enqueueTest(deps, (await store.getTest(ID)) as TestRecord);
    expect(result).toMatchObject({ queued: false, reason: 'moved', detail: 'test is canceled' });
    expect(queue.tasks()).toEqual([]);
  });

  it('reports a test that no longer exists as moved, with no current record', async () => {
    const { deps, test } = await setup();
    const result = await enqueueTest(deps, { ...test, id: `${ID}-gone` });
    expect(result).toEqual({
      queued: false,
      reason: 'moved',
      detail: 'test not found',
      current: null,
    });
  });

  it('makes one task and one queued transition of racing calls for the same test', async () => {
    const { deps, queue, store, test } = await setup();

    const results = await Promise.all(Array.from({ length: 6 }, () => enqueueTest(deps, test)));

    expect(results.filter((r) => r.queued)).toHaveLength(1);
    expect(results.filter((r) => !r.queued && r.reason === 'moved')).toHaveLength(5);
    expect(queue.tasks().map((t) => t.name)).toEqual([taskName(queue, 1)]);
    const stored = await store.getTest(ID);
    expect(stored?.timeline.filter((entry) => entry.status === 'queued')).toHaveLength(1);
    expect(stored?.enqueueGeneration).toBe(1);
  });

  it('re-enqueues a queued test whose task vanished as the next generation, with its own message', async () => {
    const queuedOnce = pendingTest({ status: 'queued', enqueueGeneration: 1, queuedAt: T0 });
    const { deps, queue, store } = await setup(queuedOnce);
    await queue.enqueue({ testId: ID, generation: 1 });
    queue.drop(taskName(queue, 1));

    const result = await enqueueTest(deps, queuedOnce, {
      from: ['queued'],
      message: 'Tests queued again',
    });

    expect(result).toMatchObject({ queued: true, taskName: taskName(queue, 2), created: true });
    expect(queue.tasks().map((t) => t.generation)).toEqual([2]);
    expect(await store.getTest(ID)).toMatchObject({
      status: 'queued',
      message: 'Tests queued again',
      enqueueGeneration: 2,
      queuedAt: NOW,
    });
  });
});

describe('a new test stored queued (queuedOnCreation, ensureTask)', () => {
  const fresh = () =>
    pendingTest({
      timeline: [{ at: T0, status: 'pending', message: TESTS_QUEUED }],
      message: TESTS_QUEUED,
    });

  it('a ready new test is stored queued under generation 1, one timeline entry; others as they are', () => {
    const queued = queuedOnCreation(fresh());
    expect(queued).toMatchObject({ status: 'queued', enqueueGeneration: 1, queuedAt: T0 });
    expect(queued.timeline).toEqual([{ at: T0, status: 'queued', message: TESTS_QUEUED }]);
    const waiting = pendingTest({ status: 'waiting', waitReason: 'approval' });
    expect(queuedOnCreation(waiting)).toBe(waiting);
    const again = pendingTest({ enqueueGeneration: 2 });
    expect(queuedOnCreation(again)).toBe(again);
  });

  it('creates the task of its generation once, however often it is asked', async () => {
    const queued = queuedOnCreation(fresh());
    const { deps, queue, store } = await setup(queued);

    const first = await ensureTask(deps, queued);
    const second = await ensureTask(deps, queued);

    expect(first).toMatchObject({ queued: true, taskName: taskName(queue, 1), created: true });
    expect(second).toMatchObject({ queued: true, taskName: taskName(queue, 1), created: false });
    expect(queue.tasks().map((t) => t.name)).toEqual([taskName(queue, 1)]);
    expect(await store.getTest(ID)).toEqual(queued);
  });

  it('a queue failure puts the test back to pending for the sweep', async () => {
    const queued = queuedOnCreation(fresh());
    const { deps, queue, store } = await setup(queued);
    queue.failNext(1, { retriable: true, code: 'UNAVAILABLE', detail: 'connection refused' });

    const result = await ensureTask(deps, queued);

    const stored = await store.getTest(ID);
    expect(result).toMatchObject({ queued: false, reason: 'queue_failed', current: stored });
    expect(stored).toMatchObject({
      status: 'pending',
      message: TESTS_QUEUED,
      enqueueGeneration: 1,
    });
    expect(queue.tasks()).toEqual([]);
  });
});
