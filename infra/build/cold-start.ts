// npm run bench:cold-start [-- --runs 5] [--only webhook] [--bundles <dir>]: how long a
// function takes from process start to its first answer, run from source as today
// (`node -r @swc-node/register functions/<name>/index.ts`) and as built (`node
// index.js` in its bundle from `npm run build`, built here first unless --bundles
// names a folder `npm run build` wrote). Two answers are timed, each in a process
// of its own, one process at a time:
//   - unsigned: a POST without a signature or token, answered 401 by the door
//     before any Google call (what earlier figures measured). The process is
//     given no local endpoints (as deployed: the Google clients are made for
//     Google itself, which they do not call before a request needs them);
//   - signed: what the function is really started for. For webhook, a real push
//     (@octokit/webhooks-examples) of a new commit signed with the webhook secret,
//     which must be answered 2xx: its tests stored in Firestore and their tasks
//     created. For runTest, a task the webhook queued, delivered as Cloud Tasks
//     does (with its OIDC token), which must be answered 200: the test claimed
//     and its VM requested. A function that loads what it needs only after it
//     listens gains nothing on this figure.
// The signed requests are served against a local cloud started here (the
// Firestore emulator, the Tasks, Compute and GitHub stand-ins; its queue paused
// so that nothing else calls runTest); the table shows the median of the runs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { FunctionName } from '../local/functions';
import { buildFunctions, DEFAULT_CONFIG, ROOT } from './build-functions';
import { freePort } from '../local/firestore-emulator';
import { examplePayload } from '../local/send-webhook';
import { startBenchCloud, type BenchCloud } from '../bench/cloud';
import { mintLocalToken } from '../../shared/auth/local-token';
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';

export const COLD_START_FUNCTIONS: readonly FunctionName[] = ['webhook', 'runTest'];

/** What the started process is first asked. */
export type Probe = 'unsigned' | 'signed';
export const PROBES: readonly Probe[] = ['unsigned', 'signed'];

interface Variant {
  label: string;
  name: FunctionName;
  how: 'source' | 'bundle';
  args: string[];
  cwd: string;
}

/** One HTTP request, sent again until the process listens. */
interface Request {
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Whether the answer is the one expected (anything else fails the measurement). */
  expect: (status: number) => boolean;
}

/**
 * The CPU time (user + system, all threads) a process has used so far, in
 * milliseconds, from /proc (Linux); undefined elsewhere. Less sensitive than
 * wall time to other work on a shared machine.
 */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime, fields 14 and 15 of stat(5), in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Milliseconds from spawn to the answer of `request` in a fresh process, and its CPU time by then. */
