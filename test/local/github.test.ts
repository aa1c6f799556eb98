// The local GitHub API through the real Octokit REST client: statuses,
// comments, faults and the call record.
import { Octokit } from '@octokit/rest';
import { failureOf, REPO, SHA, startGitHub, TOKEN, type GitHubHarness } from './github-setup';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

let h: GitHubHarness;
let octokit: Octokit;

beforeAll(async () => {
  h = await startGitHub();
  octokit = h.client();
});
afterAll(() => h.close());
beforeEach(() => h.github.reset());

const post = (
  state: 'pending' | 'success' | 'failure' | 'error',
  context: string,
  description: string = state,
) =>
  octokit.repos.createCommitStatus({
    ...REPO,
    sha: SHA,
    state,
    context,
    description,
    target_url: 'http://127.0.0.1:8080/status',
  });

describe('commit statuses', () => {
  it('creates statuses and lists them newest first', async () => {
    const created = await post('pending', 'ci/linux', 'Queued');
    expect(created.status).toBe(201);
    expect(created.data).toMatchObject({
      state: 'pending',
      description: 'Queued',
      context: 'ci/linux',
      target_url: 'http://127.0.0.1:8080/status',
      creator: { login: 'vm-ci[bot]', type: 'Bot' },
    });
    expect(created.data.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await post('success', 'ci/linux', 'Passed');
    await post('failure', 'ci/windows', 'Failed');

    const { data } = await octokit.repos.listCommitStatusesForRef({ ...REPO, ref: SHA });
    expect(data.map((s) => [s.context, s.state])).toEqual([
      ['ci/windows', 'failure'],
      ['ci/linux', 'success'],
      ['ci/linux', 'pending'],
    ]);
    expect(data[0]!.id).toBeGreaterThan(data[1]!.id);
    expect(h.github.statuses(`${REPO.owner}/${REPO.repo}`, SHA).map((s) => s.description)).toEqual([
      'Failed',
      'Passed',
      'Queued',
    ]);
  });

  it('pages through statuses with per_page and Link headers', async () => {
    for (let i = 0; i < 5; i++) await post('pending', `ci/p${i}`);
    const first = await octokit.repos.listCommitStatusesForRef({ ...REPO, ref: SHA, per_page: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.repos.listCommitStatusesForRef, {
      ...REPO,
      ref: SHA,
      per_page: 2,
    });
    expect(all.map((s) => s.context)).toEqual(['ci/p4', 'ci/p3', 'ci/p2', 'ci/p1', 'ci/p0']);
  });

  it('combines the latest status of each context', async () => {
    const empty = await octokit.repos.getCombinedStatusForRef({ ...REPO, ref: SHA });
    expect(empty.data).toMatchObject({ state: 'pending', total_count: 0, sha: SHA });

    await post('failure', 'ci/linux');
    await post('success', 'ci/linux');
    await post('pending', 'ci/windows');
    const mixed = await octokit.repos.getCombinedStatusForRef({ ...REPO, ref: SHA });
    expect(mixed.data.state).toBe('pending');
    expect(mixed.data.statuses.map((s) => [s.context, s.state])).toEqual([
      ['ci/windows', 'pending'],
      ['ci/linux', 'success'],
    ]);
    expect(mixed.data.repository.full_name).toBe('octo-org/hello');

    await post('success', 'ci/windows');
    expect((await octokit.repos.getCombinedStatusForRef({ ...REPO, ref: SHA })).data.state).toBe(
      'success',
    );
    await post('error', 'ci/windows');
    expect((await octokit.repos.getCombinedStatusForRef({ ...REPO, ref: SHA })).data.state).toBe(
      'failure',
    );
  });

  it('rejects a 141-character description with GitHub validation error, accepts 140', async () => {
    const failure = await failureOf(post('pending', 'ci/linux', 'x'.repeat(141)));
    expect(failure.status).toBe(422);
    expect(failure.data).toMatchObject({
      message: 'Validation Failed',
      errors: [
        {
          resource: 'Status',
          code: 'custom',
          field: 'description',
          message: 'description is too long (maximum is 140 characters)',
        },
      ],
    });
    expect((await post('pending', 'ci/linux', 'x'.repeat(140))).status).toBe(201);
    expect(h.github.statuses('octo-org/hello', SHA)).toHaveLength(1);
  });

  it('rejects an unknown state and a SHA that is not a full commit id', async () => {
    const badState = await failureOf(
      octokit.request('POST /repos/{owner}/{repo}/statuses/{sha}', {
        ...REPO,
        sha: SHA,
        state: 'done' as 'success',
      }),
    );
    expect(badState.status).toBe(422);
    expect(badState.data).toMatchObject({ errors: [{ field: 'state' }] });
    const shortSha = await failureOf(
      octokit.repos.createCommitStatus({ ...REPO, sha: 'abc1234', state: 'success' }),
    );
    expect(shortSha).toMatchObject({
      status: 422,
      data: { message: 'No commit found for SHA: abc1234' },
    });
  });
});

describe('issue comments', () => {
  it('creates, updates and lists comments in order', async () => {
    const one = await octokit.issues.createComment({
      ...REPO,
      issue_number: 7,
      body: 'Tests queued',
    });
    expect(one.status).toBe(201);
    expect(one.data).toMatchObject({ body: 'Tests queued', user: { login: 'vm-ci[bot]' } });
    await octokit.issues.createComment({ ...REPO, issue_number: 7, body: 'second' });
    await octokit.issues.createComment({ ...REPO, issue_number: 8, body: 'other PR' });

    const updated = await octokit.issues.updateComment({
      ...REPO,
      comment_id: one.data.id,
      body: 'Tests passed',
    });
    expect(updated.data).toMatchObject({ id: one.data.id, body: 'Tests passed' });

    const { data } = await octokit.issues.listComments({ ...REPO, issue_number: 7 });
    expect(data.map((c) => c.body)).toEqual(['Tests passed', 'second']);
    expect(
      (await failureOf(octokit.issues.updateComment({ ...REPO, comment_id: 999, body: 'x' })))
        .status,
    ).toBe(404);
  });

  it('answers 422 when the body is missing', async () => {
    const failure = await failureOf(
      octokit.request('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', {
        ...REPO,
        issue_number: 7,
      } as never),
    );
    expect(failure.status).toBe(422);
  });
});

describe('faults, auth and the call record', () => {
  it('fails the next matching call with 502, then succeeds', async () => {
    h.github.injectFault({ path: '/statuses/', method: 'POST', status: 502, count: 1 });
    expect((await failureOf(post('pending', 'ci/linux'))).status).toBe(502);
    expect((await post('pending', 'ci/linux')).status).toBe(201);
    expect(h.github.calls().map((c) => c.status)).toEqual([502, 201]);
  });

  it('takes faults over HTTP, answering 403 with a secondary rate limit and retry-after', async () => {
    const res = await fetch(`${h.baseUrl}/_local/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: 'comments$', status: 403, count: 2, retryAfter: 3 }),
    });
    expect(res.status).toBe(201);
    const list = () => octokit.issues.listComments({ ...REPO, issue_number: 1 });
    for (let i = 0; i < 2; i++) {
      const failure = await failureOf(list());
      expect(failure.status).toBe(403);
      expect(failure.headers['retry-after']).toBe('3');
      expect((failure.data as { message: string }).message).toMatch(/secondary rate limit/);
    }
    expect((await list()).status).toBe(200);
  });

  it('rejects other credentials with 401 Bad credentials', async () => {
    const failure = await failureOf(
      h.client('ghp_wrong').repos.createCommitStatus({ ...REPO, sha: SHA, state: 'success' }),
    );
    expect(failure).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
    expect(h.github.statuses('octo-org/hello', SHA)).toEqual([]);
  });

  it('lets anyone read, as for a public repository, but not write', async () => {
    await post('success', 'ci/linux', 'Passed');
    const anonymous = new Octokit({ baseUrl: h.baseUrl, log: quiet });
    const { data } = await anonymous.repos.listCommitStatusesForRef({ ...REPO, ref: SHA });
    expect(data.map((s) => s.context)).toEqual(['ci/linux']);
    const failure = await failureOf(
      anonymous.repos.createCommitStatus({ ...REPO, sha: SHA, state: 'failure' }),
    );
    expect(failure).toMatchObject({ status: 401, data: { message: 'Requires authentication' } });
  });

  it('records method, path, body and headers, never the Authorization value', async () => {
    await post('success', 'ci/linux', 'Passed');
    const [call] = h.github.calls();
    expect(call).toMatchObject({
      method: 'POST',
      path: `/repos/octo-org/hello/statuses/${SHA}`,
      body: { state: 'success', context: 'ci/linux', description: 'Passed' },
      auth: 'token',
      status: 201,
    });
    expect(call!.headers['user-agent']).toMatch(/octokit/);
    expect(call!.headers.authorization).toBeUndefined();
    const overHttp = await (await fetch(`${h.baseUrl}/_local/calls`)).text();
    expect(overHttp).toContain('/statuses/');
    expect(JSON.stringify(h.github.calls()) + overHttp).not.toContain(TOKEN);
  });
});
