// Burst: N pushes × 2 platforms arriving within a few seconds, maxConcurrent high.
// Figures: the time from the first request until every VM insert was requested;
// inserts per second; duplicates (a test with two accepted inserts: must be 0);
// tests whose webhook answered without giving them a task (they wait for the
// pending sweep, up to a minute later); the highest writes per second on any one
// Firestore document while the burst runs (real Firestore sustains about one
// write per second per document), counted at the client (./firestore-ops.ts) over
// a sliding one-second window of commit times, per document path.
import {
  countFirestoreOps,
  hottestDocuments,
  topCollection,
  type HotDocument,
} from './firestore-ops';
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
    // Counting starts before the cloud: its functions' copy of the client is patched as it loads.
    const counter = countFirestoreOps();
    let bench: Awaited<ReturnType<typeof startPipelineCloud>> | undefined;
    try {
      bench = await startPipelineCloud(100_000);
      counter.ignore(bench.db);
      const cloud = bench.cloud;
      const platforms = Object.keys(bench.cloud.config.platforms).length;
      const expected = pushes * platforms;
      const started = Date.now();
      counter.start();
      let answered = 0;
      const deliveries = await inBatches(pushes, IN_FLIGHT, async () => {
        const delivery = await sendPush(cloud);
        answered += 1;
        ctx.progress('burst: pushes', answered, pushes);
        return delivery;
      });
      const sentWithinMs = Date.now() - started;
      const shas = deliveries.map((d) => d.sha);
      // Once every webhook answered, a test still `pending` has no task: its webhook
      // could not enqueue it, and only the pending sweep will.
      const afterWebhooks = await testsOf(bench.store, shas);
      // (The webhook stores a test queued and puts it back to pending when its task fails.)
      const notEnqueued = afterWebhooks.filter((t) => t.status === 'pending');
      const acceptedInserts = () =>
        cloud.compute.calls().filter((c) => c.method === 'insert' && c.outcome === 'new_operation');
      const allInserted = await waitFor(
        () => {
          const count = new Set(acceptedInserts().map((c) => c.name)).size;
          ctx.progress('burst: inserts requested', count, expected);
          return count >= expected;
        },
        GIVE_UP_MS,
        100,
      );
      counter.stop();
      const hot = hottestDocuments(counter.writeLog, 1000, Number.POSITIVE_INFINITY);
      const hottest = hot[0];
      const calls = cloud.compute.calls();
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
              name: 'highest writes per second on one document',
              value: hottest?.writes ?? 0,
              unit: 'per_s',
              target: { op: '<=', value: 1 },
            },
            {
              name: 'documents written more than once in a second',
              value: hot.filter((d) => d.writes > 1).length,
              unit: 'count',
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
            `hottest document: ${hottest ? describeHot(hottest, started) : 'none written'}`,
            `hottest per collection: ${hottestPerCollection(hot)
              .map((d) => describeHot(d, started))
              .join('; ')}`,
            `Firestore writes while the burst ran: ${counter.counts.writes} (${(counter.counts.writes / expected).toFixed(1)} per test) in ${counter.counts.commits} commits, ${counter.counts.failedCommits} failed commits; the emulator does not enforce Firestore's per-document write rate (about 1/s sustained), so nothing here slows down or fails for it`,
          ],
        },
      ];
    } finally {
      counter.restore();
      await bench?.close();
    }
  },
};

function describeHot(doc: HotDocument, started: number): string {
  const from = ((doc.from - started) / 1000).toFixed(1);
  const writes = (n: number) => `${n} write${n === 1 ? '' : 's'}`;
  return `${doc.path} (${writes(doc.writes)} within 1 s from +${from} s, ${doc.total} in all)`;
}

/** The hottest document of each top-level collection, hottest first. */
function hottestPerCollection(hot: readonly HotDocument[]): HotDocument[] {
  const seen = new Set<string>();
  return hot.filter((doc) => {
    const collection = topCollection(doc.path);
    if (seen.has(collection)) return false;
    seen.add(collection);
    return true;
  });
}
