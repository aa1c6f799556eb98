// /retest from a pull request's comments, decided without I/O (issue 15, item
// 2): the issue_comment payloads (real examples) parse; who may ask, which
// platforms; the friendly lines; what planWebhook makes of it, given the PR
// as GitHub tells it.
import { STATUS_LINE_MAX, TESTS_QUEUED, WAITING_FOR_BUILD } from '../../shared/domain/messages';
import type { PullRequestInfo } from '../../shared/github/lookups';
import { parseWebhook, type IssueCommentEvent } from '../../shared/webhook/events';
import { planQuestions, planWebhook } from '../../shared/webhook/plan';
import {
  decideRetest,
  parseRetest,
  retestNotAllowed,
  supersededByRetest,
  unknownPlatforms,
} from '../../shared/webhook/retest';
import { configWith, DELIVERY, examplesOf, headersFor, NOW, REPO } from './fixtures';
import {
  COMMENT_ID,
  COMMENT_PR,
  commentEvent,
  commentPayload,
  pullRequestLinks,
} from './retest-fixtures';

const config = configWith(['blockedUsers', ['spammer']]);
const asComment = (event: ReturnType<typeof commentEvent>) => event as IssueCommentEvent;
const HEAD = 'd'.repeat(40);

function pullRequest(changes: Partial<PullRequestInfo> = {}): PullRequestInfo {
  return {
    number: COMMENT_PR,
    state: 'open',
    sha: HEAD,
    ref: 'fix-typo',
    headRepo: 'contributor/Hello-World',
    cloneUrl: 'https://github.com/contributor/Hello-World.git',
    author: 'contributor',
    title: 'Fix a typo in the README',
    authorAssociation: 'CONTRIBUTOR',
    updatedAt: new Date('2024-05-01T11:59:00Z'),
    repoPublic: true,
    ...changes,
  };
}

describe('issue_comment payloads', () => {
  it.each(examplesOf('issue_comment').map((payload, index) => ({ payload, index })))(
    'example #$index ($payload.action) parses: a comment on an issue',
    ({ payload }) => {
      const result = parseWebhook(headersFor('issue_comment'), payload);
      const comment = payload.comment as { id: number; body: string; user: { login: string } };
      expect(result).toEqual({
        ok: true,
        event: {
          name: 'issue_comment',
          delivery: DELIVERY,
          action: payload.action,
          repo: (payload.repository as { full_name: string }).full_name,
          number: (payload.issue as { number: number }).number,
          onPullRequest: false,
          commentId: comment.id,
          body: comment.body,
          commenter: comment.user.login,
          commenterType: 'User',
          association: 'OWNER',
        },
      });
    },
  );

  it('a comment whose issue carries pull_request is on a pull request', () => {
    const event = commentEvent('/retest', { delivery: DELIVERY });
    expect(event).toEqual({
      name: 'issue_comment',
      delivery: DELIVERY,
      action: 'created',
      repo: REPO,
      number: COMMENT_PR,
      onPullRequest: true,
      commentId: COMMENT_ID,
      body: '/retest',
      commenter: 'Codertocat',
      commenterType: 'User',
      association: 'OWNER',
    });
  });

  it('a null pull_request or a null body are read as such; a comment without an id is a 400', () => {
    const payload = commentPayload('x');
    (payload.issue as Record<string, unknown>).pull_request = null;
    (payload.comment as Record<string, unknown>).body = null;
    expect(parseWebhook(headersFor('issue_comment'), payload)).toMatchObject({
      ok: true,
      event: { onPullRequest: false, body: '' },
    });

    delete (payload.comment as Record<string, unknown>).id;
    expect(parseWebhook(headersFor('issue_comment'), payload)).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^comment\.id: /)],
    });
  });

  it('the PR links are those GitHub sends', () => {
    expect(pullRequestLinks(REPO, 2)).toMatchObject({
      url: `https://api.github.com/repos/${REPO}/pulls/2`,
    });
  });
});

