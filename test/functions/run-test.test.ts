// The runTest function through the whole local cloud (DESIGN §1, §3.2, §3.5,
// §4, §8): the webhook's tasks dispatched by the Tasks stand-in with its local
// OIDC tokens, the real Compute client against the Compute stand-in (and its
// injected faults), the Firestore emulator, the GitHub stand-in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudTasksClient } from '@google-cloud/tasks';
import type { LocalCloud } from '../../infra/local/cloud';
import type { LocalInstanceSummary } from '../../infra/local/compute';
import { mintLocalToken } from '../../shared/auth/local-token';
import { deriveVmToken, vmTokenMatches } from '../../shared/auth/vm-token';
import type { VmciConfig } from '../../shared/config';
import { GCP_MESSAGES, STARTING_VM, TESTS_QUEUED, VM_STARTED } from '../../shared/domain/messages';
import { newTestRecord } from '../../shared/domain/new-test';
import { testLabel } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { localClientOptions } from '../../shared/gcp/client-options';
import { silentLogger } from '../../shared/log';
import { createCloudTasksQueue } from '../../shared/queue/cloud-tasks';
import { enqueueTest } from '../../shared/queue/enqueue-test';
import type { TaskQueue } from '../../shared/queue/port';
import { cancelTest } from '../../shared/tests/cancel';
import {
  PLATFORMS,
  REPO,
  idsOf,
  latestStatuses,
  parseBody,
  pushPayload,
  send,
  shaOf,
  snapshot,
  statusPageOf,
  statusesPosted,
  testsOf,
  useWebhookCloud,
  type WebhookCloud,
} from './webhook-support';

const ROOT = join(__dirname, '..', '..');
const SCRIPTS: Readonly<Record<string, string>> = {
  linux: 'test/fixtures/vm/sleep.sh',
  windows: 'test/fixtures/vm/sleep.ps1',
};
const MAX_CONCURRENT = 5;
const [ZONE_A, ZONE_B] = ['local-a', 'local-b'];

function configure(config: VmciConfig): VmciConfig {
  return {
    ...config,
    platforms: Object.fromEntries(
      Object.entries(config.platforms).map(([name, platform]) => [
        name,
        {
          ...platform,
          startupScript: SCRIPTS[name]!,
          // Compute's maxRunDuration (scaled by the cloud's clock) must not end a VM mid-test.
          maxRunMinutes: 240,
          ...(name === 'linux' ? { maxConcurrent: MAX_CONCURRENT } : {}),
        },
      ]),
    ),
  };
}

const env = useWebhookCloud({
  functions: ['webhook', 'status', 'runTest'],
  queue: 'running',
  configure,
});

// --- calling runTest -------------------------------------------------------------------

function taskToken(
  cloud: LocalCloud,
  grant: { aud?: string; email?: string; kind?: 'oidc' | 'oauth' } = {},
): string {
  return mintLocalToken(cloud.localTokenSecret, {
    kind: grant.kind ?? 'oidc',
    email: grant.email ?? cloud.config.queue.serviceAccount,
    ...(grant.kind === 'oauth'
      ? { scope: 'https://www.googleapis.com/auth/cloud-platform' }
      : { aud: grant.aud ?? `${cloud.url}/runTest` }),
  });
}

