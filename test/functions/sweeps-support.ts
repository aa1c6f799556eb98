// What the sweeps' integration tests share: a local cloud with every function
// mounted (the sweeps called by the local Cloud Scheduler with its OIDC
// tokens), the scheduler's cron paused around each test so that only the
// runs a test asks for happen, and helpers that read and change the cloud
// the way a test needs: tasks deleted through the Tasks REST API, VMs made
// through the real Compute client, documents backdated in Firestore.
import { InstancesClient } from '@google-cloud/compute';
import { Timestamp } from '@google-cloud/firestore';
import type { LocalCloud } from '../../infra/local/cloud';
import type { ComputeCall } from '../../infra/local/compute';
import { clearEmulatorProject } from '../../infra/local/firestore-emulator';
import type { HistoryEntry } from '../../infra/local/scheduler';
import { buildVmSpec, toInstanceResource } from '../../shared/compute/instance-resource';
import type { VmciConfig } from '../../shared/config';
import { newTestRecord } from '../../shared/domain/new-test';
import type { TestRecord, TestStatus } from '../../shared/domain/test';
import { localClientOptions } from '../../shared/gcp/client-options';
import type { StepCounts } from '../../shared/sweeps/deps';
import type { SweepExpiredSummary } from '../../shared/sweeps/sweep-expired';
import type { SweepPendingSummary } from '../../shared/sweeps/sweep-pending';
import {
  idsOf,
  pushPayload,
  REPO,
  send,
  shaOf,
  taskNameOf,
  useWebhookCloud,
  type WebhookCloud,
  type WebhookCloudOptions,
} from './webhook-support';

export const SWEEPS = ['sweepPending', 'sweepExpired'] as const;
export type SweepName = (typeof SWEEPS)[number];
export const ZONE = 'local-a';

// --- the sweeps' calls in flight --------------------------------------------------------

/**
 * Every call to a sweep's URL whose function has not answered yet. The
 * scheduler stand-in calls through the global fetch, which it reads when it
 * is made (on each reset), so wrapping it here sees every scheduled run, every
 * runNow and the tests' own calls. A sweep answers only once its work is done,
 * so no call in flight means no sweep at work. A caller that gives up (the
 * scheduler aborts its calls when a reset closes it) does not stop the
 * function, so the request itself is not aborted: only the caller's promise is.
 */
const inFlight = new Set<Promise<unknown>>();
const realFetch = globalThis.fetch;

function urlOf(input: Parameters<typeof fetch>[0]): string {
  if (typeof input === 'string') return input;
  return input instanceof URL ? input.href : input.url;
}

globalThis.fetch = ((input, init) => {
  if (!/\/sweep(Pending|Expired)$/.test(new URL(urlOf(input)).pathname)) {
    return realFetch(input, init);
  }
  const { signal, ...rest } = init ?? {};
  const call = realFetch(input, rest);
  const answered = call.then(
    () => undefined,
    () => undefined,
  );
  inFlight.add(answered);
  void answered.finally(() => inFlight.delete(answered));
  if (!signal) return call;
  return new Promise<Response>((resolve, reject) => {
    const abort = () => {
      reject(signal.reason as Error);
      void call.then((res) => res.body?.cancel()).catch(() => {});
    };
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
    call.then(resolve, reject);
  });
}) as typeof fetch;

/** Resolves once no sweep is at work. */
export async function sweepsIdle(): Promise<void> {
  while (inFlight.size > 0) await Promise.all([...inFlight]);
}

// --- the cloud ----------------------------------------------------------------------------

export type SweepCloud = WebhookCloud & { computeClient(): InstancesClient };

/** Short grace and back-off, so a test sees an orphan age and a deletion come due. */
export const SWEEPS_CONFIG = {
  orphanGraceMinutes: 0.1, // 6 s
  deletionBackoffSeconds: 1,
  deletionMaxAttempts: 8,
};

function withSweeps(config: VmciConfig): VmciConfig {
  return { ...config, sweeps: { ...config.sweeps, ...SWEEPS_CONFIG } };
}

/**
 * The two-platform cloud (linux: 2 slots, windows: 1), every function mounted,
 * the queue dispatching to runTest. Before each test the sweeps' schedule is
 * paused and any run it started has finished; after each test everything is
 * stopped and Firestore cleared before the next cloud reset, so that a
 * scheduled run of the fresh stand-ins never finds this test's documents.
 */
