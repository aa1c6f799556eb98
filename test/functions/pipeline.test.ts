// End to end through the local cloud (DESIGN §1, §6): a signed webhook, the
// Tasks stand-in dispatching to runTest, a local VM running the real Linux
// startup script against a local git repository, the script's reports to the
// progress function, the final commit status on the local GitHub, and the
// VM's teardown. Nothing here is a double: only the clock of the local cloud
// is shortened.
import { join } from 'node:path';
import { deriveVmToken } from '../../shared/auth/vm-token';
import { PR_CLOSED, RUNNING_TESTS, waitingForSlot } from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import type { VmciConfig } from '../../shared/config';
import {
  pullRequestPayload,
  pushPayload,
  REPO,
  send,
  useWebhookCloud,
  type WebhookCloud,
} from './webhook-support';
import { useSuiteRepo } from '../support/suite-repo';

const ROOT = join(__dirname, '..', '..');
const LINUX_ONLY_CONFIG = join(ROOT, 'config/vmci.local.yaml');
const WAIT_MS = 60_000;

jest.setTimeout(120_000);

// --- a local repository whose commits pass, fail or run for long ------------------

const suiteRepo = useSuiteRepo('vmci-pipeline-repo-');
const repoDir = suiteRepo.dir;
const commitSuite = suiteRepo.commit;

const summaryOf = (passed: number, failed: number) =>
  `printf '{"passed":${passed},"failed":${failed}}' > "$VMCI_RESULTS_DIR/summary.json"`;

function linuxOnly(changes: Partial<VmciConfig['platforms'][string]> = {}) {
  return (config: VmciConfig): VmciConfig => ({
    ...config,
    cloneUrls: { [REPO]: repoDir },
    // Long enough that Compute's maxRunDuration (scaled) never ends a VM here.
    platforms: { linux: { ...config.platforms.linux!, maxRunMinutes: 120, ...changes } },
  });
}

function pipelineCloud(changes: Partial<VmciConfig['platforms'][string]> = {}): WebhookCloud {
  return useWebhookCloud({
    configPath: LINUX_ONLY_CONFIG,
    configure: linuxOnly(changes),
    functions: ['webhook', 'runTest', 'progress', 'status'],
    queue: 'running',
    bootVms: true,
    vmEnv: { VMCI_REPORT_DELAY_SECONDS: '0.1' },
  });
}

// --- helpers ------------------------------------------------------------------------

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  last?: () => Promise<unknown>,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await last?.())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function pushed(h: WebhookCloud, sha: string): Promise<string> {
  const answer = await send(h.cloud, 'push', pushPayload(sha));
  expect(answer.status).toBe(202);
  const [id] = answer.body.tests as string[];
  return id!;
}

function waitForTest(h: WebhookCloud, id: string, done: (test: TestRecord) => boolean) {
  return waitFor(
    `test ${id}`,
    async () => {
      const test = await h.store.getTest(id);
      return test && done(test) ? test : undefined;
    },
    async () => {
      const test = await h.store.getTest(id);
      return test && { status: test.status, stage: test.stage, timeline: test.timeline };
    },
  );
}

const ended = (test: TestRecord) => test.finishedAt !== null;

async function statusesOf(h: WebhookCloud, sha: string) {
  const res = await fetch(`${h.cloud.url}/github/repos/${REPO}/commits/${sha}/statuses`);
  expect(res.status).toBe(200);
  const list = (await res.json()) as { state: string; description: string; context: string }[];
  // GitHub lists the newest first.
  return list.map(({ state, description }) => ({ state, description })).reverse();
}

async function noVmsLeft(h: WebhookCloud): Promise<void> {
  await waitFor('every VM to be deleted', async () =>
    h.cloud.compute.instances().length === 0 ? true : undefined,
  );
  const res = await fetch(`${h.cloud.url}/_local/compute/instances`);
  expect(await res.json()).toEqual([]);
}

function report(h: WebhookCloud, body: unknown, token: string | null) {
  return fetch(`${h.cloud.url}/progress`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
}

const tokenOf = (h: WebhookCloud, test: TestRecord) =>
  deriveVmToken(h.cloud.tokenKey, test.id, test.instance!.name);

// --- the cases ----------------------------------------------------------------------

describe('a push, run on a local VM by the real startup script', () => {
  const h = pipelineCloud();

  it('a passing suite ends passed with a success status; a failing one failed with failure', async () => {
    const good = commitSuite('good', `echo "3 checks"; ${summaryOf(3, 0)}; exit 0`);
    const bad = commitSuite('bad', `echo "1 check fails"; ${summaryOf(2, 1)}; exit 1`);

    const [goodId, badId] = [await pushed(h, good), await pushed(h, bad)];
    const [passed, failed] = await Promise.all([
      waitForTest(h, goodId, ended),
      waitForTest(h, badId, ended),
    ]);

    expect(passed).toMatchObject({
      status: 'passed',
      message: 'All tests passed (3 passed)',
      result: { exitCode: 0, passed: 3, failed: 0 },
    });
    expect(failed).toMatchObject({
      status: 'failed',
      message: '1 of 3 tests failed',
      result: { exitCode: 1, passed: 2, failed: 1 },
    });
    // The VM went through both stages, in order.
    const stages = (t: TestRecord) => t.timeline.flatMap((e) => (e.stage ? [e.stage] : []));
    expect(stages(passed)).toEqual(['preparation', 'testing']);
    expect((await statusesOf(h, good)).at(-1)).toEqual({
      state: 'success',
      description: 'All tests passed (3 passed)',
    });
    expect((await statusesOf(h, bad)).at(-1)).toEqual({
      state: 'failure',
      description: '1 of 3 tests failed',
    });
    await noVmsLeft(h);
    // Each deletion was checked done, and the slots are free.
    for (const id of [goodId, badId]) {
      const test = await waitForTest(h, id, (t) => (t.deletion?.doneAt ?? null) !== null);
      expect(test.deletion!.name).toBe(test.instance!.name);
    }
    expect(await h.store.slotHolders('linux')).toEqual([]);
  });

  it('the same completed report again answers 200 and changes nothing', async () => {
    const sha = commitSuite('again', `${summaryOf(1, 0)}; exit 0`);
    const id = await pushed(h, sha);
    const test = await waitForTest(h, id, (t) => (t.deletion?.doneAt ?? null) !== null);
    await noVmsLeft(h);
    const statusesBefore = await statusesOf(h, sha);

    const res = await report(
      h,
      { testId: id, stage: 'completed', result: test.result },
      tokenOf(h, test),
    );

    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'passed', outcome: 'unchanged' });
    expect(await h.store.getTest(id)).toEqual(test);
    expect(await statusesOf(h, sha)).toEqual(statusesBefore);
  });
});

