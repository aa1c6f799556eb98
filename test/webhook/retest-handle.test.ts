// handleWebhookEvent for /retest on the in-memory doubles (issue 15, item 2):
// a maintainer's /retest makes the next run of the PR head's tests, cancels
// the live older run of the same head and platform, approves a fork's head,
// and reacts with a rocket once the tests are written; anyone else's gets one
// reply and a `confused` reaction; a redelivery, a replay or a concurrent
// delivery of the same comment makes nothing more and answers nothing more.
import { createHash } from 'node:crypto';
import { testId } from '../../shared/domain/naming';
import {
  TESTS_QUEUED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
} from '../../shared/domain/messages';
import { handleWebhookEvent } from '../../shared/webhook/handle-event';
import { commentClaimId } from '../../shared/webhook/retest-runs';
import { REPO } from './fixtures';
import { harness, holdCreates, PR, prEvent, taskIds, type Harness } from './harness';
import { commentEvent, type CommentOptions } from './retest-fixtures';

const HEAD = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);

const idOf = (platform: string, run: number, sha = HEAD) =>
  testId({ repo: REPO, sha, platform, trigger: 'pull_request', pr: PR, run });

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** A fork's PR, opened at HEAD (its tests wait for approval), and GitHub telling the same. */
async function forkPr(h: Harness) {
  h.github.setPullRequest(REPO, {
    number: PR,
    sha: HEAD,
    ref: 'changes',
    headRepo: 'contributor/Hello-World',
    author: 'contributor',
    authorAssociation: 'CONTRIBUTOR',
    updatedAt: new Date('2024-05-01T11:00:00Z'),
    // Renamed since it was opened (the event's title is the example's).
    title: 'Fix the README\u0000 <b>now</b>',
  });
  await handleWebhookEvent(h.deps, prEvent('opened', HEAD, { delivery: 'd-opened' }));
}

/** A /retest comment that exists on GitHub (so it can be reacted to), and its event. */
function retest(h: Harness, body: string, options: CommentOptions & { delivery?: string } = {}) {
  const login = options.login ?? 'maintainer';
  const commentId = h.comments.seedForeign(REPO, PR, body, login);
  const event = (delivery = options.delivery) =>
    commentEvent(body, {
      association: 'MEMBER',
      ...options,
      login,
      commentId,
      ...(delivery === undefined ? {} : { delivery }),
    });
  return { commentId, event };
}

const reactionsTo = (h: Harness, commentId: number) =>
  h.comments.reactions(REPO, commentId).map((r) => r.content);
/** The PR's comments written by vm-ci (the /retest comments are someone else's). */
const replies = (h: Harness) =>
  h.comments
    .comments(REPO, PR)
    .filter((c) => c.author === 'vm-ci[bot]')
    .map((c) => c.body);

