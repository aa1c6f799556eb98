// enqueueTest on the in-memory store and queue: the task and the `queued`
// move happen together or the test stays as it was; retries and races never
// make a second task.
import { taskId } from '../../shared/domain/naming';
import { TESTS_QUEUED } from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import { createLogger, type Logger } from '../../shared/log';
import { enqueueTest, type EnqueueTestDeps } from '../../shared/queue/enqueue-test';
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

  it('leaves the test as it was when the queue fails, logs it, and the retry uses the same generation', async () => {
    const { deps, queue, store, test, logs } = await setup();
    queue.failNext(1, { retriable: true, code: 'UNAVAILABLE', detail: 'connection refused' });

    const failed = await enqueueTest(deps, test);

    expect(failed).toEqual({
      queued: false,
      reason: 'queue_failed',
      retriable: true,
      code: 'UNAVAILABLE',
      detail: 'connection refused',
    });
    expect(await store.getTest(ID)).toEqual(test);
    expect(queue.tasks()).toEqual([]);
    const warning = logs.find((entry) => entry.severity === 'WARNING');
    expect(warning).toMatchObject({
      'logging.googleapis.com/labels': { testId: ID },
      code: 'UNAVAILABLE',
      retriable: true,
      generation: 1,
    });

    // The sweep's later call: same record, same generation.
    const retried = await enqueueTest(deps, test);
    expect(retried).toMatchObject({ queued: true, taskName: taskName(queue, 1), created: true });
  });

  it('reports a queue failure that retrying will not fix', async () => {
    const { deps, queue, store, test } = await setup();
    queue.failNext(1, { retriable: false, code: 'NOT_FOUND' });
    const result = await enqueueTest(deps, test);
    expect(result).toMatchObject({ queued: false, reason: 'queue_failed', retriable: false });
    expect(await store.getTest(ID)).toEqual(test);
  });

  it('after a crash between the task and the move, the retry finds the task and only moves the test', async () => {
    const { deps, queue, store, test } = await setup();
    // The first attempt's task exists; the move never happened.
    await queue.enqueue({ testId: ID, generation: 1 });

    const result = await enqueueTest(deps, test);

    expect(result).toMatchObject({ queued: true, taskName: taskName(queue, 1), created: false });
    expect(queue.tasks().map((t) => t.name)).toEqual([taskName(queue, 1)]);
    expect(await store.getTest(ID)).toMatchObject({ status: 'queued', enqueueGeneration: 1 });
  });

  it('reports a test canceled while its task was being created as moved, and leaves it canceled', async () => {
    const { deps, queue, store, test } = await setup();
    // The cancel lands between the queue's answer and the move.
    const racing: TaskQueue = {
      enqueue: async (request) => {
        const result = await queue.enqueue(request);
        await store.transition(ID, {
          from: ['pending'],
          to: 'canceled',
          at: NOW,
          message: 'PR closed',
        });
        return result;
      },
      taskState: (request) => queue.taskState(request),
    };

    const result = await enqueueTest({ ...deps, queue: racing }, test);

    expect(result).toMatchObject({
      queued: false,
      reason: 'moved',
      detail: 'test is canceled',
      current: { status: 'canceled' },
    });
    expect(await store.getTest(ID)).toMatchObject({ status: 'canceled', enqueueGeneration: 0 });
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
