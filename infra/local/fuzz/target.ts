// What the fuzz suite sends its requests to: the whole local cloud (`npm
// start`) as a process of its own, so its memory is measured apart from the
// sender's, with its queue and schedules paused so that nothing moves but
// what the requests do. A snapshot is everything a request could change: every
// Firestore document, the queue's tasks, the Compute calls and the GitHub calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Firestore } from '@google-cloud/firestore';
import { PassThroughClient } from 'google-auth-library';
import { parseConfig, type VmciConfig } from '../../../shared/config';
import { createFirestoreStore } from '../../../shared/store/firestore';
import type { TestStore } from '../../../shared/store/port';
import { clearEmulatorProject, ensureFirestoreEmulator, freePort } from '../firestore-emulator';

const ROOT = join(__dirname, '..', '..', '..');
export const FUZZ_CONFIG = join(ROOT, 'config', 'vmci.local.yaml');

export interface TargetSnapshot {
  documents: Record<string, string>;
  tasks: string[];
  computeCalls: number;
  githubCalls: number;
}

export interface FuzzTarget {
  host: string;
  port: number;
  url: string;
  secret: string;
  config: VmciConfig;
  store: TestStore;
  pid: number;
  snapshot(): Promise<TargetSnapshot>;
  /** Resident memory of the cloud's process now, and its peak so far (VmHWM), in bytes. */
  memory(): { rss: number; peak: number };
  close(): Promise<void>;
}

function readConfig(path: string): VmciConfig {
  const parsed = parseConfig(readFileSync(path, 'utf8'), path);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config;
}

function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

async function waitForReady(child: ChildProcess, output: () => string): Promise<string> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ready = /^ready: (http:\/\/\S+)$/m.exec(output());
    if (ready) return ready[1]!;
    if (child.exitCode !== null) throw new Error(`the local cloud exited:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`the local cloud did not start:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startFuzzTarget(configPath = FUZZ_CONFIG): Promise<FuzzTarget> {
  const emulator = await ensureFirestoreEmulator();
  const project = `vmci-fuzz-${randomBytes(4).toString('hex')}`;
  const secret = randomBytes(16).toString('hex');
  const port = await freePort();
  let output = '';
  const child = spawn(
    process.execPath,
    ['-r', '@swc-node/register', join(ROOT, 'infra/local/start.ts')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        VMCI_CONFIG: configPath,
        GITHUB_WEBHOOK_SECRET: secret,
        FIRESTORE_EMULATOR_HOST: emulator.host,
        VMCI_FIRESTORE_PROJECT: project,
        VMCI_LOCAL_STATE_FILE: join(tmpdir(), `vmci-fuzz-${project}.json`),
        VMCI_LOCAL_VERBOSE: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // The functions' JSON log lines are not kept: at 10,000 requests they are many.
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stopChild = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  let url: string;
  try {
    url = await waitForReady(child, () => output);
  } catch (error) {
    await stopChild();
    await emulator.stop();
    throw error;
  }
  const config = readConfig(configPath);
  const api = (path: string, init?: RequestInit) => fetch(`${url}${path}`, init);
  const queue = `projects/${config.project}/locations/${config.region}/queues/${config.queue.name}`;
  // Nothing runs but what the requests do: no task dispatched, no sweep on schedule.
  await api(`/v2/${queue}:pause`, { method: 'POST' });
  for (const job of ['sweepPending', 'sweepExpired']) {
    await api(`/v1/projects/${config.project}/locations/${config.region}/jobs/${job}:pause`, {
      method: 'POST',
    });
  }
  const db = new Firestore({
    projectId: project,
    host: emulator.host,
    ssl: false,
    ignoreUndefinedProperties: true,
    authClient: new PassThroughClient(),
  });
  const snapshot = async (): Promise<TargetSnapshot> => {
    const documents: Record<string, string> = {};
    for (const collection of await db.listCollections()) {
      for (const doc of (await collection.get()).docs) {
        documents[doc.ref.path] = `${doc.updateTime.seconds}.${doc.updateTime.nanoseconds}`;
      }
    }
    const tasks = (await (await api(`/v2/${queue}/tasks?pageSize=1000`)).json()) as {
      tasks?: { name: string }[];
    };
    const compute = (await (await api('/_local/compute/calls')).json()) as { calls?: unknown[] };
    const github = (await (await api('/github/_local/calls')).json()) as unknown[];
    return {
      documents,
      tasks: (tasks.tasks ?? []).map((t) => t.name).sort(),
      computeCalls: compute.calls?.length ?? 0,
      githubCalls: github.length,
    };
  };
  return {
    host: '127.0.0.1',
    port,
    url,
    secret,
    config,
    store: createFirestoreStore({ db }),
    pid: child.pid!,
    snapshot,
    memory: () => memoryOf(child.pid!),
    close: async () => {
      await stopChild();
      await clearEmulatorProject(emulator.host, project).catch(() => {});
      await db.terminate();
      await emulator.stop();
    },
  };
}

/** How two snapshots differ: documents added, changed or gone; tasks; calls. */
export function snapshotChanges(before: TargetSnapshot, after: TargetSnapshot): string[] {
  const changes: string[] = [];
  const paths = new Set([...Object.keys(before.documents), ...Object.keys(after.documents)]);
  for (const path of paths) {
    if (before.documents[path] !== after.documents[path]) changes.push(`document ${path}`);
  }
  const beforeTasks = new Set(before.tasks);
  for (const task of after.tasks) if (!beforeTasks.has(task)) changes.push(`task ${task}`);
  for (const task of before.tasks)
    if (!after.tasks.includes(task)) changes.push(`task gone ${task}`);
  if (after.computeCalls !== before.computeCalls)
    changes.push(`${after.computeCalls - before.computeCalls} Compute calls`);
  if (after.githubCalls !== before.githubCalls)
    changes.push(`${after.githubCalls - before.githubCalls} GitHub calls`);
  return changes;
}
