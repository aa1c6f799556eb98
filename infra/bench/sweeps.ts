// Sweeps at scale (issue 16): with 100,000 ended tests stored (short: 2,000) in
// a fresh Firestore emulator project, and 10, then 100 candidates (tests a
// sweep must act on), how long sweepPending and sweepExpired take and how many
// documents they read. The sweeps are the domain functions
// (shared/sweeps/sweep-*.ts) over the Firestore adapter on the emulator; the
// queue, Compute and GitHub are the memory doubles, since the emulator is the
// point. Reads are counted at the @google-cloud/firestore client (./firestore-ops.ts).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Firestore } from '@google-cloud/firestore';
import { createMemoryProvisioner } from '../../shared/compute/memory';
import { parseConfig, type VmciConfig } from '../../shared/config';
import { requestId, VM_TEST_ID_METADATA_KEY, vmLabels, vmName } from '../../shared/domain/naming';
import { newTestRecord } from '../../shared/domain/new-test';
import type { TerminalStatus, TestRecord, TestStatus } from '../../shared/domain/test';
import { createMemoryLookupPort } from '../../shared/github/memory-lookups';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { createLogger } from '../../shared/log/logger';
import { createMemoryQueue } from '../../shared/queue/memory';
import { createFirestoreStore } from '../../shared/store/firestore';
import { testToDoc } from '../../shared/store/firestore-convert';
import { DEFAULT_COLLECTIONS } from '../../shared/store/firestore-queries';
import type { TestStore } from '../../shared/store/port';
import type { SweepExpiredDeps } from '../../shared/sweeps/deps';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';
import { sweepPending } from '../../shared/sweeps/sweep-pending';
import { emulatorFirestore } from '../local/emulator-client';
import { clearEmulatorProject, ensureFirestoreEmulator } from '../local/firestore-emulator';
import {
  countFirestoreOps,
  describeBySite,
  FIRESTORE_OPS_NOTE,
  type FirestoreOpsCounter,
  type OpsCounts,
} from './firestore-ops';
import type { BenchContext, Figure, Scenario, ScenarioResult } from './scenario';

const ROOT = join(__dirname, '..', '..');
const CONFIG_FILE = join(ROOT, 'config/vmci.local.yaml');
/** Firestore's largest write batch. */
const WRITE_BATCH = 500;
const WRITES_IN_FLIGHT = 4;
const MINUTE = 60_000;
const ENDED: readonly TerminalStatus[] = ['passed', 'failed', 'error', 'timed_out', 'canceled'];
/** reads ≤ 2 × candidates (issue 16, item 2). */
const READ_TARGET = 2;

// --- the records --------------------------------------------------------------------

function benchConfig(): VmciConfig {
  const parsed = parseConfig(readFileSync(CONFIG_FILE, 'utf8'), CONFIG_FILE);
  if (!parsed.ok)
    throw new Error(`config/vmci.local.yaml is invalid:\n${parsed.problems.join('\n')}`);
  const config = parsed.config;
  // Slots enough for every candidate: pending tests are queued, not left waiting for a slot.
  // (Not more than 1,000: fillFreeSlots lists queued tests with `limit: free`, which the
  // store refuses above 1,000.)
  const platforms = Object.fromEntries(
    Object.entries(config.platforms).map(([name, p]) => [name, { ...p, maxConcurrent: 500 }]),
  );
  return { ...config, platforms };
}

const ago = (now: Date, minutes: number) => new Date(now.getTime() - minutes * MINUTE);

function base(id: string, platform: string, status: TestStatus, now: Date): TestRecord {
  const input = {
    repo: 'Codertocat/Hello-World',
    sha: 'a'.repeat(40),
    ref: 'refs/heads/master',
    cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
    author: 'Codertocat',
    title: null,
    trigger: 'push' as const,
    pr: null,
    run: 1,
    repoPublic: true,
    platform,
  };
  // A test as the webhook creates it, an hour ago, then named and moved as the scenario needs.
  const created = newTestRecord(input, { status: 'pending', message: 'Created' }, ago(now, 60));
  return { ...created, id, status, message: status };
}

