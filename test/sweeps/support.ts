// What the sweep suites share: deps built from the real doubles (a store of
// either kind, the memory queue, status port and provisioner), a clock the
// test moves, a parsed configuration with per-test changes, test records in
// each state, VMs seeded as runTest would make them, and counting wrappers.
import { createMemoryLookupPort, type MemoryLookupPort } from '../../shared/github/memory-lookups';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { createMemoryProvisioner, type MemoryProvisioner } from '../../shared/compute/memory';
import type { VmProvisioner } from '../../shared/compute/port';
import { parseConfig, type VmciConfig } from '../../shared/config';
import { requestId, VM_TEST_ID_METADATA_KEY, vmLabels, vmName } from '../../shared/domain/naming';
import type { TestRecord, TestStatus, VmDeletion } from '../../shared/domain/test';
import { createMemoryStatusPort, type MemoryStatusPort } from '../../shared/github/memory-statuses';
import { createLogger, type Logger } from '../../shared/log';
import { createMemoryQueue, type MemoryQueue } from '../../shared/queue/memory';
import type { TaskRequest } from '../../shared/queue/port';
import type { TestStore } from '../../shared/store/port';
import type { SweepExpiredDeps } from '../../shared/sweeps/deps';
import { changed, type Change } from '../config/fixtures';
import { at, T0, testRecord } from '../contracts/store/fixtures';
import { captureLog, type LogEntry } from '../support/capture-log';

export { at };

const CONFIG_FILE = join(__dirname, '../fixtures/config/vmci.two-platforms.yaml');

/** The two-platform configuration (linux: 2 slots, windows: 1; zones local-a, local-b), changed. */
export function sweepConfig(...changes: readonly Change[]): VmciConfig {
  const raw = YAML.parse(readFileSync(CONFIG_FILE, 'utf8')) as Record<string, unknown>;
  const result = parseConfig(JSON.stringify(changed(raw, ...changes)), 'vmci.json');
  if (!result.ok) throw new Error(`test configuration invalid:\n${result.problems.join('\n')}`);
  return result.config;
}

export const ZONE = 'local-a';
export const OTHER_ZONE = 'local-b';

// --- logs ----------------------------------------------------------------------

/** Both views of every line: what the code passed (Errors intact), and the JSON Cloud Logging gets. */
export interface SweepLogs {
  log: Logger;
  entries: LogEntry[];
  lines: Record<string, unknown>[];
  /** Entries with this message, any level. */
  find(message: string): LogEntry[];
}

export function sweepLogs(): SweepLogs {
  const raw = captureLog();
  const lines: Record<string, unknown>[] = [];
  const json = createLogger({
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  const tee = (a: Logger, b: Logger): Logger => ({
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (labels) => tee(a.child(labels), b.child(labels)),
  });
  return {
    log: tee(raw.log, json),
    entries: raw.entries,
    lines,
    find: (message) => raw.entries.filter((e) => e.message === message),
  };
}

// --- Compute -------------------------------------------------------------------

export interface VmCall {
  name: string;
  zone: string;
  requestId?: string;
}

export interface CountingProvisioner extends MemoryProvisioner {
  /** Every deleteVm call, in order. */
  deleteCalls(): VmCall[];
  /** Every getVm call, in order. */
  getCalls(): VmCall[];
  /**
   * The Compute delete operations each VM saw (key `zone/name`): calls with the
   * same requestId are one operation, as Compute deduplicates them; calls
   * without one are one operation each.
   */
  deleteOperations(): Map<string, number>;
}

export function countingProvisioner(inner: MemoryProvisioner): CountingProvisioner {
  const deletes: VmCall[] = [];
  const gets: VmCall[] = [];
  return {
    ...inner,
    deleteVm(name, zone, options) {
      deletes.push({ name, zone, ...(options?.requestId ? { requestId: options.requestId } : {}) });
      return inner.deleteVm(name, zone, options);
    },
    getVm(name, zone) {
      gets.push({ name, zone });
      return inner.getVm(name, zone);
    },
    deleteCalls: () => deletes.map((c) => ({ ...c })),
    getCalls: () => gets.map((c) => ({ ...c })),
    deleteOperations() {
      const ops = new Map<string, Set<string>>();
      deletes.forEach((call, i) => {
        const key = `${call.zone}/${call.name}`;
        const set = ops.get(key) ?? new Set<string>();
        set.add(call.requestId ?? `call-${i}`);
        ops.set(key, set);
      });
      return new Map([...ops].map(([key, set]) => [key, set.size]));
    },
  };
}

// --- the queue -----------------------------------------------------------------

/** The memory queue, with the taskState calls it was asked. */
export interface CountingQueue extends MemoryQueue {
  stateCalls(): TaskRequest[];
}

export function countingQueue(inner: MemoryQueue): CountingQueue {
  const asked: TaskRequest[] = [];
  return {
    ...inner,
    queuePath: inner.queuePath,
    taskState(request) {
      asked.push({ ...request });
      return inner.taskState(request);
    },
    stateCalls: () => asked.map((r) => ({ ...r })),
  };
}

/** Creates a test's task of `generation` and drops it: Cloud Tasks lost it. */
export async function loseTask(queue: MemoryQueue, testId: string, generation: number) {
  const task = await queue.enqueue({ testId, generation });
  if (!task.ok) throw new Error(`could not enqueue: ${task.detail}`);
  if (!queue.drop(task.taskName)) throw new Error('could not drop the task');
}

/** The generations of each test's live tasks. */
export function taskGenerations(queue: MemoryQueue): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const task of queue.tasks()) (out[task.testId] ??= []).push(task.generation);
  for (const list of Object.values(out)) list.sort((a, b) => a - b);
  return out;
}

