// The local Cloud Tasks stand-in, driven through the real @google-cloud/tasks
// client (REST fallback), dispatching to a real local HTTP server.
import { CloudTasksClient, type protos } from '@google-cloud/tasks';
import { serve } from '../../infra/local/http';
import {
  backoffMs,
  createTasksStandIn,
  LocalTokenError,
  mintLocalToken,
  type TasksStandIn,
  type TasksStandInOptions,
} from '../../infra/local/tasks';
import { localClientOptions } from '../../shared/gcp/client-options';
import { startTarget, type ReceivedRequest, type Reply, type Target } from './tasks-target';

type ITask = protos.google.cloud.tasks.v2.ITask;
type ITimestamp = protos.google.protobuf.ITimestamp;
type IListTasksRequest = protos.google.cloud.tasks.v2.IListTasksRequest;

// gRPC codes the client's GoogleError carries.
const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;
const UNIMPLEMENTED = 12;

// Timers can fire a millisecond early against Date.now(); leave that much.
const CLOCK_SLACK_MS = 3;

interface Harness {
  standIn: TasksStandIn;
  client: CloudTasksClient;
  target: Target;
  /** Full name of the precreated queue "test-runs". */
  queue: string;
  /** Base URL of the served stand-in. */
  url: string;
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function harness(
  options: TasksStandInOptions = {},
  reply?: (request: ReceivedRequest, index: number) => Reply,
): Promise<Harness> {
  const target = await startTarget(reply);
  cleanups.push(() => target.close());
  const standIn = createTasksStandIn({ queues: [{ name: 'test-runs' }], ...options });
  const server = await serve([standIn]);
  cleanups.push(() => server.close());
  const client = new CloudTasksClient({
    // Spread: the client's ClientOptions has an index signature the interface lacks.
    ...localClientOptions({ host: '127.0.0.1', port: server.port }),
  });
  cleanups.push(() => client.close());
  return { standIn, client, target, queue: standIn.queuePath('test-runs'), url: server.url };
}

function httpTask(url: string, task: ITask = {}): ITask {
  return { ...task, httpRequest: { url, ...task.httpRequest } };
}

function epochMs(ts: ITimestamp | null | undefined): number {
  return Number(ts?.seconds ?? 0) * 1000 + Math.floor((ts?.nanos ?? 0) / 1e6);
}

function timestamp(ms: number): ITimestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

function header(request: ReceivedRequest | undefined, name: string): string | undefined {
  const value = request?.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

describe('the Cloud Tasks stand-in, through @google-cloud/tasks', () => {
  describe('the API', () => {
    it('creates a task and returns it in the REST shape (FULL view with the body, BASIC without)', async () => {
      const { client, queue, standIn } = await harness();
      standIn.pause('test-runs');
      const scheduleMs = Date.now() + 3_600_000;
      const [created] = await client.createTask({
        parent: queue,
        responseView: 'FULL',
        task: httpTask('https://example.test/runTest', {
          name: `${queue}/tasks/test-abc_1`,
          scheduleTime: timestamp(scheduleMs),
          dispatchDeadline: { seconds: 120 },
          httpRequest: {
            httpMethod: 'PUT',
            headers: { 'Content-Type': 'application/json' },
            body: Buffer.from('{"testId":"abc"}'),
            oidcToken: { serviceAccountEmail: 'tasks@p.iam.gserviceaccount.com', audience: 'aud' },
          },
        }),
      });
      expect(created).toMatchObject({
        name: `${queue}/tasks/test-abc_1`,
        view: 'FULL',
        dispatchCount: 0,
        httpRequest: {
          url: 'https://example.test/runTest',
          httpMethod: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          oidcToken: { serviceAccountEmail: 'tasks@p.iam.gserviceaccount.com', audience: 'aud' },
        },
      });
      expect(Buffer.from(created.httpRequest!.body as Uint8Array).toString()).toBe(
        '{"testId":"abc"}',
      );
      expect(epochMs(created.scheduleTime)).toBe(scheduleMs);
      expect(Number(created.dispatchDeadline?.seconds)).toBe(120);
      expect(Math.abs(epochMs(created.createTime) - Date.now())).toBeLessThan(5_000);

      const [basic] = await client.getTask({ name: created.name! });
      expect(basic.view).toBe('BASIC');
      expect(basic.httpRequest?.body?.length ?? 0).toBe(0);
      expect(basic.httpRequest?.url).toBe('https://example.test/runTest');

      const [unnamed] = await client.createTask({
        parent: queue,
        task: httpTask('https://example.test/x'),
      });
      expect(unnamed.name).toMatch(new RegExp(`^${queue}/tasks/[0-9]{19}$`));
      expect(Number(unnamed.dispatchDeadline?.seconds)).toBe(600);
      expect(unnamed.httpRequest?.httpMethod).toBe('POST');
      expect(standIn.tasks('test-runs').map((task) => task.name)).toEqual(
        [created.name, unnamed.name].sort(),
      );
    });

    it('speaks REST JSON: enum names (numbers with enum-encoding=int), "600s", Google errors', async () => {
      const { queue, standIn, url } = await harness();
      standIn.pause();
      const create = () =>
        fetch(`${url}/v2/${queue}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            task: {
              name: `${queue}/tasks/raw`,
              httpRequest: {
                url: 'https://e.test/',
                httpMethod: 'PUT',
                headers: { a: 'b' },
                body: Buffer.from('hi').toString('base64'),
              },
            },
            responseView: 'FULL',
          }),
        });
      const created = await create();
      expect(created.status).toBe(200);
      expect(await created.json()).toEqual({
        name: `${queue}/tasks/raw`,
        httpRequest: {
          url: 'https://e.test/',
          httpMethod: 'PUT',
          headers: { a: 'b' },
          body: 'aGk=',
        },
        scheduleTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?Z$/),
        createTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        dispatchDeadline: '600s',
        view: 'FULL',
      });
      const again = await create();
      expect(again.status).toBe(409);
      expect(await again.json()).toEqual({
        error: { code: 409, message: expect.any(String), status: 'ALREADY_EXISTS' },
      });
      const byName = await (await fetch(`${url}/v2/${queue}`)).json();
      expect(byName).toMatchObject({
        state: 'PAUSED',
        retryConfig: {
          maxAttempts: 100,
          minBackoff: '0.100s',
          maxBackoff: '3600s',
          maxDoublings: 16,
        },
      });
      const byNumber = await (
        await fetch(`${url}/v2/${queue}?$alt=json%3Benum-encoding=int`)
      ).json();
      expect(byNumber).toMatchObject({ state: 2 });
    });

    it('lists tasks page by page, gets and deletes them', async () => {
      const { client, queue, standIn } = await harness();
      standIn.pause();
      for (const id of ['t1', 't2', 't3', 't4', 't5']) {
        await client.createTask({
          parent: queue,
          task: httpTask('https://example.test/', { name: `${queue}/tasks/${id}` }),
        });
      }
      const pages: string[][] = [];
      let request: IListTasksRequest | null = {
        parent: queue,
        pageSize: 2,
      };
      while (request) {
        const [page, next]: [ITask[], IListTasksRequest | null, unknown] = await client.listTasks(
          request,
          {
            autoPaginate: false,
          },
        );
        pages.push(page.map((task) => task.name!.split('/').pop()!));
        request = next;
      }
      expect(pages).toEqual([['t1', 't2'], ['t3', 't4'], ['t5']]);

      const [got] = await client.getTask({ name: `${queue}/tasks/t3` });
      expect(got.name).toBe(`${queue}/tasks/t3`);
      await client.deleteTask({ name: `${queue}/tasks/t3` });
      await expect(client.getTask({ name: `${queue}/tasks/t3` })).rejects.toMatchObject({
        code: NOT_FOUND,
      });
      await expect(client.deleteTask({ name: `${queue}/tasks/t3` })).rejects.toMatchObject({
        code: NOT_FOUND,
      });
      const [left] = await client.listTasks({ parent: queue });
      expect(left.map((task) => task.name!.split('/').pop())).toEqual(['t1', 't2', 't4', 't5']);
    });

    it('reads queues, and creates and updates them as a deploy step would', async () => {
      const { client, standIn } = await harness({
        project: 'proj',
        location: 'europe-west1',
        queues: [
          {
            name: 'test-runs',
            rateLimits: { maxConcurrentDispatches: 7 },
            retryConfig: { maxAttempts: 5, minBackoff: '10s', maxBackoff: '300s', maxDoublings: 3 },
          },
        ],
      });
      const parent = client.locationPath('proj', 'europe-west1');
      const [queue] = await client.getQueue({ name: `${parent}/queues/test-runs` });
      expect(queue).toMatchObject({
        name: `${parent}/queues/test-runs`,
        state: 'RUNNING',
        rateLimits: { maxConcurrentDispatches: 7, maxDispatchesPerSecond: 500 },
        retryConfig: { maxAttempts: 5, maxDoublings: 3 },
      });
      expect(Number(queue.retryConfig?.minBackoff?.seconds)).toBe(10);
      expect(Number(queue.retryConfig?.maxBackoff?.seconds)).toBe(300);

      const [made] = await client.createQueue({
        parent,
        queue: {
          name: `${parent}/queues/sweeps`,
          retryConfig: { maxAttempts: -1, minBackoff: { seconds: 1 }, maxBackoff: { seconds: 60 } },
        },
      });
      expect(made.retryConfig?.maxAttempts).toBe(-1);
      expect(made.rateLimits?.maxConcurrentDispatches).toBe(1000);
      await expect(
        client.createQueue({ parent, queue: { name: `${parent}/queues/sweeps` } }),
      ).rejects.toMatchObject({ code: ALREADY_EXISTS });
      await expect(
        client.createQueue({ parent, queue: { name: 'projects/other/locations/x/queues/q' } }),
      ).rejects.toMatchObject({ code: INVALID_ARGUMENT });

      const [updated] = await client.updateQueue({
        queue: { name: `${parent}/queues/sweeps`, rateLimits: { maxConcurrentDispatches: 2 } },
        updateMask: { paths: ['rate_limits.max_concurrent_dispatches'] },
      });
      expect(updated.rateLimits?.maxConcurrentDispatches).toBe(2);
      expect(updated.retryConfig?.maxAttempts).toBe(-1);

      const [upserted] = await client.updateQueue({
        queue: { name: `${parent}/queues/new-one`, retryConfig: { maxAttempts: 3 } },
      });
      expect(upserted.retryConfig?.maxAttempts).toBe(3);
      const [listed] = await client.listQueues({ parent });
      expect(listed.map((q) => q.name!.split('/').pop())).toEqual([
        'new-one',
        'sweeps',
        'test-runs',
      ]);
      expect(standIn.queues().find((q) => q.id === 'sweeps')?.settings.rateLimits).toMatchObject({
        maxConcurrentDispatches: 2,
      });

      const [paused] = await client.pauseQueue({ name: `${parent}/queues/sweeps` });
      expect(paused.state).toBe('PAUSED');
      const [resumed] = await client.resumeQueue({ name: `${parent}/queues/sweeps` });
      expect(resumed.state).toBe('RUNNING');
      await expect(client.purgeQueue({ name: `${parent}/queues/sweeps` })).rejects.toMatchObject({
        code: UNIMPLEMENTED,
      });
    });

    it('answers NOT_FOUND for an unknown queue or task', async () => {
      const { client } = await harness();
      const missing = client.queuePath('vmci-local', 'us-central1', 'no-such-queue');
      await expect(
        client.createTask({ parent: missing, task: httpTask('https://example.test/') }),
      ).rejects.toMatchObject({ code: NOT_FOUND });
      await expect(client.getQueue({ name: missing })).rejects.toMatchObject({ code: NOT_FOUND });
      await expect(client.listTasks({ parent: missing })).rejects.toMatchObject({
        code: NOT_FOUND,
      });
      await expect(client.getTask({ name: `${missing}/tasks/t` })).rejects.toMatchObject({
        code: NOT_FOUND,
      });
    });

    it('answers INVALID_ARGUMENT for a malformed task name or body', async () => {
      const { client, queue, standIn } = await harness({
        queues: [{ name: 'test-runs' }, { name: 'other' }],
      });
      standIn.pause();
      const bad: Array<[string, ITask]> = [
        [
          'a name with a bad character',
          httpTask('https://e.test/', { name: `${queue}/tasks/a.b` }),
        ],
        [
          'a name too long',
          httpTask('https://e.test/', { name: `${queue}/tasks/${'a'.repeat(501)}` }),
        ],
        [
          'a name in another queue',
          httpTask('https://e.test/', { name: `${standIn.queuePath('other')}/tasks/t` }),
        ],
        ['a name without tasks/', httpTask('https://e.test/', { name: `${queue}/t` })],
        ['no httpRequest', { name: `${queue}/tasks/t` }],
        ['a URL that is not http(s)', httpTask('ftp://e.test/')],
        ['a URL that does not parse', httpTask('http://')],
        [
          'a body on GET',
          httpTask('https://e.test/', {
            httpRequest: { httpMethod: 'GET', body: Buffer.from('x') },
          }),
        ],
        [
          'a dispatch deadline under 15s',
          httpTask('https://e.test/', { dispatchDeadline: { seconds: 5 } }),
        ],
        [
          'an oidcToken without an email',
          httpTask('https://e.test/', { httpRequest: { oidcToken: { audience: 'a' } } }),
        ],
      ];
      for (const [why, task] of bad) {
        await expect(client.createTask({ parent: queue, task })).rejects.toMatchObject({
          code: INVALID_ARGUMENT,
          message: expect.any(String),
        });
        expect({ why, tasks: standIn.tasks().length }).toEqual({ why, tasks: 0 });
      }
      await expect(client.getTask({ name: `${queue}/tasks/bad!id` })).rejects.toMatchObject({
        code: INVALID_ARGUMENT,
      });
      await client.createTask({
        parent: queue,
        task: httpTask('https://e.test/', { name: `${queue}/tasks/ok_-9` }),
      });
      expect(standIn.tasks().map((task) => task.id)).toEqual(['ok_-9']);
    });
  });

  describe('named tasks are deduplicated', () => {
    it('refuses a name that exists, that completed or that was deleted within the hour', async () => {
      const { client, queue, standIn, target } = await harness();
      const create = (id: string) =>
        client.createTask({
          parent: queue,
          task: httpTask(`${target.url}/run`, { name: `${queue}/tasks/${id}` }),
        });
      standIn.pause();
      await create('dup');
      await expect(create('dup')).rejects.toMatchObject({
        code: ALREADY_EXISTS,
        message: expect.stringContaining('already exists'),
      });
      await create('gone');
      await client.deleteTask({ name: `${queue}/tasks/gone` });
      await expect(create('gone')).rejects.toMatchObject({ code: ALREADY_EXISTS });

      standIn.resume();
      await standIn.whenIdle();
      expect(standIn.history().map((attempt) => [attempt.taskId, attempt.outcome])).toEqual([
        ['dup', 'completed'],
      ]);
      expect(target.received).toHaveLength(1);
      await expect(create('dup')).rejects.toMatchObject({ code: ALREADY_EXISTS });
      await expect(client.getTask({ name: `${queue}/tasks/dup` })).rejects.toMatchObject({
        code: NOT_FOUND,
      });
    });

    it('frees a name once its tombstone expires', async () => {
      const { client, queue, standIn } = await harness({ tombstoneMs: 300 });
      standIn.pause();
      const create = () =>
        client.createTask({
          parent: queue,
          task: httpTask('https://e.test/', { name: `${queue}/tasks/reuse` }),
        });
      await create();
      await client.deleteTask({ name: `${queue}/tasks/reuse` });
      await expect(create()).rejects.toMatchObject({ code: ALREADY_EXISTS });
      await new Promise((resolve) => setTimeout(resolve, 400));
      const [again] = await create();
      expect(again.name).toBe(`${queue}/tasks/reuse`);
    });
  });

  describe('dispatch', () => {
    it('delivers the body and headers, with X-CloudTasks-* and a verifiable bearer token, and 2xx completes', async () => {
      const { client, queue, standIn, target } = await harness({ localToken: 'local-secret' });
      const [task] = await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/runTest?x=1`, {
          name: `${queue}/tasks/test-1`,
          httpRequest: {
            headers: {
              'Content-Type': 'application/json',
              'X-Custom': 'yes',
              'User-Agent': 'mine',
            },
            body: Buffer.from('{"testId":"test-1"}'),
            oidcToken: {
              serviceAccountEmail: 'invoker@p.iam.gserviceaccount.com',
              audience: 'https://fn/runTest',
            },
          },
        }),
      });
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/put`, {
          name: `${queue}/tasks/test-2`,
          httpRequest: {
            httpMethod: 'PUT',
            body: Buffer.from('two'),
            oidcToken: { serviceAccountEmail: 'invoker@p.iam.gserviceaccount.com' },
          },
        }),
      });
      await standIn.whenIdle();

      const first = target.received.find((request) => request.path === '/runTest?x=1');
      expect(first).toMatchObject({ method: 'POST' });
      expect(first?.body.toString()).toBe('{"testId":"test-1"}');
      expect(header(first, 'content-type')).toBe('application/json');
      expect(header(first, 'x-custom')).toBe('yes');
      expect(header(first, 'user-agent')).toBe('Google-Cloud-Tasks');
      expect(header(first, 'x-cloudtasks-queuename')).toBe('test-runs');
      expect(header(first, 'x-cloudtasks-taskname')).toBe('test-1');
      expect(header(first, 'x-cloudtasks-taskretrycount')).toBe('0');
      expect(header(first, 'x-cloudtasks-taskexecutioncount')).toBe('0');
      expect(Number(header(first, 'x-cloudtasks-tasketa'))).toBeCloseTo(
        epochMs(task.scheduleTime) / 1000,
        2,
      );

      const authorization = header(first, 'authorization') ?? '';
      expect(authorization).toMatch(/^Bearer local-oidc\.[\w-]+\.[\w-]+$/);
      expect(standIn.localToken).toBe('local-secret');
      expect(
        standIn.verifyToken(authorization, {
          audience: 'https://fn/runTest',
          email: 'invoker@p.iam.gserviceaccount.com',
        }),
      ).toMatchObject({ email: 'invoker@p.iam.gserviceaccount.com', aud: 'https://fn/runTest' });
      expect(() => standIn.verifyToken(authorization, { audience: 'https://other' })).toThrow(
        LocalTokenError,
      );
      const forged = mintLocalToken('not-the-secret', {
        kind: 'oidc',
        email: 'invoker@p.iam.gserviceaccount.com',
        aud: 'https://fn/runTest',
      });
      expect(() => standIn.verifyToken(`Bearer ${forged}`)).toThrow(LocalTokenError);

      const second = target.received.find((request) => request.path === '/put');
      expect(second).toMatchObject({ method: 'PUT' });
      expect(second?.body.toString()).toBe('two');
      // Without an audience, the token is for the task's URL.
      expect(standIn.verifyToken(header(second, 'authorization') ?? '').aud).toBe(
        `${target.url}/put`,
      );

      expect(target.received).toHaveLength(2);
      expect(
        standIn
          .history()
          .map((attempt) => [attempt.taskId, attempt.status, attempt.outcome])
          .sort(),
      ).toEqual([
        ['test-1', 200, 'completed'],
        ['test-2', 200, 'completed'],
      ]);
      expect(standIn.tasks()).toEqual([]);
      await expect(client.getTask({ name: task.name! })).rejects.toMatchObject({ code: NOT_FOUND });
    });

    it('does not dispatch before scheduleTime', async () => {
      const { client, queue, standIn, target } = await harness();
      const scheduleMs = Date.now() + 700;
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/later`, {
          name: `${queue}/tasks/later`,
          scheduleTime: timestamp(scheduleMs),
        }),
      });
      const [waiting] = await client.getTask({ name: `${queue}/tasks/later` });
      expect(waiting.dispatchCount).toBe(0);
      expect(epochMs(waiting.scheduleTime)).toBe(scheduleMs);
      // Nothing due within 100 ms, but something is left.
      await standIn.whenIdle({ withinMs: 100 });
      const settled = await Promise.race([
        standIn.whenIdle().then(() => 'idle'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 100)),
      ]);
      expect(settled).toBe('still waiting');

      await standIn.whenIdle();
      expect(target.received).toHaveLength(1);
      expect(target.received[0]!.at).toBeGreaterThanOrEqual(scheduleMs);
      expect(standIn.history()[0]!.dispatchTime).toBeGreaterThanOrEqual(scheduleMs);
      const eta = `${Math.floor(scheduleMs / 1000)}.${String((scheduleMs % 1000) * 1000).padStart(6, '0')}`;
      expect(header(target.received[0], 'x-cloudtasks-tasketa')).toBe(eta);
    });

    it('retries a failing target with growing back-off and stops after maxAttempts', async () => {
      const retryConfig = { maxAttempts: 4, minBackoff: '1s', maxBackoff: '10s', maxDoublings: 3 };
      const timeScale = 0.1;
      const { client, queue, standIn, target } = await harness(
        { timeScale, queues: [{ name: 'test-runs', retryConfig }] },
        () => ({ status: 500 }),
      );
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/fail`, { name: `${queue}/tasks/failing` }),
      });
      await standIn.whenIdle();

      const attempts = standIn.history();
      expect(attempts.map((a) => [a.attempt, a.status, a.outcome])).toEqual([
        [1, 500, 'retrying'],
        [2, 500, 'retrying'],
        [3, 500, 'retrying'],
        [4, 500, 'dropped'],
      ]);
      expect(target.received).toHaveLength(4);
      const settings = standIn.queues()[0]!.settings.retryConfig;
      const expected = [1, 2, 3].map((retry) => backoffMs(settings, retry) * timeScale);
      expect(expected).toEqual([100, 200, 400]);
      const waits = attempts.slice(1).map((a, i) => a.dispatchTime - attempts[i]!.responseTime);
      waits.forEach((wait, i) =>
        expect(wait).toBeGreaterThanOrEqual(expected[i]! - CLOCK_SLACK_MS),
      );
      expect(waits[1]).toBeGreaterThan(waits[0]!);
      expect(waits[2]).toBeGreaterThan(waits[1]!);
      expect(target.received.map((r) => header(r, 'x-cloudtasks-taskretrycount'))).toEqual([
        '0',
        '1',
        '2',
        '3',
      ]);
      expect(target.received.map((r) => header(r, 'x-cloudtasks-taskexecutioncount'))).toEqual([
        '0',
        '1',
        '2',
        '3',
      ]);
      expect(target.received.map((r) => header(r, 'x-cloudtasks-taskpreviousresponse'))).toEqual([
        undefined,
        '500',
        '500',
        '500',
      ]);
      // Dropped: gone, and its name stays taken.
      expect(standIn.tasks()).toEqual([]);
      await expect(
        client.createTask({
          parent: queue,
          task: httpTask(`${target.url}/fail`, { name: `${queue}/tasks/failing` }),
        }),
      ).rejects.toMatchObject({ code: ALREADY_EXISTS });
    });

    it('computes back-off like Cloud Tasks: doublings, then linear, capped', () => {
      const config = {
        maxAttempts: 100,
        maxRetryDurationMs: 0,
        minBackoffMs: 10_000,
        maxBackoffMs: 300_000,
        maxDoublings: 3,
      };
      expect([1, 2, 3, 4, 5, 6, 7, 8].map((retry) => backoffMs(config, retry) / 1000)).toEqual([
        10, 20, 40, 80, 160, 240, 300, 300,
      ]);
    });

    it('shows a retrying task’s attempts through getTask', async () => {
      const { client, queue, standIn, target } = await harness(
        {
          timeScale: 0.001,
          queues: [{ name: 'test-runs', retryConfig: { maxAttempts: 3, minBackoff: '100s' } }],
        },
        () => ({ status: 404 }),
      );
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/missing`, { name: `${queue}/tasks/t` }),
      });
      while (standIn.history().length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      standIn.pause();
      const [task] = await client.getTask({ name: `${queue}/tasks/t` });
      expect(task.dispatchCount).toBe(2);
      expect(task.responseCount).toBe(2);
      expect(task.lastAttempt?.responseStatus).toMatchObject({ code: NOT_FOUND });
      expect(task.lastAttempt?.responseStatus?.message).toContain('404');
      expect(epochMs(task.firstAttempt?.dispatchTime)).toBe(standIn.history()[0]!.dispatchTime);
      expect(epochMs(task.lastAttempt?.dispatchTime)).toBe(standIn.history()[1]!.dispatchTime);
    });

    it('honours Retry-After on 503 (and 429), scaled, but not on other failures', async () => {
      const timeScale = 0.01;
      const { client, queue, standIn, target } = await harness(
        { timeScale, queues: [{ name: 'test-runs', retryConfig: { minBackoff: '0.1s' } }] },
        (request, index) => {
          const first = !target.received.slice(0, index).some((r) => r.path === request.path);
          if (!first) return { status: 200 };
          if (request.path === '/busy') return { status: 503, headers: { 'Retry-After': '30' } };
          if (request.path === '/limited') return { status: 429, headers: { 'Retry-After': '20' } };
          return { status: 500, headers: { 'Retry-After': '100' } };
        },
      );
      for (const path of ['busy', 'limited', 'broken']) {
        await client.createTask({
          parent: queue,
          task: httpTask(`${target.url}/${path}`, { name: `${queue}/tasks/${path}` }),
        });
      }
      await standIn.whenIdle();
      const gap = (id: string): number => {
        const [first, second] = standIn.history().filter((a) => a.taskId === id);
        expect([first?.outcome, second?.outcome]).toEqual(['retrying', 'completed']);
        return second!.dispatchTime - first!.responseTime;
      };
      expect(gap('busy')).toBeGreaterThanOrEqual(30_000 * timeScale - CLOCK_SLACK_MS);
      expect(gap('limited')).toBeGreaterThanOrEqual(20_000 * timeScale - CLOCK_SLACK_MS);
      // A 500's Retry-After (1 000 ms scaled) is not honoured: the 1 ms back-off applies.
      expect(gap('broken')).toBeLessThan(500);
    });

    it('aborts an attempt at its dispatchDeadline, counts it as failed and retries', async () => {
      const timeScale = 0.01; // the 15 s deadline becomes 150 ms
      const { client, queue, standIn, target } = await harness(
        { timeScale, queues: [{ name: 'test-runs', retryConfig: { minBackoff: '0.1s' } }] },
        (_request, index) => (index === 0 ? { status: 200, delayMs: 3_000 } : { status: 200 }),
      );
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/slow`, {
          name: `${queue}/tasks/slow`,
          dispatchDeadline: { seconds: 15 },
        }),
      });
      await standIn.whenIdle();
      const [first, second] = standIn.history();
      expect(first).toMatchObject({
        status: null,
        error: 'DEADLINE_EXCEEDED',
        outcome: 'retrying',
        attempt: 1,
      });
      expect(first!.responseTime - first!.dispatchTime).toBeGreaterThanOrEqual(
        150 - CLOCK_SLACK_MS,
      );
      expect(first!.responseTime - first!.dispatchTime).toBeLessThan(2_500);
      expect(second).toMatchObject({ status: 200, outcome: 'completed', attempt: 2 });
      expect(target.received).toHaveLength(2);
      expect(target.received[0]!.aborted).toBe(true);
      expect(header(target.received[1], 'x-cloudtasks-taskretrycount')).toBe('1');
      // No response came, so it was not an execution.
      expect(header(target.received[1], 'x-cloudtasks-taskexecutioncount')).toBe('0');
    });

    it('keeps to maxConcurrentDispatches', async () => {
      const hold = () => ({ status: 200, delayMs: 80 });
      const one = await startTarget(hold);
      const three = await startTarget(hold);
      cleanups.push(
        () => one.close(),
        () => three.close(),
      );
      const { client, standIn } = await harness({
        queues: [
          { name: 'serial', rateLimits: { maxConcurrentDispatches: 1 } },
          { name: 'parallel', rateLimits: { maxConcurrentDispatches: 3 } },
        ],
      });
      standIn.pause();
      for (const [queueId, target] of [
        ['serial', one],
        ['parallel', three],
      ] as const) {
        for (let i = 0; i < 4; i++) {
          await client.createTask({
            parent: standIn.queuePath(queueId),
            task: httpTask(`${target.url}/${i}`),
          });
        }
      }
      standIn.resume();
      await standIn.whenIdle();
      expect(one.received).toHaveLength(4);
      expect(one.maxConcurrent()).toBe(1);
      const serial = standIn.history().filter((a) => a.queue.endsWith('/serial'));
      serial
        .slice(1)
        .forEach((a, i) => expect(a.dispatchTime).toBeGreaterThanOrEqual(serial[i]!.responseTime));
      // The same load on a queue that allows 3 does overlap, and never beyond 3.
      expect(three.received).toHaveLength(4);
      expect(three.maxConcurrent()).toBeGreaterThan(1);
      expect(three.maxConcurrent()).toBeLessThanOrEqual(3);
    });

    it('keeps to maxDispatchesPerSecond with its burst', async () => {
      const { client, queue, standIn, target } = await harness({
        queues: [{ name: 'test-runs', rateLimits: { maxDispatchesPerSecond: 10 } }],
      });
      const [shown] = await client.getQueue({ name: queue });
      expect(shown.rateLimits).toMatchObject({ maxDispatchesPerSecond: 10, maxBurstSize: 2 });
      standIn.pause();
      for (let i = 0; i < 5; i++)
        await client.createTask({ parent: queue, task: httpTask(`${target.url}/${i}`) });
      standIn.resume();
      await standIn.whenIdle();
      const times = standIn
        .history()
        .map((a) => a.dispatchTime)
        .sort((a, b) => a - b);
      expect(times).toHaveLength(5);
      // 2 at once from the burst, then one per 100 ms.
      expect(times[4]! - times[0]!).toBeGreaterThanOrEqual(300 - CLOCK_SLACK_MS);
    });

    it('close() aborts in-flight attempts and dispatches nothing more', async () => {
      const { client, queue, standIn, target } = await harness({}, () => ({
        status: 200,
        delayMs: 10_000,
      }));
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/hang`, { name: `${queue}/tasks/hang` }),
      });
      await client.createTask({
        parent: queue,
        task: httpTask(`${target.url}/later`, { scheduleTime: timestamp(Date.now() + 200) }),
      });
      while (target.received.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      const started = Date.now();
      await standIn.close();
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(standIn.history()).toMatchObject([
        { taskId: 'hang', error: 'CANCELLED', outcome: 'canceled' },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(target.received.map((r) => r.path)).toEqual(['/hang']);
      expect(target.received[0]!.aborted).toBe(true);
      await standIn.whenIdle();
    });
  });
});
