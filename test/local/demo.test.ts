// `npm run demo`: how it finds a cloud (a running `npm start`'s state file, or
// one of its own), its commits, their suite (the artifact's greeting, counts and
// JUnit) and webhook payloads (push, the build's workflow_run), and the whole
// demo against a local cloud whose VMs run the real Linux startup script.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFunctions } from '../../infra/build/build-functions';
import { startLocalCloud, type LocalCloud } from '../../infra/local/cloud';
import { runDemo } from '../../infra/local/demo';
import { ARTIFACT_NAME, greetingOf, runIdOf, withDemoBuild } from '../../infra/local/demo/build';
import { chooseCloud, startFailure } from '../../infra/local/demo/cloud';
import { ConfigError } from '../../shared/config';
import { pushPayload, workflowRunPayload } from '../../infra/local/demo/payload';
import { addCommit, ensureRepo } from '../../infra/local/demo/repo';
import {
  findRunningCloud,
  readStateFile,
  removeStateFile,
  writeStateFile,
} from '../../infra/local/demo/state-file';
import { storedZip } from '../../infra/local/demo/zip';
import { clearEmulatorProject } from '../../infra/local/firestore-emulator';
import { examplePayload } from '../../infra/local/send-webhook';
import { parseWebhook } from '../../shared/webhook/events';
import { parseJUnit } from '../../shared/results/junit';

const ROOT = join(__dirname, '../..');
const REPO = 'Codertocat/Hello-World';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'vmci-demo-test-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

/** A server that answers the status API's listing as the local cloud does. */
async function statusApi(): Promise<{ url: string; server: Server; asked: string[] }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(req.url ?? '');
    const ok = req.url?.startsWith('/status/tests?');
    res.writeHead(ok ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { tests: [] } : { error: 'Not found' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, asked };
}