describe('a maintainer’s /retest', () => {
  it('/retest linux: a run-2 linux test of the head, the live run 1 canceled, the head approved, a rocket', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest linux', { delivery: 'd-retest' });
    const postedAtEnqueue: string[][] = [];
    const enqueue = h.queue.enqueue.bind(h.queue);
    h.deps.queue = {
      ...h.queue,
      enqueue: (request) => {
        postedAtEnqueue.push(h.statuses.posts().map((p) => p.description));
        return enqueue(request);
      },
    };

    const answer = await handleWebhookEvent(h.deps, event());

    expect(answer).toEqual({
      status: 202,
      body: {
        delivery: 'd-retest',
        tests: [idOf('linux', 2)],
        canceled: [idOf('linux', 1)],
        released: [idOf('windows', 1)],
        notQueued: [],
      },
    });
    const linux2 = await h.store.getTest(idOf('linux', 2));
    expect(linux2).toMatchObject({
      run: 2,
      sha: HEAD,
      ref: 'refs/heads/changes',
      cloneUrl: 'https://github.com/contributor/Hello-World.git',
      author: 'contributor',
      // The title GitHub shows now, as one clean line.
      title: 'Fix the README <b>now</b>',
      status: 'queued',
      message: TESTS_QUEUED,
    });
    expect(await h.store.getTest(idOf('linux', 1))).toMatchObject({
      title: 'Update the README with new information.',
      status: 'canceled',
      message: 'Superseded by run 2 (/retest)',
    });
    // The maintainer's /retest approved the head: windows' run 1 moves on to its build.
    expect(await h.store.getTest(idOf('windows', 1))).toMatchObject({
      status: 'waiting',
      waitReason: 'build',
      message: WAITING_FOR_BUILD,
    });
    expect(await h.store.getApproval(REPO, PR, HEAD)).toMatchObject({
      approvedBy: 'maintainer',
      delivery: 'd-retest',
    });
    expect(await h.store.getTest(idOf('windows', 2))).toBeNull();
    expect(taskIds(h)).toEqual([idOf('linux', 2)]);
    expect(reactionsTo(h, commentId)).toEqual(['rocket']);
    expect(replies(h)).toEqual([]);
    // ci/linux: run 1's cancel is posted before run 2 has a task, so run 2's
    // first status (posted by runTest's claim) is the one that stays.
    const linux = h.statuses.statuses(REPO, HEAD).filter((s) => s.context === 'ci/linux');
    expect(linux[0]).toMatchObject({
      state: 'error',
      description: 'Superseded by run 2 (/retest)',
    });
    expect(postedAtEnqueue).toEqual([expect.arrayContaining(['Superseded by run 2 (/retest)'])]);
    expect(h.statuses.posts().map((p) => p.description)).not.toContain(TESTS_QUEUED);
  });

  it('a redelivery, and a replay of the same bytes, answer as before: no run, no reaction, no GitHub call', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest', { delivery: 'd-1' });
    const bodyDigest = digest('the /retest body');
    const first = await handleWebhookEvent(h.deps, event(), { bodyDigest });
    expect(first.body.tests).toEqual([idOf('linux', 2), idOf('windows', 2)]);
    const tests = await h.store.listByPr(REPO, PR);
    const asked = h.github.calls().length;
    const reacted = h.comments.reactTries();
    const posted = h.statuses.posts().length;

    expect(await handleWebhookEvent(h.deps, event(), { bodyDigest })).toEqual(first);
    expect(await handleWebhookEvent(h.deps, event('d-2'), { bodyDigest })).toEqual(first);

    expect(await h.store.listByPr(REPO, PR)).toEqual(tests);
    expect(h.github.calls()).toHaveLength(asked);
    expect(h.comments.reactTries()).toBe(reacted);
    expect(h.statuses.posts()).toHaveLength(posted);
    expect(reactionsTo(h, commentId)).toEqual(['rocket']);
  });

  it('two deliveries of one comment at once make one run, whichever reads the store first', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest linux');
    const hold = holdCreates(h);

    const first = handleWebhookEvent(h.deps, event('d-first'), { bodyDigest: digest('one') });
    await hold.reached;
    // The first claimed run 2 and is about to write it; the second reads no run 2 yet.
    const second = await handleWebhookEvent(h.deps, event('d-second'), {
      bodyDigest: digest('two'),
    });
    hold.release();
    const answers = [await first, second];

    expect(answers.map((a) => a.body.tests)).toEqual([[idOf('linux', 2)], [idOf('linux', 2)]]);
    const runs = (await h.store.listBySha(REPO, HEAD)).filter((t) => t.platform === 'linux');
    expect(runs.map((t) => t.run).sort()).toEqual([1, 2]);
    expect(reactionsTo(h, commentId)).toEqual(['rocket']);
  });

  it('a delivery that reads the store after another one wrote its run takes that run, not the next', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest linux');
    // The first has written run 2 and is reacting when the second arrives.
    const react = h.deps.comments.react;
    let reached!: () => void;
    let release!: () => void;
    const reacting = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    h.deps.comments = {
      ...h.deps.comments,
      async react(...args) {
        if (!held) {
          held = true;
          reached();
          await released;
        }
        return react(...args);
      },
    };

    const first = handleWebhookEvent(h.deps, event('d-first'), { bodyDigest: digest('one') });
    await reacting;
    expect(await h.store.getTest(idOf('linux', 2))).not.toBeNull();
    const second = await handleWebhookEvent(h.deps, event('d-second'), {
      bodyDigest: digest('two'),
    });
    release();
    await first;

    expect(second.body).toMatchObject({ tests: [idOf('linux', 2)], canceled: [] });
    expect(await h.store.getTest(idOf('linux', 3))).toBeNull();
    expect(reactionsTo(h, commentId)).toEqual(['rocket']);
    expect(h.capture.entries).toContainEqual(
      expect.objectContaining({
        message: '/retest claimed by an earlier delivery: carrying out its runs',
        fields: expect.objectContaining({ firstDelivery: 'd-first', runs: { linux: 2 } }),
      }),
    );
  });

  it('the same comment delivered later with other bytes makes no run 3; a new /retest comment does', async () => {
    const h = harness();
    await forkPr(h);
    const { event } = retest(h, '/retest linux');
    await handleWebhookEvent(h.deps, event('d-a'), { bodyDigest: digest('a') });

    const again = await handleWebhookEvent(h.deps, event('d-b'), { bodyDigest: digest('b') });
    expect(again.body.tests).toEqual([idOf('linux', 2)]);
    expect(await h.store.getTest(idOf('linux', 3))).toBeNull();

    const next = retest(h, '/retest linux');
    const third = await handleWebhookEvent(h.deps, next.event('d-c'));
    expect(third.body).toMatchObject({ tests: [idOf('linux', 3)], canceled: [idOf('linux', 2)] });
    expect(reactionsTo(h, next.commentId)).toEqual(['rocket']);
  });

  it('a head that GitHub says is the PR’s: the tests of any other head are never touched', async () => {
    const h = harness();
    await forkPr(h);
    // A newer head's tests exist (a synchronize), but GitHub still answers the older head.
    await handleWebhookEvent(
      h.deps,
      prEvent('synchronize', NEWER, { updatedAt: '2026-12-01T10:00:00Z', delivery: 'd-sync' }),
    );
    const newer = await h.store.listBySha(REPO, NEWER);
    expect(newer.map((t) => t.status)).toEqual(['waiting', 'waiting']);

    const answer = await handleWebhookEvent(h.deps, retest(h, '/retest linux').event());

    expect(answer.body.tests).toEqual([idOf('linux', 2)]);
    expect(await h.store.listBySha(REPO, NEWER)).toEqual(newer);
  });

  it('a head never tested before gets its run 1; a trusted author’s head records no approval', async () => {
    const h = harness();
    h.github.setPullRequest(REPO, { number: PR, sha: HEAD, authorAssociation: 'MEMBER' });

    const answer = await handleWebhookEvent(h.deps, retest(h, '/retest linux').event());

    expect(answer.body).toMatchObject({ tests: [idOf('linux', 1)], canceled: [] });
    expect(await h.store.getApproval(REPO, PR, HEAD)).toBeNull();
  });

  it('a reaction GitHub refuses is only logged: the tests stand, the answer is 202', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest linux');
    h.comments.failNext(1, { retriable: false, httpStatus: 403, detail: 'HTTP 403: Forbidden' });

    const answer = await handleWebhookEvent(h.deps, event());

    expect(answer.status).toBe(202);
    expect(await h.store.getTest(idOf('linux', 2))).toMatchObject({ status: 'queued' });
    expect(reactionsTo(h, commentId)).toEqual([]);
    expect(h.capture.entries).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'Reaction to a /retest comment not posted',
        fields: expect.objectContaining({ content: 'rocket', httpStatus: 403 }),
      }),
    );
  });

  it('GitHub not saying what the PR is: 503, nothing written or remembered; the redelivery works', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest linux', { delivery: 'd-down' });
    h.github.failNext(3, { retriable: true, httpStatus: 502, detail: 'HTTP 502' });

    const down = await handleWebhookEvent(h.deps, event());

    expect(down).toEqual({
      status: 503,
      body: {
        delivery: 'd-down',
        error: `vm-ci could not ask GitHub about PR #${PR} for /retest. Redeliver this event later.`,
      },
    });
    expect(await h.store.getTest(idOf('linux', 2))).toBeNull();
    expect(await h.store.getDelivery('d-down')).toBeNull();
    expect(await h.store.getDelivery(commentClaimId(REPO, commentId))).toBeNull();

    const again = await handleWebhookEvent(h.deps, event());
    expect(again.body.tests).toEqual([idOf('linux', 2)]);
  });
});

