// The local GitHub API through the real Octokit REST client: pull requests,
// collaborators, blocks, workflow artifacts and App installation tokens.
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

/** An unsigned JWT: the stand-in checks only its shape (it holds no App key). */
const fakeJwt = (): string =>
  [
    { alg: 'RS256', typ: 'JWT' },
    { iss: '1', iat: 0, exp: 600 },
  ]
    .map((part) => Buffer.from(JSON.stringify(part)).toString('base64url'))
    .concat('c2lnbmF0dXJl')
    .join('.');

describe('pull requests', () => {
  it('answers a seeded pull request in GitHub shape and 404 for others', async () => {
    h.github.seedPullRequest(FULL, {
      number: 42,
      user: 'alice',
      head: { sha: SHA, ref: 'feature', repo: 'alice/hello' },
      author_association: 'FIRST_TIME_CONTRIBUTOR',
      labels: ['run-ci'],
    });
    const { data } = await octokit.pulls.get({ ...REPO, pull_number: 42 });
    expect(data).toMatchObject({
      number: 42,
      state: 'open',
      user: { login: 'alice' },
      author_association: 'FIRST_TIME_CONTRIBUTOR',
      labels: [{ name: 'run-ci' }],
      head: {
        sha: SHA,
        ref: 'feature',
        label: 'alice:feature',
        repo: { full_name: 'alice/hello', fork: true },
      },
      base: { ref: 'main', repo: { full_name: FULL, fork: false } },
    });
    expect(data.updated_at).toBe('2026-01-01T00:00:00Z');
    expect((await failureOf(octokit.pulls.get({ ...REPO, pull_number: 43 }))).status).toBe(404);
    const other = await failureOf(
      octokit.pulls.get({ owner: 'someone', repo: 'else', pull_number: 42 }),
    );
    expect(other).toMatchObject({ status: 404, data: { message: 'Not Found' } });
  });
});

describe('a pull request seeded again', () => {
  it('answers its new head and updated_at: the PR as it is now', async () => {
    const seed = { number: 7, user: 'alice', head: { sha: SHA, ref: 'feature' } };
    h.github.seedPullRequest(FULL, seed);
    const newer = 'b'.repeat(39) + '2';
    h.github.seedPullRequest(FULL, {
      ...seed,
      head: { sha: newer, ref: 'feature' },
      updated_at: '2026-03-04T05:06:07Z',
    });

    const { data } = await octokit.pulls.get({ ...REPO, pull_number: 7 });

    expect(data).toMatchObject({ head: { sha: newer }, updated_at: '2026-03-04T05:06:07Z' });
  });
});

describe('collaborators and blocks', () => {
  it('answers 204 for a collaborator and 404 for anyone else', async () => {
    h.github.seedCollaborator(FULL, 'Maintainer', 'maintain');
    const yes = await octokit.repos.checkCollaborator({ ...REPO, username: 'maintainer' });
    expect(yes.status).toBe(204);
    expect(
      (await failureOf(octokit.repos.checkCollaborator({ ...REPO, username: 'stranger' }))).status,
    ).toBe(404);
  });

  it('maps roles to the legacy permission', async () => {
    h.github.seedCollaborator(FULL, 'boss', 'admin');
    h.github.seedCollaborator(FULL, 'keeper', 'maintain');
    const perm = (username: string) =>
      octokit.repos.getCollaboratorPermissionLevel({ ...REPO, username });
    expect((await perm('boss')).data).toMatchObject({ permission: 'admin', role_name: 'admin' });
    expect((await perm('keeper')).data).toMatchObject({
      permission: 'write',
      role_name: 'maintain',
      user: { login: 'keeper', permissions: { push: true, admin: false } },
    });
    expect((await perm('stranger')).data).toMatchObject({
      permission: 'read',
      user: { permissions: { push: false } },
    });
  });

  it('maps every role as GitHub does, and makes the owner of a repository its admin', async () => {
    const roles = ['admin', 'maintain', 'write', 'triage', 'read'] as const;
    for (const role of roles) h.github.seedCollaborator(FULL, `user-${role}`, role);
    const perm = async (owner: string, username: string) => {
      const { data } = await octokit.repos.getCollaboratorPermissionLevel({
        owner,
        repo: REPO.repo,
        username,
      });
      return [data.permission, data.role_name];
    };

    expect(await Promise.all(roles.map((role) => perm(REPO.owner, `user-${role}`)))).toEqual([
      ['admin', 'admin'],
      ['write', 'maintain'],
      ['write', 'write'],
      ['read', 'triage'],
      ['read', 'read'],
    ]);
    expect(await perm('alice', 'Alice')).toEqual(['admin', 'admin']);
    expect(await perm('alice', 'bob')).toEqual(['read', 'read']);
    // A seeded role wins over ownership.
    h.github.seedCollaborator('alice/hello', 'alice', 'read');
    expect(await perm('alice', 'alice')).toEqual(['read', 'read']);
  });

  it('answers 204 for a blocked user and 404 otherwise', async () => {
    h.github.seedBlockedUser('troll', 'octo-org');
    expect(
      (await octokit.orgs.checkBlockedUser({ org: 'octo-org', username: 'troll' })).status,
    ).toBe(204);
    expect(
      (await failureOf(octokit.orgs.checkBlockedUser({ org: 'octo-org', username: 'alice' })))
        .status,
    ).toBe(404);
    expect(
      (await failureOf(octokit.orgs.checkBlockedUser({ org: 'other-org', username: 'troll' })))
        .status,
    ).toBe(404);
  });
});

