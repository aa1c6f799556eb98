// The webhook function end to end (DESIGN §3, §5): real example payloads,
// signed, through the local cloud's HTTP server, into the Firestore emulator,
// the Cloud Tasks stand-in (through the real client) and the GitHub stand-in.
import type { LocalCloud } from '../../infra/local/cloud';
import type { VmciConfig } from '../../shared/config';
import {
  BUILD_WORKFLOW_FAILED,
  PR_CLOSED,
  TESTS_QUEUED,
  USER_BLOCKED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
  platformInMaintenance,
  supersededBy,
} from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import { changed } from '../config/fixtures';
import { example } from '../webhook/fixtures';
import {
  PLATFORMS,
  PR_NUMBER,
  REPO,
  idOf,
  idsOf,
  latestStatuses,
  pullRequestPayload,
  pushPayload,
  send,
  shaOf,
  snapshot,
  statusPageOf,
  statusesPosted,
  taskNameOf,
  testsOf,
  useWebhookCloud,
  workflowRunPayload,
  type CloudSnapshot,
  type WebhookCloud,
} from './webhook-support';

const NOTHING: CloudSnapshot = { counts: {}, documents: {}, tasks: [], githubCalls: 0 };
const BLOCKED = 'blocked-user';

/** The tasks in the queue: name → the JSON body runTest would get. */
function queuedTasks(cloud: LocalCloud): Record<string, unknown> {
  return Object.fromEntries(
    cloud.tasks.tasks().map((task) => [task.name, JSON.parse(task.body.toString('utf8'))]),
  );
}

/** Exactly one first-generation task per test of `ids`, and nothing else. */
function expectTasksFor(cloud: LocalCloud, ids: readonly string[]): void {
  expect(queuedTasks(cloud)).toEqual(
    Object.fromEntries(ids.map((id) => [taskNameOf(cloud, id), { testId: id }])),
  );
}

/** The newest commit status of each platform's context for `sha`. */
function expectLatestStatuses(
  cloud: LocalCloud,
  sha: string,
  expected: Record<string, { state: string; description: string; id: string }>,
): void {
  expect(latestStatuses(cloud, sha)).toEqual(
    Object.fromEntries(
      Object.entries(expected).map(([platform, { state, description, id }]) => [
        `ci/${platform}`,
        {
          state,
          context: `ci/${platform}`,
          description,
          target_url: statusPageOf(cloud, id),
        },
      ]),
    ),
  );
}

function expectQueued(tests: readonly TestRecord[]): void {
  for (const test of tests) {
    expect(test).toMatchObject({
      status: 'queued',
      message: TESTS_QUEUED,
      waitReason: null,
      enqueueGeneration: 1,
    });
    expect(test.queuedAt).toBeInstanceOf(Date);
  }
}

/** The documents of one collection, from a snapshot. */
function documentsOf(state: CloudSnapshot, collection: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(state.documents).filter(([path]) => path.startsWith(`${collection}/`)),
  );
}

const handled = (delivery: string, fields: Partial<Record<string, string[]>> = {}) => ({
  delivery,
  tests: [],
  canceled: [],
  released: [],
  notQueued: [],
  ...fields,
});

const withPlatform = (
  config: VmciConfig,
  platform: string,
  settings: Partial<VmciConfig['platforms'][string]>,
): VmciConfig => ({
  ...config,
  platforms: { ...config.platforms, [platform]: { ...config.platforms[platform]!, ...settings } },
});

