// `npm run demo`: two commits of Codertocat/Hello-World, one whose suite passes
// and one whose suite fails, pushed through the local cloud (DESIGN §8), built
// (a build.yml run and its artifact, played on the local GitHub) and followed
// until their commit statuses say success and failure; then what each test
// left: its log's last lines and the failing test's name.
import { randomBytes } from 'node:crypto';
import { relative, resolve } from 'node:path';
import { startLocalCloud } from './cloud';
import { buildCommit, greetingOf, withDemoBuild } from './demo/build';
import { chooseCloud, demoPort, startFailure, type DemoCloud } from './demo/cloud';
import { followTests, short, type Followed } from './demo/follow';
import { pushPayload } from './demo/payload';
import { addCommit, ensureRepo } from './demo/repo';
import {
  resultLines,
  statusLines,
  testIdsOf,
  timeoutLines,
  verdict,
  webhookLine,
} from './demo/report';
import { divertJsonLogs } from './demo/quiet-logs';
import { testResults, type TestResults } from './demo/results';
import { finalStatuses } from './demo/statuses';
import { stateFilePath } from './demo/state-file';
import { sendWebhook } from './send-webhook';

const ROOT = resolve(__dirname, '../..');
export const DEMO_REPO = 'Codertocat/Hello-World';

export interface DemoOptions {
  /** The repository the VMs fetch from; default .local/demo/Hello-World (config/vmci.local.yaml). */
  repoDir?: string;
  /** Use this cloud; default a running `npm start`, else one started here. */
  cloud?: { url: string; webhookSecret: string };
  stateFile?: string;
  configPath?: string;
  timeoutMs?: number;
  pollMs?: number;
  out?: (line: string) => void;
  signal?: AbortSignal;
}

/** Runs the demo; resolves to the exit code (0: both commits ended as expected). */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = options.out ?? ((line: string) => console.log(line));
  const repoDir = options.repoDir ?? resolve(ROOT, '.local/demo/Hello-World');
  const timeoutMs = options.timeoutMs ?? Number(process.env.DEMO_TIMEOUT_SECONDS || 180) * 1000;

  let cloud: DemoCloud;
  let restoreStdout = () => {};
  if (options.cloud) {
    cloud = { ...options.cloud, own: false, close: async () => {} };
    out(`Using the local cloud at ${cloud.url}`);
  } else {
    const port = await demoPort();
    const logFile = resolve(ROOT, '.local/demo/local-cloud.log');
    const firestoreProject = `vmci-demo-${randomBytes(4).toString('hex')}`;
    try {
      const choice = await chooseCloud({
        stateFile: options.stateFile ?? stateFilePath(),
        repo: DEMO_REPO,
        start: () => {
          restoreStdout = divertJsonLogs(logFile);
          return startLocalCloud({
            // A project of its own: no earlier run's tests hold the VM slots.
            firestoreProject,
            configPath: options.configPath ?? resolve(ROOT, 'config/vmci.local.yaml'),
            // Its linux platform waits for build.yml and tests the artifact,
            // which VMs get only from a GitHub App (never from a plain token).
            configure: (config) => withDemoBuild(config),
            githubAuth: 'app',
            port,
            log: process.env.VMCI_LOCAL_VERBOSE ? (line) => console.error(line) : undefined,
          });
        },
      });
      cloud = choice.cloud;
      out(choice.note);
      if (cloud.own) out(`Its functions' logs go to ${displayPath(logFile)}`);
    } catch (err) {
      restoreStdout();
      const line = startFailure(err, port);
      if (!line) throw err;
      out(`Cannot start the local cloud: ${line}`);
      return 1;
    }
  }
  try {
    if (options.signal?.aborted) return 130;
    return await demo(cloud, repoDir, timeoutMs, options, out);
  } finally {
    if (cloud.own) await cloud.close();
    restoreStdout();
  }
}