describe('workflow runs and artifacts', () => {
  it('serves a run, its artifacts and the artifact bytes through a redirect', async () => {
    h.github.seedWorkflowRun(FULL, {
      id: 900,
      head_sha: SHA,
      conclusion: 'success',
      name: 'build',
    });
    const zip = Buffer.from('PK\u0003\u0004 local artifact bytes');
    const id = h.github.seedArtifact(FULL, { run_id: 900, name: 'linux-build', data: zip });
    h.github.seedArtifact(FULL, { run_id: 900, name: 'windows-build', data: 'other' });

    const run = await octokit.actions.getWorkflowRun({ ...REPO, run_id: 900 });
    expect(run.data).toMatchObject({
      id: 900,
      head_sha: SHA,
      status: 'completed',
      conclusion: 'success',
    });
    const list = await octokit.actions.listWorkflowRunArtifacts({
      ...REPO,
      run_id: 900,
      name: 'linux-build',
    });
    expect(list.data.total_count).toBe(1);
    expect(list.data.artifacts[0]).toMatchObject({
      id,
      name: 'linux-build',
      size_in_bytes: zip.length,
      expired: false,
    });

    const download = await octokit.actions.downloadArtifact({
      ...REPO,
      artifact_id: id,
      archive_format: 'zip',
    });
    expect(Buffer.from(download.data as ArrayBuffer)).toEqual(zip);
    expect((await failureOf(octokit.actions.getWorkflowRun({ ...REPO, run_id: 901 }))).status).toBe(
      404,
    );
  });

  it('answers 410 for an expired artifact', async () => {
    h.github.seedWorkflowRun(FULL, { id: 5, head_sha: SHA });
    const id = h.github.seedArtifact(FULL, { run_id: 5, name: 'old', data: 'x', expired: true });
    const failure = await failureOf(
      octokit.actions.downloadArtifact({ ...REPO, artifact_id: id, archive_format: 'zip' }),
    );
    expect(failure.status).toBe(410);
  });
});

describe('GitHub App installation tokens', () => {
  it('issues a token for a JWT, and the token is then accepted', async () => {
    const app = h.client(fakeJwt());
    h.github.seedInstallation('octo-org', 77);
    const installation = await app.apps.getRepoInstallation(REPO);
    expect(installation.data.id).toBe(77);

    const token = await app.apps.createInstallationAccessToken({ installation_id: 77 });
    expect(token.status).toBe(201);
    expect(token.data.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(Date.parse(token.data.expires_at)).toBeGreaterThan(Date.now() + 50 * 60_000);

    const asInstallation = h.client(token.data.token);
    expect(
      (await asInstallation.repos.createCommitStatus({ ...REPO, sha: SHA, state: 'success' }))
        .status,
    ).toBe(201);
    expect(h.github.calls().at(-1)).toMatchObject({ auth: 'token', status: 201 });
  });

  it('wants a JWT for App routes and a token for the others', async () => {
    const tokenOnApp = await failureOf(
      octokit.apps.createInstallationAccessToken({ installation_id: 1 }),
    );
    expect(tokenOnApp.status).toBe(401);
    const jwtOnRepo = await failureOf(h.client(fakeJwt()).pulls.get({ ...REPO, pull_number: 1 }));
    expect(jwtOnRepo).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
  });
});