describe('parseRetest', () => {
  it.each([
    ['/retest', []],
    ['  /retest \n', []],
    ['/retest linux', ['linux']],
    ['/retest linux\twindows linux LINUX', ['linux', 'windows']],
    ['/retest mac', ['mac']],
  ])('%j → %j', (body, platforms) => {
    expect(parseRetest(body)).toEqual({ platforms });
  });

  it.each([
    'retest',
    '/retests',
    '/Retest',
    'please /retest',
    '/retest\nlinux',
    '/retest-linux',
    '',
  ])('%j is not a /retest', (body) => {
    expect(parseRetest(body)).toBeNull();
  });
});

describe('decideRetest', () => {
  const decide = (body: string, options: Parameters<typeof commentEvent>[1] = {}) =>
    decideRetest(asComment(commentEvent(body, options)), config);

  it.each(['OWNER', 'MEMBER', 'COLLABORATOR'])(
    '%s may: all platforms, or those named',
    (association) => {
      expect(decide('/retest', { association })).toEqual({
        kind: 'retest',
        platforms: ['linux', 'windows'],
      });
      expect(decide('/retest Windows', { association })).toEqual({
        kind: 'retest',
        platforms: ['windows'],
      });
      // In configuration order, whatever order they were named in.
      expect(decide('/retest windows linux', { association })).toEqual({
        kind: 'retest',
        platforms: ['linux', 'windows'],
      });
    },
  );

  it.each(['CONTRIBUTOR', 'FIRST_TIME_CONTRIBUTOR', 'FIRST_TIMER', 'NONE', 'MANNEQUIN'])(
    '%s may not: refused with the line that says who may',
    (association) => {
      expect(decide('/retest linux', { association, login: 'outsider' })).toEqual({
        kind: 'refuse',
        reason: expect.stringContaining(association),
        reply: "@outsider: only the repository's owners, members and collaborators can /retest.",
      });
    },
  );

  it('a blocked commenter is refused, whatever their association', () => {
    expect(decide('/retest', { login: 'Spammer', association: 'COLLABORATOR' })).toEqual({
      kind: 'refuse',
      reason: expect.stringContaining('blocked'),
      reply: '@Spammer: CI start aborted: user is blocked.',
    });
  });

  it('unknown platforms are refused, naming them and the configured ones', () => {
    expect(decide('/retest mac')).toEqual({
      kind: 'refuse',
      reason: expect.stringContaining('"mac"'),
      reply: "Unknown platform 'mac': this repository tests linux, windows.",
    });
    expect(decide('/retest linux mac bsd')).toMatchObject({
      kind: 'refuse',
      reply: "Unknown platforms 'mac', 'bsd': this repository tests linux, windows.",
    });
  });

  it.each([
    [{ action: 'edited' as const }, /only a new comment/],
    [{ action: 'deleted' as const }, /only a new comment/],
    [{ onPullRequest: false }, /an issue, not on a pull request/],
    [{ userType: 'Bot' as const, login: 'some-bot[bot]' }, /bot "some-bot\[bot\]"/],
  ])('%j is ignored', (options, reason) => {
    expect(decide('/retest', options)).toEqual({
      kind: 'ignore',
      reason: expect.stringMatching(reason),
    });
  });

  it('a comment that is not a /retest is ignored, whoever wrote it', () => {
    expect(decide('LGTM', { association: 'NONE' })).toEqual({
      kind: 'ignore',
      reason: 'the comment is not a /retest',
    });
  });
});