describe('a refused /retest', () => {
  it('from an outside author: no test, one reply and a confused reaction; a redelivery answers nothing more', async () => {
    const h = harness();
    await forkPr(h);
    const before = await h.store.listByPr(REPO, PR);
    const { commentId, event } = retest(h, '/retest', {
      login: 'contributor',
      association: 'CONTRIBUTOR',
      delivery: 'd-outsider',
    });

    const answer = await handleWebhookEvent(h.deps, event(), { bodyDigest: digest('outsider') });

    expect(answer).toEqual({
      status: 202,
      body: {
        delivery: 'd-outsider',
        tests: [],
        ignored:
          '/retest by "contributor" (CONTRIBUTOR): only owners, members and collaborators may',
      },
    });
    expect(await h.store.listByPr(REPO, PR)).toEqual(before);
    expect(replies(h)).toEqual([
      "@contributor: only the repository's owners, members and collaborators can /retest.",
    ]);
    expect(reactionsTo(h, commentId)).toEqual(['confused']);
    expect(h.github.calls().filter((c) => c.kind === 'pullRequest')).toEqual([]);

    expect(await handleWebhookEvent(h.deps, event(), { bodyDigest: digest('outsider') })).toEqual(
      answer,
    );
    expect(
      await handleWebhookEvent(h.deps, event('d-other'), { bodyDigest: digest('outsider') }),
    ).toEqual(answer);
    // Other bytes of the same comment: the comment was answered already.
    const late = await handleWebhookEvent(h.deps, event('d-late'), { bodyDigest: digest('late') });
    expect(late.body).toMatchObject({ tests: [], ignored: answer.body.ignored });
    expect(replies(h)).toHaveLength(1);
    expect(h.comments.reactTries()).toBe(1);
    expect(await h.store.listByPr(REPO, PR)).toEqual(before);
  });

  it('two deliveries at once: one reply', async () => {
    const h = harness();
    const { event } = retest(h, '/retest mac');
    await Promise.all([
      handleWebhookEvent(h.deps, event('d-1'), { bodyDigest: digest('1') }),
      handleWebhookEvent(h.deps, event('d-2'), { bodyDigest: digest('2') }),
    ]);
    expect(replies(h)).toEqual(["Unknown platform 'mac': this repository tests linux, windows."]);
  });

  it('naming an unknown platform: the reply names the configured ones; nothing asked of GitHub', async () => {
    const h = harness();
    await forkPr(h);
    const { commentId, event } = retest(h, '/retest linux mac');
    const asked = h.github.calls().length;

    const answer = await handleWebhookEvent(h.deps, event());

    expect(answer.body).toMatchObject({ tests: [], ignored: expect.stringContaining('"mac"') });
    expect(replies(h)).toEqual(["Unknown platform 'mac': this repository tests linux, windows."]);
    expect(reactionsTo(h, commentId)).toEqual(['confused']);
    expect(h.github.calls()).toHaveLength(asked);
    expect(await h.store.getTest(idOf('linux', 2))).toBeNull();
  });

  it('on a closed PR: the reply says so, no test', async () => {
    const h = harness();
    h.github.setPullRequest(REPO, { number: PR, sha: HEAD, state: 'closed' });
    const { event } = retest(h, '/retest');

    const answer = await handleWebhookEvent(h.deps, event());

    expect(answer.body).toMatchObject({ tests: [], ignored: expect.stringContaining('closed') });
    expect(replies(h)).toEqual([
      '@maintainer: this pull request is closed; reopen it to run its tests.',
    ]);
    expect(await h.store.listByPr(REPO, PR)).toEqual([]);
  });

  it('a reply GitHub refuses is logged; the reaction is still tried', async () => {
    const h = harness();
    const { commentId, event } = retest(h, '/retest', { association: 'NONE', login: 'x' });
    h.comments.failNext(1, { retriable: true, httpStatus: 502, detail: 'HTTP 502' });

    const answer = await handleWebhookEvent(h.deps, event());

    expect(answer.status).toBe(202);
    expect(replies(h)).toEqual([]);
    expect(reactionsTo(h, commentId)).toEqual(['confused']);
    expect(h.capture.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'Reply to a refused /retest not posted' }),
    );
  });
});

