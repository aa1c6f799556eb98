// `npm run build`, checked on what it writes: each function's folder must be
// deployable as is. The checks read the bundles (index.js, package.json), not
// the source graph, and start each bundle as the deployment does (`node
// index.js` in its folder, VMCI_CONFIG=vmci.yaml) with a node_modules that holds
// only the packages its package.json lists.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  buildFunctions,
  BUNDLE_CONFIG,
  DEFAULT_CONFIG,
  startupScriptPaths,
} from '../../infra/build/build-functions';
import { isExternalPackage, packageNameOf } from '../../infra/build/externals';
import { FUNCTION_NAMES, type FunctionName } from '../../infra/local/functions';
import { COMPRESSED_BODY, SECURITY_HEADERS } from '../../shared/http/function-app';
import { emulatorHost } from '../support/firestore';
import { freePort } from '../../infra/local/firestore-emulator';

const ROOT = join(__dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const WITH_COMPUTE: readonly FunctionName[] = ['runTest', 'sweepExpired'];
const WITHOUT_COMPUTE: readonly FunctionName[] = ['webhook', 'progress', 'status', 'sweepPending'];

jest.setTimeout(60_000);

let out: string;
const dirOf = (name: FunctionName) => join(out, name);
const bundleOf = (name: FunctionName) => readFileSync(join(dirOf(name), 'index.js'), 'utf8');
const packageOf = (name: FunctionName) =>
  JSON.parse(readFileSync(join(dirOf(name), 'package.json'), 'utf8')) as {
    [key: string]: unknown;
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
  };

/** The packages index.js requires by name (builtins left out). */
function requiredPackages(code: string): string[] {
  const names = new Set<string>();
  for (const match of code.matchAll(/\brequire\((["'])([^"'\s]+)\1\)/g)) {
    const name = packageNameOf(match[2]!);
    if (name !== undefined) names.add(name);
  }
  return [...names].sort();
}

function installedVersion(name: string): string {
  const file = join(ROOT, 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'vmci-build-'));
  await buildFunctions({ outDir: out, config: DEFAULT_CONFIG });
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run build', () => {
  it('writes one folder per function', () => {
    for (const name of FUNCTION_NAMES) {
      for (const file of ['index.js', 'package.json', BUNDLE_CONFIG]) {
        expect(existsSync(join(dirOf(name), file))).toBe(true);
      }
      expect(readFileSync(join(dirOf(name), BUNDLE_CONFIG), 'utf8')).toBe(
        readFileSync(DEFAULT_CONFIG, 'utf8'),
      );
    }
  });

  it.each(WITHOUT_COMPUTE)('%s: no Compute client in the bundle or its package.json', (name) => {
    expect(packageOf(name).dependencies).not.toHaveProperty(['@google-cloud/compute']);
    const code = bundleOf(name);
    expect(requiredPackages(code)).not.toContain('@google-cloud/compute');
    expect(code).not.toContain('@google-cloud/compute');
    expect(code).not.toMatch(/google\.cloud\.compute\.v1|InstancesClient/);
  });

  // infra/build/compute-clients.ts: the two clients are bundled, with protos cut to their services.
  it.each(WITH_COMPUTE)(
    '%s: bundles the Instances and ZoneOperations clients with their own protos, not the package',
    (name) => {
      const code = bundleOf(name);
      expect(packageOf(name).dependencies).not.toHaveProperty(['@google-cloud/compute']);
      expect(packageOf(name).dependencies).toHaveProperty(['google-gax']);
      expect(requiredPackages(code)).not.toContain('@google-cloud/compute');
      expect(code).toMatch(/exports\d*\.InstancesClient = InstancesClient\d*;/);
      expect(code).toMatch(/exports\d*\.ZoneOperationsClient = ZoneOperationsClient\d*;/);
      // Their services, and nothing of the other versions or of unrelated services.
      expect(code).toContain('"Instances":{"options"');
      expect(code).toContain('"ZoneOperations":{"options"');
      expect(code).not.toMatch(/"v1beta":|"Firewalls":\{|"BackendServices":\{/);
      expect(code.length).toBeLessThan(4_000_000);
    },
  );

  it.each(FUNCTION_NAMES)(
    '%s: package.json lists exactly the externals index.js requires, at the installed versions',
    (name) => {
      const pkg = packageOf(name);
      const required = requiredPackages(bundleOf(name));
      // Everything else is bundled: what index.js requires by name is an external.
      expect(required.filter((dep) => !isExternalPackage(dep))).toEqual([]);
      expect(Object.keys(pkg.dependencies).sort()).toEqual(required);
      for (const [dep, version] of Object.entries(pkg.dependencies)) {
        expect(version).toBe(installedVersion(dep));
      }
      expect(pkg).toMatchObject({
        private: true,
        main: 'index.js',
        engines: { node: '>=22' },
        scripts: { start: 'node index.js' },
      });
      // Google's Node.js runtime runs a build script on deploy: there must be none.
      expect(Object.keys(pkg.scripts)).toEqual(['start']);
    },
  );

  // infra/build/bundle-plugins.ts: npm installs mime-db 1.54.0 four times under express.
  it.each(FUNCTION_NAMES)('%s: bundles one copy of mime-db, as JSON.parse of a string', (name) => {
    const code = bundleOf(name);
    const copies = code.match(/^\/\/ node_modules\/(?:.*\/)?mime-db\/db\.json$/gm) ?? [];
    expect(copies).toHaveLength(1);
    const start = code.indexOf(`"${copies[0]!.slice(3)}"(`);
    expect(code.slice(start, start + 200)).toMatch(/module\d*\.exports = JSON\.parse\(['"]/);
  });

  it('runTest: holds the startup scripts at their paths from the source root', () => {
    const paths = startupScriptPaths(DEFAULT_CONFIG);
    expect(paths).toEqual(['infra/vm/linux/startup.sh', 'infra/vm/windows/startup.ps1']);
    for (const path of paths) {
      expect(readFileSync(join(dirOf('runTest'), path), 'utf8')).toBe(
        readFileSync(join(ROOT, path), 'utf8'),
      );
    }
  });
});

interface Running {
  name: FunctionName;
  url: string;
  child: ChildProcess;
  output: () => string;
}

/** node_modules with only the bundle's dependencies (each a link to the installed package). */
function linkDependencies(name: FunctionName): void {
  for (const dep of Object.keys(packageOf(name).dependencies)) {
    const link = join(dirOf(name), 'node_modules', dep);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), link, 'dir');
  }
}

async function start(name: FunctionName): Promise<Running> {
  linkDependencies(name);
  const port = await freePort();
  let output = '';
  const child = spawn(NODE, ['index.js'], {
    cwd: dirOf(name),
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      VMCI_CONFIG: BUNDLE_CONFIG,
      GITHUB_WEBHOOK_SECRET: 'build-test-secret',
      GITHUB_TOKEN: 'build-test-token',
      VMCI_TOKEN_KEY: 'build-test-token-key-0123456789abcdef',
      FIRESTORE_EMULATOR_HOST: emulatorHost(),
      VMCI_FIRESTORE_PROJECT: 'vmci-build-test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 40_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${output}`);
    try {
      await fetch(url, { method: 'OPTIONS' });
      return { name, url, child, output: () => output };
    } catch {
      if (Date.now() > deadline) throw new Error(`${name} did not listen: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stop(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  const exited = once(running.child, 'exit');
  running.child.kill('SIGTERM');
  await exited;
}

async function expectJson(res: Response, status: number): Promise<unknown> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
  for (const [header, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers.get(header)).toBe(value);
  }
  return res.json();
}

describe('each bundle, started with node index.js in its folder', () => {
  const running = new Map<FunctionName, Running>();
  beforeAll(async () => {
    const started = await Promise.allSettled(FUNCTION_NAMES.map((name) => start(name)));
    for (const result of started) {
      if (result.status === 'fulfilled') running.set(result.value.name, result.value);
    }
    const failed = started.filter((result) => result.status === 'rejected');
    if (failed.length > 0) throw (failed[0] as PromiseRejectedResult).reason;
  });
  afterAll(() => Promise.all([...running.values()].map(stop)));
  const urlOf = (name: FunctionName) => running.get(name)!.url;

  it('webhook: an unsigned delivery is a JSON 401', async () => {
    const res = await fetch(`${urlOf('webhook')}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
      body: '{}',
    });
    await expectJson(res, 401);
  });

  it.each(FUNCTION_NAMES)('%s: a compressed body is a JSON 415', async (name) => {
    const res = await fetch(`${urlOf(name)}/`, {
      method: 'POST',
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: gzipSync('{}'),
    });
    expect(await expectJson(res, 415)).toEqual({ error: COMPRESSED_BODY });
  });

  it('status: GET / is a JSON 200', async () => {
    const res = await fetch(`${urlOf('status')}/`);
    expect(await expectJson(res, 200)).toEqual(expect.any(Object));
  });

  it('status: reads Firestore (an unknown test is a JSON 404)', async () => {
    const res = await fetch(`${urlOf('status')}/tests/no-such-test`);
    expect(await expectJson(res, 404)).toEqual({ error: 'Test not found' });
  });

  it.each(['runTest', 'sweepPending', 'sweepExpired', 'progress'] as const)(
    '%s: an unauthenticated call is a JSON 401',
    async (name) => {
      const res = await fetch(`${urlOf(name)}/`, { method: 'POST' });
      await expectJson(res, 401);
    },
  );
});
