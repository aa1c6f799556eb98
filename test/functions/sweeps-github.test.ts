// What the sweeps owe GitHub, through the whole local cloud (issue 12, items 4
// and 5; DESIGN §3.7): a final commit status that GitHub refused is posted
// again by sweepExpired, so GitHub's latest status of the context is the final
// one; and a test that waits for a build or an approval past its limit ends
// `error`, with a line that says what to do, on GitHub too. The local GitHub
// refuses posts as GitHub would (faults.ts); where a case needs time to have
// passed (a check that came due, a wait that ran long), the test writes the
// earlier time into the test's document instead of waiting for it.
import { deriveVmToken } from '../../shared/auth/vm-token';
import {
  allTestsPassed,
  approvalWaitExpired,
  buildWaitExpired,
  RUNNING_TESTS,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
} from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import {
  ago,
  counts,
  getTest,
  inStatus,
  linesWith,
  rewrite,
  runningPush,
  runSweep,
  statusesOf,
  useSweepCloud,
  waitFor,
  waitForTest,
  type Status,
} from './sweeps-support';
import {
  idsOf,
  pullRequestPayload,
  pushPayload,
  REPO,
  send,
  shaOf,
  workflowRunPayload,
  type WebhookCloud,
} from './webhook-support';

jest.setTimeout(60_000);

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

/** What GitHub shows now for `context` on the test's commit: its latest status. */
async function shown(h: WebhookCloud, test: TestRecord, context: string): Promise<Status> {
  return (await statusesOf(h, test.sha)).filter((s) => s.context === context).at(-1)!;
}