export function useSweepCloud(options: Partial<WebhookCloudOptions> = {}): SweepCloud {
  const h = useWebhookCloud({
    functions: ['webhook', 'runTest', 'sweepPending', 'sweepExpired', 'progress', 'status'],
    queue: 'running',
    bootVms: false,
    ...options,
    configure: (config, cloud) =>
      withSweeps(options.configure ? options.configure(config, cloud) : config),
  });
  let compute: InstancesClient | undefined;
  beforeAll(() => {
    compute = new InstancesClient(localClientOptions({ host: '127.0.0.1', port: h.cloud.port }));
  });
  afterAll(async () => {
    await compute?.close();
  });
  beforeEach(async () => {
    await setJobs(h.cloud, 'pause');
    await sweepsIdle();
    // A run the fresh schedule started before the pause found an empty project.
    expect(h.cloud.compute.instances()).toEqual([]);
    expect(h.cloud.tasks.tasks()).toEqual([]);
  });
  afterEach(async () => {
    const { cloud } = h;
    await setJobs(cloud, 'pause').catch(() => {});
    await sweepsIdle();
    cloud.tasks.pause();
    await cloud.tasks.whenIdle();
    await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId);
  });
  return {
    get cloud() {
      return h.cloud;
    },
    get db() {
      return h.db;
    },
    get store() {
      return h.store;
    },
    logs: () => h.logs(),
    computeClient: () => {
      if (!compute) throw new Error('the Compute client is made in beforeAll');
      return compute;
    },
  };
}

// --- the scheduler ------------------------------------------------------------------------

export const jobName = (cloud: LocalCloud, sweep: SweepName): string =>
  `projects/${cloud.config.project}/locations/${cloud.config.region}/jobs/${sweep}`;

