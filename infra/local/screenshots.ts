// `npm run screenshots`: the status pages as README shows them. A local cloud
// of its own (DESIGN §8) runs the demo's passing and failing commits on two
// platforms (linux and debian: both run the Linux script on local VMs), and
// a pull request whose suite runs for a while; once the pushes have ended
// and the PR's tests run, headless Chromium saves the recent page, a commit's
// page and a test's page, at desktop and phone widths, to docs/screenshots/.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import type { Browser } from 'puppeteer-core';
import type { VmciConfig } from '../../shared/config';
import type { TestView } from '../../shared/tests/view';
import { launchChromium } from './chromium';
import { startLocalCloud, type LocalCloud } from './cloud';
import { pushPayload } from './demo/payload';
import { divertJsonLogs } from './demo/quiet-logs';
import { addCommit, ensureRepo } from './demo/repo';
import { examplePayload, sendWebhook } from './send-webhook';

const ROOT = resolve(__dirname, '../..');
const REPO = 'Codertocat/Hello-World';
const OUT = resolve(ROOT, 'docs/screenshots');
const WAIT_MS = 180_000;

interface Shot {
  file: string;
  path: string;
  width: number;
  height: number;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'vmci-screenshots-'));
  const repoDir = join(work, 'Hello-World');
  const restoreStdout = divertJsonLogs(join(work, 'functions.log'));
  let cloud: LocalCloud | undefined;
  let browser: Browser | undefined;
  try {
    ensureRepo(repoDir);
    const passing = addCommit(repoDir, 'passing');
    const failing = addCommit(repoDir, 'failing');
    const slow = commitSlowSuite(repoDir);

    cloud = await startLocalCloud({
      configPath: resolve(ROOT, 'config/vmci.local.yaml'),
      port: 0,
      firestoreProject: `vmci-shots-${randomBytes(4).toString('hex')}`,
      configure: (config: VmciConfig): VmciConfig => ({
        ...config,
        cloneUrls: { [REPO]: repoDir },
        platforms: { linux: config.platforms.linux!, debian: config.platforms.linux! },
      }),
      vmEnv: { VMCI_REPORT_DELAY_SECONDS: '0.2' },
    });
    const url = cloud.url;
    const send = async (event: string, payload: unknown) => {
      const answer = await sendWebhook({
        url: `${url}/webhook`,
        secret: cloud!.webhookSecret,
        event,
        payload,
      });
      if (answer.status !== 202)
        throw new Error(`webhook ${event}: HTTP ${answer.status} ${answer.body}`);
      return (JSON.parse(answer.body) as { tests: string[] }).tests;
    };
    const pushed = [
      ...(await send('push', pushPayload(passing))),
      ...(await send('push', pushPayload(failing))),
    ];
    const pr = await send('pull_request', prPayload(slow));
    console.log(
      `Pushed ${passing.sha.slice(0, 7)} and ${failing.sha.slice(0, 7)}, opened PR #2 at ${slow.slice(0, 7)}`,
    );

    await waitFor(url, pushed, (t) => t.finishedAt !== null);
    await waitFor(url, pr, (t) => t.status === 'running' && t.stage === 'testing');
    const failingTest = `${url}/status/tests/${pushed.find((id) => id.includes(failing.sha.slice(0, 7)) && id.includes('-linux-'))}`;

    browser = await launchChromium();
    const shots: Shot[] = [
      { file: 'recent-desktop.png', path: '/status', width: 1200, height: 700 },
      {
        file: 'commit-desktop.png',
        path: `/status/tests?repo=${encodeURIComponent(REPO)}&sha=${failing.sha}`,
        width: 1200,
        height: 450,
      },
      { file: 'test-phone.png', path: failingTest.slice(url.length), width: 390, height: 844 },
      { file: 'recent-phone.png', path: '/status', width: 390, height: 844 },
    ];
    mkdirSync(OUT, { recursive: true });
    for (const shot of shots) {
      const page = await browser.newPage();
      await page.setViewport({ width: shot.width, height: shot.height, deviceScaleFactor: 1 });
      await page.goto(`${url}${shot.path}`, { waitUntil: 'load' });
      const file = join(OUT, shot.file);
      writeFileSync(file, await page.screenshot({ type: 'png', fullPage: true }));
      await page.close();
      console.log(
        `${relative(process.cwd(), file)}: ${Math.round(statSync(file).size / 1024)} KiB`,
      );
    }
  } finally {
    await browser?.close();
    await cloud?.close();
    restoreStdout();
    rmSync(work, { recursive: true, force: true });
  }
}

/** A commit whose suite runs for a while: the PR's tests are still running when the pages are saved. */
function commitSlowSuite(dir: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
  writeFileSync(join(dir, 'run-tests.sh'), '#!/bin/sh\necho "a long suite"\nsleep 600\n', {
    mode: 0o755,
  });
  git('add', 'run-tests.sh');
  git('commit', '-q', '--no-verify', '-m', 'A suite that takes its time');
  return git('rev-parse', 'HEAD');
}

/** The real pull_request.opened example, by its owner, for head `sha` on branch greeting. */
function prPayload(sha: string): Record<string, unknown> {
  const { payload } = examplePayload('pull_request.opened');
  const pr = payload.pull_request as Record<string, unknown>;
  const head = pr.head as Record<string, unknown>;
  return {
    ...payload,
    pull_request: {
      ...pr,
      author_association: 'OWNER',
      updated_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      head: { ...head, sha, ref: 'greeting' },
    },
  };
}

/** Polls the status JSON until every test of `ids` is `done`. */
async function waitFor(url: string, ids: readonly string[], done: (test: TestView) => boolean) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const tests = await Promise.all(
      ids.map(async (id) => (await (await fetch(`${url}/status/tests/${id}`)).json()) as TestView),
    );
    if (tests.every(done)) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out: ${tests.map((t) => `${t.id} ${t.status}`).join(', ')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
