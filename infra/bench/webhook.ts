// Webhook latency: request → answer, at 1, 10 and 100 deliveries in flight, each
// a push of a new commit. The Tasks queue is paused and only the webhook and the
// status function are mounted, so nothing but the webhook runs: the figures are
// its own (Firestore emulator, Tasks and GitHub stand-ins included).
//
// Then side by side with the peer's handler (./peer.ts: verify, parse, one
// queue call), in the same process and run: sequential requests alternated
// between vm-ci and the peer, then rounds of 50 in flight alternated between
// them (a round to one, then a round to the other), each request a distinct
// signed push. Targets (issue 16): vm-ci's sequential p50 at most 3× the peer's,
// and its answers per second at 50 in flight at least a third of the peer's.
import { startBenchCloud } from './cloud';
import { startPeerWebhook, type PeerWebhook } from './peer';
import { sendPush, type Delivery } from './pushes';
import type { BenchContext, Figure, Scenario, ScenarioResult } from './scenario';
import { inBatches, percentile } from './stats';

type Target = { url: string; webhookSecret: string };

const failed = (deliveries: readonly Delivery[]) =>
  deliveries.filter((d) => d.status < 200 || d.status >= 300).length;
const latencies = (deliveries: readonly Delivery[]) =>
  deliveries.map((d) => d.answeredAt - d.sentAt);

/** Parallel rounds: width in flight, alternated between the targets, round by round. */
const IN_FLIGHT = 50;

interface SideBySide {
  sequential: { vmci: Delivery[]; peer: Delivery[] };
  parallel: {
    vmci: { deliveries: Delivery[]; seconds: number };
    peer: { deliveries: Delivery[]; seconds: number };
  };
}

async function sideBySide(ctx: BenchContext, vmci: Target, peer: Target): Promise<SideBySide> {
  const each = ctx.short ? 20 : 100;
  const sequential = { vmci: [] as Delivery[], peer: [] as Delivery[] };
  for (let i = 0; i < each * 2; i++) {
    const toPeer = i % 2 === 1;
    const delivery = await sendPush(toPeer ? peer : vmci);
    (toPeer ? sequential.peer : sequential.vmci).push(delivery);
    ctx.progress('webhook beside the peer: sequential', i + 1, each * 2);
  }
  const rounds = ctx.short ? 2 : 4;
  const perRound = ctx.short ? 100 : 150;
  const parallel = {
    vmci: { deliveries: [] as Delivery[], seconds: 0 },
    peer: { deliveries: [] as Delivery[], seconds: 0 },
  };
  let sent = 0;
  for (let round = 0; round < rounds; round++) {
    const side = round % 2 === 0 ? parallel.vmci : parallel.peer;
    const target = round % 2 === 0 ? vmci : peer;
    const started = performance.now();
    const deliveries = await inBatches(perRound, IN_FLIGHT, async () => {
      const delivery = await sendPush(target);
      sent += 1;
      ctx.progress(`webhook beside the peer: ${IN_FLIGHT} in flight`, sent, rounds * perRound);
      return delivery;
    });
    side.seconds += (performance.now() - started) / 1000;
    side.deliveries.push(...deliveries);
  }
  return { sequential, parallel };
}