/** Pauses or resumes both sweep jobs through the Cloud Scheduler REST API. */
export async function setJobs(cloud: LocalCloud, verb: 'pause' | 'resume'): Promise<void> {
  for (const sweep of SWEEPS) {
    const res = await fetch(`${cloud.url}/v1/${jobName(cloud, sweep)}:${verb}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    const job = (await res.json()) as { state: string };
    expect(job.state).toBe(verb === 'pause' ? 'PAUSED' : 'ENABLED');
  }
}

export interface SweepRun<S> {
  attempt: HistoryEntry;
  summary: S;
}

type SummaryOf<N extends SweepName> = N extends 'sweepPending'
  ? SweepPendingSummary
  : SweepExpiredSummary;

/** One run through the scheduler (as Cloud Scheduler calls it), answered 200; its summary from its log line. */
export async function runSweep<N extends SweepName>(
  h: WebhookCloud,
  sweep: N,
): Promise<SweepRun<SummaryOf<N>>> {
  const seen = doneLines(h, sweep).length;
  const attempt = await h.cloud.scheduler.runNow(sweep);
  expect(attempt).toMatchObject({ trigger: 'run', httpStatus: 200, ok: true });
  const lines = doneLines(h, sweep).slice(seen);
  expect(lines).toHaveLength(1);
  return { attempt, summary: lines[0]!.summary as SummaryOf<N> };
}

/** The "<sweep> done" log lines so far, oldest first. */
export function doneLines(h: WebhookCloud, sweep: SweepName): LogLine[] {
  return logLines(h).filter((line) => line.message === `${sweep} done`);
}

export const counts = (partial: Partial<StepCounts> = {}): StepCounts => ({
  found: 0,
  done: 0,
  skipped: 0,
  errors: 0,
  more: false,
  ...partial,
});

// --- logs ------------------------------------------------------------------------------------

export interface LogLine {
  severity: string;
  message: string;
  'logging.googleapis.com/labels'?: Record<string, string>;
  [field: string]: unknown;
}

export function logLines(h: WebhookCloud): LogLine[] {
  return h
    .logs()
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

export function linesWith(h: WebhookCloud, message: string): LogLine[] {
  return logLines(h).filter((line) => line.message === message);
}

export const labelsOf = (line: LogLine): Record<string, string> =>
  line['logging.googleapis.com/labels'] ?? {};

// --- tests and their documents --------------------------------------------------------------

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export async function getTest(h: WebhookCloud, id: string): Promise<TestRecord> {
  const test = await h.store.getTest(id);
  if (!test) throw new Error(`test ${id} is not in Firestore`);
  return test;
}

export function waitForTest(
  h: WebhookCloud,
  id: string,
  done: (test: TestRecord) => boolean,
  what = 'a state',
): Promise<TestRecord> {
  return waitFor(`test ${id} to reach ${what}`, async () => {
    const test = await h.store.getTest(id);
    return test && done(test) ? test : undefined;
  });
}

export const inStatus = (status: TestStatus) => (test: TestRecord) => test.status === status;
export const deletionDone = (test: TestRecord) => (test.deletion?.doneAt ?? null) !== null;

/** A signed push of `label`'s commit; returns the [linux, windows] test ids. */
export async function pushed(h: WebhookCloud, label: string): Promise<[string, string]> {
  const sha = shaOf(`sweeps/${label}`);
  const answer = await send(h.cloud, 'push', pushPayload(sha));
  expect(answer.status).toBe(202);
  const ids = idsOf(sha);
  expect(answer.body.tests).toEqual(ids);
  return [ids[0]!, ids[1]!];
}

/** A push whose two tests run (queue running): both `running` on their VMs, the queue idle. */
export async function runningPush(h: WebhookCloud, label: string): Promise<TestRecord[]> {
  const ids = await pushed(h, label);
  const tests = await Promise.all(ids.map((id) => waitForTest(h, id, inStatus('running'))));
  await h.cloud.tasks.whenIdle();
  return tests;
}

let stored = 0;

/** A test of REPO stored as the webhook would store it, then given `changes`. */
export async function storeTest(
  h: WebhookCloud,
  label: string,
  platform: string,
  changes: Partial<TestRecord> | ((test: TestRecord) => Partial<TestRecord>) = {},
): Promise<TestRecord> {
  stored += 1;
  const now = new Date();
  const base = newTestRecord(
    {
      repo: REPO,
      sha: shaOf(`sweeps/${label}/${stored}`),
      ref: 'refs/heads/master',
      cloneUrl: `https://github.com/${REPO}.git`,
      author: 'Codertocat',
      trigger: 'push',
      pr: null,
      run: 1,
      platform,
    },
    { status: 'pending', message: 'Tests queued' },
    now,
  );
  const test = { ...base, ...(typeof changes === 'function' ? changes(base) : changes) };
  expect(await h.store.createTests([test])).toEqual({ created: [test.id], existing: [] });
  return test;
}

/**
 * Writes fields of a test document straight into Firestore: the tests use it
 * to stand for time that has passed (an `updatedAt` a minute old, a deadline
 * or a back-off that is over) or for a writer that died half-way.
 */
export async function rewrite(
  h: WebhookCloud,
  id: string,
  fields: Record<string, Date | string | number | null>,
): Promise<void> {
  const data = Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [
      key,
      value instanceof Date ? Timestamp.fromDate(value) : value,
    ]),
  );
  await h.db.collection('tests').doc(id).update(data);
}

export const ago = (ms: number): Date => new Date(Date.now() - ms);
export const fromNow = (ms: number): Date => new Date(Date.now() + ms);

// --- tasks ---------------------------------------------------------------------------------

/** Deletes a task through the Cloud Tasks REST API, as `gcloud tasks delete` would. */
export async function deleteTask(h: WebhookCloud, id: string, generation: number): Promise<void> {
  const res = await fetch(`${h.cloud.url}/v2/${taskNameOf(h.cloud, id, generation)}`, {
    method: 'DELETE',
  });
  expect(res.status).toBe(200);
}

/** The live tasks of each test, by generation: { [testId]: [generation, ...] }. */
export function liveTasks(h: WebhookCloud, ids: readonly string[]): Record<string, number[]> {
  return Object.fromEntries(
    ids.map((id) => [
      id,
      h.cloud.tasks
        .tasks()
        .filter((task) => task.id.includes(`-${id}-g`))
        .map((task) => Number(/-g(\d+)$/.exec(task.id)![1]))
        .sort((a, b) => a - b),
    ]),
  );
}

