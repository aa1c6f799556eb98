// The PR comment port's Octokit adapter against the local GitHub stand-in,
// and the publisher's hook: a final status posted updates the PR's comment.
import { createGitHubClients } from '../../shared/github/client';
import { createGitHubCommentPort } from '../../shared/github/comments';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { publishTestStatus, type PublishDeps } from '../../shared/github/publish';
import type { TestRecord } from '../../shared/domain/test';
import { createMemoryStore } from '../../shared/store/memory';
import { testRecord } from '../contracts/store/fixtures';
import { startGitHub, TOKEN, type GitHubHarness } from '../local/github-setup';
import { captureLog, fakeTime } from './support';

let harness: GitHubHarness;
beforeAll(async () => {
  harness = await startGitHub();
});
afterAll(() => harness.close());
beforeEach(() => harness.github.reset());

const REPO = 'octo-org/hello';
const MARK = '<!-- vm-ci:pr-comment';

function port() {
  const time = fakeTime();
  const clients = createGitHubClients({
    baseUrl: harness.baseUrl,
    auth: { kind: 'token', token: TOKEN },
  });
  return createGitHubCommentPort({ clients, sleep: time.sleep, now: time.now });
}

describe('the comment port against the stand-in', () => {
  it('creates, finds by its marker among others, and edits', async () => {
    const comments = port();
    await harness
      .client()
      .rest.issues.createComment({ ...splitOf(REPO), issue_number: 7, body: 'LGTM' });

    const created = await comments.create(REPO, 7, `${MARK} x -->\nfirst`);
    expect(created).toEqual({
      ok: true,
      value: { id: expect.any(Number), body: `${MARK} x -->\nfirst` },
    });
    const id = created.ok ? created.value.id : 0;

    expect(await comments.findMarked(REPO, 7, MARK)).toEqual({
      ok: true,
      value: [{ id, body: `${MARK} x -->\nfirst` }],
    });
    expect(await comments.update(REPO, id, `${MARK} x -->\nsecond`)).toMatchObject({ ok: true });
    const listed = await harness
      .client()
      .rest.issues.listComments({ ...splitOf(REPO), issue_number: 7 });
    expect(listed.data.map((c) => c.body)).toEqual(['LGTM', `${MARK} x -->\nsecond`]);
  });

  it('a create is tried once (a lost answer must not post twice); a find is retried', async () => {
    const comments = port();
    harness.github.injectFault({ method: 'POST', path: '/comments$', status: 502, count: 1 });
    expect(await comments.create(REPO, 7, `${MARK} -->`)).toMatchObject({
      ok: false,
      httpStatus: 502,
    });

    harness.github.injectFault({ method: 'GET', path: '/comments$', status: 502, count: 1 });
    expect(await comments.findMarked(REPO, 7, MARK)).toEqual({ ok: true, value: [] });
  });

  it('an unknown comment is a 404', async () => {
    expect(await port().update(REPO, 999_999, 'x')).toMatchObject({ ok: false, httpStatus: 404 });
  });
});

describe('publishTestStatus', () => {
  it('asks for the PR comment when a final status was posted, not for a live one', async () => {
    const store = createMemoryStore();
    const shown: string[] = [];
    const deps: PublishDeps = {
      statuses: createMemoryStatusPort(),
      store,
      log: captureLog().log,
      now: () => new Date(),
      statusContext: 'ci/{platform}',
      publicUrl: 'https://ci.example.com',
      prComment: async (test: TestRecord) => {
        shown.push(test.status);
      },
    };
    const running = testRecord({ id: 't1', status: 'running', message: 'Running tests' });
    await store.createTests([running]);
    await publishTestStatus(deps, running);
    expect(shown).toEqual([]);

    const moved = await store.transition('t1', {
      from: ['running'],
      to: 'passed',
      at: new Date(),
      message: 'All passed',
    });
    await publishTestStatus(deps, moved.ok ? moved.test : running);
    // Posted once: asked once.
    await publishTestStatus(deps, (await store.getTest('t1'))!);
    expect(shown).toEqual(['passed']);
  });
});

function splitOf(repo: string) {
  const [owner = '', name = ''] = repo.split('/');
  return { owner, repo: name };
}