/** A report from the test's VM to `progress`, with the VM's own token. */
async function report(h: WebhookCloud, test: TestRecord, body: Record<string, unknown>) {
  const res = await fetch(`${h.cloud.url}/progress`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${deriveVmToken(h.cloud.tokenKey, test.id, test.instance!.name)}`,
    },
    body: JSON.stringify({ testId: test.id, ...body }),
  });
  expect(res.status).toBe(200);
}

describe('a final status that GitHub refused', () => {
  const h = useSweepCloud();

  it('the reproduced case: refused 3 times while the test ran, posted by sweepExpired once its check is due', async () => {
    const { cloud } = h;
    const [linux, windows] = await runningPush(h, 'final-refused');
    await report(h, linux!, { stage: 'testing' });
    await waitFor('"Running tests" on GitHub', async () =>
      (await shown(h, linux!, 'ci/linux')).description === RUNNING_TESTS ? true : undefined,
    );
    // GitHub refuses the next 3 posts of this commit: the 3 tries of the final status.
    cloud.github.injectFault({
      method: 'POST',
      path: `/statuses/${linux!.sha}`,
      status: 502,
      count: 3,
    });
    const refusedBefore = cloud.github.calls().length;

    await report(h, linux!, {
      stage: 'completed',
      result: { exitCode: 0, passed: 3, failed: 0, summary: '3 passed' },
    });

    const passed = await waitForTest(h, linux!.id, inStatus('passed'));
    const final = allTestsPassed(3);
    expect(passed.message).toBe(final);
    // The three tries were refused: GitHub still shows the test running.
    await waitFor('the 3 refused tries', () =>
      cloud.github
        .calls()
        .slice(refusedBefore)
        .filter((c) => c.method === 'POST' && c.path.includes('/statuses/')).length >= 3
        ? true
        : undefined,
    );
    expect(await shown(h, linux!, 'ci/linux')).toEqual({
      state: 'pending',
      context: 'ci/linux',
      description: RUNNING_TESTS,
    });

    // The minute the end's own post had is over; both sweeps run, twice, as in the report.
    await rewrite(h, linux!.id, { statusCheckAt: ago(1_000) });
    const runs = [];
    for (let round = 0; round < 2; round++) {
      await runSweep(h, 'sweepPending');
      runs.push(await runSweep(h, 'sweepExpired'));
    }

    expect(await shown(h, linux!, 'ci/linux')).toEqual({
      state: 'success',
      context: 'ci/linux',
      description: final,
    });
    expect(runs.map((run) => run.summary.statuses)).toEqual([
      counts({ found: 1, done: 1 }),
      counts(),
    ]);
    // Posted once, and nothing left to check.
    const finals = (await statusesOf(h, linux!.sha)).filter((s) => s.description === final);
    expect(finals).toHaveLength(1);
    expect(await getTest(h, linux!.id)).toMatchObject({
      status: 'passed',
      githubStatus: { state: 'success', description: final },
      statusCheckAt: null,
    });
    expect(linesWith(h, 'Final commit status posted again')).toHaveLength(1);
    // The other platform's test, still running, is not touched.
    expect(await getTest(h, windows!.id)).toMatchObject({ status: 'running', statusCheckAt: null });
  });
});

describe('waits that have an end (the default limits: 120 minutes for a build, 14 days for an approval)', () => {
  const h = useSweepCloud({
    configure: (config) => ({
      ...config,
      platforms: {
        ...config.platforms,
        linux: {
          ...config.platforms.linux!,
          buildWorkflow: 'build.yml',
          artifactName: 'hello-linux',
        },
      },
    }),
  });

  it('a test waiting for its build past waitForBuildMinutes ends error, with the line on GitHub; a late build starts nothing', async () => {
    const { cloud } = h;
    const sha = shaOf('sweeps/build-never-came');
    // GitHub shows the build running, and it never finishes.
    cloud.github.seedWorkflowRun(REPO, {
      id: 4242,
      head_sha: sha,
      path: '.github/workflows/build.yml',
      status: 'in_progress',
      conclusion: null,
    });
    const answer = await send(cloud, 'push', pushPayload(sha));
    expect(answer.status).toBe(202);
    const [linuxId, windowsId] = idsOf(sha);
    const waiting = await waitForTest(h, linuxId!, inStatus('waiting'));
    expect(waiting).toMatchObject({ waitReason: 'build', message: WAITING_FOR_BUILD });
    await waitForTest(h, windowsId!, inStatus('running'));
    await cloud.tasks.whenIdle();

    // Within the limit: left waiting.
    await rewrite(h, linuxId!, { waitingSince: ago(119 * MINUTE) });
    await runSweep(h, 'sweepExpired');
    expect((await getTest(h, linuxId!)).status).toBe('waiting');

    // Its wait began 121 minutes ago: the build never finished.
    await rewrite(h, linuxId!, { waitingSince: ago(121 * MINUTE) });
    const run = await runSweep(h, 'sweepExpired');

    expect((await getTest(h, linuxId!)).status).toBe('error');
    expect((await shown(h, waiting, 'ci/linux')).state).toBe('error');
    const line = buildWaitExpired('build.yml', 120);
    expect(line).toBe(
      'No build of build.yml finished within 120 min: check the workflow, then push again',
    );
    expect(await shown(h, waiting, 'ci/linux')).toEqual({
      state: 'error',
      context: 'ci/linux',
      description: line,
    });
    expect(run.summary.waits).toEqual(counts({ found: 1, done: 1 }));
    expect(await getTest(h, linuxId!)).toMatchObject({
      status: 'error',
      message: line,
      waitReason: null,
      waitingSince: null,
      instance: null,
    });
    expect(linesWith(h, 'A wait ran past its limit; test ended')).toHaveLength(1);
    expect((await getTest(h, windowsId!)).status).toBe('running');

    // The build finishes after all: the ended test stays ended (push again to test it).
    const late = await send(
      cloud,
      'workflow_run',
      workflowRunPayload(sha, { conclusion: 'success' }),
    );
    expect(late.status).toBe(202);
    expect((await getTest(h, linuxId!)).status).toBe('error');
    expect(await shown(h, waiting, 'ci/linux')).toMatchObject({
      state: 'error',
      description: line,
    });
  });

  it('a pull request no maintainer approved within waitForApprovalDays ends error on every platform', async () => {
    const { cloud } = h;
    const sha = shaOf('sweeps/never-approved');
    const opened = await send(
      cloud,
      'pull_request',
      pullRequestPayload('opened', sha, { association: 'NONE', login: 'outsider' }),
    );
    expect(opened.status).toBe(202);
    const ids = opened.body.tests as string[];
    expect(ids).toHaveLength(2);
    const tests = await Promise.all(ids.map((id) => waitForTest(h, id, inStatus('waiting'))));
    for (const test of tests) {
      expect(test).toMatchObject({ waitReason: 'approval', message: WAITING_FOR_APPROVAL });
    }
    for (const id of ids) await rewrite(h, id, { waitingSince: ago(14 * DAY - MINUTE) });
    await runSweep(h, 'sweepExpired');
    for (const id of ids) expect((await getTest(h, id)).status).toBe('waiting');

    for (const id of ids) await rewrite(h, id, { waitingSince: ago(14 * DAY + MINUTE) });
    const run = await runSweep(h, 'sweepExpired');

    for (const [i, context] of ['ci/linux', 'ci/windows'].entries()) {
      expect((await getTest(h, ids[i]!)).status).toBe('error');
      expect((await shown(h, tests[i]!, context)).state).toBe('error');
    }
    const line = approvalWaitExpired(14);
    expect(line).toBe(
      'Not approved within 14 days: push a new commit, then ask a maintainer to approve it',
    );
    expect(run.summary.waits).toEqual(counts({ found: 2, done: 2 }));
    for (const [i, context] of ['ci/linux', 'ci/windows'].entries()) {
      expect(await shown(h, tests[i]!, context)).toEqual({
        state: 'error',
        context,
        description: line,
      });
      expect(await getTest(h, ids[i]!)).toMatchObject({ status: 'error', message: line });
    }
    expect(cloud.compute.instances()).toEqual([]);
  });
});