/** An ended test of the history: VM deleted, final status posted, nothing due. */
function historic(n: number, platform: string, now: Date): TestRecord {
  const status = ENDED[n % ENDED.length]!;
  const finishedAt = ago(now, 60 * 24 * 7 + (n % 10_000));
  const instance = {
    name: vmName(platform, `hist-${n}`, 1),
    zone: 'local-a',
    provisioning: 'STANDARD' as const,
  };
  return {
    ...base(`hist-${String(n).padStart(6, '0')}`, platform, status, now),
    message: `Ended ${status}`,
    attempts: 1,
    enqueueGeneration: 2,
    createdAt: ago(finishedAt, 10),
    updatedAt: finishedAt,
    queuedAt: ago(finishedAt, 10),
    startedAt: ago(finishedAt, 9),
    finishedAt,
    deadlineAt: ago(finishedAt, -50),
    instance,
    result: { exitCode: 0, passed: 1, failed: 0, summary: '1 passed, 0 failed' },
    deletion: {
      ...instance,
      requestedAt: finishedAt,
      attempts: 1,
      doneAt: finishedAt,
      nextCheckAt: null,
    },
    githubStatus: { state: 'success', description: `Ended ${status}`, at: finishedAt },
  };
}

type Kind = 'lost' | 'pending' | 'late' | 'deleting' | 'status';
const KINDS: readonly Kind[] = ['lost', 'pending', 'late', 'deleting', 'status'];

/** A test one of the sweeps must act on. */
function candidate(kind: Kind, id: string, platform: string, now: Date): TestRecord {
  const t = base(id, platform, 'pending', now);
  const vm = { name: vmName(platform, id, 1), zone: 'local-a', provisioning: 'STANDARD' as const };
  switch (kind) {
    case 'lost': // queued 10 minutes ago; Cloud Tasks lost its task
      return {
        ...t,
        status: 'queued',
        message: 'Tests queued',
        enqueueGeneration: 1,
        queuedAt: ago(now, 10),
        updatedAt: ago(now, 10),
      };
    case 'pending': // waiting for a slot, past the grace, slots free
      return { ...t, message: `Waiting for a free ${platform} VM slot`, updatedAt: ago(now, 10) };
    case 'late': // running past its deadline
      return {
        ...t,
        status: 'running',
        stage: 'testing',
        message: 'Running tests',
        attempts: 1,
        enqueueGeneration: 1,
        queuedAt: ago(now, 40),
        startedAt: ago(now, 39),
        updatedAt: ago(now, 38),
        deadlineAt: ago(now, 5),
        instance: vm,
        githubStatus: { state: 'pending', description: 'Running tests', at: ago(now, 38) },
      };
    case 'deleting': // ended; its VM deletion is due for a check
      return {
        ...t,
        status: 'passed',
        message: 'All tests passed',
        attempts: 1,
        enqueueGeneration: 2,
        startedAt: ago(now, 30),
        finishedAt: ago(now, 20),
        updatedAt: ago(now, 20),
        instance: vm,
        deletion: {
          ...vm,
          requestedAt: ago(now, 20),
          attempts: 0,
          doneAt: null,
          nextCheckAt: ago(now, 10),
        },
        githubStatus: { state: 'success', description: 'All tests passed', at: ago(now, 20) },
      };
    case 'status': // ended; its final status never reached GitHub
      return {
        ...t,
        status: 'failed',
        message: 'Tests failed',
        attempts: 1,
        enqueueGeneration: 2,
        startedAt: ago(now, 30),
        finishedAt: ago(now, 20),
        updatedAt: ago(now, 20),
        statusCheckAt: ago(now, 10),
      };
  }
}

// --- the run ------------------------------------------------------------------------

export interface SweepsScenarioOptions {
  /** Ended tests stored. Default 100,000 (short: 2,000). */
  stored?: number;
  /** Candidate counts, one measured run each. Default [10, 100]. */
  candidates?: readonly number[];
}

interface RunFigures {
  candidates: number;
  pendingMs: number;
  expiredMs: number;
  pending: OpsCounts;
  expired: OpsCounts;
  acted: number;
  errors: number;
}