describe('webhook events (config/vmci.local.yaml, one blocked user)', () => {
  const env = useWebhookCloud({ configure: (config) => ({ ...config, blockedUsers: [BLOCKED] }) });

  it('ping: 200, nothing written', async () => {
    const res = await send(env.cloud, 'ping', example('ping'));

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ delivery: res.delivery, ok: true });
    expect(await snapshot(env)).toEqual(NOTHING);
  });

  it('push to a configured branch: one test per platform, stored queued, and its task; no GitHub call before runTest', async () => {
    const { cloud } = env;
    const sha = shaOf('push');
    const ids = idsOf(sha);

    const res = await send(cloud, 'push', pushPayload(sha));

    expect(res.status).toBe(202);
    expect(res.body).toEqual(handled(res.delivery, { tests: ids }));

    const tests = await testsOf(env, ids);
    expectQueued(tests);
    tests.forEach((test, i) => {
      expect(test).toMatchObject({
        id: ids[i],
        repo: REPO,
        sha,
        ref: 'refs/heads/master',
        cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
        author: 'Codertocat',
        trigger: 'push',
        pr: null,
        run: 1,
        platform: PLATFORMS[i],
        attempts: 0,
        instance: null,
      });
      expect(test.timeline.map((entry) => [entry.status, entry.message])).toEqual([
        ['queued', TESTS_QUEUED],
      ]);
    });
    // Remembered under its delivery id and under the digest of its signed body.
    expect((await snapshot(env)).counts).toEqual({ tests: 2, deliveries: 2 });

    expectTasksFor(cloud, ids);
    for (const task of cloud.tasks.tasks()) {
      expect(task).toMatchObject({
        url: `${cloud.url}/runTest`,
        httpMethod: 'POST',
        oidcToken: { serviceAccountEmail: cloud.config.queue.serviceAccount },
      });
    }

    // Their first status comes from runTest's claim ("Starting a VM"), not from
    // the webhook; the queue is paused here, so GitHub has heard nothing.
    expect(tests.map((test) => test.githubStatus)).toEqual([null, null]);
    expect(cloud.github.calls()).toEqual([]);

    const listed = await fetch(`${cloud.url}/status/tests?repo=${REPO}&sha=${sha}`);
    expect(listed.status).toBe(200);
    const { tests: shown } = (await listed.json()) as {
      tests: { id: string; status: string; message: string }[];
    };
    expect(shown.map(({ id, status, message }) => ({ id, status, message }))).toEqual(
      ids.map((id) => ({ id, status: 'queued', message: TESTS_QUEUED })),
    );
  });

  it('a redelivery (same delivery id) answers as the first did and changes nothing', async () => {
    const { cloud } = env;
    const payload = pushPayload(shaOf('redelivery'));
    const first = await send(cloud, 'push', payload);
    expect(first.status).toBe(202);
    const before = await snapshot(env);
    expect(before.counts).toEqual({ tests: 2, deliveries: 2 });

    const again = await send(cloud, 'push', payload, first.delivery);

    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await snapshot(env)).toEqual(before);
  });

  it('the same signed body under a new delivery id (a replay): the first answer, and nothing changes at all', async () => {
    const { cloud } = env;
    const sha = shaOf('replay');
    const payload = pushPayload(sha);
    const first = await send(cloud, 'push', payload);
    const before = await snapshot(env);

    const replay = await send(cloud, 'push', payload);

    expect(replay.delivery).not.toBe(first.delivery);
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual(first.body);
    expect(replay.body).toEqual(handled(first.delivery, { tests: idsOf(sha) }));
    // No new document (not even a delivery record), task or GitHub call.
    expect(await snapshot(env)).toEqual(before);
    expectQueued(await testsOf(env, idsOf(sha)));
  });

  it('the same event in other bytes under a new delivery id: the same tests, no new task or status', async () => {
    const { cloud } = env;
    const sha = shaOf('same-event-other-bytes');
    const payload = pushPayload(sha);
    const first = await send(cloud, 'push', payload);
    const before = await snapshot(env);

    // Key order is not covered by the event's meaning, but it is by the signature.
    const reordered = Object.fromEntries(Object.entries(payload).reverse());
    const other = await send(cloud, 'push', reordered);

    expect(other.delivery).not.toBe(first.delivery);
    expect(other.status).toBe(202);
    expect(other.body).toEqual(handled(other.delivery, { tests: idsOf(sha) }));
    const after = await snapshot(env);
    expect(after.counts).toEqual({ tests: 2, deliveries: 4 }); // only the new delivery's two
    expect(documentsOf(after, 'tests')).toEqual(documentsOf(before, 'tests'));
    expect(after.tasks).toEqual(before.tasks);
    expect(after.githubCalls).toBe(before.githubCalls);
    expectQueued(await testsOf(env, idsOf(sha)));
  });

  it.each([
    {
      name: 'a tag',
      payload: () => changed(example('push'), ['after', shaOf('tag')]),
      ignored: '"refs/tags/simple-tag" is not a branch: tags are not tested',
    },
    {
      name: 'a branch that is not configured',
      payload: () => pushPayload(shaOf('feature'), ['ref', 'refs/heads/feature/x']),
      ignored: 'branch "feature/x" is not configured',
    },
    {
      name: 'a deleted branch',
      payload: () => pushPayload('0'.repeat(40), ['deleted', true]),
      ignored: '"refs/heads/master" was deleted: nothing to test',
    },
  ])('push to $name: 202, ignored, nothing written', async ({ payload, ignored }) => {
    const res = await send(env.cloud, 'push', payload());

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ delivery: res.delivery, tests: [], ignored });
    expect(await snapshot(env)).toEqual(NOTHING);
  });

  it('an event vm-ci does not handle (issues): 202, ignored, nothing written', async () => {
    const res = await send(env.cloud, 'issues', example('issues', 'opened'));

    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      delivery: res.delivery,
      tests: [],
      ignored: 'event "issues" is not handled',
    });
    expect(await snapshot(env)).toEqual(NOTHING);
  });

  describe('pull_request', () => {
    const prIds = (sha: string) => idsOf(sha, 'pull_request', PR_NUMBER);

    /** Opens the PR at `sha` by a member: its tests are queued. */
    async function openAsMember(cloud: LocalCloud, sha: string): Promise<string[]> {
      const res = await send(
        cloud,
        'pull_request',
        pullRequestPayload('opened', sha, { association: 'MEMBER' }),
      );
      expect(res.status).toBe(202);
      expect(res.body).toEqual(handled(res.delivery, { tests: prIds(sha) }));
      return prIds(sha);
    }

    it('opened by a member: the head commit’s tests are queued', async () => {
      const { cloud } = env;
      const sha = shaOf('pr-member');

      const ids = await openAsMember(cloud, sha);

      const tests = await testsOf(env, ids);
      expectQueued(tests);
      for (const test of tests) {
        expect(test).toMatchObject({
          sha,
          trigger: 'pull_request',
          pr: PR_NUMBER,
          ref: 'refs/heads/changes',
          author: 'Codertocat',
        });
      }
      expectTasksFor(cloud, ids);
      // runTest's claim posts their first status (the queue is paused here).
      expect(latestStatuses(cloud, sha)).toEqual({});
      expect(cloud.github.calls()).toEqual([]);
    });

    it.each(['NONE', 'CONTRIBUTOR', 'FIRST_TIME_CONTRIBUTOR'])(
      'opened by %s: the tests wait for approval until a maintainer adds the approval label',
      async (association) => {
        const { cloud } = env;
        const sha = shaOf(`pr-outside-${association}`);
        const ids = prIds(sha);

        const opened = await send(
          cloud,
          'pull_request',
          pullRequestPayload('opened', sha, { association, login: 'outsider' }),
        );

        expect(opened.status).toBe(202);
        expect(opened.body).toEqual(handled(opened.delivery, { tests: ids }));
        for (const test of await testsOf(env, ids)) {
          expect(test).toMatchObject({
            status: 'waiting',
            waitReason: 'approval',
            message: WAITING_FOR_APPROVAL,
            enqueueGeneration: 0,
            queuedAt: null,
            author: 'outsider',
          });
        }
        expect(cloud.tasks.tasks()).toEqual([]);
        expectLatestStatuses(cloud, sha, {
          linux: { state: 'pending', description: WAITING_FOR_APPROVAL, id: ids[0]! },
          windows: { state: 'pending', description: WAITING_FOR_APPROVAL, id: ids[1]! },
        });
        expect(cloud.github.calls()).toHaveLength(2);

        // Another label starts nothing.
        const before = await snapshot(env);
        const bug = await send(
          cloud,
          'pull_request',
          pullRequestPayload('labeled', sha, { association, label: 'bug', labels: ['bug'] }),
        );
        expect(bug.status).toBe(202);
        expect(bug.body).toEqual({
          delivery: bug.delivery,
          tests: [],
          ignored: 'label "bug" is not the approval label',
        });
        expect(await snapshot(env)).toEqual(before);

        const approvalLabel = cloud.config.approvalLabel;
        const labeled = await send(
          cloud,
          'pull_request',
          pullRequestPayload('labeled', sha, {
            association,
            label: approvalLabel,
            labels: ['bug', approvalLabel],
          }),
        );

        expect(labeled.status).toBe(202);
        expect(labeled.body).toEqual(handled(labeled.delivery, { released: ids }));
        expectQueued(await testsOf(env, ids));
        expectTasksFor(cloud, ids);
        // The wait stays on GitHub until runTest's claim posts "Starting a VM"
        // (the queue is paused here).
        expectLatestStatuses(cloud, sha, {
          linux: { state: 'pending', description: WAITING_FOR_APPROVAL, id: ids[0]! },
          windows: { state: 'pending', description: WAITING_FOR_APPROVAL, id: ids[1]! },
        });
        // The two waits, and the question whether the sender (the owner) may approve.
        expect(cloud.github.calls().map((c) => `${c.method} ${c.path}`)).toEqual([
          ...Array(2).fill(`POST /repos/${REPO}/statuses/${sha}`),
          `GET /repos/${REPO}/collaborators/Codertocat/permission`,
        ]);
      },
    );

    it('synchronize: new tests for the new head, the older commit’s queued tests superseded', async () => {
      const { cloud } = env;
      const oldSha = shaOf('sync-old');
      const newSha = shaOf('sync-new');
      const oldIds = await openAsMember(cloud, oldSha);
      const newIds = prIds(newSha);

      const res = await send(
        cloud,
        'pull_request',
        pullRequestPayload('synchronize', newSha, { association: 'MEMBER' }),
      );

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ delivery: res.delivery, tests: newIds, notQueued: [] });
      expect([...(res.body.canceled as string[])].sort()).toEqual(oldIds);
      const superseded = supersededBy(newSha);
      expect(superseded).toBe(`Superseded by ${newSha.slice(0, 7)}`);
      for (const test of await testsOf(env, oldIds)) {
        expect(test).toMatchObject({ status: 'canceled', message: superseded });
        expect(test.finishedAt).toBeInstanceOf(Date);
      }
      expectQueued(await testsOf(env, newIds));
      // The old tasks stay behind (runTest skips a test that is no longer queued).
      expectTasksFor(cloud, [...oldIds, ...newIds]);
      expectLatestStatuses(cloud, oldSha, {
        linux: { state: 'error', description: superseded, id: oldIds[0]! },
        windows: { state: 'error', description: superseded, id: oldIds[1]! },
      });
      expect(latestStatuses(cloud, newSha)).toEqual({});
      expect(cloud.github.calls()).toHaveLength(2);
    });

    it('closed: every live test of the PR is canceled ("PR closed"); finished ones stay as they are', async () => {
      const { cloud } = env;
      const oldSha = shaOf('closed-old');
      const headSha = shaOf('closed-head');
      const oldIds = await openAsMember(cloud, oldSha);
      await send(
        cloud,
        'pull_request',
        pullRequestPayload('synchronize', headSha, { association: 'MEMBER' }),
      );
      const headIds = prIds(headSha);
      const before = await snapshot(env);

      const res = await send(
        cloud,
        'pull_request',
        pullRequestPayload('closed', headSha, { association: 'MEMBER' }),
      );

      expect(res.status).toBe(202);
      expect(res.body).toMatchObject(handled(res.delivery, { canceled: expect.any(Array) }));
      expect([...(res.body.canceled as string[])].sort()).toEqual(headIds);
      for (const test of await testsOf(env, headIds)) {
        expect(test).toMatchObject({ status: 'canceled', message: PR_CLOSED });
      }
      expectLatestStatuses(cloud, headSha, {
        linux: { state: 'error', description: PR_CLOSED, id: headIds[0]! },
        windows: { state: 'error', description: PR_CLOSED, id: headIds[1]! },
      });
      // The superseded commit's tests were already over: untouched, no new status.
      const after = await snapshot(env);
      for (const id of oldIds) {
        expect(after.documents[`tests/${id}`]).toBe(before.documents[`tests/${id}`]);
      }
      expect(after.githubCalls).toBe(before.githubCalls + 2);
      expect(after.tasks).toEqual(before.tasks);
    });

    it('closed: tests waiting for approval are canceled too', async () => {
      const { cloud } = env;
      const sha = shaOf('closed-waiting');
      const ids = prIds(sha);
      await send(cloud, 'pull_request', pullRequestPayload('opened', sha, { association: 'NONE' }));

      const res = await send(
        cloud,
        'pull_request',
        pullRequestPayload('closed', sha, { association: 'NONE' }),
      );

      expect(res.status).toBe(202);
      expect([...(res.body.canceled as string[])].sort()).toEqual(ids);
      for (const test of await testsOf(env, ids)) {
        expect(test).toMatchObject({ status: 'canceled', message: PR_CLOSED });
      }
      expect(cloud.tasks.tasks()).toEqual([]);
      expectLatestStatuses(cloud, sha, {
        linux: { state: 'error', description: PR_CLOSED, id: ids[0]! },
        windows: { state: 'error', description: PR_CLOSED, id: ids[1]! },
      });
    });

    it('reopened with the same head: the closed run is tested again as run 2, once', async () => {
      const { cloud } = env;
      const sha = shaOf('reopened');
      const ids = await openAsMember(cloud, sha);
      await send(
        cloud,
        'pull_request',
        pullRequestPayload('closed', sha, { association: 'MEMBER' }),
      );

      // Renamed while closed: the re-run shows the PR's title as it is now.
      const res = await send(
        cloud,
        'pull_request',
        changed(pullRequestPayload('reopened', sha, { association: 'MEMBER' }), [
          'pull_request.title',
          'Renamed while closed',
        ]),
      );

      expect(res.status).toBe(202);
      const rerunIds = (res.body as { tests: string[] }).tests;
      expect(rerunIds).toHaveLength(2);
      expect(rerunIds).not.toEqual(ids);
      for (const test of await testsOf(env, ids)) {
        expect(test).toMatchObject({
          status: 'canceled',
          message: PR_CLOSED,
          title: 'Update the README with new information.',
        });
      }
      for (const test of await testsOf(env, rerunIds)) {
        expect(test).toMatchObject({
          status: 'queued',
          run: 2,
          sha,
          title: 'Renamed while closed',
        });
      }
      // One new task per new run (the canceled run's tasks end as no-ops in runTest).
      for (const id of rerunIds) {
        expect(cloud.tasks.tasks().filter((t) => t.id.includes(id))).toHaveLength(1);
      }

      // The same reopen again (a manual redelivery) creates nothing more.
      const before = await snapshot(env);
      const again = await send(
        cloud,
        'pull_request',
        pullRequestPayload('reopened', sha, { association: 'MEMBER' }),
      );
      expect((again.body as { tests: string[] }).tests).toEqual(rerunIds);
      const after = await snapshot(env);
      expect(documentsOf(after, 'tests')).toEqual(documentsOf(before, 'tests'));
      expect(after.tasks).toEqual(before.tasks);
    });

    it('reopened with a new head (pushed while closed): the new commit’s tests are queued', async () => {
      const { cloud } = env;
      const oldSha = shaOf('reopened-old');
      const newSha = shaOf('reopened-new');
      const oldIds = await openAsMember(cloud, oldSha);
      await send(
        cloud,
        'pull_request',
        pullRequestPayload('closed', oldSha, { association: 'MEMBER' }),
      );

      const res = await send(
        cloud,
        'pull_request',
        pullRequestPayload('reopened', newSha, { association: 'MEMBER' }),
      );

      const newIds = prIds(newSha);
      expect(res.status).toBe(202);
      expect(res.body).toEqual(handled(res.delivery, { tests: newIds }));
      expectQueued(await testsOf(env, newIds));
      for (const test of await testsOf(env, oldIds)) {
        expect(test).toMatchObject({ status: 'canceled', message: PR_CLOSED });
      }
      expectTasksFor(cloud, [...oldIds, ...newIds]);
    });

    it('a blocked user’s PR: its tests end at once in error, with error statuses; the approval label starts nothing', async () => {
      const { cloud } = env;
      const sha = shaOf('blocked');
      const ids = prIds(sha);

      const res = await send(
        cloud,
        'pull_request',
        pullRequestPayload('opened', sha, { association: 'CONTRIBUTOR', login: BLOCKED }),
      );

      expect(res.status).toBe(202);
      expect(res.body).toEqual(handled(res.delivery, { tests: ids }));
      for (const test of await testsOf(env, ids)) {
        expect(test).toMatchObject({ status: 'error', message: USER_BLOCKED, author: BLOCKED });
      }
      expect(cloud.tasks.tasks()).toEqual([]);
      expectLatestStatuses(cloud, sha, {
        linux: { state: 'error', description: USER_BLOCKED, id: ids[0]! },
        windows: { state: 'error', description: USER_BLOCKED, id: ids[1]! },
      });
      expect(cloud.github.calls()).toHaveLength(2);

      const before = await snapshot(env);
      const labeled = await send(
        cloud,
        'pull_request',
        pullRequestPayload('labeled', sha, {
          association: 'CONTRIBUTOR',
          login: BLOCKED,
          label: cloud.config.approvalLabel,
          labels: [cloud.config.approvalLabel],
        }),
      );
      expect(labeled.status).toBe(202);
      expect(labeled.body).toEqual({
        delivery: labeled.delivery,
        tests: [],
        ignored: `"${BLOCKED}" is blocked: the approval label starts nothing`,
      });
      expect(await snapshot(env)).toEqual(before);
    });
  });
});