describe('the state file of a running `npm start`', () => {
  it('is written whole, for its owner only, and removed only by the process it names', () => {
    const file = join(tmp, 'state', 'local-cloud.json');
    writeStateFile(file, { url: 'http://127.0.0.1:8080', webhookSecret: 's3cret', pid: 4242 });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readStateFile(file)).toEqual({
      url: 'http://127.0.0.1:8080',
      webhookSecret: 's3cret',
      pid: 4242,
    });
    removeStateFile(file, 4243); // another `npm start` replaced it: not ours to remove
    expect(readStateFile(file)).toBeDefined();
    removeStateFile(file, 4242);
    expect(readStateFile(file)).toBeUndefined();
  });

  it('names a running cloud only when its pid is alive and its status API answers', async () => {
    const api = await statusApi();
    try {
      const file = join(tmp, 'lookup.json');
      expect(await findRunningCloud(file, REPO)).toMatchObject({ found: false });

      writeFileSync(file, 'not json');
      expect(await findRunningCloud(file, REPO)).toMatchObject({ found: false });

      const dead = await deadPid();
      writeStateFile(file, { url: api.url, webhookSecret: 's', pid: dead });
      expect(await findRunningCloud(file, REPO)).toEqual({
        found: false,
        reason: `${file} is stale (pid ${dead} is gone)`,
      });
      expect(api.asked).toEqual([]); // a dead pid is not even asked

      writeStateFile(file, { url: api.url, webhookSecret: 's', pid: process.pid });
      expect(await findRunningCloud(file, REPO)).toEqual({
        found: true,
        state: { url: api.url, webhookSecret: 's', pid: process.pid },
      });
      expect(api.asked).toEqual([
        `/status/tests?repo=Codertocat%2FHello-World&sha=${'0'.repeat(40)}`,
      ]);

      writeStateFile(file, { url: `${api.url}/elsewhere`, webhookSecret: 's', pid: process.pid });
      expect(await findRunningCloud(file, REPO)).toMatchObject({ found: false });
    } finally {
      api.server.close();
    }
  });

  it('makes the demo use the running cloud, or start (and later close) its own', async () => {
    const api = await statusApi();
    const file = join(tmp, 'choose.json');
    let closed = 0;
    const start = jest.fn(async () => ({
      url: 'http://127.0.0.1:1',
      webhookSecret: 'own',
      firestore: { host: '127.0.0.1:1', projectId: 'vmci-demo-x' },
      close: async () => {
        closed += 1;
      },
    }));
    try {
      writeStateFile(file, { url: api.url, webhookSecret: 'running', pid: process.pid });
      const running = await chooseCloud({ stateFile: file, repo: REPO, start });
      expect(start).not.toHaveBeenCalled();
      expect(running.cloud).toMatchObject({ url: api.url, webhookSecret: 'running', own: false });
      expect(running.note).toBe(
        `Using the running \`npm start\` at ${api.url} (pid ${process.pid})`,
      );

      writeStateFile(file, { url: api.url, webhookSecret: 'running', pid: await deadPid() });
      const own = await chooseCloud({ stateFile: file, repo: REPO, start });
      expect(start).toHaveBeenCalledTimes(1);
      expect(own.cloud).toMatchObject({
        url: 'http://127.0.0.1:1',
        webhookSecret: 'own',
        own: true,
      });
      expect(own.note).toMatch(
        /^Started a local cloud in this process at http:\/\/127\.0\.0\.1:1 \(.+ is stale/,
      );
      await own.cloud.close();
      expect(closed).toBe(1);
    } finally {
      api.server.close();
    }
  });
  it('says in one line why it could not start a cloud of its own', () => {
    const busy = Object.assign(new Error('listen EADDRINUSE: address already in use'), {
      code: 'EADDRINUSE',
    });
    expect(startFailure(busy, 8080)).toBe(
      'Port 8080 is in use: stop what uses it, or run with PORT=0 (any free port).',
    );
    expect(
      startFailure(new Error('Firestore emulator not found. Install the gcloud SDK component.'), 0),
    ).toBe(
      'Firestore emulator not found. Install the gcloud SDK component. (see README: "What you need")',
    );
    expect(
      startFailure(
        new Error('Firestore emulator did not start on 127.0.0.1:1:\nJava not found'),
        0,
      ),
    ).toBe('Firestore emulator did not start on 127.0.0.1:1 (see README: "What you need")');
    expect(startFailure(new ConfigError(['project: required'], 'vmci.yaml'), 0)).toBe(
      'Invalid vm-ci configuration in vmci.yaml:\n  project: required',
    );
    expect(startFailure(new Error('something else'), 0)).toBeUndefined();
  });
});