async function writeDocs(
  db: Firestore,
  collection: string,
  records: (i: number) => TestRecord,
  total: number,
  progress: (done: number) => void,
): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < total) {
      const start = next;
      const end = Math.min(total, start + WRITE_BATCH);
      next = end;
      const batch = db.batch();
      for (let i = start; i < end; i++) {
        const record = records(i);
        batch.set(db.collection(collection).doc(record.id), testToDoc(record));
      }
      await batch.commit();
      done += end - start;
      progress(done);
    }
  };
  await Promise.all(Array.from({ length: WRITES_IN_FLIGHT }, worker));
}

async function deleteDocs(
  db: Firestore,
  collection: string,
  ids: readonly string[],
): Promise<void> {
  for (let i = 0; i < ids.length; i += WRITE_BATCH) {
    const batch = db.batch();
    for (const id of ids.slice(i, i + WRITE_BATCH)) batch.delete(db.collection(collection).doc(id));
    await batch.commit();
  }
  // The slots the candidates held.
  const slots = await db.collection(DEFAULT_COLLECTIONS.capacity).get();
  if (!slots.empty) {
    const batch = db.batch();
    slots.docs.forEach((d) => batch.delete(d.ref));
    await batch.commit();
  }
}

async function measureRun(
  db: Firestore,
  store: TestStore,
  counter: FirestoreOpsCounter,
  config: VmciConfig,
  count: number,
  label: string,
): Promise<{ figures: RunFigures; ids: string[] }> {
  const now = new Date();
  const platforms = Object.keys(config.platforms);
  const tests = Array.from({ length: count }, (_, i) =>
    candidate(
      KINDS[i % KINDS.length]!,
      `cand-${label}-${String(i).padStart(4, '0')}`,
      platforms[i % platforms.length]!,
      now,
    ),
  );
  await writeDocs(
    db,
    DEFAULT_COLLECTIONS.tests,
    (i) => tests[i]!,
    tests.length,
    () => {},
  );

  const vms = createMemoryProvisioner({ now: () => Date.now(), sleep: async () => {} });
  for (const test of tests) {
    if (test.status === 'running') {
      const taken = await store.acquireSlot(test.platform, test.id, 10_000, ago(now, 39));
      if (!taken.acquired) throw new Error(`no slot for ${test.id}`);
    }
    if (test.instance && (test.status === 'running' || test.deletion)) {
      const created = await vms.createVm(
        {
          name: test.instance.name,
          zone: test.instance.zone,
          provisioning: 'STANDARD',
          requestId: requestId(
            `${test.id}/${test.instance.name}`,
            1,
            test.instance.zone,
            'STANDARD',
          ),
          testId: test.id,
          machineType: 'e2-small',
          image: 'projects/debian-cloud/global/images/family/debian-12',
          diskSizeGb: 10,
          network: 'global/networks/default',
          externalIp: true,
          labels: { ...vmLabels(test.platform, test.id) },
          metadata: { [VM_TEST_ID_METADATA_KEY]: test.id },
          maxRunSeconds: 3600,
        },
        { budgetMs: 1000 },
      );
      if (!created.ok) throw new Error(`seeding a VM failed: ${created.error.detail}`);
    }
  }

  let errors = 0;
  const log = createLogger({
    write: (line) => {
      if (/"severity":"(ERROR|CRITICAL)"/.test(line)) errors += 1;
    },
  });
  const deps: SweepExpiredDeps = {
    store,
    statuses: createMemoryStatusPort(),
    statusContext: config.statusContext,
    publicUrl: config.publicUrl,
    log,
    now: () => now,
    queue: createMemoryQueue(),
    config,
    vms,
    github: createMemoryLookupPort(),
    deleteBudgetMs: 1000,
  };

  const timed = async <T>(run: () => Promise<T>) => {
    counter.reset();
    counter.start();
    const started = performance.now();
    try {
      const result = await run();
      return { result, ms: performance.now() - started, counts: { ...counter.counts } };
    } finally {
      counter.stop();
    }
  };
  const pending = await timed(() => sweepPending(deps));
  const expired = await timed(() => sweepExpired(deps));
  const done = (counts: Record<string, unknown>): number =>
    Object.values(counts).reduce<number>((sum, step) => {
      if (step && typeof step === 'object' && 'done' in step && typeof step.done === 'number') {
        return sum + step.done;
      }
      return sum + (step && typeof step === 'object' ? done(step as Record<string, unknown>) : 0);
    }, 0);
  return {
    figures: {
      candidates: count,
      pendingMs: pending.ms,
      expiredMs: expired.ms,
      pending: pending.counts,
      expired: expired.counts,
      acted:
        done(pending.result as unknown as Record<string, unknown>) +
        done(expired.result as unknown as Record<string, unknown>),
      errors,
    },
    ids: tests.map((t) => t.id),
  };
}

