// Cost per test: the calls to Google's and GitHub's APIs that each test makes,
// counted from the stand-ins over pushes × 2 platforms run until `running`
// (VMs without script never end; a mode with VMs that report a result on a timer
// can run them to the end through runCostScenario's options).
// Firestore reads and writes are not counted yet: the functions build their own
// Firestore client, and the emulator reports no counts.
import type { LocalCloudOptions } from '../local/cloud';
import { startBenchCloud } from './cloud';
import { manySlots, testsOf } from './pipeline';
import { sendPush } from './pushes';
import type { BenchContext, ScenarioResult } from './scenario';
import type { Scenario } from './scenario';
import { inBatches, waitFor } from './stats';
import type { TestRecord } from '../../shared/domain/test';

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

export async function runCostScenario(
  ctx: BenchContext,
  options: CostOptions = {},
): Promise<ScenarioResult> {
  const pushes = ctx.short ? 5 : 20;
  const bench = await startBenchCloud({
    bootVms: false,
    configure: manySlots(10_000),
    ...options.cloud,
  });
  try {
    const expected = pushes * Object.keys(bench.cloud.config.platforms).length;
    const deliveries = await inBatches(pushes, 5, () => sendPush(bench.cloud));
    const shas = deliveries.map((d) => d.sha);
    const done = options.done ?? isRunning;
    const finished = await waitFor(
      async () => {
        const tests = await testsOf(bench.store, shas);
        const count = tests.filter(done).length;
        ctx.progress(`cost: tests ${options.until ?? 'running'}`, count, expected);
        return count >= expected;
      },
      120_000,
      250,
    );
    // Let what follows the last test's move (its status post) finish before counting.
    await bench.cloud.tasks.whenIdle();
    const tasks = bench.cloud.tasks;
    const taskNames = new Set([
      ...tasks.history().map((h) => h.task),
      ...tasks.tasks().map((t) => t.name),
    ]);
    const github = bench.cloud.github.calls();
    const compute = bench.cloud.compute.calls();
    const per = (n: number) => n / expected;
    return {
      scenario: 'cost',
      ...(options.mode ? { mode: options.mode } : {}),
      figures: [
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
          name: 'tests not done after 120 s',
          value: finished ? 0 : expected,
          unit: 'count',
          target: { op: '<=', value: 0 },
        },
      ],
      notes: [
        `${pushes} pushes × ${expected / pushes} platforms, counted until every test was ${options.until ?? 'running'}`,
        'counted from the Tasks, GitHub and Compute stand-ins; Firestore reads and writes are not counted (no hook yet)',
      ],
    };
  } finally {
    await bench.close();
  }
}

export const costScenario: Scenario = {
  name: 'cost',
  async run(ctx) {
    return [await runCostScenario(ctx)];
  },
};
