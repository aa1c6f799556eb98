// Build gates through the local cloud (issue 14, item 1): a build that
// finished before a fork's PR was approved releases the approved tests at
// once, and a build that succeeded without its artifact ends the test with a
// line that says so, through runTest as a GitHub App.
import type { VmciConfig } from '../../shared/config';
import { artifactNotFound, TESTS_QUEUED, WAITING_FOR_APPROVAL } from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import {
  idsOf,
  PR_NUMBER,
  pullRequestPayload,
  pushPayload,
  REPO,
  send,
  shaOf,
  testsOf,
  useWebhookCloud,
  workflowRunPayload,
  type WebhookCloud,
} from './webhook-support';

jest.setTimeout(60_000);

/** windows is built by build.yml, which uploads `windows-build`; linux is not built. */
const windowsBuilt = (config: VmciConfig): VmciConfig => ({
  ...config,
  platforms: {
    ...config.platforms,
    windows: {
      ...config.platforms.windows!,
      buildWorkflow: 'build.yml',
      artifactName: 'windows-build',
    },
  },
});

const shown = (tests: readonly TestRecord[]) =>
  tests.map((t) => ({ platform: t.platform, status: t.status, message: t.message }));

async function waitUntil(h: WebhookCloud, ids: string[], done: (t: TestRecord[]) => boolean) {
  const until = Date.now() + 30_000;
  for (;;) {
    const tests = await testsOf(h, ids);
    if (done(tests)) return tests;
    if (Date.now() > until) throw new Error(`timed out: ${JSON.stringify(shown(tests))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a build that finished before the fork’s PR was approved', () => {
  const h = useWebhookCloud({ configure: windowsBuilt });

  it('the approval releases the built platform straight to the queue', async () => {
    const { cloud } = h;
    const sha = shaOf('gates/approved-after-build');
    const ids = idsOf(sha, 'pull_request', PR_NUMBER);
    const opened = await send(
      cloud,
      'pull_request',
      pullRequestPayload('opened', sha, { association: 'CONTRIBUTOR', login: 'outsider' }),
    );
    expect(opened.status).toBe(202);
    expect((await testsOf(h, ids)).map((t) => t.message)).toEqual([
      WAITING_FOR_APPROVAL,
      WAITING_FOR_APPROVAL,
    ]);

    // The build finishes while nobody has approved yet: nothing of a stranger's runs.
    const built = await send(
      cloud,
      'workflow_run',
      workflowRunPayload(sha, { conclusion: 'success' }),
    );
    expect(built.status).toBe(202);
    expect((await testsOf(h, ids)).map((t) => t.status)).toEqual(['waiting', 'waiting']);

    const label = cloud.config.approvalLabel;
    const approved = await send(
      cloud,
      'pull_request',
      pullRequestPayload('labeled', sha, {
        association: 'CONTRIBUTOR',
        login: 'outsider',
        label,
        labels: [label],
      }),
    );

    expect(approved.status).toBe(202);
    expect(shown(await testsOf(h, ids))).toEqual([
      { platform: 'linux', status: 'queued', message: TESTS_QUEUED },
      { platform: 'windows', status: 'queued', message: TESTS_QUEUED },
    ]);
    // What was kept of the build answered; GitHub was not asked for its runs.
    expect(cloud.github.calls().filter((c) => c.path.includes('/actions/'))).toEqual([]);
  });
});

describe('a build that succeeded without its artifact', () => {
  const h = useWebhookCloud({
    configure: windowsBuilt,
    githubAuth: 'app',
    functions: ['webhook', 'runTest', 'status'],
    queue: 'running',
  });

  it('ends the built platform’s test with the line that says so; the other platform runs', async () => {
    const { cloud } = h;
    const sha = shaOf('gates/no-artifact');
    // The run succeeded, but uploaded something else.
    cloud.github.seedWorkflowRun(REPO, {
      id: 8101,
      head_sha: sha,
      path: '.github/workflows/build.yml',
      status: 'completed',
      conclusion: 'success',
    });
    cloud.github.seedArtifact(REPO, { run_id: 8101, name: 'linux-build', data: 'PK' });

    const pushed = await send(cloud, 'push', pushPayload(sha));
    expect(pushed.status).toBe(202);

    const ids = idsOf(sha);
    const tests = await waitUntil(
      h,
      ids,
      (t) => (t[1]?.finishedAt ?? null) !== null && t[0]?.status === 'running',
    );
    expect(shown(tests)[1]).toEqual({
      platform: 'windows',
      status: 'error',
      message: artifactNotFound('windows-build'),
    });
    expect(tests[0]?.status).toBe('running');
  });
});
