// Runs the TaskQueue contract on the in-memory double and on the Cloud Tasks
// adapter, which drives the real @google-cloud/tasks client against the local
// stand-in; then what only the Cloud Tasks adapter can show: the task's HTTP
// request, its OIDC token, the call timeout and the error mapping.
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { CloudTasksClient } from '@google-cloud/tasks';
import { serve } from '../../infra/local/http';
import { createTasksStandIn, type TasksStandIn } from '../../infra/local/tasks';
import { taskId } from '../../shared/domain/naming';
import { localClientOptions } from '../../shared/gcp/client-options';
import { createLogger } from '../../shared/log';
import {
  classifyTasksError,
  createCloudTasksQueue,
  type CloudTasksQueueOptions,
} from '../../shared/queue/cloud-tasks';
import { createMemoryQueue } from '../../shared/queue/memory';
import type { TaskQueue } from '../../shared/queue/port';
import { startTarget, type Target } from '../local/tasks-target';
import {
  defineQueueContractTests,
  type MakeQueue,
  type QueueKind,
} from '../contracts/queue.contract';

const QUEUE = 'test-runs';
const SERVICE_ACCOUNT = 'vmci-tasks@vmci-local.iam.gserviceaccount.com';
const TIMEOUT_MS = 2_000;
const TEST_ID = 'ccextractor-ccextractor-0123abc-linux-push-r1-3f9c0a1b2c3d4e5f';

const makeMemoryQueue: MakeQueue = async (kind) => {
  const queue = createMemoryQueue(
    kind === 'working' ? {} : { failWith: { retriable: kind === 'unreachable' } },
  );
  return {
    queue,
    queuePath: queue.queuePath,
    taskNames: async () => queue.tasks().map((task) => task.name),
    dispatchAll: async () => {
      for (const task of queue.tasks()) queue.complete(task.name);
    },
    remove: async (name) => {
      queue.drop(name);
    },
    timeoutMs: 0,
    cleanup: async () => {},
  };
};

interface CloudHarness {
  standIn: TasksStandIn;
  client: CloudTasksClient;
  target: Target;
  targetUrl: string;
  /** A queue adapter on this stand-in; options override the defaults. */
  adapter(options?: Partial<CloudTasksQueueOptions>): TaskQueue;
  cleanup(): Promise<void>;
}

/** A stand-in with a paused queue (tasks stay put until resumed) and a target that answers 200. */
async function cloudHarness(): Promise<CloudHarness> {
  const target = await startTarget();
  const standIn = createTasksStandIn({ queues: [{ name: QUEUE }] });
  standIn.pause(QUEUE);
  const server = await serve([standIn]);
  const client = new CloudTasksClient({
    // Spread: the client's ClientOptions has an index signature the interface lacks.
    ...localClientOptions({ host: '127.0.0.1', port: server.port }),
  });
  const targetUrl = `${target.url}/runTest`;
  return {
    standIn,
    client,
    target,
    targetUrl,
    adapter: (options = {}) =>
      createCloudTasksQueue({
        client,
        project: standIn.project,
        location: standIn.location,
        queue: QUEUE,
        targetUrl,
        serviceAccountEmail: SERVICE_ACCOUNT,
        dispatchDeadlineSeconds: 600,
        timeoutMs: TIMEOUT_MS,
        ...options,
      }),
    cleanup: async () => {
      await client.close();
      await server.close();
      await target.close();
    },
  };
}

