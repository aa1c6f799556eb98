// Starts and stops the real Firestore emulator from the gcloud SDK.
// The emulator script is started directly, in its own process group, because
// killing `gcloud emulators firestore start` leaves the JVM running.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join } from 'node:path';

const EMULATOR_IN_SDK = 'platform/cloud-firestore-emulator/cloud_firestore_emulator';
const KNOWN_SDK_ROOTS = [
  '/usr/lib/google-cloud-sdk',
  '/usr/share/google-cloud-sdk',
  '/opt/google-cloud-sdk',
];

export interface RunningEmulator {
  /** host:port, the value for FIRESTORE_EMULATOR_HOST */
  host: string;
  /** true when this process started it (and so must stop it) */
  owned: boolean;
  stop(): Promise<void>;
}

/** Finds the emulator launcher: $VMCI_FIRESTORE_EMULATOR, then the gcloud SDK on PATH, then known SDK roots. */
export function findEmulatorLauncher(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.VMCI_FIRESTORE_EMULATOR;
  if (given) {
    // Said here in one line: a missing file would otherwise surface as a spawn error event.
    if (!existsSync(given)) {
      throw new Error(`VMCI_FIRESTORE_EMULATOR is ${given}, which does not exist.`);
    }
    return given;
  }
  const roots: string[] = [];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const gcloud = join(dir, 'gcloud');
    if (dir && existsSync(gcloud)) roots.push(dirname(dirname(realpathSync(gcloud))));
  }
  roots.push(...KNOWN_SDK_ROOTS);
  for (const root of roots) {
    const launcher = join(root, EMULATOR_IN_SDK);
    if (existsSync(launcher)) return launcher;
  }
  throw new Error(
    'Firestore emulator not found. Install the gcloud SDK component "cloud-firestore-emulator" ' +
      '(and Java 17+), or set VMCI_FIRESTORE_EMULATOR to its cloud_firestore_emulator script.',
  );
}

/** True when a Firestore emulator answers at host:port. */
export async function isEmulatorUp(host: string, timeoutMs = 500): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok && (await res.text()).trim() === 'Ok';
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Uses the emulator at FIRESTORE_EMULATOR_HOST if one answers there; otherwise
 * starts one on a free port and waits until it answers.
 */
export async function ensureFirestoreEmulator(
  options: { env?: NodeJS.ProcessEnv; startTimeoutMs?: number; log?: (line: string) => void } = {},
): Promise<RunningEmulator> {
  const env = options.env ?? process.env;
  const existing = env.FIRESTORE_EMULATOR_HOST;
  if (existing && (await isEmulatorUp(existing))) {
    return { host: existing, owned: false, stop: async () => {} };
  }
  const launcher = findEmulatorLauncher(env);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child = spawn(launcher, ['start', '--host=127.0.0.1', `--port=${port}`], {
    detached: true, // own process group, so stop() reaches the JVM too
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = () => stopGroup(child);

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (!(await isEmulatorUp(host))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`Firestore emulator did not start on ${host}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  options.log?.(`Firestore emulator on ${host} (pid ${child.pid})`);
  child.stdout?.removeAllListeners('data').resume();
  child.stderr?.removeAllListeners('data').resume();
  return { host, owned: true, stop };
}

async function stopGroup(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  if (!signalGroup('SIGTERM')) return;
  // Wait for the whole group (the launcher and its JVM) to go, then force it.
  const deadline = Date.now() + 5000;
  while (signalGroup(0 as unknown as NodeJS.Signals)) {
    if (Date.now() > deadline) {
      signalGroup('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Deletes every document of one project in the emulator. */
export async function clearEmulatorProject(host: string, projectId: string): Promise<void> {
  const res = await fetch(
    `http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`,
    { method: 'DELETE' },
  );
  if (!res.ok) throw new Error(`clearing emulator project ${projectId}: HTTP ${res.status}`);
}
