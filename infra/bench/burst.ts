// Burst: N pushes × 2 platforms arriving within a few seconds, maxConcurrent high.
// Figures: the time from the first request until every VM insert was requested;
// inserts per second; duplicates (a test with two accepted inserts: must be 0);
// tests whose webhook answered without giving them a task (they wait for the
// pending sweep, up to a minute later).
import { sendPush } from './pushes';
import { insertsByName, startPipelineCloud, testsOf, timesOf } from './pipeline';
import type { Scenario } from './scenario';
import { inBatches, waitFor } from './stats';

/** Deliveries in flight while the burst is sent. */
const IN_FLIGHT = 50;
/** How long the burst may take to reach every insert, sweeps included. */
const GIVE_UP_MS = 180_000;

export const burstScenario: Scenario = {
  name: 'burst',
  async run(ctx) {
    const pushes = ctx.short ? 25 : 500;
    const bench = await startPipelineCloud(100_000);
    try {
      const platforms = Object.keys(bench.cloud.config.platforms).length;
      const expected = pushes * platforms;
      const started = Date.now();
      let answered = 0;
      const deliveries = await inBatches(pushes, IN_FLIGHT, async () => {
        const delivery = await sendPush(bench.cloud);
        answered += 1;
        ctx.progress('burst: pushes', answered, pushes);
        return delivery;
      });
      const sentWithinMs = Date.now() - started;
      const shas = deliveries.map((d) => d.sha);
      // Once every webhook answered, a test still `pending` has no task: its webhook
      // could not enqueue it, and only the pending sweep will.
      const afterWebhooks = await testsOf(bench.store, shas);
      const notEnqueued = afterWebhooks.filter(
        (t) => t.status === 'pending' && t.enqueueGeneration === 0,
      );
      const acceptedInserts = () =>
        bench.cloud.compute
          .calls()
          .filter((c) => c.method === 'insert' && c.outcome === 'new_operation');
      const allInserted = await waitFor(
        () => {
          const count = new Set(acceptedInserts().map((c) => c.name)).size;
          ctx.progress('burst: inserts requested', count, expected);
          return count >= expected;
        },
        GIVE_UP_MS,
        100,
      );
      const calls = bench.cloud.compute.calls();
      const inserts = acceptedInserts();
      const lastInsert = Math.max(...inserts.map((c) => c.at.getTime()));
      const tests = await testsOf(bench.store, shas);
      const times = timesOf(tests, calls);
      // A duplicate: more accepted inserts than tests that have a VM, or one name inserted twice.
      const byName = insertsByName(calls);
      const namesTwice = [...byName.values()].filter((list) => list.length > 1).length;
      const withVm = times.filter((t) => t.insertAt !== undefined).length;
      const duplicates = Math.max(inserts.length - withVm, namesTwice);
      const seconds = (lastInsert - started) / 1000;
      return [
        {
          scenario: 'burst',
          figures: [
            { name: `${pushes} pushes sent within`, value: sentWithinMs, unit: 'ms' },
            {
              name: `all ${expected} inserts requested`,
              value: allInserted ? lastInsert - started : Number.POSITIVE_INFINITY,
              unit: 'ms',
              target: { op: '<=', value: 30_000 },
            },
            { name: 'inserts per second', value: inserts.length / seconds, unit: 'per_s' },
            {
              name: 'duplicate inserts',
              value: duplicates,
              unit: 'count',
              target: { op: '<=', value: 0 },
            },
            {
              name: 'tests left to the pending sweep',
              value: notEnqueued.length,
              unit: 'count',
              target: { op: '<=', value: 0 },
            },
            {
              name: 'webhook errors (non-2xx)',
              value: deliveries.filter((d) => d.status < 200 || d.status >= 300).length,
              unit: 'count',
              target: { op: '<=', value: 0 },
            },
          ],
          notes: [
            `${pushes} pushes × ${platforms} platforms, ${IN_FLIGHT} deliveries in flight, maxConcurrent 100000, VMs without script`,
            'the local queue dispatches at the stand-in’s default rate (500/s), not the configured queue.maxDispatchesPerSecond',
            '"left to the pending sweep": tests still pending without a task once every webhook had answered',
          ],
        },
      ];
    } finally {
      await bench.close();
    }
  },
};