// --- the harness ---------------------------------------------------------------

export interface Clock {
  now(): Date;
  set(date: Date): void;
  advance(ms: number): void;
}

export function clockAt(start: Date): Clock {
  let ms = start.getTime();
  return {
    now: () => new Date(ms),
    set: (date) => (ms = date.getTime()),
    advance: (by) => (ms += by),
  };
}

export interface Harness {
  deps: SweepExpiredDeps;
  store: TestStore;
  queue: CountingQueue;
  statuses: MemoryStatusPort;
  /** What the sweep asks GitHub (a build workflow's runs). */
  github: MemoryLookupPort;
  vms: CountingProvisioner;
  logs: SweepLogs;
  clock: Clock;
  config: VmciConfig;
  /** The same queue, GitHub, Compute, clock and configuration over another store handle. */
  depsWith(store: TestStore, extra?: Partial<SweepExpiredDeps>): SweepExpiredDeps;
  /** Makes a VM for the test, as runTest would, created at `createdAt` (default: now). */
  seedVm(test: TestRecord | VmOwner, options?: SeedVmOptions): Promise<VmRef>;
}

export interface VmOwner {
  id: string;
  platform: string;
  attempt?: number;
}

export interface SeedVmOptions {
  createdAt?: Date;
  zone?: string;
  name?: string;
  /** Labels replaced (default: vmLabels of the test). */
  labels?: Record<string, string>;
  /** Metadata test id (default: the test's id); null: none. */
  metadataTestId?: string | null;
}

export interface VmRef {
  name: string;
  zone: string;
  provisioning: 'STANDARD';
}

export const NOW = at(30);

/** A harness over the current store, with `tests` stored first. */
export async function seededHarness(
  store: TestStore,
  tests: readonly TestRecord[],
  options: { config?: VmciConfig } = {},
): Promise<Harness> {
  if (tests.length > 0) await store.createTests(tests);
  return harness(store, options);
}

