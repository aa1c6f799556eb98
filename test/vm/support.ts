// Harness for the Linux startup script tests: the script runs for real with
// bash in local mode (VMCI_LOCAL=1), against the local Compute stand-in's
// metadata server, a recording `progress` server and a local git repository.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localVmEnv } from '../../infra/local/compute/boot';
import { startMetadataServer } from '../../infra/local/compute/metadata';
import { git } from '../support/git';

/** VMCI_TEST_LINUX_SCRIPT runs these tests against another copy (an older one, to see them fail). */
export const SCRIPT =
  process.env.VMCI_TEST_LINUX_SCRIPT ?? join(__dirname, '../../infra/vm/linux/startup.sh');
export const TOKEN = 'vmci-tok_Zq9-very-secret-4711';
export const TEST_ID = 'owner~repo~linux~push~"quoted"';

const cleanups: Array<() => void | Promise<void>> = [];

/** Runs (in reverse order) what the helpers started; call it in afterAll. */
export async function cleanUp(): Promise<void> {
  while (cleanups.length) await cleanups.pop()?.();
}

/** Has cleanUp() run `fn` too (after what was registered later). */
export function onCleanUp(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `vmci-linux-${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Repo {
  dir: string;
  /** The commit under test: its README says "first". */
  first: string;
  /** A later commit on the branch tip: its README says "second". */
  second: string;
}

/** A repository with two commits; tests run the first, so a branch tip would be wrong. */
export function makeRepo(): Repo {
  const dir = tempDir('repo');
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'README'), 'first\n');
  writeFileSync(join(dir, 'fail.sh'), 'echo "failing on purpose"\nexit 3\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'first');
  const first = git(dir, 'rev-parse', 'HEAD');
  writeFileSync(join(dir, 'README'), 'second\n');
  git(dir, 'commit', '-q', '-am', 'second');
  return { dir, first, second: git(dir, 'rev-parse', 'HEAD') };
}

export interface Report {
  authorization: string | undefined;
  contentType: string | undefined;
  raw: string;
  body: {
    testId: string;
    stage: string;
    message?: string;
    result?: { exitCode: number; passed: number | null; failed: number | null; summary: string };
  };
  /** What the server answered. */
  status: number;
}

/** The status for a report; `seen` counts earlier reports of the same stage. */
export type Answer = (stage: string, seen: number) => number;

export const always200: Answer = () => 200;

export interface ProgressServer {
  url: string;
  reports: Report[];
  stages(): string[];
  /** Every `PUT <url>/files/<name>`, in order. */
  files: FileUpload[];
  /** Reports and uploads in the order they came: `report <stage>`, `file <name>`. */
  events: string[];
  /** The text of the last upload of `name` that was answered 2xx, if any. */
  file(name: string): string | undefined;
}

export interface FileUpload {
  name: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Buffer;
  status: number;
}

/** The status for an upload; `seen` counts earlier uploads of the same name. */
export type FileAnswer = (name: string, seen: number) => number;

/**
 * A `progress` stand-in that records every POST (a report) and every
 * `PUT …/files/<name>` (an upload), and answers as `answer` and `fileAnswer` say.
 */
export async function startProgressServer(
  answer: Answer = always200,
  fileAnswer: FileAnswer = () => 200,
): Promise<ProgressServer> {
  const reports: Report[] = [];
  const files: FileUpload[] = [];
  const events: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'PUT' && req.url?.startsWith('/progress/files/')) {
        const name = decodeURIComponent(req.url.slice('/progress/files/'.length));
        const status = fileAnswer(name, files.filter((f) => f.name === name).length);
        files.push({
          name,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body: Buffer.concat(chunks),
          status,
        });
        events.push(`file ${name}`);
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ status }));
        return;
      }
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw) as Report['body'];
      const seen = reports.filter((r) => r.body.stage === body.stage).length;
      const status = answer(body.stage, seen);
      const headers: IncomingHttpHeaders = req.headers;
      reports.push({
        authorization: headers.authorization,
        contentType: headers['content-type'],
        raw,
        body,
        status,
      });
      events.push(`report ${body.stage}`);
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ status }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/progress`,
    reports,
    stages: () => reports.map((r) => r.body.stage),
    files,
    events,
    file: (name) =>
      files
        .filter((f) => f.name === name && f.status >= 200 && f.status < 300)
        .at(-1)
        ?.body.toString('utf8'),
  };
}

/** A port that nothing listens on (connections are refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface RunOptions {
  attributes: Record<string, string>;
  env?: Record<string, string>;
  /** Called with the stdout so far on each chunk, with the VM's directory and a way to signal it. */
  onStdout?: (text: string, vm: { dir: string; kill(signal: NodeJS.Signals): void }) => void;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The VM's directory (the script's working directory). */
  dir: string;
}

/** The DESIGN §6 attributes for `sha` of `repo`, reporting to `callbackUrl`. */
export function attributesFor(
  repo: Repo,
  callbackUrl: string,
  command: string,
  sha = repo.first,
): Record<string, string> {
  return {
    'vmci-test-id': TEST_ID,
    'vmci-callback-url': callbackUrl,
    'vmci-token': TOKEN,
    'vmci-repo': 'owner/repo',
    'vmci-sha': sha,
    'vmci-platform': 'linux',
    'vmci-clone-url': repo.dir,
    'vmci-test-command': command,
  };
}

/** Boots one local "VM": the real script, in its own directory, as the Compute stand-in would. */
export async function runScript(options: RunOptions): Promise<RunResult> {
  const metadata = await startMetadataServer(() => ({
    project: 'vmci-test',
    projectNumber: '123456789012',
    zone: 'us-central1-a',
    name: 'vmci-linux-test',
    id: '1',
    machineType: 'e2-small',
    attributes: options.attributes,
  }));
  const dir = tempDir('vm');
  const home = tempDir('home');
  try {
    const child = spawn('bash', [SCRIPT], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        ...localVmEnv(metadata.port),
        VMCI_REPORT_DELAY_SECONDS: '0.05',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      options.onStdout?.(stdout, { dir, kill: (signal) => child.kill(signal) });
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stdout, stderr, dir };
  } finally {
    await metadata.close();
  }
}

/**
 * Runs `source startup.sh; <body>` in bash with `args` as $1... and returns its
 * stdout. ($0 is not the script, so sourcing it runs nothing by itself.)
 */
export function sourced(body: string, ...args: string[]): string {
  return execFileSync('bash', ['-c', `source "$VMCI_SCRIPT" && ${body}`, 'bash', ...args], {
    encoding: 'utf8',
    // stdin not a socket: Debian's bash would read ~/.bashrc
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VMCI_LOCAL: '1', VMCI_SCRIPT: SCRIPT },
  });
}