describe('reports on a test whose VM is still running, and a PR closed under it', () => {
  const h = pipelineCloud();

  it('refuses bad reports with the documented codes, then cancels, deletes the VM and 409s', async () => {
    const sha = commitSuite('slow', 'echo "slow suite"; sleep 600');
    const opened = await send(
      h.cloud,
      'pull_request',
      pullRequestPayload('opened', sha, { association: 'OWNER' }),
    );
    expect(opened.status).toBe(202);
    const [id] = opened.body.tests as string[];
    // Testing, and its status posted (the post is noted on the test after the move).
    const running = await waitForTest(
      h,
      id!,
      (t) => t.stage === 'testing' && t.githubStatus?.description === RUNNING_TESTS,
    );
    const token = tokenOf(h, running);
    const otherToken = deriveVmToken(h.cloud.tokenKey, `${id}-other`, running.instance!.name);
    const statusesBefore = await statusesOf(h, sha);

    const answers = {
      regression: await report(h, { testId: id, stage: 'preparation' }, token),
      forged: await report(h, { testId: id, stage: 'testing' }, 'forged-token'),
      otherTests: await report(h, { testId: id, stage: 'testing' }, otherToken),
      noToken: await report(h, { testId: id, stage: 'testing' }, null),
      unknownTest: await report(h, { testId: 'no-such-test', stage: 'testing' }, token),
      badBody: await report(h, { testId: id, stage: 'completed' }, token),
    };

    expect(answers.regression.status).toBe(409);
    const unauthorized = [answers.forged, answers.otherTests, answers.noToken, answers.unknownTest];
    const bodies = await Promise.all(unauthorized.map((r) => r.json()));
    expect(unauthorized.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    // An unknown test and a wrong token get the very same answer.
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(answers.badBody.status).toBe(400);
    expect(((await answers.badBody.json()) as { error: string }).error).toMatch(/result/);
    expect(await h.store.getTest(id!)).toEqual(running);
    expect(await statusesOf(h, sha)).toEqual(statusesBefore);

    const closed = await send(
      h.cloud,
      'pull_request',
      pullRequestPayload('closed', sha, { association: 'OWNER' }),
    );
    expect(closed.status).toBe(202);
    const canceled = await waitForTest(h, id!, ended);
    expect(canceled).toMatchObject({ status: 'canceled', message: PR_CLOSED });
    await noVmsLeft(h);
    const afterCancel = await statusesOf(h, sha);
    expect(afterCancel.at(-1)).toEqual({ state: 'error', description: PR_CLOSED });

    const late = await report(
      h,
      { testId: id, stage: 'completed', result: { exitCode: 0, passed: 1, failed: 0 } },
      token,
    );
    expect(late.status).toBe(409);
    expect(await statusesOf(h, sha)).toEqual(afterCancel);
    expect((await h.store.getTest(id!))?.status).toBe('canceled');
  });
});

describe('maxConcurrent 1', () => {
  const h = pipelineCloud({ maxConcurrent: 1 });

  it('three tests run one after another, each started by the previous one ending', async () => {
    const shas = ['one', 'two', 'three'].map((label) =>
      commitSuite(label, `sleep 0.3; ${summaryOf(1, 0)}`),
    );
    // Nothing but an ending can start a parked test: no sweep runs in this cloud.
    expect(h.cloud.functions).not.toContain('sweepPending');

    // All three tasks are there before any runs, so two of them find the one slot taken.
    h.cloud.tasks.pause();
    const ids: string[] = [];
    for (const sha of shas) ids.push(await pushed(h, sha));
    h.cloud.tasks.resume();
    const tests = await Promise.all(ids.map((id) => waitForTest(h, id, ended)));

    expect(tests.map((t) => t.status)).toEqual(['passed', 'passed', 'passed']);
    const byStart = [...tests].sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
    for (let i = 1; i < byStart.length; i++) {
      const previous = byStart[i - 1]!;
      const next = byStart[i]!;
      expect(next.startedAt!.getTime()).toBeGreaterThanOrEqual(previous.finishedAt!.getTime());
      // It waited for the slot, and was queued again only once the previous test had ended.
      expect(next.timeline.map((e) => e.message)).toContain(waitingForSlot('linux'));
      const requeued = next.timeline.filter(
        (e, j) => e.status === 'queued' && next.timeline[j - 1]?.status === 'pending',
      );
      expect(requeued.length).toBeGreaterThan(0);
      expect(requeued.at(-1)!.at.getTime()).toBeGreaterThanOrEqual(previous.finishedAt!.getTime());
    }
    await noVmsLeft(h);
  });
});