export function harness(
  store: TestStore,
  options: { config?: VmciConfig; now?: Date; queue?: MemoryQueue; vms?: VmProvisioner } = {},
): Harness {
  const config = options.config ?? sweepConfig();
  const clock = clockAt(options.now ?? NOW);
  const queue = countingQueue(options.queue ?? createMemoryQueue());
  const statuses = createMemoryStatusPort();
  const github = createMemoryLookupPort();
  const vms = countingProvisioner(
    createMemoryProvisioner({ now: () => clock.now().getTime(), sleep: async () => {} }),
  );
  const logs = sweepLogs();
  const depsWith = (s: TestStore, extra: Partial<SweepExpiredDeps> = {}): SweepExpiredDeps => ({
    store: s,
    statuses,
    statusContext: config.statusContext,
    publicUrl: config.publicUrl,
    log: logs.log,
    now: () => clock.now(),
    queue,
    config,
    vms,
    github,
    deleteBudgetMs: 1000,
    ...extra,
  });
  return {
    deps: depsWith(store),
    store,
    queue,
    statuses,
    github,
    vms,
    logs,
    clock,
    config,
    depsWith,
    async seedVm(owner, opts = {}) {
      const attempt = 'attempt' in owner && owner.attempt !== undefined ? owner.attempt : 1;
      const zone = opts.zone ?? ZONE;
      const name = opts.name ?? vmName(owner.platform, owner.id, attempt);
      const metadataId = opts.metadataTestId === undefined ? owner.id : opts.metadataTestId;
      const saved = clock.now();
      clock.set(opts.createdAt ?? saved);
      try {
        const created = await vms.createVm(
          {
            name,
            zone,
            provisioning: 'STANDARD',
            requestId: requestId(`${owner.id}/${name}`, attempt, zone, 'STANDARD'),
            testId: owner.id,
            machineType: 'e2-small',
            image: 'projects/debian-cloud/global/images/family/debian-12',
            diskSizeGb: 10,
            network: 'global/networks/default',
            externalIp: true,
            labels: opts.labels ?? { ...vmLabels(owner.platform, owner.id) },
            metadata: metadataId === null ? {} : { [VM_TEST_ID_METADATA_KEY]: metadataId },
            maxRunSeconds: 600,
          },
          { budgetMs: 1000 },
        );
        if (!created.ok) throw new Error(`seeding a VM failed: ${created.error.detail}`);
      } finally {
        clock.set(saved);
      }
      return { name, zone, provisioning: 'STANDARD' };
    },
  };
}

// --- test records --------------------------------------------------------------

/** The VM runTest names for a test's attempt, in ZONE. */
export function vmOf(id: string, platform = 'linux', attempt = 1, zone = ZONE): VmRef {
  return { name: vmName(platform, id, attempt), zone, provisioning: 'STANDARD' };
}

type Overrides = Partial<TestRecord>;

function timelineFor(status: TestStatus, message: string, updatedAt: Date) {
  return [
    { at: T0, status: 'pending' as const, message: 'Created' },
    ...(status === 'pending' ? [] : [{ at: updatedAt, status, message }]),
  ];
}

function record(id: string, status: TestStatus, message: string, overrides: Overrides): TestRecord {
  const updatedAt = overrides.updatedAt ?? at(1);
  return testRecord({
    id,
    status,
    message,
    updatedAt,
    queuedAt: null,
    enqueueGeneration: 0,
    timeline: timelineFor(status, message, updatedAt),
    ...overrides,
  });
}

export function pendingTest(id: string, overrides: Overrides = {}): TestRecord {
  const platform = overrides.platform ?? 'linux';
  return record(id, 'pending', `Waiting for a free ${platform} VM slot`, overrides);
}

export function waitingTest(
  id: string,
  waitReason: 'maintenance' | 'approval' | 'build',
  overrides: Overrides = {},
): TestRecord {
  // Waiting since it was last updated, unless told otherwise.
  const waitingSince = overrides.waitingSince ?? overrides.updatedAt ?? at(1);
  return record(id, 'waiting', `Waiting (${waitReason})`, {
    waitReason,
    waitingSince,
    ...overrides,
  });
}

export function queuedTest(id: string, overrides: Overrides = {}): TestRecord {
  return record(id, 'queued', 'Tests queued', {
    enqueueGeneration: 1,
    queuedAt: overrides.updatedAt ?? at(1),
    ...overrides,
  });
}

export function startingTest(id: string, overrides: Overrides = {}): TestRecord {
  const platform = overrides.platform ?? 'linux';
  return record(id, 'starting', 'Starting a VM', {
    enqueueGeneration: 1,
    attempts: 1,
    queuedAt: at(0),
    leaseExpiresAt: at(3),
    instance: vmOf(id, platform),
    ...overrides,
  });
}

