// runTest on its in-memory doubles: the store, the provisioner and the commit
// status port, one fake clock for all of them, and a logger that keeps every
// line unredacted (so a leaked token would show). Every Compute call runTest
// makes is recorded with the time it was made and the budget it was given.
import { createMemoryLookupPort, type MemoryLookupPort } from '../../shared/github/memory-lookups';
import { createMemoryProvisioner, type MemoryProvisioner } from '../../shared/compute/memory';
import type { VmProvisioner } from '../../shared/compute/port';
import { configSchema, type VmciConfig } from '../../shared/config';
import { testId } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { classifyGcpError, operationTimeoutError } from '../../shared/gcp/errors';
import { createMemoryStatusPort, type MemoryStatusPort } from '../../shared/github/memory-statuses';
import type { Logger } from '../../shared/log';
import { createMemoryQueue, type MemoryQueue } from '../../shared/queue/memory';
import { captureLog as captureSharedLog, type LogEntry } from '../support/capture-log';
import type { RunDeadline } from '../../shared/run/deadline';
import {
  runTest,
  runTestTimings,
  type RunTestDeps,
  type RunTestOutcome,
} from '../../shared/run/run-test';
import { createMemoryStore } from '../../shared/store/memory';
import type { TestStore } from '../../shared/store/port';
import { changed, validConfig, type Change } from '../config/fixtures';
import { T0, testRecord } from '../contracts/store/fixtures';

export const PUBLIC_URL = 'https://ci.example.com';
export const ZONES = ['us-central1-a', 'us-central1-b', 'us-central1-c'] as const;
export const [ZONE_A, ZONE_B, ZONE_C] = ZONES;
export const TOKEN_SECRET = 'run-test-token-secret-0123456789';
export const SCRIPT = '#!/bin/sh\nsleep 300\n';
export const MAX_RUN_MINUTES = 30;
export const MAX_ATTEMPTS = 5;
/** The claim lease with the default 600 s dispatch deadline. */
export const LEASE_MS = 11 * 60_000;
export { T0 };

/** A configuration whose linux platform has three zones and allows Spot with fallback. */
export function runConfig(...changes: readonly Change[]): VmciConfig {
  return configSchema.parse(
    changed(
      validConfig(),
      ['publicUrl', PUBLIC_URL],
      ['repositories', ['ccextractor/ccextractor']],
      ['queue.maxAttempts', MAX_ATTEMPTS],
      ['platforms.linux.zones', [...ZONES]],
      ['platforms.linux.spot', true],
      ['platforms.linux.spotFallbackToStandard', true],
      ['platforms.linux.maxConcurrent', 2],
      ['platforms.linux.maxRunMinutes', MAX_RUN_MINUTES],
      ['platforms.windows.zones', [ZONE_A]],
      ...changes,
    ),
  );
}

/** The shared capturing logger, with its entries under the name these tests use. */
export function captureLog(): { log: Logger; lines: LogEntry[]; text(): string } {
  const { log, entries, text } = captureSharedLog();
  return { log, lines: entries, text };
}

/** One call runTest made to the provisioner. */
export interface ComputeCall {
  method: 'createVm' | 'getVm' | 'deleteVm' | 'listVms';
  zone?: string;
  /** The fake clock when the call was made. */
  at: number;
  /** The budget it was given (undefined: none). */
  budgetMs?: number;
}

export interface Harness {
  deps: RunTestDeps;
  store: TestStore;
  /** The double itself; runTest calls it through a recorder (deps.vms). */
  vms: MemoryProvisioner;
  /** Every call runTest made to the provisioner, in order. */
  computeCalls: ComputeCall[];
  statuses: MemoryStatusPort;
  /** What runTest asks GitHub: the VM's token, the build's artifact. */
  github: MemoryLookupPort;
  /** Where runTest asks for teardowns and starts the next pending test. */
  queue: MemoryQueue;
  logs: ReturnType<typeof captureLog>;
  /** The fake clock, in ms since the epoch; the provisioner's sleeps move it. */
  clock(): number;
  advance(ms: number): void;
  /** Stores a queued test (by default: linux, created at T0) and returns it. */
  addTest(overrides?: Partial<TestRecord> & { sha?: string }): Promise<TestRecord>;
  run(id: string, retryCount?: number, deadline?: RunDeadline): Promise<RunTestOutcome>;
  get(id: string): Promise<TestRecord>;
}