describe('the lines shown', () => {
  it('fit one status line, whatever the names', () => {
    const long = 'x'.repeat(300);
    const lines = [
      retestNotAllowed('a'.repeat(39)),
      retestNotAllowed(long),
      unknownPlatforms([long, long], ['linux', 'windows']),
      unknownPlatforms(
        ['mac'],
        Array.from({ length: 30 }, (_, i) => `platform-${i}`),
      ),
      supersededByRetest(12),
    ];
    for (const line of lines) {
      expect(line.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
      expect(line).not.toMatch(/\n/);
    }
    expect(unknownPlatforms([long], ['linux', 'windows'])).toMatch(
      /^Unknown platform 'x+…: this repository tests linux, windows\.$/,
    );
    expect(supersededByRetest(2)).toBe('Superseded by run 2 (/retest)');
  });
});

describe('planQuestions and planWebhook for a /retest', () => {
  it('asks GitHub for the PR only for a /retest that may go ahead', () => {
    expect(planQuestions(commentEvent('/retest'), config)).toEqual({
      pullRequest: { repo: REPO, pr: COMMENT_PR },
    });
    for (const event of [
      commentEvent('/retest', { association: 'NONE' }),
      commentEvent('/retest mac'),
      commentEvent('LGTM'),
      commentEvent('/retest', { repo: 'someone/else' }),
    ]) {
      expect(planQuestions(event, config)).toEqual({});
    }
  });

  it('a maintainer’s /retest of a fork’s head: run-1 tests of the named platforms, approved, and the approval recorded', () => {
    const event = commentEvent('/retest linux', { login: 'maintainer', delivery: 'd-retest' });

    const plan = planWebhook(event, config, NOW, { pullRequest: pullRequest() });

    expect(plan).toMatchObject({
      kind: 'handled',
      cancel: [],
      retest: {
        repo: REPO,
        pr: COMMENT_PR,
        sha: HEAD,
        commentId: COMMENT_ID,
        commenter: 'maintainer',
      },
      approve: {
        repo: REPO,
        pr: COMMENT_PR,
        sha: HEAD,
        approvedBy: 'maintainer',
        approvedAt: NOW,
        delivery: 'd-retest',
      },
      release: [
        expect.objectContaining({
          sha: HEAD,
          waitReason: 'approval',
          platforms: ['linux'],
          to: 'pending',
        }),
        expect.objectContaining({ platforms: ['windows'], to: 'waiting', toWait: 'build' }),
      ],
    });
    if (plan.kind !== 'handled') throw new Error('not handled');
    expect(plan.head).toBeUndefined();
    expect(plan.create).toHaveLength(1);
    expect(plan.create[0]).toMatchObject({
      repo: REPO,
      sha: HEAD,
      ref: 'refs/heads/fix-typo',
      cloneUrl: 'https://github.com/contributor/Hello-World.git',
      author: 'contributor',
      // The title GitHub shows now.
      title: 'Fix a typo in the README',
      trigger: 'pull_request',
      pr: COMMENT_PR,
      run: 1,
      platform: 'linux',
      status: 'pending',
      message: TESTS_QUEUED,
      headUpdatedAt: new Date('2024-05-01T11:59:00Z'),
      repoPublic: true,
    });
  });

  it('a trusted author’s PR needs no approval; its platforms still pass their gates', () => {
    const plan = planWebhook(commentEvent('/retest'), config, NOW, {
      pullRequest: pullRequest({ authorAssociation: 'MEMBER', headRepo: null }),
    });
    if (plan.kind !== 'handled') throw new Error(`not handled: ${JSON.stringify(plan)}`);
    expect(plan.approve).toBeUndefined();
    expect(plan.release).toEqual([]);
    expect(plan.create.map((t) => [t.platform, t.status, t.message, t.ref])).toEqual([
      ['linux', 'pending', TESTS_QUEUED, `refs/pull/${COMMENT_PR}/head`],
      ['windows', 'waiting', WAITING_FOR_BUILD, `refs/pull/${COMMENT_PR}/head`],
    ]);
  });

  it('a closed PR, or a blocked author’s, is refused with a reply', () => {
    const event = commentEvent('/retest', { login: 'maintainer' });
    expect(
      planWebhook(event, config, NOW, { pullRequest: pullRequest({ state: 'closed' }) }),
    ).toEqual({
      kind: 'refused',
      reason: expect.stringContaining('closed'),
      reply: {
        repo: REPO,
        pr: COMMENT_PR,
        commentId: COMMENT_ID,
        body: '@maintainer: this pull request is closed; reopen it to run its tests.',
      },
    });
    expect(
      planWebhook(event, config, NOW, { pullRequest: pullRequest({ author: 'spammer' }) }),
    ).toMatchObject({
      kind: 'refused',
      reply: { body: "@maintainer: the pull request's author is blocked, so CI does not run." },
    });
  });

  it('a comment on a repository that is not configured is forbidden, like any event', () => {
    expect(planWebhook(commentEvent('/retest', { repo: 'someone/else' }), config, NOW)).toEqual({
      kind: 'forbidden',
      reason: 'repository "someone/else" is not configured',
    });
  });
});