export function runningTest(id: string, overrides: Overrides = {}): TestRecord {
  const platform = overrides.platform ?? 'linux';
  const startedAt = overrides.startedAt ?? at(1);
  return record(id, 'running', 'Running tests', {
    stage: 'testing',
    enqueueGeneration: 1,
    attempts: 1,
    queuedAt: at(0),
    startedAt,
    deadlineAt: new Date(startedAt.getTime() + 60 * 60_000),
    instance: vmOf(id, platform),
    githubStatus: { state: 'pending', description: 'Running tests', at: at(1) },
    ...overrides,
  });
}

/** A terminal test whose VM deletion is recorded (done unless told otherwise). */
export function endedTest(
  id: string,
  overrides: Overrides & { deletionOf?: Partial<VmDeletion> | null } = {},
): TestRecord {
  const { deletionOf, ...rest } = overrides;
  const platform = rest.platform ?? 'linux';
  const status = rest.status ?? 'passed';
  const instance = rest.instance === undefined ? vmOf(id, platform) : rest.instance;
  const deletion: VmDeletion | null =
    deletionOf === null || instance === null
      ? null
      : {
          name: instance.name,
          zone: instance.zone,
          requestedAt: at(2),
          attempts: 1,
          doneAt: at(2),
          nextCheckAt: null,
          ...deletionOf,
        };
  return record(id, status, `Ended ${status}`, {
    enqueueGeneration: 1,
    attempts: 1,
    queuedAt: at(0),
    startedAt: at(1),
    finishedAt: at(2),
    deadlineAt: at(11),
    instance,
    deletion,
    ...rest,
    status,
  });
}

// --- the store -----------------------------------------------------------------

/** Holds `platform` slots for these tests (as their claims did). */
export async function holdSlots(store: TestStore, platform: string, ...ids: string[]) {
  for (const id of ids) {
    const taken = await store.acquireSlot(platform, id, 1000, at(1));
    if (!taken.acquired) throw new Error(`slot for ${id} not taken`);
  }
}

export async function statusesOf(store: TestStore, ...ids: string[]) {
  const tests = await Promise.all(ids.map((id) => store.getTest(id)));
  return Object.fromEntries(ids.map((id, i) => [id, tests[i]?.status ?? 'missing']));
}

/** Reads through the store port, counted: each record returned, each getTest, each slot read. */
export interface ReadCounts {
  /** Documents read (records returned by queries, getTest calls, slot documents). */
  documents: number;
  queries: number;
  transactions: number;
}

export function countingStore(inner: TestStore): { store: TestStore; counts(): ReadCounts } {
  let documents = 0;
  let queries = 0;
  let transactions = 0;
  const listed = async (list: Promise<TestRecord[]>) => {
    const records = await list;
    queries += 1;
    documents += records.length;
    return records;
  };
  const store: TestStore = {
    ...inner,
    getTest: async (id) => {
      documents += 1;
      return inner.getTest(id);
    },
    listBySha: (repo, sha, opts) => listed(inner.listBySha(repo, sha, opts)),
    listByPr: (repo, pr, opts) => listed(inner.listByPr(repo, pr, opts)),
    listByStatus: (status, opts) => listed(inner.listByStatus(status, opts)),
    listPastDeadline: (now, limit) => listed(inner.listPastDeadline(now, limit)),
    listDueDeletions: (now, limit) => listed(inner.listDueDeletions(now, limit)),
    listDueStatusChecks: (now, limit) => listed(inner.listDueStatusChecks(now, limit)),
    listWaitingBefore: (platform, reason, before, limit) =>
      listed(inner.listWaitingBefore(platform, reason, before, limit)),
    slotHolders: async (platform) => {
      documents += 1;
      return inner.slotHolders(platform);
    },
    reconcileSlot: async (platform, testId, when) => {
      documents += 1;
      transactions += 1;
      return inner.reconcileSlot(platform, testId, when);
    },
    transition: async (id, move) => {
      transactions += 1;
      return inner.transition(id, move);
    },
    recordDeletion: async (id, deletion, expect) => {
      transactions += 1;
      return inner.recordDeletion(id, deletion, expect);
    },
    recordStatusPosted: async (id, posted) => {
      transactions += 1;
      return inner.recordStatusPosted(id, posted);
    },
    claimStatusCheck: async (id, expected, next) => {
      transactions += 1;
      return inner.claimStatusCheck(id, expected, next);
    },
  };
  return { store, counts: () => ({ documents, queries, transactions }) };
}
