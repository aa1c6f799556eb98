// The local GitHub API's reactions to issue comments and its comment seeds,
// through the real Octokit REST client, answering as GitHub does: 201 with the
// reaction, 200 with the same one when that user already reacted so.
import type { Octokit } from '@octokit/rest';
import { failureOf, REPO, SHA, startGitHub, type GitHubHarness } from './github-setup';

let h: GitHubHarness;
let octokit: Octokit;

beforeAll(async () => {
  h = await startGitHub();
  octokit = h.client();
});
afterAll(() => h.close());
beforeEach(() => h.github.reset());

const FULL = `${REPO.owner}/${REPO.repo}`;

describe('reactions to an issue comment', () => {
  it('creates a reaction (201), answers the same one again (200), and counts it on the comment', async () => {
    const id = h.github.seedIssueComment(FULL, {
      issue_number: 7,
      body: '/retest',
      user: 'maintainer',
    });

    const first = await octokit.reactions.createForIssueComment({
      ...REPO,
      comment_id: id,
      content: 'rocket',
    });
    const again = await octokit.reactions.createForIssueComment({
      ...REPO,
      comment_id: id,
      content: 'rocket',
    });
    const other = await octokit.reactions.createForIssueComment({
      ...REPO,
      comment_id: id,
      content: 'eyes',
    });

    expect(first.status).toBe(201);
    expect(first.data).toMatchObject({ content: 'rocket', user: { login: 'vm-ci[bot]' } });
    expect(again.status).toBe(200);
    expect(again.data.id).toBe(first.data.id);
    expect(other.status).toBe(201);
    expect(other.data.id).not.toBe(first.data.id);
    expect(h.github.reactions(FULL, id).map((r) => r.content)).toEqual(['rocket', 'eyes']);

    const { data: comment } = await octokit.issues.getComment({ ...REPO, comment_id: id });
    expect(comment).toMatchObject({
      body: '/retest',
      user: { login: 'maintainer' },
      reactions: { total_count: 2, rocket: 1, eyes: 1, confused: 0 },
    });
    const { data: listed } = await octokit.reactions.listForIssueComment({
      ...REPO,
      comment_id: id,
      content: 'rocket',
    });
    expect(listed.map((r) => r.id)).toEqual([first.data.id]);
  });

  it('answers 404 for a comment it does not know or of another repository, 422 for an unknown content', async () => {
    const id = h.github.seedIssueComment(FULL, { issue_number: 7, body: 'hi', user: 'someone' });

    const missing = await failureOf(
      octokit.reactions.createForIssueComment({ ...REPO, comment_id: id + 1, content: 'rocket' }),
    );
    const elsewhere = await failureOf(
      octokit.reactions.createForIssueComment({
        owner: 'someone',
        repo: 'else',
        comment_id: id,
        content: 'rocket',
      }),
    );
    const invalid = await failureOf(
      octokit.request('POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions', {
        ...REPO,
        comment_id: id,
        // Not one of GitHub's contents: the typed client would not send it.
        content: 'party' as 'rocket',
      }),
    );

    expect(missing.status).toBe(404);
    expect(elsewhere.status).toBe(404);
    expect(invalid).toMatchObject({ status: 422, data: { message: 'Validation Failed' } });
    expect(h.github.reactions(FULL, id)).toEqual([]);
  });

  it('lists seeded and posted comments of an issue, oldest first', async () => {
    const seeded = h.github.seedIssueComment(FULL, {
      issue_number: 7,
      body: '/retest linux',
      user: 'maintainer',
    });
    await octokit.issues.createComment({ ...REPO, issue_number: 7, body: 'reply' });
    await octokit.issues.createComment({ ...REPO, issue_number: 8, body: 'elsewhere' });

    expect(h.github.issueComments(FULL, 7).map((c) => [c.id === seeded, c.user, c.body])).toEqual([
      [true, 'maintainer', '/retest linux'],
      [false, 'vm-ci[bot]', 'reply'],
    ]);
  });
});

describe('a pull request', () => {
  it('has clone URLs on its head and base repositories', async () => {
    h.github.seedPullRequest(FULL, {
      number: 42,
      user: 'alice',
      head: { sha: SHA, ref: 'feature', repo: 'alice/hello' },
    });
    const { data } = await octokit.pulls.get({ ...REPO, pull_number: 42 });
    expect(data.head.repo?.clone_url).toBe('https://github.com/alice/hello.git');
    expect(data.base.repo.clone_url).toBe(`https://github.com/${FULL}.git`);
    expect(data.base.repo.private).toBe(false);
  });
});