function toResult(stored: number, f: RunFigures): ScenarioResult {
  const reads = f.pending.documents + f.expired.documents;
  const figures: Figure[] = [
    { name: 'candidates', value: f.candidates, unit: 'count' },
    { name: 'sweepPending time', value: f.pendingMs, unit: 'ms' },
    { name: 'sweepPending documents read', value: f.pending.documents, unit: 'count' },
    { name: 'sweepExpired time', value: f.expiredMs, unit: 'ms' },
    { name: 'sweepExpired documents read', value: f.expired.documents, unit: 'count' },
    { name: 'queries (both sweeps)', value: f.pending.queries + f.expired.queries, unit: 'count' },
    {
      name: 'reads / candidates',
      value: f.candidates > 0 ? reads / f.candidates : 0,
      unit: 'ratio',
      target: { op: '<=', value: READ_TARGET },
    },
  ];
  return {
    scenario: 'sweeps',
    mode: `${stored.toLocaleString('en-US')} stored, ${f.candidates} candidates`,
    figures,
    notes: [
      FIRESTORE_OPS_NOTE,
      '"documents read" here are the documents returned: a query that returned nothing adds 0 (Firestore bills it one read); the queries are shown apart.',
      `Candidates: an even mix of queued tests whose task was lost, pending tests past the grace with free slots, running tests past their deadline (slot held, VM present), ended tests whose VM deletion is due, ended tests whose final status is due again; ${f.acted} actions taken, ${f.errors} errors logged.`,
      "The sweeps are the domain functions over the Firestore adapter on the emulator; the queue, Compute and GitHub are memory doubles. The emulator has no real indexes, so its time grows with the documents stored where Firestore's would not.",
      ...describeBySite(f.pending, f.candidates).map(
        (line) => `per candidate, sweepPending: ${line}`,
      ),
      ...describeBySite(f.expired, f.candidates).map(
        (line) => `per candidate, sweepExpired: ${line}`,
      ),
    ],
  };
}

export function createSweepsScenario(options: SweepsScenarioOptions = {}): Scenario {
  return {
    name: 'sweeps',
    async run(ctx: BenchContext): Promise<ScenarioResult[]> {
      const stored = options.stored ?? (ctx.short ? 2_000 : 100_000);
      const counts = options.candidates ?? [10, 100];
      const emulator = await ensureFirestoreEmulator({ log: ctx.log });
      const projectId = `vmci-bench-sweeps-${randomBytes(4).toString('hex')}`;
      const db = emulatorFirestore({ host: emulator.host, projectId });
      const counter = countFirestoreOps({ sites: true });
      try {
        const config = benchConfig();
        const platforms = Object.keys(config.platforms);
        const started = performance.now();
        await writeDocs(
          db,
          DEFAULT_COLLECTIONS.tests,
          (i) => historic(i, platforms[i % platforms.length]!, new Date()),
          stored,
          (done) => ctx.progress('sweeps: storing ended tests', done, stored),
        );
        ctx.log(
          `sweeps: ${stored} ended tests stored in ${Math.round(performance.now() - started)} ms`,
        );
        const store = createFirestoreStore({ db });
        const results: ScenarioResult[] = [];
        for (const [i, count] of counts.entries()) {
          ctx.progress('sweeps: runs', i, counts.length);
          const run = await measureRun(db, store, counter, config, count, `r${i}`);
          results.push(toResult(stored, run.figures));
          await deleteDocs(db, DEFAULT_COLLECTIONS.tests, run.ids);
        }
        ctx.progress('sweeps: runs', counts.length, counts.length);
        return results;
      } finally {
        counter.restore();
        await clearEmulatorProject(emulator.host, projectId).catch(() => {});
        await db.terminate();
        await emulator.stop();
      }
    },
  };
}

export const sweepsScenario: Scenario = createSweepsScenario();