function sideBySideFigures(run: SideBySide, peerFirst: Delivery): Figure[] {
  const seqPeer = percentile(latencies(run.sequential.peer), 50);
  const seqVmci = percentile(latencies(run.sequential.vmci), 50);
  const rate = (side: SideBySide['parallel']['peer']) => side.deliveries.length / side.seconds;
  const peerRate = rate(run.parallel.peer);
  const vmciRate = rate(run.parallel.vmci);
  const at = `${IN_FLIGHT} in flight`;
  return [
    {
      name: 'peer: first request after start',
      value: peerFirst.answeredAt - peerFirst.sentAt,
      unit: 'ms',
    },
    { name: 'peer: sequential p50', value: seqPeer, unit: 'ms' },
    { name: 'vm-ci: sequential p50', value: seqVmci, unit: 'ms' },
    {
      name: 'vm-ci / peer: sequential p50',
      value: seqVmci / seqPeer,
      unit: 'ratio',
      target: { op: '<=', value: 3 },
    },
    {
      name: 'peer: sequential p99',
      value: percentile(latencies(run.sequential.peer), 99),
      unit: 'ms',
    },
    {
      name: 'vm-ci: sequential p99',
      value: percentile(latencies(run.sequential.vmci), 99),
      unit: 'ms',
    },
    { name: `peer: ${at}, answers per second`, value: peerRate, unit: 'per_s' },
    { name: `vm-ci: ${at}, answers per second`, value: vmciRate, unit: 'per_s' },
    {
      name: `vm-ci / peer: answers per second at ${IN_FLIGHT} in flight`,
      value: vmciRate / peerRate,
      unit: 'ratio',
      target: { op: '>=', value: 1 / 3 },
    },
    {
      name: `peer: ${at}, p50`,
      value: percentile(latencies(run.parallel.peer.deliveries), 50),
      unit: 'ms',
    },
    {
      name: `vm-ci: ${at}, p50`,
      value: percentile(latencies(run.parallel.vmci.deliveries), 50),
      unit: 'ms',
    },
    {
      name: 'peer: errors (non-2xx)',
      value: failed([peerFirst, ...run.sequential.peer, ...run.parallel.peer.deliveries]),
      unit: 'count',
      target: { op: '<=', value: 0 },
    },
    {
      name: 'vm-ci beside the peer: errors (non-2xx)',
      value: failed([...run.sequential.vmci, ...run.parallel.vmci.deliveries]),
      unit: 'count',
      target: { op: '<=', value: 0 },
    },
  ];
}

export const webhookScenario: Scenario = {
  name: 'webhook',
  async run(ctx) {
    const levels = ctx.short ? [1, 10] : [1, 10, 100];
    const bench = await startBenchCloud({ functions: ['webhook', 'status'] });
    let peer: PeerWebhook | undefined;
    try {
      const { cloud } = bench;
      cloud.tasks.pause();
      const first = await sendPush(cloud);
      const figures: Figure[] = [
        { name: 'first request after start', value: first.answeredAt - first.sentAt, unit: 'ms' },
      ];
      for (const [i, inFlight] of levels.entries()) {
        const count = ctx.short ? Math.max(10, inFlight * 2) : Math.max(50, inFlight * 3);
        let done = 0;
        const started = performance.now();
        const deliveries = await inBatches(count, inFlight, async () => {
          const delivery = await sendPush(cloud);
          done += 1;
          ctx.progress(`webhook ${i + 1}/${levels.length}: ${inFlight} in flight`, done, count);
          return delivery;
        });
        const seconds = (performance.now() - started) / 1000;
        const ms = latencies(deliveries);
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
            value: failed(deliveries),
            unit: 'count',
            target: { op: '<=', value: 0 },
          },
        );
      }

      peer = await startPeerWebhook({
        secret: cloud.webhookSecret,
        tasks: { host: '127.0.0.1', port: cloud.port },
        project: cloud.config.project,
        location: cloud.config.region,
        queue: cloud.config.queue.name,
        targetUrl: `${cloud.url}/peer-runner`,
      });
      const peerTarget = { url: peer.url, webhookSecret: cloud.webhookSecret };
      const peerFirst = await sendPush(peerTarget);
      const run = await sideBySide(ctx, cloud, peerTarget);
      figures.push(...sideBySideFigures(run, peerFirst));

      const result: ScenarioResult = {
        scenario: 'webhook',
        figures,
        notes: [
          'request → answer of distinct pushes (2 tests each), queue paused, webhook and status mounted only',
          'the first request after start is kept apart from the percentiles',
          `peer: a handler of the AWS GitHub-runner webhook's shape (verify X-Hub-Signature-256 with @octokit/webhooks, JSON.parse, one Cloud Tasks createTask through @google-cloud/tasks to the Tasks stand-in, 202), served by the same Express app and node:http server in this process; it created ${peer.created()} tasks. Its first request is not a cold start: the modules it uses were loaded by vm-ci's functions`,
          `side by side: ${run.sequential.vmci.length} + ${run.sequential.peer.length} sequential requests alternated one by one, then ${run.parallel.vmci.deliveries.length} + ${run.parallel.peer.deliveries.length} at ${IN_FLIGHT} in flight in rounds alternated between the two; answers per second = requests / time of that target's rounds`,
        ],
      };
      return [result];
    } finally {
      await peer?.close();
      await bench.close();
    }
  },
};