describe('webhook events with supersede: none', () => {
  const env = useWebhookCloud({ configure: (config) => ({ ...config, supersede: 'none' }) });

  it('synchronize: the older commit’s tests keep running', async () => {
    const { cloud } = env;
    const oldSha = shaOf('none-old');
    const newSha = shaOf('none-new');
    const oldIds = idsOf(oldSha, 'pull_request', PR_NUMBER);
    const newIds = idsOf(newSha, 'pull_request', PR_NUMBER);
    const member = { association: 'MEMBER' };
    await send(cloud, 'pull_request', pullRequestPayload('opened', oldSha, member));

    const res = await send(
      cloud,
      'pull_request',
      pullRequestPayload('synchronize', newSha, member),
    );

    expect(res.status).toBe(202);
    expect(res.body).toEqual(handled(res.delivery, { tests: newIds }));
    expectQueued(await testsOf(env, [...oldIds, ...newIds]));
    expectTasksFor(cloud, [...oldIds, ...newIds]);
    // Nothing superseded, and queued tests hear from runTest's claim: no GitHub call.
    expect(statusesPosted(cloud, oldSha)).toEqual([]);
    expect(cloud.github.calls()).toEqual([]);
  });
});

describe('webhook events with linux built by a workflow', () => {
  const env = useWebhookCloud({
    configure: (config) =>
      withPlatform(config, 'linux', { buildWorkflow: 'build.yml', artifactName: 'linux-build' }),
  });

  /** A push: linux waits for the build, windows is queued. */
  async function pushWaitingForBuild(
    current: WebhookCloud,
    sha: string,
  ): Promise<{ linux: string; windows: string }> {
    const { cloud } = current;
    const linux = idOf(sha, 'linux');
    const windows = idOf(sha, 'windows');
    const res = await send(cloud, 'push', pushPayload(sha));
    expect(res.status).toBe(202);
    expect(res.body).toEqual(handled(res.delivery, { tests: [linux, windows] }));
    const [linuxTest, windowsTest] = await testsOf(current, [linux, windows]);
    expect(linuxTest).toMatchObject({
      status: 'waiting',
      waitReason: 'build',
      message: WAITING_FOR_BUILD,
      enqueueGeneration: 0,
    });
    expectQueued([windowsTest!]);
    expectTasksFor(cloud, [windows]);
    // windows is queued: its first status comes from runTest's claim.
    expectLatestStatuses(cloud, sha, {
      linux: { state: 'pending', description: WAITING_FOR_BUILD, id: linux },
    });
    return { linux, windows };
  }

  it('push, then the build workflow succeeds: linux is queued', async () => {
    const { cloud } = env;
    const sha = shaOf('build-success');
    const { linux, windows } = await pushWaitingForBuild(env, sha);
    const before = await snapshot(env);

    const res = await send(
      cloud,
      'workflow_run',
      workflowRunPayload(sha, { conclusion: 'success' }),
    );

    expect(res.status).toBe(202);
    expect(res.body).toEqual(handled(res.delivery, { released: [linux] }));
    expectQueued(await testsOf(env, [linux]));
    expectTasksFor(cloud, [linux, windows]);
    // The wait shows until runTest's claim posts "Starting a VM".
    expectLatestStatuses(cloud, sha, {
      linux: { state: 'pending', description: WAITING_FOR_BUILD, id: linux },
    });
    const after = await snapshot(env);
    expect(after.documents[`tests/${windows}`]).toBe(before.documents[`tests/${windows}`]);
    expect(after.githubCalls).toBe(before.githubCalls);
  });

  it('push, then the build workflow fails: linux fails, windows is untouched', async () => {
    const { cloud } = env;
    const sha = shaOf('build-failure');
    const { linux, windows } = await pushWaitingForBuild(env, sha);
    const before = await snapshot(env);

    const res = await send(
      cloud,
      'workflow_run',
      workflowRunPayload(sha, { conclusion: 'failure' }),
    );

    expect(res.status).toBe(202);
    expect(res.body).toEqual(handled(res.delivery, { released: [linux] }));
    const [linuxTest] = await testsOf(env, [linux]);
    expect(linuxTest).toMatchObject({
      status: 'failed',
      message: BUILD_WORKFLOW_FAILED,
      waitReason: null,
      githubStatus: { state: 'failure', description: BUILD_WORKFLOW_FAILED },
    });
    expect(linuxTest!.finishedAt).toBeInstanceOf(Date);
    expectTasksFor(cloud, [windows]);
    expectLatestStatuses(cloud, sha, {
      linux: { state: 'failure', description: BUILD_WORKFLOW_FAILED, id: linux },
    });
    const after = await snapshot(env);
    expect(after.documents[`tests/${windows}`]).toBe(before.documents[`tests/${windows}`]);
    expect(after.githubCalls).toBe(before.githubCalls + 1);
  });

  it.each([
    {
      name: 'a requested run',
      payload: (sha: string) => workflowRunPayload(sha, { conclusion: null, action: 'requested' }),
      ignored:
        'workflow_run "requested": only a completed run moves tests; the push or pull request created them',
    },
    {
      name: 'another workflow',
      payload: (sha: string) =>
        workflowRunPayload(sha, { conclusion: 'success', path: '.github/workflows/test.yml' }),
      ignored: 'workflow "test.yml" builds no platform',
    },
  ])('$name moves nothing', async ({ payload, ignored }) => {
    const sha = shaOf(`build-ignored-${ignored}`);
    await pushWaitingForBuild(env, sha);
    const before = await snapshot(env);

    const res = await send(env.cloud, 'workflow_run', payload(sha));

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ delivery: res.delivery, tests: [], ignored });
    expect(await snapshot(env)).toEqual(before);
  });
});

describe('webhook events with windows in maintenance', () => {
  const env = useWebhookCloud({
    configure: (config) => withPlatform(config, 'windows', { maintenance: true }),
  });

  it('push: windows waits for the maintenance to end, linux is queued', async () => {
    const { cloud } = env;
    const sha = shaOf('maintenance');
    const [linux, windows] = idsOf(sha) as [string, string];

    const res = await send(cloud, 'push', pushPayload(sha));

    expect(res.status).toBe(202);
    expect(res.body).toEqual(handled(res.delivery, { tests: [linux, windows] }));
    const [linuxTest, windowsTest] = await testsOf(env, [linux, windows]);
    expectQueued([linuxTest!]);
    const inMaintenance = platformInMaintenance('windows');
    expect(windowsTest).toMatchObject({
      status: 'waiting',
      waitReason: 'maintenance',
      message: inMaintenance,
      enqueueGeneration: 0,
    });
    expectTasksFor(cloud, [linux]);
    // linux is queued: its first status comes from runTest's claim.
    expectLatestStatuses(cloud, sha, {
      windows: { state: 'pending', description: inMaintenance, id: windows },
    });
  });
});
