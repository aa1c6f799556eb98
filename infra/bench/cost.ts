// Cost per test: the calls to Google's and GitHub's APIs that each test makes,
// over pushes × 2 platforms, in two modes: VMs without script, counted until
// every test is `running`; and timer VMs (bootVms 'timer': they report
// preparation, testing and a result), counted until every test has ended.
// Firestore reads and writes are counted at the client (./firestore-ops.ts), by
// collection and kind, for the webhook alone (the queue is paused while the
// pushes are sent) and for the whole way. Cloud Tasks, GitHub and Compute calls
// are counted from the stand-ins. Only the functions a test goes through are
// mounted (webhook, runTest, progress, status): the sweeps run on a schedule,
// not per test; their reads are the sweeps scenario's. The notes list where each
// read and write goes: the store method and its caller, per test.
import type { LocalCloudOptions } from '../local/cloud';
import type { FunctionName } from '../local/functions';
import { startBenchCloud } from './cloud';
import {
  billedReads,
  countFirestoreOps,
  describeByCollection,
  FIRESTORE_OPS_NOTE,
  describeBySite,
  type CollectionOps,
  type OpsCounts,
} from './firestore-ops';
import { manySlots, testsOf } from './pipeline';
import { sendPush } from './pushes';
import type { BenchContext, Figure, Scenario, ScenarioResult } from './scenario';
import { inBatches, sleep, waitFor } from './stats';
import { isTerminal, type TestRecord } from '../../shared/domain/test';

/** The functions a test goes through (no sweep: they are not per test). */
export const PER_TEST_FUNCTIONS: readonly FunctionName[] = [
  'webhook',
  'runTest',
  'progress',
  'status',
];

export interface CostOptions {
  /** The label of the Compute stand-in's mode (ScenarioResult.mode). */
  mode?: string;
  /** Extra options for the local cloud (a Compute mode, bootVms…). */
  cloud?: Partial<LocalCloudOptions>;
  /** When a test counts as done; default: once it is `running`. */
  done?: (test: TestRecord) => boolean;
  /** How the end is named in the notes; default 'running'. */
  until?: string;
}

const isRunning = (test: TestRecord) => test.timeline.some((entry) => entry.status === 'running');
const hasEnded = (test: TestRecord) => isTerminal(test.status);

/** Firestore counts minus an earlier snapshot of them (what came after it). */
function minus(total: OpsCounts, part: OpsCounts): OpsCounts {
  const diff = <T extends object>(a: T, b: T | undefined): T =>
    Object.fromEntries(
      Object.entries(a).map(([k, v]) => [
        k,
        typeof v === 'number' ? v - ((b as Record<string, number> | undefined)?.[k] ?? 0) : v,
      ]),
    ) as T;
  const diffMap = (a: Record<string, CollectionOps>, b: Record<string, CollectionOps> = {}) =>
    Object.fromEntries(Object.entries(a).map(([name, ops]) => [name, diff(ops, b[name])]));
  return {
    ...diff(total, part),
    byCollection: diffMap(total.byCollection, part.byCollection),
    bySite: Object.fromEntries(
      Object.entries(total.bySite).map(([site, ops]) => [site, diffMap(ops, part.bySite[site])]),
    ),
  };
}

/** Waits until the counts stop moving for quietMs (what follows the last move finishes). */
async function settle(counts: OpsCounts, quietMs = 400, maxMs = 10_000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = '';
  for (;;) {
    const now = JSON.stringify(counts);
    if (now === last || Date.now() > until) return;
    last = now;
    await sleep(quietMs);
  }
}

