// `npm start` as a user runs it (with `--build`, as `npm run demo` plays the
// build): it serves the local paths, its functions run as a GitHub App, and
// after SIGTERM nothing it started is left running (the emulator's JVM, VM processes).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: the fields after it start behind the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentOf(pid);
    if (ppid !== undefined) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return ''; // gone meanwhile
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== 'Z';
  } catch {
    return false;
  }
}

function waitForLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} within ${ms} ms:\n${output}`)),
      ms,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(pattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
}

describe('npm start', () => {
  let child: ChildProcess | undefined;
  const stateDir = mkdtempSync(join(tmpdir(), 'vmci-start-'));
  afterAll(() => {
    // Only if the test failed midway: take the whole group down.
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('serves the local paths and leaves no process behind after SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      GITHUB_WEBHOOK_SECRET: 'local-secret-1',
      // Not the developer's .local/local-cloud.json, which a running `npm start` may own.
      VMCI_LOCAL_STATE_FILE: join(stateDir, 'local-cloud.json'),
    };
    delete env.FIRESTORE_EMULATOR_HOST; // so it starts, and must stop, an emulator of its own
    child = spawn(
      join(ROOT, 'node_modules/.bin/node'),
      ['-r', '@swc-node/register', 'infra/local/start.ts', '--build'],
      {
        cwd: ROOT,
        env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const [, builds, webhookUrl, url] = await waitForLine(
      child,
      /Builds +(.+)[\s\S]*npm run send-webhook -- push (\S+)[\s\S]*ready: (http:\/\/\S+)/,
      60_000,
    );
    expect(builds).toMatch(/^linux waits for build\.yml and tests its artifact hello-linux /);

    // `npm run demo` finds it, and its secret, through the state file.
    const stateFile = join(stateDir, 'local-cloud.json');
    // And `vmci` the functions' environment, the cloud's own.
    const port = new URL(url!).port;
    expect(JSON.parse(readFileSync(stateFile, 'utf8'))).toEqual({
      url,
      webhookSecret: 'local-secret-1',
      pid: child.pid,
      env: {
        VMCI_CONFIG: expect.stringMatching(/vmci\.json$/),
        GITHUB_WEBHOOK_SECRET: 'local-secret-1',
        VMCI_TOKEN_KEY: expect.stringMatching(/^[0-9a-f]{64}$/),
        GITHUB_APP_ID: '1',
        GITHUB_APP_PRIVATE_KEY: expect.stringContaining('-----BEGIN PRIVATE KEY-----'),
        VMCI_LOCAL_ENDPOINT: `127.0.0.1:${port}`,
        VMCI_LOCAL_TOKEN_SECRET: expect.any(String),
        FIRESTORE_EMULATOR_HOST: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        VMCI_FIRESTORE_PROJECT: expect.any(String),
      },
    });
    expect(statSync(stateFile).mode & 0o777).toBe(0o600);

    // The copy-paste command it printed sends a signed example push...
    const sent = execFileSync('npm', ['run', '-s', 'send-webhook', '--', 'push', webhookUrl!], {
      cwd: ROOT,
      env: { ...env, GITHUB_WEBHOOK_SECRET: 'local-secret-1' },
      encoding: 'utf8',
    });
    expect(sent).toMatch(/push \(delivery .+\) → HTTP 202/);
    // ...whose tests are visible on the status API, with pending statuses on the local GitHub.
    const sha = '6113728f27ae82c7b1a177c8d03f9e96e0adf246'; // the example push's `after`
    const listed = (await (
      await fetch(`${url}/status/tests?repo=Codertocat/Hello-World&sha=${sha}`)
    ).json()) as { tests: { platform: string }[] };
    expect(listed.tests.map((t) => t.platform)).toEqual(['linux']); // config/vmci.local.yaml
    const posted = (await (
      await fetch(`${url}/github/repos/Codertocat/Hello-World/commits/${sha}/statuses`)
    ).json()) as { state: string; context: string; description: string }[];
    // The first status of each platform: with --build, linux waits for build.yml.
    expect(
      posted
        .filter((s) => s.description === 'Waiting for the build workflow to finish')
        .map((s) => `${s.context}:${s.state}`)
        .sort(),
    ).toEqual(['ci/linux:pending']);
    // The functions call GitHub as an App: with an installation's token they mint.
    const calls = (await (await fetch(`${url}/github/_local/calls`)).json()) as {
      method: string;
      path: string;
    }[];
    expect(calls).toContainEqual(
      expect.objectContaining({
        method: 'POST',
        path: expect.stringMatching(/^\/app\/installations\/\d+\/access_tokens$/),
      }),
    );

    // runTest may already have made the example's VM: the route answers with a list.
    expect(Array.isArray(await (await fetch(`${url}/_local/compute/instances`)).json())).toBe(true);
    const statuses = await fetch(
      `${url}/github/repos/Codertocat/Hello-World/commits/${'a'.repeat(40)}/statuses`,
    );
    expect(statuses.status).toBe(200);

    // A VM whose script would run for minutes.
    const insert = await fetch(
      `${url}/compute/v1/projects/vmci-local/zones/local-a/instances?requestId=7f1d3b4e-8a7c-4d2b-9e1f-0a1b2c3d4e5f`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'vmci-linux-start-test',
          machineType: 'zones/local-a/machineTypes/e2-small',
          metadata: { items: [{ key: 'startup-script', value: 'sleep 300' }] },
        }),
      },
    );
    expect(insert.status).toBe(200);
    let pids: number[] = [];
    const deadline = Date.now() + 15_000;
    // Until the VM's `sleep` runs under the start process.
    while (!pids.some((pid) => cmdline(pid).startsWith('sleep'))) {
      if (Date.now() > deadline) throw new Error('the VM process did not start');
      await new Promise((r) => setTimeout(r, 50));
      pids = descendants(child.pid!).filter(alive);
    }
    expect(pids.some((pid) => cmdline(pid).includes('cloud-firestore-emulator'))).toBe(true);

    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(stateFile)).toBe(false);
    const stopBy = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive)).toEqual([]);
  }, 90_000);
});
