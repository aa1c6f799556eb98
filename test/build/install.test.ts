// A bundle as the Node.js buildpack installs it: copied to a folder of its own
// (outside this checkout, so nothing of ours can be found), `npm ci --omit=dev`
// from its own package-lock.json (from npm's cache: the root install filled it),
// then `node index.js` must answer.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunctions } from '../../infra/build/build-functions';
import { emulatorHost } from '../support/firestore';
import { freePort } from '../../infra/local/firestore-emulator';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');

jest.setTimeout(180_000);

let out: string;
beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'vmci-install-'));
  await buildFunctions({ outDir: out, functions: ['webhook', 'status', 'runTest'] });
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** `npm ci --omit=dev` in the bundle's folder, then `node index.js`; the answer to `request`. */
async function installAndAsk(
  name: string,
  request: { method: string; path: string },
): Promise<{ status: number; body: unknown; installed: string[] }> {
  const dir = join(out, name);
  const env = { ...process.env, PATH: `${BIN}:${process.env.PATH}` };
  execFileSync(
    'npm',
    ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: dir, env, stdio: 'pipe' },
  );
  const port = await freePort();
  const child = spawn(join(BIN, 'node'), ['index.js'], {
    cwd: dir,
    env: {
      PATH: env.PATH,
      PORT: String(port),
      VMCI_CONFIG: 'vmci.yaml',
      GITHUB_WEBHOOK_SECRET: 'install-test-secret',
      GITHUB_TOKEN: 'install-test-token',
      VMCI_TOKEN_KEY: 'install-test-token-key-0123456789abcdef',
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      VMCI_FIRESTORE_PROJECT: 'vmci-install-test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}${request.path}`, {
          method: request.method,
          ...(request.method === 'POST'
            ? { headers: { 'content-type': 'application/json' }, body: '{}' }
            : {}),
        });
        return {
          status: res.status,
          body: await res.json(),
          installed: readdirSync(join(dir, 'node_modules')),
        };
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`${name} did not answer: ${output}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    child.kill('SIGTERM');
  }
}

it('webhook: installed from its own lockfile, it refuses an unsigned delivery', async () => {
  const answer = await installAndAsk('webhook', { method: 'POST', path: '/' });
  expect(answer.status).toBe(401);
  expect(answer.body).toEqual({ error: expect.stringContaining('X-Hub-Signature-256') });
  // Only what production needs: no test tooling, no Compute client.
  expect(answer.installed).not.toContain('jest');
  expect(answer.installed).toContain('@google-cloud');
  expect(readdirSync(join(out, 'webhook', 'node_modules', '@google-cloud')).sort()).toEqual([
    'firestore',
    'firestore-api',
    'tasks',
  ]);
});

it('status: installed from its own lockfile, it answers a read', async () => {
  const answer = await installAndAsk('status', { method: 'GET', path: '/' });
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({ tests: '/tests?repo=&sha=' });
});

// runTest bundles its two Compute clients (infra/build/compute-clients.ts): it
// installs google-gax, which they require, and not @google-cloud/compute.
it('runTest: installed from its own lockfile, without the Compute package, it refuses an unauthenticated task', async () => {
  const answer = await installAndAsk('runTest', { method: 'POST', path: '/' });
  expect(answer.status).toBe(401);
  expect(answer.installed).toContain('google-gax');
  expect(readdirSync(join(out, 'runTest', 'node_modules', '@google-cloud')).sort()).toEqual([
    'firestore',
    'firestore-api',
    'tasks',
  ]);
});