interface CallOptions {
  /** The Authorization header; default a valid task token. */
  authorization?: string | null;
  /** X-CloudTasks-TaskName: set by Cloud Tasks on every delivery. */
  taskName?: string;
  retryCount?: number;
  contentType?: string;
  method?: string;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

async function callRunTest(
  cloud: LocalCloud,
  body: unknown,
  options: CallOptions = {},
): Promise<Reply> {
  const authorization =
    options.authorization === undefined ? `Bearer ${taskToken(cloud)}` : options.authorization;
  const method = options.method ?? 'POST';
  const response = await fetch(`${cloud.url}/runTest`, {
    method,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      ...(authorization === null ? {} : { authorization }),
      ...(options.taskName ? { 'x-cloudtasks-taskname': options.taskName } : {}),
      ...(options.retryCount === undefined
        ? {}
        : { 'x-cloudtasks-taskretrycount': String(options.retryCount) }),
    },
    ...(method === 'GET' ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: parseBody(await response.text()) };
}

// --- the cloud's state -------------------------------------------------------------------

async function listedVms(cloud: LocalCloud): Promise<LocalInstanceSummary[]> {
  const response = await fetch(`${cloud.url}/_local/compute/instances`);
  expect(response.status).toBe(200);
  return (await response.json()) as LocalInstanceSummary[];
}

/** A VM's metadata as Compute stores it (the local listing redacts the token). */
async function vmMetadata(
  cloud: LocalCloud,
  zone: string,
  name: string,
): Promise<Record<string, string>> {
  const response = await fetch(
    `${cloud.url}/compute/v1/projects/${cloud.config.project}/zones/${zone}/instances/${name}`,
  );
  expect(response.status).toBe(200);
  const instance = (await response.json()) as {
    metadata: { items: Array<{ key: string; value: string }> };
  };
  return Object.fromEntries(instance.metadata.items.map((i) => [i.key, i.value]));
}

async function deleteVm(cloud: LocalCloud, zone: string, name: string): Promise<void> {
  const response = await fetch(
    `${cloud.url}/compute/v1/projects/${cloud.config.project}/zones/${zone}/instances/${name}`,
    { method: 'DELETE' },
  );
  expect(response.status).toBe(200);
  await waitFor(`${name} deleted`, () => !cloud.compute.instances().some((i) => i.name === name));
}

async function injectFault(cloud: LocalCloud, fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${cloud.url}/_local/compute/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  expect(response.status).toBe(200);
}

async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function getTest(w: WebhookCloud, id: string): Promise<TestRecord> {
  const [test] = await testsOf(w, [id]);
  return test!;
}

let created = 0;

/** Stores a test of REPO as the webhook would before its task: pending, or queued (task generation 1). */
async function storeTest(
  w: WebhookCloud,
  label: string,
  status: 'pending' | 'queued' = 'queued',
  platform = 'linux',
): Promise<TestRecord> {
  created += 1;
  const now = new Date();
  const base = newTestRecord(
    {
      repo: REPO,
      sha: shaOf(`run-test/${label}/${created}`),
      ref: 'refs/heads/master',
      cloneUrl: `https://github.com/${REPO}.git`,
      author: 'Codertocat',
      trigger: 'push',
      pr: null,
      run: 1,
      platform,
    },
    { status: 'pending', message: TESTS_QUEUED },
    now,
  );
  const test: TestRecord =
    status === 'queued'
      ? {
          ...base,
          status: 'queued',
          enqueueGeneration: 1,
          queuedAt: now,
          timeline: [{ at: now, status: 'queued', message: TESTS_QUEUED }],
        }
      : base;
  await w.store.createTests([test]);
  return test;
}

/** The dispatch attempts of one test's tasks, as the Tasks stand-in recorded them. */
function attemptsOf(cloud: LocalCloud, id: string): Array<number | null> {
  return cloud.tasks
    .history()
    .filter((record) => record.taskId.includes(id))
    .map((record) => record.status);
}

// --- the tests ------------------------------------------------------------------------------

describe('runTest through the local cloud', () => {
  let queue: TaskQueue;
  let tasksClient: CloudTasksClient;

  beforeAll(() => {
    const cloud = env.cloud;
    tasksClient = new CloudTasksClient(localClientOptions({ host: '127.0.0.1', port: cloud.port }));
    queue = createCloudTasksQueue({
      client: tasksClient,
      project: cloud.config.project,
      location: cloud.config.region,
      queue: cloud.config.queue.name,
      targetUrl: `${cloud.url}/runTest`,
      serviceAccountEmail: cloud.config.queue.serviceAccount,
      dispatchDeadlineSeconds: cloud.config.queue.dispatchDeadlineSeconds,
    });
  });
  afterAll(async () => {
    await tasksClient?.close();
  });

  const enqueueDeps = () => ({
    store: env.store,
    queue,
    log: silentLogger,
    now: () => new Date(),
  });

  /** Gives the test its task while the queue is paused, so it is queued before the first delivery. */
  const enqueuePaused = async (cloud: LocalCloud, test: TestRecord) => {
    cloud.tasks.pause();
    expect(await enqueueTest(enqueueDeps(), test)).toMatchObject({ queued: true });
    cloud.tasks.resume();
  };

  it('a signed push: the tasks reach runTest, each platform gets a labelled VM, GitHub shows it started', async () => {
    const { cloud } = env;
    const sha = shaOf('run-test/push');

    const answer = await send(cloud, 'push', pushPayload(sha));

    expect(answer.status).toBe(202);
    const ids = idsOf(sha);
    await waitFor('both tests running', async () =>
      (await testsOf(env, ids)).every((t) => t.status === 'running'),
    );
    await cloud.tasks.whenIdle();
    const tests = await testsOf(env, ids);
    const vms = await listedVms(cloud);
    expect(vms).toHaveLength(2);
    for (const [i, platform] of PLATFORMS.entries()) {
      const test = tests[i]!;
      expect(test).toMatchObject({
        status: 'running',
        stage: 'preparation',
        message: VM_STARTED,
        attempts: 1,
        instance: { zone: ZONE_A, provisioning: platform === 'linux' ? 'SPOT' : 'STANDARD' },
      });
      expect(test.deadlineAt!.getTime() - test.startedAt!.getTime()).toBe(
        cloud.config.platforms[platform]!.maxRunMinutes * 60_000,
      );
      expect(test.timeToStartMs).toBeGreaterThanOrEqual(0);
      const vm = vms.find((v) => v.name === test.instance!.name);
      expect(vm).toMatchObject({
        zone: ZONE_A,
        labels: { vmci: 'true', 'vmci-test': testLabel(test.id), 'vmci-platform': platform },
        metadata: {
          'vmci-test-id': test.id,
          'vmci-repo': REPO,
          'vmci-sha': sha,
          'vmci-platform': platform,
          'vmci-callback-url': `${cloud.url}/progress`,
        },
      });
      // The token reaches the VM, the test keeps only its hash, and no log line holds it.
      const metadata = await vmMetadata(cloud, ZONE_A, vm!.name);
      const token = deriveVmToken(cloud.tokenKey, test.id, vm!.name);
      expect(metadata['vmci-token']).toBe(token);
      expect(vmTokenMatches(token, test.tokenHash)).toBe(true);
      const scriptKey = platform === 'linux' ? 'startup-script' : 'windows-startup-script-ps1';
      expect(metadata[scriptKey]).toBe(readFileSync(join(ROOT, SCRIPTS[platform]!), 'utf8'));
      expect(env.logs().join('\n')).not.toContain(token);
    }
    expect(latestStatuses(cloud, sha)).toEqual(
      Object.fromEntries(
        PLATFORMS.map((platform, i) => [
          `ci/${platform}`,
          {
            state: 'pending',
            context: `ci/${platform}`,
            description: VM_STARTED,
            target_url: statusPageOf(cloud, tests[i]!.id),
          },
        ]),
      ),
    );
    // Each test was claimed once, by its task's first delivery: the webhook
    // stores a test queued before its task exists, so no delivery finds it unready.
    for (const id of ids) expect(attemptsOf(cloud, id)).toEqual([200]);
    expect(cloud.tasks.tasks()).toEqual([]);
    expect(env.logs().some((line) => line.includes('"runTest done"'))).toBe(true);
  });

  it('the same task delivered ten times at once makes one VM and one running test', async () => {
    const { cloud } = env;
    const test = await storeTest(env, 'ten');

    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        callRunTest(cloud, { testId: test.id }, { taskName: 'the-same-task', retryCount: 0 }),
      ),
    );

    for (const reply of replies) expect([200, 503]).toContain(reply.status);
    expect(replies.filter((r) => r.body.outcome === 'running')).toHaveLength(1);
    const vms = (await listedVms(cloud)).filter(
      (vm) => vm.labels['vmci-test'] === testLabel(test.id),
    );
    expect(vms).toHaveLength(1);
    const after = await getTest(env, test.id);
    expect(after).toMatchObject({
      status: 'running',
      attempts: 1,
      instance: { name: vms[0]!.name },
    });
    expect(await env.store.slotHolders('linux')).toEqual([test.id]);
    expect(statusesPosted(cloud, test.sha).map((s) => s.description)).toEqual([
      STARTING_VM,
      VM_STARTED,
    ]);
  });

  it(`50 tests at once never have more than ${MAX_CONCURRENT} VMs, and all start as slots free up`, async () => {
    const { cloud } = env;
    const tests: TestRecord[] = [];
    for (let i = 0; i < 50; i++) tests.push(await storeTest(env, `fifty-${i}`, 'pending'));
    const ids = tests.map((t) => t.id);
    let most = 0;
    const sample = () => {
      most = Math.max(most, cloud.compute.instances().length);
    };
    const sampler = setInterval(sample, 2);
    const started = new Set<string>();
    try {
      // Through the real queue: each test gets its task; all are let go at once.
      cloud.tasks.pause();
      const queued = await Promise.all(tests.map((test) => enqueueTest(enqueueDeps(), test)));
      expect(queued.every((q) => q.queued)).toBe(true);
      cloud.tasks.resume();

      for (let round = 0; started.size < ids.length; round++) {
        expect(round).toBeLessThan(20);
        await cloud.tasks.whenIdle();
        const all = await testsOf(env, ids);
        const running = all.filter((t) => t.status === 'running');
        const waiting = all.filter((t) => t.status === 'pending' || t.status === 'queued');
        sample();
        // Every slot is in use while tests wait, and never more than the slots.
        expect(running.length).toBe(Math.min(MAX_CONCURRENT, ids.length - started.size));
        expect((await env.store.slotHolders('linux')).sort()).toEqual(
          running.map((t) => t.id).sort(),
        );
        expect(
          cloud.compute
            .instances()
            .map((vm) => vm.name)
            .sort(),
        ).toEqual(running.map((t) => t.instance!.name).sort());
        for (const test of running) started.add(test.id);
        // The tests end: each VM is deleted, then the cancel gives its slot back.
        await Promise.all(
          running.map(async (test) => {
            await deleteVm(cloud, test.instance!.zone, test.instance!.name);
            const canceled = await cancelTest(
              { store: env.store, log: silentLogger, now: () => new Date() },
              test.id,
              'Canceled by a maintainer',
            );
            expect(canceled.canceled).toBe(true);
          }),
        );
        // No pending sweep yet: waiting tests are delivered again, as it would do,
        // a few more at once than there are free slots, so they race for them.
        const replies = await Promise.all(
          waiting
            .slice(0, MAX_CONCURRENT + 3)
            .map((test) =>
              callRunTest(cloud, { testId: test.id }, { taskName: `redelivery-${round}` }),
            ),
        );
        expect(replies.filter((r) => r.status !== 200)).toEqual([]);
      }
    } finally {
      clearInterval(sampler);
    }
    expect(started.size).toBe(50);
    expect(most).toBe(MAX_CONCURRENT);
    const all = await testsOf(env, ids);
    expect(all.every((t) => t.status === 'canceled' && t.startedAt !== null)).toBe(true);
    expect(await env.store.slotHolders('linux')).toEqual([]);
  }, 60_000);

  it.each([
    ['ZONE_RESOURCE_POOL_EXHAUSTED', {}],
    ['STOCKOUT_503', {}],
    ['ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', { zonesAvailable: [ZONE_B] }],
  ])('a %s injected in the first zone: the VM lands in the second', async (code, extra) => {
    const { cloud } = env;
    const test = await storeTest(env, `stockout-${code}`);
    await injectFault(cloud, { code, zone: ZONE_A, ...extra });

    const reply = await callRunTest(cloud, { testId: test.id }, { taskName: 'stockout' });

    expect(reply).toEqual({
      status: 200,
      body: { testId: test.id, outcome: 'running', status: 'running' },
    });
    const after = await getTest(env, test.id);
    expect(after.instance).toMatchObject({ zone: ZONE_B, provisioning: 'SPOT' });
    const vms = await listedVms(cloud);
    expect(vms.map((vm) => [vm.name, vm.zone])).toEqual([[after.instance!.name, ZONE_B]]);
    expect(statusesPosted(cloud, test.sha).map((s) => s.description)).toEqual([
      STARTING_VM,
      VM_STARTED,
    ]);
  });

  it('a quota error is retried by Cloud Tasks with back-off until the VM starts', async () => {
    const { cloud } = env;
    const test = await storeTest(env, 'quota', 'pending');
    await injectFault(cloud, { code: 'QUOTA_EXCEEDED', count: 2 });

    await enqueuePaused(cloud, test);
    await waitFor(
      'the test running',
      async () => (await getTest(env, test.id)).status === 'running',
    );
    await cloud.tasks.whenIdle();

    expect(attemptsOf(cloud, test.id)).toEqual([503, 503, 200]);
    const after = await getTest(env, test.id);
    expect(after.attempts).toBe(3);
    expect(statusesPosted(cloud, test.sha).map((s) => s.description)).toEqual([
      STARTING_VM,
      GCP_MESSAGES.quotaExceeded,
      VM_STARTED,
    ]);
    expect(await listedVms(cloud)).toHaveLength(1);
  });

  it('a quota error that outlasts the queue’s attempts ends the test as error, without the retry promise', async () => {
    const { cloud } = env;
    const attempts = cloud.config.queue.maxAttempts;
    const test = await storeTest(env, 'quota-forever', 'pending');
    await injectFault(cloud, { code: 'QUOTA_EXCEEDED', count: attempts });

    await enqueuePaused(cloud, test);
    await waitFor('the test ended', async () => (await getTest(env, test.id)).status === 'error');
    await cloud.tasks.whenIdle();

    // The run task's attempts, then the teardown task that checks that the VM the
    // last attempt meant to make is not there (404: done).
    expect(attemptsOf(cloud, test.id)).toEqual([...Array(attempts - 1).fill(503), 200, 200]);
    const after = await getTest(env, test.id);
    expect(after).toMatchObject({ status: 'error', message: 'GCP quota limit reached.' });
    expect(after.deletion).toMatchObject({ attempts: 1, doneAt: expect.any(Date) });
    expect(latestStatuses(cloud, test.sha)['ci/linux']).toMatchObject({
      state: 'error',
      description: 'GCP quota limit reached.',
    });
    expect(await listedVms(cloud)).toEqual([]);
    expect(await env.store.slotHolders('linux')).toEqual([]);
  });

  it('a task delivered before its enqueuer recorded it waits for that (503), and runs on its last attempt', async () => {
    const { cloud } = env;
    const attempts = cloud.config.queue.maxAttempts;
    const test = await storeTest(env, 'unrecorded', 'pending');

    // The enqueuer made the task and died before writing `queued`.
    expect(await queue.enqueue({ testId: test.id, generation: 1 })).toMatchObject({ ok: true });
    await waitFor(
      'the test running',
      async () => (await getTest(env, test.id)).status === 'running',
    );
    await cloud.tasks.whenIdle();

    expect(attemptsOf(cloud, test.id)).toEqual([...Array(attempts - 1).fill(503), 200]);
    expect(await getTest(env, test.id)).toMatchObject({
      status: 'running',
      enqueueGeneration: 1,
      attempts: 1,
    });
    expect(await listedVms(cloud)).toHaveLength(1);
  });

  it.each<[string, number, (cloud: LocalCloud) => string | null]>([
    ['no Authorization header', 401, () => null],
    ['a token that is not a Bearer token', 401, (c) => `Basic ${taskToken(c)}`],
    ['a malformed token', 401, () => 'Bearer not-a-token'],
    [
      'a token signed with another secret',
      401,
      (c) =>
        `Bearer ${mintLocalToken('another-secret', { kind: 'oidc', email: c.config.queue.serviceAccount, aud: `${c.url}/runTest` })}`,
    ],
    ['an OAuth token', 401, (c) => `Bearer ${taskToken(c, { kind: 'oauth' })}`],
    [
      'a token for another audience',
      403,
      (c) => `Bearer ${taskToken(c, { aud: `${c.url}/webhook` })}`,
    ],
    [
      'a token of another service account',
      403,
      (c) => `Bearer ${taskToken(c, { email: 'someone@vmci-local.iam.gserviceaccount.com' })}`,
    ],
  ])('%s: %d, and nothing changes', async (_what, status, authorization) => {
    const { cloud } = env;
    const test = await storeTest(env, 'auth');
    const before = await snapshot(env);

    for (const taskName of [undefined, 'a-task']) {
      const reply = await callRunTest(
        cloud,
        { testId: test.id },
        { authorization: authorization(cloud), ...(taskName ? { taskName } : {}) },
      );
      expect(reply.status).toBe(status);
      expect(reply.body.error).toEqual(expect.any(String));
      expect(JSON.stringify(reply.body)).not.toContain(test.id);
    }

    expect(await snapshot(env)).toEqual(before);
    expect(await listedVms(cloud)).toEqual([]);
    expect(await getTest(env, test.id)).toEqual(test);
  });

  it.each<[string, unknown, string]>([
    ['an empty object', {}, 'application/json'],
    ['a number for the test id', { testId: 42 }, 'application/json'],
    ['a test id with characters no test id has', { testId: '../tests/x y' }, 'application/json'],
    ['an array', [{ testId: 'x' }], 'application/json'],
    ['text', 'testId=x', 'text/plain'],
  ])(
    'a body with %s: 400, or 200 from Cloud Tasks so the task ends; nothing changes',
    async (_what, body, contentType) => {
      const { cloud } = env;
      const test = await storeTest(env, 'bad-body');
      const before = await snapshot(env);

      const direct = await callRunTest(cloud, body, { contentType });
      const fromTasks = await callRunTest(cloud, body, { contentType, taskName: 'a-task' });

      expect(direct.status).toBe(400);
      expect(direct.body.error).toEqual(expect.any(String));
      expect(fromTasks.status).toBe(200);
      expect(fromTasks.body.error).toEqual(expect.any(String));
      expect(await snapshot(env)).toEqual(before);
      expect(await listedVms(cloud)).toEqual([]);
      expect(await getTest(env, test.id)).toEqual(test);
    },
  );

  it('a GET: 405, nothing changes', async () => {
    const { cloud } = env;
    const before = await snapshot(env);
    const reply = await callRunTest(cloud, null, { method: 'GET' });
    expect(reply.status).toBe(405);
    expect(await snapshot(env)).toEqual(before);
  });

  it('a task for a test that does not exist ends (200) without a VM', async () => {
    const { cloud } = env;
    const reply = await callRunTest(cloud, { testId: 'no-such-test' }, { taskName: 'a-task' });
    expect(reply).toEqual({
      status: 200,
      body: { testId: 'no-such-test', outcome: 'unknown test', status: null },
    });
    expect(await listedVms(cloud)).toEqual([]);
  });
});