async function demo(
  cloud: DemoCloud,
  repoDir: string,
  timeoutMs: number,
  options: DemoOptions,
  out: (line: string) => void,
): Promise<number> {
  const { created } = ensureRepo(repoDir);
  const commits = [addCommit(repoDir, 'passing'), addCommit(repoDir, 'failing')];
  out(
    `${created ? 'Created' : 'Extended'} ${displayPath(repoDir)}: ` +
      commits.map((c) => `${short(c.sha)} (${c.suite} suite)`).join(', '),
  );

  out('');
  // Following starts with the first webhook, so each test's first steps are seen.
  const followed: Followed[] = [];
  let adding = true;
  const stopFollowing = new AbortController();
  const following = followTests({
    url: cloud.url,
    repo: DEMO_REPO,
    commits: followed,
    adding: () => adding,
    pollMs: options.pollMs ?? 200,
    timeoutMs,
    out,
    signal: options.signal
      ? AbortSignal.any([options.signal, stopFollowing.signal])
      : stopFollowing.signal,
  });
  const followedAt = Date.now();
  let sent = false;
  let built = false;
  try {
    for (const commit of commits) {
      const sentAt = Date.now();
      const answer = await sendWebhook({
        url: `${cloud.url}/webhook`,
        secret: cloud.webhookSecret,
        event: 'push',
        payload: pushPayload(commit),
      }).catch((err: unknown) => {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? String(err);
        out(`Could not send the webhook to ${cloud.url}/webhook (${cause}).`);
        return undefined;
      });
      if (!answer) return 1;
      const testIds = testIdsOf(answer.body);
      out(webhookLine(commit.sha, answer.status, answer.body));
      if (answer.status !== 202 || testIds.length === 0) {
        out(`The webhook made no tests for ${short(commit.sha)}: nothing to follow.`);
        return 1;
      }
      followed.push({ sha: commit.sha, testIds, sentAt });
    }
    // The build of each commit, as GitHub Actions would run it after the push.
    for (const commit of commits) {
      const build = await buildCommit(cloud, DEMO_REPO, commit);
      out(build.line);
      if (build.kind === 'failed') return 1;
      if (build.kind === 'ignored') break; // the line says so; the tests run without it
      built = true;
    }
    sent = true;
  } finally {
    adding = false;
    if (!sent) {
      stopFollowing.abort();
      await following;
    }
  }
  const result = await following;
  if (result.end === 'aborted') {
    out('Stopped.');
    return 130;
  }
  if (result.end === 'unreachable') {
    out(`The local cloud at ${cloud.url} stopped answering.`);
    return 1;
  }
  if (result.end === 'timeout') {
    for (const line of timeoutLines(followed, result.tests, Date.now() - followedAt)) out(line);
  }

  const statuses = await finalStatuses(
    cloud.url,
    DEMO_REPO,
    commits.map((c) => c.sha),
    {
      waitMs: result.end === 'done' ? 10_000 : 0,
      signal: options.signal,
    },
  );
  out('');
  for (const line of statusLines(commits, statuses)) out(line);
  const results = new Map<string, TestResults>();
  for (const id of followed.flatMap((f) => f.testIds)) {
    results.set(id, await testResults(cloud.url, id));
  }
  out('');
  for (const line of resultLines(commits, followed, result.tests, results)) out(line);
  const problems = followed.flatMap((f, i) =>
    verdict(
      commits[i]!,
      f.testIds,
      result.tests,
      statuses.get(f.sha) ?? [],
      results,
      built ? greetingOf(commits[i]!) : undefined,
    ),
  );
  out('');
  if (problems.length === 0) {
    out('OK: the passing commit is success, the failing commit is failure, as expected.');
    return 0;
  }
  for (const problem of problems) out(`NOT OK: ${problem}`);
  return 1;
}

/** Relative to the working directory when under it. */
function displayPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown && !shown.startsWith('..') ? shown : path;
}

if (require.main === module) {
  const abort = new AbortController();
  const stop = () => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C: now
    console.log('\nStopping…');
    abort.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  runDemo({ signal: abort.signal }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