export async function runCostScenario(
  ctx: BenchContext,
  options: CostOptions = {},
): Promise<ScenarioResult> {
  const pushes = ctx.short ? 5 : 20;
  const until = options.until ?? 'running';
  // Counting starts before the cloud: its functions' copy of the client is patched as it loads.
  const counter = countFirestoreOps({ sites: true });
  let bench: Awaited<ReturnType<typeof startBenchCloud>> | undefined;
  try {
    bench = await startBenchCloud({
      bootVms: false,
      configure: manySlots(10_000),
      functions: PER_TEST_FUNCTIONS,
      ...options.cloud,
    });
    const { cloud, store } = bench;
    counter.ignore(bench.db);
    const expected = pushes * Object.keys(cloud.config.platforms).length;

    // The webhook alone: the queue holds its tasks until every push was answered.
    cloud.tasks.pause();
    counter.start();
    const deliveries = await inBatches(pushes, 5, () => sendPush(cloud));
    await settle(counter.counts);
    const webhook = structuredClone(counter.counts);
    cloud.tasks.resume();

    const shas = deliveries.map((d) => d.sha);
    const done = options.done ?? isRunning;
    const finished = await waitFor(
      async () => {
        const tests = await testsOf(store, shas);
        const count = tests.filter(done).length;
        ctx.progress(`cost: tests ${until}`, count, expected);
        return count >= expected;
      },
      120_000,
      250,
    );
    // Let what follows the last test's move (its status post) finish before counting.
    await cloud.tasks.whenIdle();
    await settle(counter.counts);
    counter.stop();
    const total = structuredClone(counter.counts);
    const after = minus(total, webhook);

    const tasks = cloud.tasks;
    const taskNames = new Set([
      ...tasks.history().map((h) => h.task),
      ...tasks.tasks().map((t) => t.name),
    ]);
    const github = cloud.github.calls();
    const compute = cloud.compute.calls();
    const per = (n: number) => n / expected;
    const collections = Object.entries(total.byCollection).sort(([a], [b]) => a.localeCompare(b));
    const figures: Figure[] = [
      { name: 'Firestore reads per test', value: per(billedReads(total)), unit: 'ratio' },
      { name: 'Firestore writes per test', value: per(total.writes), unit: 'ratio' },
      { name: 'Firestore commits per test', value: per(total.commits), unit: 'ratio' },
      {
        name: 'webhook: Firestore reads per test',
        value: per(billedReads(webhook)),
        unit: 'ratio',
      },
      { name: 'webhook: Firestore writes per test', value: per(webhook.writes), unit: 'ratio' },
      ...collections.flatMap(([name, ops]): Figure[] => [
        ...(billedReads(ops) > 0
          ? [
              {
                name: `reads per test: ${name}`,
                value: per(billedReads(ops)),
                unit: 'ratio' as const,
              },
            ]
          : []),
        ...(ops.writes > 0
          ? [{ name: `writes per test: ${name}`, value: per(ops.writes), unit: 'ratio' as const }]
          : []),
      ]),
      { name: 'Cloud Tasks created per test', value: per(taskNames.size), unit: 'ratio' },
      {
        name: 'Cloud Tasks dispatches per test',
        value: per(tasks.history().length),
        unit: 'ratio',
      },
      { name: 'GitHub API calls per test', value: per(github.length), unit: 'ratio' },
      {
        name: 'GitHub status posts per test',
        value: per(
          github.filter((c) => c.method === 'POST' && c.path.includes('/statuses/')).length,
        ),
        unit: 'ratio',
      },
      {
        name: 'Compute inserts per test',
        value: per(compute.filter((c) => c.method === 'insert').length),
        unit: 'ratio',
      },
      {
        name: `tests not ${until} after 120 s`,
        value: finished ? 0 : expected,
        unit: 'count',
        target: { op: '<=', value: 0 },
      },
    ];
    return {
      scenario: 'cost',
      ...(options.mode ? { mode: options.mode } : {}),
      figures,
      notes: [
        `${pushes} pushes × ${expected / pushes} platforms, counted until every test was ${until}; functions mounted: ${PER_TEST_FUNCTIONS.join(', ')} (no sweep)`,
        `webhook (queue paused) reads per test: ${describeByCollection(webhook, 'reads', expected)}`,
        `webhook writes per test: ${describeByCollection(webhook, 'writes', expected)}`,
        `after the webhook (runTest, progress, status) reads per test: ${describeByCollection(after, 'reads', expected)}`,
        `after the webhook writes per test: ${describeByCollection(after, 'writes', expected)}`,
        `Firestore commits that failed (aborted, precondition): ${total.failedCommits}`,
        ...describeBySite(webhook, expected).map((line) => `per test, webhook: ${line}`),
        ...describeBySite(after, expected).map((line) => `per test, after the webhook: ${line}`),
        'reads are billed reads: documents returned, plus one per query that returned none',
        FIRESTORE_OPS_NOTE,
        'Cloud Tasks, GitHub and Compute calls are counted from their stand-ins',
      ],
    };
  } finally {
    counter.restore();
    await bench?.close();
  }
}

export const costScenario: Scenario = {
  name: 'cost',
  async run(ctx) {
    return [
      await runCostScenario(ctx, { mode: 'VMs without script, to running' }),
      await runCostScenario(ctx, {
        mode: 'timer VMs, to the end',
        cloud: { bootVms: 'timer' },
        done: hasEnded,
        until: 'ended',
      }),
    ];
  },
};