async function coldStart(
  variant: Variant,
  env: Record<string, string>,
  request: Request,
): Promise<Sample> {
  const port = await freePort();
  let output = '';
  const started = performance.now();
  const child = spawn(process.execPath, variant.args, {
    cwd: variant.cwd,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-8000)));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${variant.label} exited: ${output}`);
      let res: Response;
      try {
        res = await fetch(`http://127.0.0.1:${port}${request.path}`, {
          method: 'POST',
          headers: request.headers,
          body: request.body,
        });
      } catch {
        if (performance.now() - started > 60_000) throw new Error(`${variant.label}: no answer`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      const ms = performance.now() - started;
      const cpuMs = processCpuMs(child.pid);
      const text = await res.text();
      if (!request.expect(res.status)) {
        throw new Error(`${variant.label}: unexpected answer ${res.status} ${text}\n${output}`);
      }
      return { ms, cpuMs };
    }
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Timing {
  /** Milliseconds of each run, in order. */
  runs: number[];
  median: number;
  /** The process's CPU time by its answer, each run (Linux only; else empty). */
  cpuRuns: number[];
  cpuMedian?: number;
}

type Sample = { ms: number; cpuMs: number | undefined };

function timing(runs: Sample[]): Timing {
  const ms = runs.map((r) => r.ms);
  const cpu = runs.flatMap((r) => (r.cpuMs === undefined ? [] : [r.cpuMs]));
  return {
    runs: ms,
    median: median(ms),
    cpuRuns: cpu,
    ...(cpu.length === runs.length && cpu.length > 0 ? { cpuMedian: median(cpu) } : {}),
  };
}

export interface ColdStartTimes {
  label: string;
  function: FunctionName;
  how: 'source' | 'bundle';
  /** Process start → the 401 to an unsigned POST. */
  unsigned: Timing;
  /** Process start → the answer to the first real, signed request (see the top of this file). */
  signed: Timing;
}

const { payload: PUSH } = examplePayload('push');

function freshSha(): string {
  return createHash('sha1').update(randomBytes(16)).digest('hex');
}

/** A signed push of a new commit, with the headers GitHub (and sendWebhook) sends. */
function signedPush(secret: string): Request {
  const body = JSON.stringify({ ...structuredClone(PUSH), after: freshSha() });
  return {
    path: '/',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/local',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
    expect: (status) => status >= 200 && status < 300,
  };
}

/**
 * A runTest task as Cloud Tasks delivers it: a push sent to the cloud's own
 * webhook queues tests (the queue is paused), and one of their tasks is taken
 * with the headers and OIDC token the Tasks stand-in would attach.
 */
async function queuedTask(bench: BenchCloud, used: Set<string>): Promise<Request> {
  const { cloud } = bench;
  const push = signedPush(cloud.webhookSecret);
  const res = await fetch(`${cloud.url}/webhook`, {
    method: 'POST',
    headers: push.headers,
    body: push.body,
  });
  if (!res.ok) throw new Error(`the cloud's webhook answered ${res.status}: ${await res.text()}`);
  const task = cloud.tasks.tasks().find((t) => !used.has(t.name));
  if (!task) throw new Error('the push queued no task');
  used.add(task.name);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(task.headers)) {
    if (!/^(authorization|content-length|host|user-agent)$/i.test(name)) headers[name] = value;
  }
  headers['User-Agent'] = 'Google-Cloud-Tasks';
  headers['X-CloudTasks-QueueName'] = task.queue.split('/').pop()!;
  headers['X-CloudTasks-TaskName'] = task.id;
  headers['X-CloudTasks-TaskRetryCount'] = '0';
  headers['X-CloudTasks-TaskExecutionCount'] = '0';
  headers['X-CloudTasks-TaskETA'] = (task.scheduleTime.getTime() / 1000).toFixed(6);
  if (!task.oidcToken) throw new Error('the queued task has no OIDC token');
  const token = mintLocalToken(cloud.localTokenSecret, {
    kind: 'oidc',
    email: task.oidcToken.serviceAccountEmail,
    aud: task.oidcToken.audience ?? task.url,
  });
  headers.Authorization = `Bearer ${token}`;
  return { path: '/', headers, body: task.body.toString('utf8'), expect: (s) => s === 200 };
}

/** What points the functions at the local cloud (shared/runtime/env.ts). */
const LOCAL_ONLY = [
  'VMCI_LOCAL_ENDPOINT',
  'VMCI_LOCAL_TOKEN_SECRET',
  'FIRESTORE_EMULATOR_HOST',
  'VMCI_FIRESTORE_PROJECT',
];

const UNSIGNED: Request = {
  path: '/',
  headers: { 'content-type': 'application/json' },
  body: '{}',
  expect: (status) => status === 401,
};

export interface ColdStartOptions {
  runs?: number;
  /** Also measure the bundles (default true). */
  bundles?: boolean;
  /** A folder `npm run build` wrote, measured instead of building one here. */
  bundleDir?: string;
  /** Only these functions (default webhook and runTest). */
  functions?: readonly FunctionName[];
  /** Measure from source too (default true). */
  source?: boolean;
  onRun?: (done: number, total: number) => void;
}

/**
 * Cold starts of webhook and runTest, `runs` times each and for each probe,
 * round-robin; from source, and as built (`npm run build`'s bundles).
 */