describe('the demo repository and its pushes', () => {
  it('adds a passing and a failing commit on top of what is there, every run', () => {
    const dir = join(tmp, 'repo', 'Hello-World');
    expect(ensureRepo(dir)).toEqual({ created: true });
    const first = [addCommit(dir, 'passing'), addCommit(dir, 'failing')];
    expect(ensureRepo(dir)).toEqual({ created: false });
    const second = addCommit(dir, 'passing');
    expect(second.parent).toBe(first[1]!.sha);
    expect(first[1]!.parent).toBe(first[0]!.sha);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    expect(git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(git('log', '--format=%s').split('\n')).toEqual([
      'Demo: a suite that passes (3 checks)',
      'Demo: a suite that fails (1 of 3)',
      'Demo: a suite that passes (3 checks)',
      'Initial commit',
    ]);
  });

  it.each([
    ['passing', 0, { passed: 3, failed: 0, summary: '3 passed' }, '3 passed, 0 failed', []],
    [
      'failing',
      1,
      { passed: 2, failed: 1, summary: '2 passed, 1 failed' },
      '2 passed, 1 failed',
      [{ classname: 'demo', name: 'six_times_seven_is_43', message: 'test 42 -eq 43 is false' }],
    ],
  ] as const)(
    'the %s suite exits %d, shows the artifact and writes its counts and JUnit',
    (suite, code, summary, lastLine, failing) => {
      const dir = join(tmp, `suite-${suite}`);
      ensureRepo(dir);
      addCommit(dir, suite);
      const results = join(tmp, `results-${suite}`);
      // The artifact as the VM unpacks it (python3 -m zipfile, as without unzip).
      const artifact = join(tmp, `artifact-${suite}`);
      const zip = join(tmp, `artifact-${suite}.zip`);
      writeFileSync(zip, storedZip([{ name: 'greeting.txt', data: 'Hello from the build\n' }]));
      execFileSync('python3', ['-m', 'zipfile', '-e', zip, artifact]);
      const run = (env: Record<string, string>) => {
        try {
          const output = execFileSync('sh', ['run-tests.sh'], {
            cwd: dir,
            env: { PATH: process.env.PATH, VMCI_RESULTS_DIR: results, ...env },
            encoding: 'utf8',
          });
          return { status: 0, output };
        } catch (err) {
          return {
            status: (err as { status: number }).status,
            output: (err as { stdout: string }).stdout,
          };
        }
      };

      const plain = run({});
      expect(plain.status).toBe(code);
      expect(plain.output).not.toContain('artifact');
      expect(plain.output.trim().split('\n').at(-1)).toBe(lastLine);
      expect(JSON.parse(readFileSync(join(results, 'summary.json'), 'utf8'))).toEqual(summary);
      const junit = parseJUnit(readFileSync(join(results, 'junit.xml')), 'results/junit.xml');
      expect(junit).toEqual({
        ok: true,
        counts: { tests: 3, failures: failing.length, errors: 0, skipped: 0 },
        failing: failing.map((c) => expect.objectContaining({ ...c, kind: 'failure' })),
      });

      const built = run({ VMCI_ARTIFACT_DIR: artifact });
      expect(built.status).toBe(code);
      expect(built.output.split('\n')[0]).toBe('artifact: Hello from the build');
      expect(built.output.trim().split('\n').at(-1)).toBe(lastLine);
    },
  );

  it('pushes a commit as the real example push with its sha swapped in', () => {
    const commit = {
      sha: 'a'.repeat(40),
      parent: 'b'.repeat(40),
      tree: 'c'.repeat(40),
      message: 'Demo: a suite that passes (3 checks)',
      suite: 'passing' as const,
    };
    const example = examplePayload('push').payload;
    const payload = pushPayload(commit);
    expect(JSON.stringify(payload)).not.toContain(String(example.after));
    expect(payload).toMatchObject({
      ref: 'refs/heads/main',
      before: commit.parent,
      after: commit.sha,
      created: false,
      repository: { full_name: REPO },
      head_commit: { id: commit.sha, tree_id: commit.tree, message: commit.message },
    });
    const commits = payload.commits as { id: string }[];
    expect(commits.at(-1)).toMatchObject({ id: commit.sha, message: commit.message });
    expect(Object.keys(payload).sort()).toEqual(Object.keys(example).sort());
  });

  it('builds a commit as the real example workflow_run, completed with success', () => {
    const commit = {
      sha: 'a'.repeat(40),
      parent: 'b'.repeat(40),
      tree: 'c'.repeat(40),
      message: 'Demo: a suite that fails (1 of 3)',
      suite: 'failing' as const,
    };
    const runId = runIdOf(commit.sha);
    const example = examplePayload('workflow_run.completed').payload;
    const exampleRun = example.workflow_run as { head_sha: string; id: number };
    const payload = workflowRunPayload(commit, runId, '.github/workflows/build.yml');
    const text = JSON.stringify(payload);
    expect(text).not.toContain(exampleRun.head_sha);
    expect(text).not.toContain(String(exampleRun.id));
    expect(payload).toMatchObject({
      action: 'completed',
      repository: { full_name: REPO, private: false },
      workflow: { path: '.github/workflows/build.yml' },
      workflow_run: {
        id: runId,
        head_sha: commit.sha,
        head_branch: 'main',
        path: '.github/workflows/build.yml',
        status: 'completed',
        conclusion: 'success',
        head_commit: { id: commit.sha, tree_id: commit.tree, message: commit.message },
        url: expect.stringMatching(new RegExp(`/actions/runs/${runId}$`)),
      },
    });
    expect(Object.keys(payload).sort()).toEqual(Object.keys(example).sort());
    // As the webhook reads it.
    const headers = { 'x-github-event': 'workflow_run', 'x-github-delivery': 'd-1' };
    expect(parseWebhook(headers, payload)).toMatchObject({
      ok: true,
      event: {
        name: 'workflow_run',
        repo: REPO,
        headSha: commit.sha,
        workflowPath: '.github/workflows/build.yml',
        conclusion: 'success',
        runId,
      },
    });
    expect(greetingOf(commit)).toBe(`Hello from build.yml run ${runId}, built from aaaaaaa`);
  });
});

// From the source with the build that the demo's own cloud (and `npm start --
// --build`) has; and from the bundles `npm run build` makes (what is deployed)
// without a build, as a plain `npm start -- --bundled` serves them. (One cloud
// per way of serving: a function module, once loaded, keeps its configuration.)
describe.each([
  { served: 'source', build: true, title: 'the source, with a build' },
  { served: 'bundles', build: false, title: 'the bundles, without a build' },
])('npm run demo, end to end, on $title', ({ served, build }) => {
  let cloud: LocalCloud;
  let repoDir: string;
  let bundlesDir: string | undefined;
  beforeAll(async () => {
    repoDir = join(tmp, `e2e-${served}`, 'Hello-World');
    const configPath = join(ROOT, 'config/vmci.local.yaml');
    let functionsDir: string | undefined;
    if (served === 'bundles') {
      // In the checkout, as .local/bundles of `npm start -- --bundled`: the bundles
      // find their npm packages (the Google clients) in its node_modules.
      mkdirSync(join(ROOT, '.local'), { recursive: true });
      functionsDir = mkdtempSync(join(ROOT, '.local', 'test-bundles-'));
      bundlesDir = functionsDir;
      await buildFunctions({ config: configPath, outDir: functionsDir });
    }
    cloud = await startLocalCloud({
      configPath,
      configure: (c) => {
        const local = { ...c, cloneUrls: { [REPO]: repoDir } };
        // As the demo's own cloud: linux waits for build.yml and tests its artifact.
        return build ? withDemoBuild(local) : local;
      },
      // As `npm start`: VMs get artifacts from a GitHub App only.
      githubAuth: 'app',
      port: 0,
      bootVms: true,
      firestoreProject: `vmci-demo-it-${randomBytes(4).toString('hex')}`,
      ...(functionsDir ? { functionsDir } : {}),
    });
    // Each function really came from where it was asked to.
    if (functionsDir) {
      for (const name of cloud.functions) {
        expect(Object.keys(require.cache)).toContain(join(functionsDir, name, 'index.js'));
      }
    }
  }, 120_000);
  afterAll(async () => {
    if (bundlesDir) rmSync(bundlesDir, { recursive: true, force: true });
    if (!cloud) return;
    await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId).catch(() => {});
    await cloud.close();
  });

  it('ends the passing commit success and the failing one failure, shows their logs and the failing test, and leaves no VM', async () => {
    const lines: string[] = [];
    const code = await runDemo({
      cloud: { url: cloud.url, webhookSecret: cloud.webhookSecret },
      repoDir,
      timeoutMs: 100_000,
      out: (line) => lines.push(line),
    });
    const text = lines.join('\n');
    expect({ code, text }).toEqual({ code: 0, text });

    const shas = execFileSync('git', ['-C', repoDir, 'log', '-2', '--format=%H'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n')
      .reverse();
    const [pass, fail] = shas.map((sha) => sha.slice(0, 7)) as [string, string];
    expect(lines).toContain(`Created ${repoDir}: ${pass} (passing suite), ${fail} (failing suite)`);
    expect(lines).toContain(`push ${pass} → HTTP 202, 1 test queued`);
    expect(lines).toContain(`push ${fail} → HTTP 202, 1 test queued`);

    // Each commit built (a run of build.yml and its artifact), or the one line saying this cloud builds nothing.
    const built = (sha: string) =>
      `build ${sha.slice(0, 7)}: build.yml run ${runIdOf(sha)} succeeded, artifact ${ARTIFACT_NAME} (greeting.txt) → workflow_run`;
    if (build) {
      for (const sha of shas) expect(lines).toContain(`${built(sha)} HTTP 202, 1 test released`);
    } else {
      expect(lines.filter((l) => l.startsWith('build '))).toEqual([
        `${built(shas[0]!)} HTTP 202, ignored: workflow "build.yml" builds no platform; the tests run without the artifact (\`npm start -- --build\` builds)`,
      ]);
    }

    // Each test's lines are the pipeline's steps in order (those the polls saw), ending in its result.
    const steps = [
      ...(build ? ['waiting  Waiting for the build workflow to finish', 'pending'] : []),
      ...['queued', 'starting', 'running', 'running: preparation', 'running: testing'],
    ];
    const failedLine = '1 of 3 tests failed: demo.six_times_seven_is_43';
    for (const [sha, end] of [
      [pass, 'passed  All tests passed (3 passed)'],
      [fail, `failed  ${failedLine}`],
    ]) {
      const seen = lines
        .filter((l) => l.startsWith(`${sha} linux `))
        .map((l) => l.slice(`${sha} linux   `.length).replace(/\s+\d+\.\d s$/, ''));
      expect(seen.at(-1)).toBe(end);
      const order = seen.slice(0, -1).map((step) => steps.indexOf(step));
      expect({ seen, order }).toEqual({ seen, order: expect.not.arrayContaining([-1]) });
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(text).toMatch(
      new RegExp(
        `  ${pass} \\(passing suite\\)\\n(    pending .*\\n)+    success  ci/linux  All tests passed \\(3 passed\\)\\n`,
      ),
    );
    expect(text).toMatch(
      new RegExp(
        `  ${fail} \\(failing suite\\)\\n(    pending .*\\n)+    failure  ci/linux  ${failedLine}\\n`,
      ),
    );

    // What each test left: its log's last lines (the artifact's greeting among
    // them when built) and, for the failing one, the failing test named.
    const block = lines.slice(
      lines.indexOf('What the tests left on the status API (the last 8 lines of each log):'),
    );
    const logOf = (sha: string) => {
      const from = block.findIndex((l) => l.startsWith(`  ${sha} (`)) + 1;
      const to = block.findIndex((l, i) => i >= from && !l.startsWith('    '));
      return block.slice(from, to);
    };
    for (const [sha, suite] of [
      [shas[0]!, ['ok   six times seven is 42', '3 passed, 0 failed']],
      [shas[1]!, ['FAIL six times seven is 43', '2 passed, 1 failed']],
    ] as const) {
      const shown = logOf(sha.slice(0, 7));
      expect(shown.slice(0, -3)).toEqual(expect.arrayContaining(suite.map((l) => `    | ${l}`)));
      const greeting = `    | artifact: ${greetingOf({ sha })}`;
      if (build) expect(shown).toContain(greeting);
      else expect(shown.join('\n')).not.toContain('artifact:');
    }
    expect(block).toContain(`  ${pass} (passing suite) linux`);
    expect(logOf(pass).filter((l) => l.includes('failing test'))).toEqual([]);
    expect(logOf(fail).at(-1)).toBe(
      '    failing test: demo.six_times_seven_is_43 (test 42 -eq 43 is false)',
    );
    expect(lines.at(-1)).toBe(
      'OK: the passing commit is success, the failing commit is failure, as expected.',
    );

    // What the local GitHub holds (newest first).
    for (const [sha, state, description] of [
      [shas[0]!, 'success', 'All tests passed (3 passed)'],
      [shas[1]!, 'failure', failedLine],
    ]) {
      const posted = (await (
        await fetch(`${cloud.url}/github/repos/${REPO}/commits/${sha}/statuses`)
      ).json()) as { state: string; context: string; description: string }[];
      expect(posted[0]).toMatchObject({ state, context: 'ci/linux', description });
    }

    // Each VM is deleted once its test ended (the deletion may trail the final status).
    let live: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      live = (await (await fetch(`${cloud.url}/_local/compute/instances`)).json()) as unknown[];
      if (live.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(live).toEqual([]);
  }, 120_000);
});
