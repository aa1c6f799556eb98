// `.local/local-cloud.json`: how a running `npm start` tells `npm run demo`
// where it is and which webhook secret it checks (the secret may be generated),
// and tells `vmci` the functions' environment (their configuration file, the
// GitHub credentials, the emulator), so the CLI acts on it as the functions do.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface CloudState {
  url: string;
  webhookSecret: string;
  pid: number;
  /** The environment the functions run with (LocalCloud.env); absent in files of older `npm start`s. */
  env?: Record<string, string>;
}

/** VMCI_LOCAL_STATE_FILE moves it (tests, so they never touch a developer's file). */
export function stateFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.VMCI_LOCAL_STATE_FILE || join(__dirname, '../../../.local/local-cloud.json');
}

/** Written whole (a rename), readable only by its owner: it holds the webhook secret. */
export function writeStateFile(path: string, state: CloudState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removes the file if it is still this process's (another `npm start` may have replaced it). */
export function removeStateFile(path: string, pid = process.pid): void {
  if (readStateFile(path)?.pid === pid) rmSync(path, { force: true });
}

export function readStateFile(path: string): CloudState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined; // missing or not JSON
  }
  const v = value as Partial<CloudState> | null;
  if (
    typeof v?.url !== 'string' ||
    typeof v.webhookSecret !== 'string' ||
    !Number.isInteger(v.pid) ||
    v.pid! <= 0
  ) {
    return undefined;
  }
  const env = stringRecord(v.env);
  return { url: v.url, webhookSecret: v.webhookSecret, pid: v.pid!, ...(env ? { env } : {}) };
}

/** An object of strings only, else undefined (an older file has none; a bad one is ignored). */
function stringRecord(value: unknown): Record<string, string> | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const entries = Object.entries(value as Record<string, unknown>);
  if (!entries.every((entry): entry is [string, string] => typeof entry[1] === 'string')) {
    return undefined;
  }
  return Object.fromEntries(entries);
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, not ours
  }
}

/** A probe sha no test has: the listing answers 200 with no tests when the cloud is up. */
export const PROBE_SHA = '0'.repeat(40);

export type RunningCloudLookup =
  { found: true; state: CloudState } | { found: false; reason: string };

/** The cloud a state file names, if its process is alive and its status API answers. */
export async function findRunningCloud(
  path: string,
  repo: string,
  // A fresh `npm start` answers its first Firestore query in seconds (a cold emulator).
  timeoutMs = 15_000,
): Promise<RunningCloudLookup> {
  const state = readStateFile(path);
  if (!state) return { found: false, reason: 'no running `npm start` found' };
  if (!pidAlive(state.pid)) {
    return { found: false, reason: `${path} is stale (pid ${state.pid} is gone)` };
  }
  const probe = `${state.url}/status/tests?repo=${encodeURIComponent(repo)}&sha=${PROBE_SHA}`;
  try {
    const res = await fetch(probe, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    if (res.ok) return { found: true, state };
    return { found: false, reason: `${state.url} answered HTTP ${res.status}` };
  } catch {
    return { found: false, reason: `${state.url} does not answer` };
  }
}