export async function measureColdStarts(options: ColdStartOptions = {}): Promise<ColdStartTimes[]> {
  const runs = options.runs ?? 5;
  const bundles = options.bundles ?? true;
  const names = options.functions ?? COLD_START_FUNCTIONS;
  const out = options.bundleDir
    ? resolve(options.bundleDir)
    : bundles
      ? mkdtempSync(join(tmpdir(), 'vmci-cold-start-'))
      : undefined;
  const bench = await startBenchCloud({
    functions: ['webhook'],
    // Every run adds tests: slots must never run out.
    configure: (config) => ({
      ...config,
      platforms: Object.fromEntries(
        Object.entries(config.platforms).map(([name, p]) => [name, { ...p, maxConcurrent: 1000 }]),
      ),
    }),
  });
  try {
    bench.cloud.tasks.pause();
    if (out && !options.bundleDir) {
      await buildFunctions({ outDir: out, config: DEFAULT_CONFIG, functions: names });
    }
    const variants: Variant[] = names.flatMap((name): Variant[] => {
      const list: Variant[] = [];
      if (options.source ?? true) {
        list.push({
          name,
          how: 'source',
          label: `${name}, from source (swc-node)`,
          args: ['-r', '@swc-node/register', join('functions', name, 'index.ts')],
          cwd: ROOT,
        });
      }
      if (out) {
        const modules = join(out, name, 'node_modules');
        if (!existsSync(modules)) symlinkSync(join(ROOT, 'node_modules'), modules, 'dir');
        list.push({
          name,
          how: 'bundle',
          label: `${name}, bundle (node index.js)`,
          args: ['index.js'],
          cwd: join(out, name),
        });
      }
      return list;
    });
    const env = { ...bench.cloud.env };
    // As deployed: no local endpoints, so the clients are made for Google (see the top).
    const deployedEnv = Object.fromEntries(
      Object.entries(env).filter(([name]) => !LOCAL_ONLY.includes(name)),
    );
    const times = new Map(
      variants.map((v) => [v, { unsigned: [] as Sample[], signed: [] as Sample[] }]),
    );
    const used = new Set<string>();
    const total = runs * variants.length * PROBES.length;
    let done = 0;
    // Round-robin, so that a busy moment of the machine falls on every variant alike.
    for (let run = 0; run < runs; run += 1) {
      for (const variant of variants) {
        for (const probe of PROBES) {
          const request =
            probe === 'unsigned'
              ? UNSIGNED
              : variant.name === 'webhook'
                ? signedPush(env.GITHUB_WEBHOOK_SECRET!)
                : variant.name === 'runTest'
                  ? await queuedTask(bench, used)
                  : UNSIGNED;
          const started = await coldStart(
            variant,
            probe === 'unsigned' ? deployedEnv : env,
            request,
          );
          times.get(variant)![probe].push(started);
          done += 1;
          options.onRun?.(done, total);
        }
      }
    }
    return variants.map((variant) => {
      const t = times.get(variant)!;
      return {
        label: variant.label,
        function: variant.name,
        how: variant.how,
        unsigned: timing(t.unsigned),
        signed: timing(t.signed),
      };
    });
  } finally {
    await bench.close();
    if (out && !options.bundleDir) rmSync(out, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      only: { type: 'string' },
      bundles: { type: 'string' },
      'no-source': { type: 'boolean', default: false },
    },
  });
  const runs = Number(values.runs);
  const functions = values.only
    ? (values.only.split(',').filter((n) => n) as FunctionName[])
    : COLD_START_FUNCTIONS;
  const results = await measureColdStarts({
    runs,
    functions,
    source: !values['no-source'],
    ...(values.bundles ? { bundleDir: values.bundles } : {}),
  });
  console.log(`Cold start, process start to first answer (node ${process.version}, ${runs} runs)`);
  console.log('');
  console.log(
    '| function, how it runs | unsigned (401): median | min | max | signed: median | min | max | CPU by the signed answer: median |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const ms = (t: number | undefined) => (t === undefined ? '–' : `${Math.round(t)} ms`);
  for (const result of results) {
    const cells = [result.unsigned, result.signed].flatMap(({ runs: times, median: m }) =>
      [m, Math.min(...times), Math.max(...times)].map(ms),
    );
    cells.push(ms(result.signed.cpuMedian));
    console.log(`| ${result.label} | ${cells.join(' | ')} |`);
  }
  console.log('');
  console.log(
    "unsigned: the 401 to a POST without signature or token, the Google clients made for Google as deployed; signed, against the local cloud: a real push signed with the webhook secret (webhook), a queued task with its OIDC token (runTest), answered 2xx. CPU: the process's user + system time by that answer (all threads).",
  );
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
