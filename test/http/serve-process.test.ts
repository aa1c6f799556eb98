// A function run as its own program, as the deployment runs it (`node
// index.js` on $PORT): the same app the local cloud mounts, so the same
// answers. Each function here is started as a child process from its source.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { COMPRESSED_BODY, SECURITY_HEADERS } from '../../shared/http/function-app';
import { emulatorHost } from '../support/firestore';
import { LOCAL_CONFIG_PATH } from '../support/local-cloud';
import { freePort } from '../../infra/local/firestore-emulator';

const ROOT = join(__dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');

jest.setTimeout(60_000);

interface Running {
  url: string;
  child: ChildProcess;
  output: () => string;
}

/** Every secret a function may ask for. */
const ALL_SECRETS = {
  GITHUB_WEBHOOK_SECRET: 'serve-process-secret',
  GITHUB_TOKEN: 'serve-process-token',
  VMCI_TOKEN_KEY: 'serve-process-token-key-0123456789abcdef',
};

function spawnFunction(name: string, port: number, secrets: Record<string, string>): ChildProcess {
  return spawn(NODE, ['-r', '@swc-node/register', join(ROOT, 'functions', name, 'index.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      VMCI_CONFIG: LOCAL_CONFIG_PATH,
      ...secrets,
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      VMCI_FIRESTORE_PROJECT: 'vmci-serve-process',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function startFunction(
  name: string,
  secrets: Record<string, string> = ALL_SECRETS,
): Promise<Running> {
  const port = await freePort();
  let output = '';
  const child = spawnFunction(name, port, secrets);
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
    try {
      await fetch(url, { method: 'OPTIONS' });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not listen: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url, child, output: () => output };
}

async function stop(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  const exited = once(running.child, 'exit');
  running.child.kill('SIGTERM');
  await exited;
}

function expectStrictJson(res: Response): void {
  expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers.get(name)).toBe(value);
  }
}

describe('a function served as its own process', () => {
  let webhook: Running | undefined;
  let status: Running | undefined;
  beforeAll(async () => {
    // status is given no secret at all, as deployed.
    [webhook, status] = await Promise.all([startFunction('webhook'), startFunction('status', {})]);
  });
  afterAll(async () => {
    await Promise.all([stop(webhook), stop(status)]);
  });

  it('webhook: a compressed body is a JSON 415, an unsigned one a JSON 401', async () => {
    const gzip = await fetch(`${webhook!.url}/`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: gzipSync('{}'),
    });
    expect(gzip.status).toBe(415);
    expectStrictJson(gzip);
    expect(await gzip.json()).toEqual({ error: COMPRESSED_BODY });

    const unsigned = await fetch(`${webhook!.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
      body: '{"ref":',
    });
    expect(unsigned.status).toBe(401);
    expectStrictJson(unsigned);
  });

  it('status: answers from Firestore with JSON and the strict headers', async () => {
    const res = await fetch(`${status!.url}/tests/no-such-test`);
    expect(res.status).toBe(404);
    expectStrictJson(res);
    expect(await res.json()).toEqual({ error: 'Test not found' });
  });

  it('stops on SIGTERM', async () => {
    const running = await startFunction('status');
    const exited = once(running.child, 'exit');
    running.child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, string | null];
    // The server closed and the event loop emptied: a clean exit, not a kill.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});

describe('each function reads only the secrets it uses', () => {
  /** What a function printed before it exited, started without `missing`. */
  async function coldStartWithout(name: string, missing: keyof typeof ALL_SECRETS) {
    const secrets: Record<string, string> = { ...ALL_SECRETS };
    delete secrets[missing];
    const child = spawnFunction(name, await freePort(), secrets);
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, output };
  }

  it('runTest will not start without VMCI_TOKEN_KEY, and says so', async () => {
    const run = await coldStartWithout('runTest', 'VMCI_TOKEN_KEY');
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('VMCI_TOKEN_KEY');
    expect(run.output).not.toContain('GITHUB_WEBHOOK_SECRET');
  });

  it('the webhook will not start without its secret; runTest and progress do not need it', async () => {
    const webhook = await coldStartWithout('webhook', 'GITHUB_WEBHOOK_SECRET');
    expect(webhook.code).not.toBe(0);
    expect(webhook.output).toContain('GITHUB_WEBHOOK_SECRET');

    for (const name of ['runTest', 'progress']) {
      const secrets: Record<string, string> = { ...ALL_SECRETS };
      delete secrets.GITHUB_WEBHOOK_SECRET;
      const running = await startFunction(name, secrets);
      await stop(running);
    }
  });
});
