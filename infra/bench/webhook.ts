// Webhook latency: request → answer, at 1, 10 and 100 deliveries in flight, each
// a push of a new commit. The Tasks queue is paused and only the webhook and the
// status function are mounted, so nothing but the webhook runs: the figures are
// its own (Firestore emulator, Tasks and GitHub stand-ins included).
import { startBenchCloud } from './cloud';
import { sendPush } from './pushes';
import type { Figure, Scenario, ScenarioResult } from './scenario';
import { inBatches, percentile } from './stats';

export const webhookScenario: Scenario = {
  name: 'webhook',
  async run(ctx) {
    const levels = ctx.short ? [1, 10] : [1, 10, 100];
    const bench = await startBenchCloud({ functions: ['webhook', 'status'] });
    try {
      bench.cloud.tasks.pause();
      const first = await sendPush(bench.cloud);
      const figures: Figure[] = [
        { name: 'first request after start', value: first.answeredAt - first.sentAt, unit: 'ms' },
      ];
      for (const [i, inFlight] of levels.entries()) {
        const count = ctx.short ? Math.max(10, inFlight * 2) : Math.max(50, inFlight * 3);
        let done = 0;
        const started = performance.now();
        const deliveries = await inBatches(count, inFlight, async () => {
          const delivery = await sendPush(bench.cloud);
          done += 1;
          ctx.progress(`webhook ${i + 1}/${levels.length}: ${inFlight} in flight`, done, count);
          return delivery;
        });
        const seconds = (performance.now() - started) / 1000;
        const ms = deliveries.map((d) => d.answeredAt - d.sentAt);
        const at = `${inFlight} in flight`;
        figures.push(
          { name: `${at}: p50`, value: percentile(ms, 50), unit: 'ms' },
          { name: `${at}: p95`, value: percentile(ms, 95), unit: 'ms' },
          { name: `${at}: p99`, value: percentile(ms, 99), unit: 'ms' },
          {
            name: `${at}: max`,
            value: Math.max(...ms),
            unit: 'ms',
            // GitHub gives up on a delivery after 10 seconds.
            target: { op: '<=', value: 10_000 },
          },
          { name: `${at}: answers per second`, value: count / seconds, unit: 'per_s' },
          {
            name: `${at}: errors (non-2xx)`,
            value: deliveries.filter((d) => d.status < 200 || d.status >= 300).length,
            unit: 'count',
            target: { op: '<=', value: 0 },
          },
        );
      }
      const result: ScenarioResult = {
        scenario: 'webhook',
        figures,
        notes: [
          'request → answer of distinct pushes (2 tests each), queue paused, webhook and status mounted only',
          'the first request after start is kept apart from the percentiles',
        ],
      };
      return [result];
    } finally {
      await bench.close();
    }
  },
};
