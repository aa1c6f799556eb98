// The fuzz suite's run (issue 12): generated requests against the public and
// internal doors of the local cloud, in rounds. Each round first sends a few
// signed payloads that may change state, then takes a snapshot, sends a batch
// of invalid requests, and takes another: the two must be equal. Every answer
// must be JSON and below 500, and the server's memory must stay bounded.
import { Agent } from 'node:http';
import { deriveVmToken, hashVmToken } from '../../../shared/auth/vm-token';
import { newTestRecord } from '../../../shared/domain/new-test';
import { seededRandom } from './random';
import {
  nextRequest,
  webhookAccepted,
  type FuzzContext,
  type FuzzRequest,
  type Reporter,
} from './requests';
import { sendFuzzRequest, type FuzzAnswer } from './send';
import { snapshotChanges, startFuzzTarget, type FuzzTarget } from './target';

export interface FuzzOptions {
  requests: number;
  seed: number;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** Share of signed payloads that may be accepted. Default 0.05. */
  acceptedShare?: number;
  /** Invalid requests between two snapshots. Default 500. */
  batch?: number;
  onProgress?: (sent: number, total: number) => void;
  /** A local cloud started by the caller (left running); default: one of its own. */
  target?: FuzzTarget;
}

export interface FuzzProblem {
  kind: string;
  fn: string;
  method: string;
  path: string;
  status: number | null;
  contentType: string | null;
  error?: string;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  durationMs: number;
  /** Answers by HTTP status ("none": the connection ended without one). */
  byStatus: Record<string, number>;
  byFunction: Record<string, number>;
  fiveXx: number;
  html: number;
  nonJson: number;
  noAnswer: number;
  invalid: { sent: number; changes: number; changed: string[] };
  accepted: { sent: number; answered2xx: number };
  memory: { startRss: number; endRss: number; peakRss: number };
  /** The first answers that broke a goal, for replaying with the same seed. */
  problems: FuzzProblem[];
}

const REPORTERS = 6;

/** Running tests at stage `testing`, each with its VM's token, for the progress requests. */
async function seedReporters(target: FuzzTarget, seed: number): Promise<Reporter[]> {
  const reporters: Reporter[] = [];
  const tests = [];
  const now = new Date();
  for (let i = 0; i < REPORTERS; i++) {
    const sha = (seed.toString(16) + i.toString(16)).padStart(40, '0').slice(-40);
    const test = newTestRecord(
      {
        repo: target.config.repositories[0]!,
        sha,
        ref: 'refs/heads/main',
        cloneUrl: 'https://github.com/example/example.git',
        author: 'fuzz',
        trigger: 'push',
        pr: null,
        run: 1,
        platform: Object.keys(target.config.platforms)[0]!,
      },
      { status: 'pending', message: 'Tests queued' },
      now,
    );
    const vm = `vmci-fuzz-${i}`;
    const token = deriveVmToken('fuzz-only-secret', test.id, vm);
    tests.push({
      ...test,
      status: 'running' as const,
      stage: 'testing' as const,
      attempts: 1,
      instance: { name: vm, zone: 'local-a', provisioning: 'STANDARD' as const },
      tokenHash: hashVmToken(token),
    });
    reporters.push({ id: test.id, token });
  }
  await target.store.createTests(tests);
  return reporters;
}

async function sendAll(
  target: FuzzTarget,
  agent: Agent,
  requests: readonly FuzzRequest[],
  concurrency: number,
  onAnswer: (request: FuzzRequest, answer: FuzzAnswer) => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      onAnswer(
        request,
        await sendFuzzRequest({ host: target.host, port: target.port, agent }, request),
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, worker));
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const concurrency = options.concurrency ?? 16;
  const acceptedShare = options.acceptedShare ?? 0.05;
  const batch = options.batch ?? 500;
  const started = Date.now();
  const target = options.target ?? (await startFuzzTarget());
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const report: FuzzReport = {
    seed: options.seed,
    requests: 0,
    durationMs: 0,
    byStatus: {},
    byFunction: {},
    fiveXx: 0,
    html: 0,
    nonJson: 0,
    noAnswer: 0,
    invalid: { sent: 0, changes: 0, changed: [] },
    accepted: { sent: 0, answered2xx: 0 },
    memory: { startRss: 0, endRss: 0, peakRss: 0 },
    problems: [],
  };
  try {
    const random = seededRandom(options.seed);
    const ctx: FuzzContext = {
      secret: target.secret,
      random,
      accepted: [],
      reporters: await seedReporters(target, options.seed),
      repo: target.config.repositories[0]!,
    };
    report.memory.startRss = target.memory().rss;
    const record = (request: FuzzRequest, answer: FuzzAnswer) => {
      report.requests += 1;
      const status = answer.status === null ? 'none' : String(answer.status);
      report.byStatus[status] = (report.byStatus[status] ?? 0) + 1;
      report.byFunction[request.fn] = (report.byFunction[request.fn] ?? 0) + 1;
      const broke = answer.status === null || answer.status >= 500 || answer.html || !answer.json;
      if (answer.status === null) report.noAnswer += 1;
      if (answer.status !== null && answer.status >= 500) report.fiveXx += 1;
      if (answer.html) report.html += 1;
      if (!answer.json) report.nonJson += 1;
      if (broke && report.problems.length < 20) {
        report.problems.push({
          kind: request.kind,
          fn: request.fn,
          method: request.method,
          path: request.path.slice(0, 100),
          status: answer.status,
          contentType: answer.contentType,
          ...(answer.error ? { error: answer.error } : {}),
        });
      }
      options.onProgress?.(report.requests, options.requests);
    };

    while (report.requests < options.requests) {
      const left = options.requests - report.requests;
      // Signed payloads first: they may change state, and are replayed in the batch after.
      const signed = Array.from({ length: Math.min(left, Math.ceil(batch * acceptedShare)) }, () =>
        webhookAccepted(ctx),
      );
      await sendAll(target, agent, signed, concurrency, (request, answer) => {
        record(request, answer);
        report.accepted.sent += 1;
        if (answer.status !== null && answer.status >= 200 && answer.status < 300) {
          report.accepted.answered2xx += 1;
          if (Buffer.isBuffer(request.body)) {
            ctx.accepted.push({ event: request.headers['x-github-event']!, body: request.body });
          }
        }
      });
      const invalid: FuzzRequest[] = [];
      while (invalid.length < Math.min(batch, options.requests - report.requests)) {
        const request = nextRequest(ctx, 0);
        if (request.refusal) invalid.push(request);
      }
      if (invalid.length === 0) break;
      const before = await target.snapshot();
      await sendAll(target, agent, invalid, concurrency, record);
      const changes = snapshotChanges(before, await target.snapshot());
      report.invalid.sent += invalid.length;
      report.invalid.changes += changes.length;
      report.invalid.changed.push(...changes.slice(0, 20 - report.invalid.changed.length));
    }
    const memory = target.memory();
    report.memory.endRss = memory.rss;
    report.memory.peakRss = memory.peak;
  } finally {
    agent.destroy();
    if (!options.target) await target.close();
  }
  report.durationMs = Date.now() - started;
  return report;
}