describe('comments that are not a /retest to act on', () => {
  it.each([
    { info: 'an ordinary comment', body: 'LGTM', options: {} },
    { info: 'an edited /retest', body: '/retest', options: { action: 'edited' as const } },
    { info: 'a deleted /retest', body: '/retest', options: { action: 'deleted' as const } },
    { info: 'a /retest on an issue', body: '/retest', options: { onPullRequest: false } },
    {
      info: 'a bot’s /retest',
      body: '/retest',
      options: { userType: 'Bot' as const, login: 'helper[bot]' },
    },
  ])(
    '$info: 202 with the reason, no GitHub call, nothing remembered',
    async ({ body, options }) => {
      const h = harness();
      const { commentId, event } = retest(h, body, { ...options, delivery: 'd-ignored' });

      const answer = await handleWebhookEvent(h.deps, event());

      expect(answer).toEqual({
        status: 202,
        body: { delivery: 'd-ignored', tests: [], ignored: expect.any(String) },
      });
      expect(h.github.calls()).toEqual([]);
      expect(replies(h)).toEqual([]);
      expect(reactionsTo(h, commentId)).toEqual([]);
      expect(await h.store.getDelivery('d-ignored')).toBeNull();
      expect(await h.store.getDelivery(commentClaimId(REPO, commentId))).toBeNull();
    },
  );
});

describe('commentClaimId', () => {
  it('is never an X-GitHub-Delivery, and names the comment of a repository, whatever its case', () => {
    expect(commentClaimId(REPO, 1)).toMatch(/^comment_[0-9a-f]{64}$/);
    expect(commentClaimId(REPO, 1)).toBe(commentClaimId(REPO.toUpperCase(), 1));
    expect(commentClaimId(REPO, 1)).not.toBe(commentClaimId(REPO, 2));
    expect(commentClaimId(REPO, 1)).not.toBe(commentClaimId('other/repo', 1));
  });
});

// The approval wait line is what the fork's tests show before a maintainer acts.
it('a fork’s PR waits for approval before any /retest', async () => {
  const h = harness();
  await forkPr(h);
  expect((await h.store.listBySha(REPO, HEAD)).map((t) => t.message)).toEqual([
    WAITING_FOR_APPROVAL,
    WAITING_FOR_APPROVAL,
  ]);
});