/** The HTTP answers of the dispatch attempts of a test's task of `generation`. */
/** The answers to the dispatches of the test's task of `generation`, a run or a VM deletion. */
export function dispatches(h: WebhookCloud, id: string, generation: number): (number | null)[] {
  const names = [
    taskNameOf(h.cloud, id, generation, 'run'),
    taskNameOf(h.cloud, id, generation, 'delete-vm'),
  ];
  return h.cloud.tasks
    .history()
    .filter((record) => names.includes(record.task))
    .map((record) => record.status);
}

// --- Compute ---------------------------------------------------------------------------------

/**
 * Inserts a VM through the real Compute client, as runTest builds one for
 * `testId`'s attempt `attempt` (its name, labels and `vmci-test-id`), with
 * `labels` and `metadata` replacing what is given; waits until it is RUNNING.
 */
export async function insertVm(
  h: SweepCloud,
  options: {
    testId: string;
    attempt: number;
    labels?: Record<string, string>;
    metadata?: Record<string, string> | null;
  },
): Promise<string> {
  const { cloud } = h;
  const platform = cloud.config.platforms.linux!;
  const spec = buildVmSpec({
    test: { id: options.testId, platform: 'linux', attempts: options.attempt },
    platform,
    platformName: 'linux',
    zone: ZONE,
    provisioning: 'STANDARD',
    metadata: {},
    startupScript: '#!/bin/sh\n',
  });
  const resource = toInstanceResource(
    {
      ...spec,
      ...(options.labels ? { labels: options.labels } : {}),
      ...(options.metadata === null
        ? { metadata: {} }
        : options.metadata
          ? { metadata: options.metadata }
          : {}),
    },
    cloud.config.project,
  );
  await h.computeClient().insert({
    project: cloud.config.project,
    zone: ZONE,
    instanceResource: resource,
  });
  await waitFor(`${spec.name} running`, () =>
    cloud.compute.instances().some((vm) => vm.name === spec.name && vm.status === 'RUNNING'),
  );
  return spec.name;
}

export const vmNames = (h: WebhookCloud): string[] =>
  h.cloud.compute
    .instances()
    .map((vm) => vm.name)
    .sort();

export async function vmGone(h: WebhookCloud, name: string): Promise<void> {
  await waitFor(`${name} deleted`, () => !vmNames(h).includes(name));
}

/** The deletes of VM `name` that Compute received: each call's outcome and injected fault. */
export function deletesOf(h: WebhookCloud, name: string): Pick<ComputeCall, 'outcome' | 'fault'>[] {
  return h.cloud.compute
    .calls()
    .filter((call) => call.method === 'delete' && call.name === name)
    .map(({ outcome, fault }) => ({ outcome, ...(fault ? { fault } : {}) }));
}

/** Deletes that really deleted (a new operation that no injected fault failed). */
export function realDeletes(h: WebhookCloud, name: string): number {
  return deletesOf(h, name).filter((c) => c.outcome === 'new_operation' && !c.fault).length;
}

export function insertsOf(h: WebhookCloud): string[] {
  return h.cloud.compute
    .calls()
    .filter((call) => call.method === 'insert')
    .map((call) => call.name);
}

// --- GitHub ------------------------------------------------------------------------------------

export interface Status {
  state: string;
  context: string;
  description: string;
}

/** The commit statuses of `sha` through the local GitHub REST API, oldest first. */
export async function statusesOf(h: WebhookCloud, sha: string): Promise<Status[]> {
  const res = await fetch(`${h.cloud.url}/github/repos/${REPO}/commits/${sha}/statuses`);
  expect(res.status).toBe(200);
  const list = (await res.json()) as Status[];
  return list.map(({ state, context, description }) => ({ state, context, description })).reverse();
}

/**
 * Each (context, state, description) posted for `sha` more than once, among
 * the statuses posted after the first `since` (what a test's own setup posted:
 * the webhook and runTest may both post "VM started", see the report).
 */
export async function repeatedStatuses(h: WebhookCloud, sha: string, since = 0): Promise<string[]> {
  const seen = new Map<string, number>();
  for (const s of (await statusesOf(h, sha)).slice(since)) {
    const key = `${s.context} ${s.state} ${s.description}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, n]) => `${key} ×${n}`);
}
