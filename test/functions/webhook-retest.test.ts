// /retest end to end (issue 15, item 2): signed issue_comment webhooks built
// from the real example, through the local cloud's webhook function into the
// Firestore emulator, the Cloud Tasks stand-in and the local GitHub, which
// serves the PR (GET /pulls/{n}) and keeps the reactions and replies.
import { TESTS_QUEUED } from '../../shared/domain/messages';
import { testId } from '../../shared/domain/naming';
import { commentPayload } from '../webhook/retest-fixtures';
import {
  PR_NUMBER,
  REPO,
  idsOf,
  latestStatuses,
  nextUpdatedAt,
  pullRequestPayload,
  send,
  shaOf,
  snapshot,
  statusPageOf,
  testsOf,
  useWebhookCloud,
} from './webhook-support';

const BOT = 'vm-ci[bot]';

describe('/retest through the local cloud (linux and windows)', () => {
  const env = useWebhookCloud();

  /** A member's PR at `sha`, opened (run 1 of both platforms queued), as GitHub tells it. */
  async function openPr(sha: string): Promise<void> {
    const updatedAt = nextUpdatedAt();
    env.cloud.github.seedPullRequest(REPO, {
      number: PR_NUMBER,
      user: 'Codertocat',
      head: { sha, ref: 'changes' },
      author_association: 'MEMBER',
      updated_at: updatedAt,
    });
    const opened = await send(
      env.cloud,
      'pull_request',
      pullRequestPayload('opened', sha, { association: 'MEMBER', updatedAt }),
    );
    expect(opened.status).toBe(202);
    expect(opened.body.tests).toEqual(idsOf(sha, 'pull_request', PR_NUMBER));
  }

  /** A comment on the PR, on the local GitHub and as its webhook payload. */
  function comment(body: string, login: string, association: string) {
    const id = env.cloud.github.seedIssueComment(REPO, {
      issue_number: PR_NUMBER,
      body,
      user: login,
    });
    return {
      id,
      payload: commentPayload(body, { login, association, commentId: id, number: PR_NUMBER }),
    };
  }

  const runOf = (sha: string, platform: string, run: number) =>
    testId({ repo: REPO, sha, platform, trigger: 'pull_request', pr: PR_NUMBER, run });
  const reactions = (id: number) =>
    env.cloud.github.reactions(REPO, id).map((r) => [r.user, r.content]);
  const replies = () =>
    env.cloud.github
      .issueComments(REPO, PR_NUMBER)
      .filter((c) => c.user === BOT)
      .map((c) => c.body);

  it('a maintainer’s /retest linux: run 2 of linux, run 1 canceled, a rocket; a redelivery changes nothing', async () => {
    const { cloud } = env;
    const sha = shaOf('retest-linux');
    await openPr(sha);
    const { id, payload } = comment('/retest linux', 'maintainer', 'MEMBER');

    const res = await send(cloud, 'issue_comment', payload);

    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      delivery: res.delivery,
      tests: [runOf(sha, 'linux', 2)],
      canceled: [runOf(sha, 'linux', 1)],
      released: [],
      notQueued: [],
    });
    const [run2, run1, windows] = await testsOf(env, [
      runOf(sha, 'linux', 2),
      runOf(sha, 'linux', 1),
      runOf(sha, 'windows', 1),
    ]);
    expect(run2).toMatchObject({
      run: 2,
      sha,
      ref: 'refs/heads/changes',
      author: 'Codertocat',
      status: 'queued',
      message: TESTS_QUEUED,
    });
    expect(run1).toMatchObject({ status: 'canceled', message: 'Superseded by run 2 (/retest)' });
    expect(windows).toMatchObject({ run: 1, status: 'queued' });
    expect(reactions(id)).toEqual([[BOT, 'rocket']]);
    expect(replies()).toEqual([]);
    // GitHub was asked for the PR; ci/linux shows run 1's end, posted before run 2
    // had a task, so run 2's first status (runTest's claim; the queue is paused here) follows it.
    expect(cloud.github.calls().map((c) => `${c.method} ${c.path}`)).toContain(
      `GET /repos/${REPO}/pulls/${PR_NUMBER}`,
    );
    expect(latestStatuses(cloud, sha)['ci/linux']).toEqual({
      state: 'error',
      context: 'ci/linux',
      description: 'Superseded by run 2 (/retest)',
      target_url: statusPageOf(cloud, runOf(sha, 'linux', 1)),
    });

    const before = await snapshot(env);
    const again = await send(cloud, 'issue_comment', payload, res.delivery);
    const replay = await send(cloud, 'issue_comment', payload);

    expect(again).toMatchObject({ status: 202, body: res.body });
    expect(replay).toMatchObject({ status: 202, body: res.body });
    expect(await snapshot(env)).toEqual(before);
    expect(reactions(id)).toEqual([[BOT, 'rocket']]);
  });

  it('an outside author’s /retest: no test, one friendly reply and a confused reaction', async () => {
    const { cloud } = env;
    const sha = shaOf('retest-outsider');
    await openPr(sha);
    const before = await snapshot(env);
    const { id, payload } = comment('/retest', 'drive-by', 'CONTRIBUTOR');

    const res = await send(cloud, 'issue_comment', payload);

    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      delivery: res.delivery,
      tests: [],
      ignored: '/retest by "drive-by" (CONTRIBUTOR): only owners, members and collaborators may',
    });
    expect(replies()).toEqual([
      "@drive-by: only the repository's owners, members and collaborators can /retest.",
    ]);
    expect(reactions(id)).toEqual([[BOT, 'confused']]);
    const after = await snapshot(env);
    expect(after.counts.tests).toBe(before.counts.tests);
    expect(after.tasks).toEqual(before.tasks);
    expect(await env.store.getTest(runOf(sha, 'linux', 2))).toBeNull();

    // Delivered again: answered as before, no second reply.
    const again = await send(cloud, 'issue_comment', payload, res.delivery);
    expect(again.body).toEqual(res.body);
    expect(replies()).toHaveLength(1);
    expect(reactions(id)).toHaveLength(1);
  });

  it('/retest naming an unknown platform is refused with the platforms this repository tests', async () => {
    const { cloud } = env;
    const sha = shaOf('retest-unknown');
    await openPr(sha);
    const before = await snapshot(env);
    const { id, payload } = comment('/retest mac', 'maintainer', 'OWNER');

    const res = await send(cloud, 'issue_comment', payload);

    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ tests: [], ignored: expect.stringContaining('"mac"') });
    expect(replies()).toEqual(["Unknown platform 'mac': this repository tests linux, windows."]);
    expect(reactions(id)).toEqual([[BOT, 'confused']]);
    const after = await snapshot(env);
    expect(after.counts.tests).toBe(before.counts.tests);
    expect(after.tasks).toEqual(before.tasks);
  });
});