export interface HarnessOptions {
  config?: VmciConfig;
  /**
   * Zones whose creations take this long to answer (whatever the answer: a
   * stockout injected there fails only then). Given less budget, the creation
   * times out when the budget is spent, without reaching the double.
   */
  slowZones?: Readonly<Record<string, number>>;
  startupScript?: RunTestDeps['startupScript'];
  /** Wraps the store (to make a call fail). */
  wrapStore?: (store: TestStore) => TestStore;
  /** Called on every provisioner sleep, after the clock moved. */
  onSleep?: (ms: number) => Promise<void> | void;
}

let shaCounter = 0;

/** A fresh 40-hex sha. */
export function nextSha(): string {
  shaCounter += 1;
  return shaCounter.toString(16).padStart(40, '0');
}

/** The provisioner as runTest sees it: calls recorded, slow zones slow. */
function recording(
  vms: VmProvisioner,
  calls: ComputeCall[],
  clock: () => number,
  sleep: (ms: number) => Promise<void>,
  slowZones: Readonly<Record<string, number>>,
): VmProvisioner {
  return {
    async createVm(spec, { budgetMs }) {
      calls.push({ method: 'createVm', zone: spec.zone, at: clock(), budgetMs });
      const answerMs = slowZones[spec.zone] ?? 0;
      if (answerMs > budgetMs) {
        if (budgetMs > 0) await sleep(budgetMs);
        const timeout = operationTimeoutError(`insert ${spec.name}`, budgetMs);
        return { ok: false, error: classifyGcpError(timeout) };
      }
      if (answerMs > 0) await sleep(answerMs);
      return vms.createVm(spec, { budgetMs: budgetMs - answerMs });
    },
    getVm(name, zone, opts) {
      calls.push({ method: 'getVm', zone, at: clock(), budgetMs: opts?.budgetMs });
      return vms.getVm(name, zone, opts);
    },
    deleteVm(name, zone, opts) {
      calls.push({ method: 'deleteVm', zone, at: clock(), budgetMs: opts?.budgetMs });
      return vms.deleteVm(name, zone, opts);
    },
    listVms(opts) {
      calls.push({ method: 'listVms', at: clock() });
      return vms.listVms(opts);
    },
  };
}

export function harness(options: HarnessOptions = {}): Harness {
  let clock = T0.getTime() + 5 * 60_000;
  const sleep = async (ms: number) => {
    clock += ms;
    await options.onSleep?.(ms);
  };
  const vms = createMemoryProvisioner({ now: () => clock, sleep });
  const computeCalls: ComputeCall[] = [];
  const memory = createMemoryStore();
  const store = options.wrapStore ? options.wrapStore(memory) : memory;
  const statuses = createMemoryStatusPort();
  const queue = createMemoryQueue();
  const logs = captureLog();
  const config = options.config ?? runConfig();
  const github = createMemoryLookupPort();
  const deps: RunTestDeps = {
    store,
    github,
    vms: recording(vms, computeCalls, () => clock, sleep, options.slowZones ?? {}),
    config,
    tokenSecret: TOKEN_SECRET,
    startupScript: options.startupScript ?? (() => SCRIPT),
    sourceRoot: '/srv/vmci',
    // As the function is wired (functions/runTest/index.ts).
    ...runTestTimings(config.queue),
    statuses,
    queue,
    log: logs.log,
    now: () => new Date(clock),
    statusContext: 'ci/{platform}',
    publicUrl: PUBLIC_URL,
  };
  const get = async (id: string) => {
    const test = await memory.getTest(id);
    if (!test) throw new Error(`no test ${id}`);
    return test;
  };
  return {
    deps,
    store: memory,
    vms,
    computeCalls,
    statuses,
    github,
    queue,
    logs,
    clock: () => clock,
    advance: (ms) => {
      clock += ms;
    },
    async addTest(overrides = {}) {
      const platform = overrides.platform ?? 'linux';
      const sha = overrides.sha ?? nextSha();
      const id =
        overrides.id ??
        testId({ repo: 'ccextractor/ccextractor', sha, platform, trigger: 'push', run: 1 });
      const test = testRecord({
        message: 'Tests queued',
        timeline: [{ at: T0, status: 'queued', message: 'Tests queued' }],
        ...overrides,
        id,
        sha,
        platform,
      });
      await memory.createTests([test]);
      return get(id);
    },
    run: (id, retryCount = 0, deadline) =>
      runTest(deps, { testId: id, retryCount, ...(deadline ? { deadline } : {}) }),
    get,
  };
}