/** A port on which nothing listens: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const makeCloudTasksQueue: MakeQueue = async (kind: QueueKind) => {
  const h = await cloudHarness();
  const extra: Array<() => Promise<void>> = [];
  let queue: TaskQueue;
  if (kind === 'unknown_queue') {
    queue = h.adapter({ queue: 'no-such-queue' });
  } else if (kind === 'unreachable') {
    const client = new CloudTasksClient({
      ...localClientOptions({ host: '127.0.0.1', port: await closedPort() }),
    });
    extra.push(() => client.close());
    queue = h.adapter({ client });
  } else {
    queue = h.adapter();
  }
  return {
    queue,
    queuePath: h.standIn.queuePath(QUEUE),
    taskNames: async () => h.standIn.tasks(QUEUE).map((task) => task.name),
    dispatchAll: async () => {
      h.standIn.resume(QUEUE);
      await h.standIn.whenIdle();
      h.standIn.pause(QUEUE);
    },
    remove: async (name) => {
      await h.client.deleteTask({ name });
    },
    timeoutMs: TIMEOUT_MS,
    cleanup: async () => {
      for (const close of extra) await close();
      await h.cleanup();
    },
  };
};

describe.each([
  { name: 'memory', make: makeMemoryQueue },
  { name: 'cloud-tasks (local stand-in)', make: makeCloudTasksQueue },
])('$name', ({ name, make }) => {
  defineQueueContractTests(name, make);
});

describe('the Cloud Tasks adapter', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const harness = async (): Promise<CloudHarness> => {
    const h = await cloudHarness();
    cleanups.push(() => h.cleanup());
    return h;
  };

  it('creates an OIDC-authenticated JSON POST of {testId} to runTest with the dispatch deadline', async () => {
    const h = await harness();
    const result = await h.adapter({ dispatchDeadlineSeconds: 900 }).enqueue({
      testId: TEST_ID,
      generation: 3,
    });
    expect(result).toMatchObject({ ok: true, created: true });

    const [task, ...rest] = h.standIn.tasks(QUEUE);
    expect(rest).toEqual([]);
    expect(task).toMatchObject({
      id: taskId(TEST_ID, 3),
      url: h.targetUrl,
      httpMethod: 'POST',
      headers: { 'Content-Type': 'application/json' },
      oidcToken: { serviceAccountEmail: SERVICE_ACCOUNT, audience: h.targetUrl },
      dispatchDeadlineMs: 900_000,
    });
    expect(JSON.parse(task?.body.toString('utf8') ?? '')).toEqual({ testId: TEST_ID });
  });

  it('is dispatched with a bearer token for the service account and the runTest URL', async () => {
    const h = await harness();
    await h.adapter().enqueue({ testId: TEST_ID, generation: 1 });
    h.standIn.resume(QUEUE);
    await h.standIn.whenIdle();

    const [request, ...rest] = h.target.received;
    expect(rest).toEqual([]);
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/runTest');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body.toString('utf8') ?? '')).toEqual({ testId: TEST_ID });
    const authorization = String(request?.headers.authorization);
    expect(authorization).toMatch(/^Bearer /);
    const claims = h.standIn.verifyToken(authorization, {
      audience: h.targetUrl,
      email: SERVICE_ACCOUNT,
    });
    expect(claims).toMatchObject({ kind: 'oidc', aud: h.targetUrl, email: SERVICE_ACCOUNT });
    // The check is real: another audience is refused.
    expect(() =>
      h.standIn.verifyToken(authorization, { audience: 'https://elsewhere.test/runTest' }),
    ).toThrow();
  });

  it('mints the token for a given audience instead of the URL', async () => {
    const h = await harness();
    const audience = 'https://vmci.example.test/runTest';
    await h.adapter({ audience }).enqueue({ testId: TEST_ID, generation: 1 });
    h.standIn.resume(QUEUE);
    await h.standIn.whenIdle();
    const authorization = String(h.target.received[0]?.headers.authorization);
    expect(h.standIn.verifyToken(authorization, { audience, email: SERVICE_ACCOUNT })).toBeTruthy();
  });

  it('gives up on an endpoint that never answers within the call timeout, as retriable', async () => {
    const h = await harness();
    const sockets: Socket[] = [];
    // Accepts connections and never answers.
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      // close() waits for open connections: drop them first.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const client = new CloudTasksClient({
      ...localClientOptions({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }),
    });
    cleanups.push(() => client.close());
    const lines: string[] = [];
    const queue = h.adapter({
      client,
      timeoutMs: 800,
      log: createLogger({ write: (line) => lines.push(line) }),
    });

    const started = Date.now();
    const result = await queue.enqueue({ testId: TEST_ID, generation: 1 });
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ ok: false, retriable: true, code: 'DEADLINE_EXCEEDED' });
    expect(elapsed).toBeGreaterThanOrEqual(700);
    expect(elapsed).toBeLessThan(800 + 3_000);

    expect(await queue.taskState({ testId: TEST_ID, generation: 1 })).toBe('unknown');
    const warning = lines.map((line) => JSON.parse(line)).find((e) => e.severity === 'WARNING');
    expect(warning).toMatchObject({
      'logging.googleapis.com/labels': { testId: TEST_ID },
      code: 'DEADLINE_EXCEEDED',
    });
  });

  const coded = (code: number) => Object.assign(new Error('from the client'), { code });
  it.each([
    { info: 'ALREADY_EXISTS', error: coded(6), code: 'ALREADY_EXISTS', retriable: true },
    { info: 'NOT_FOUND', error: coded(5), code: 'NOT_FOUND', retriable: false },
    { info: 'PERMISSION_DENIED', error: coded(7), code: 'PERMISSION_DENIED', retriable: false },
    { info: 'FAILED_PRECONDITION', error: coded(9), code: 'FAILED_PRECONDITION', retriable: false },
    { info: 'INVALID_ARGUMENT', error: coded(3), code: 'INVALID_ARGUMENT', retriable: false },
    { info: 'UNAUTHENTICATED', error: coded(16), code: 'UNAUTHENTICATED', retriable: false },
    { info: 'UNAVAILABLE', error: coded(14), code: 'UNAVAILABLE', retriable: true },
    { info: 'DEADLINE_EXCEEDED', error: coded(4), code: 'DEADLINE_EXCEEDED', retriable: true },
    { info: 'RESOURCE_EXHAUSTED', error: coded(8), code: 'RESOURCE_EXHAUSTED', retriable: true },
    { info: 'INTERNAL', error: coded(13), code: 'INTERNAL', retriable: true },
    {
      info: 'a refused connection without a code',
      error: new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }),
      code: 'UNKNOWN',
      retriable: true,
    },
    { info: 'something not an error', error: 'not an error', code: 'UNKNOWN', retriable: true },
  ])('classifies $info as $code, retriable: $retriable', ({ error, code, retriable }) => {
    const info = classifyTasksError(error);
    expect(info).toEqual({ code, retriable, detail: expect.any(String) });
    expect(info.detail.length).toBeGreaterThan(0);
  });

  it('keeps the detail short', () => {
    const info = classifyTasksError(Object.assign(new Error('y'.repeat(5_000)), { code: 14 }));
    expect(info.detail.length).toBeLessThanOrEqual(300);
  });
});
