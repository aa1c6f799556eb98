// Installation tokens from the local GitHub stand-in, minted as vm-ci mints
// them (Octokit with @octokit/auth-app and a real RSA key): scoped to
// repositories and permissions as GitHub scopes them, refused where they do
// not reach, expiring, revocable; and the artifact download URL they lead to
// is signed and short-lived.
import type { Octokit } from '@octokit/rest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALLATION_PERMISSIONS } from '../../infra/local/github';
import { failureOf, REPO, SHA, startGitHub, type GitHubHarness } from './github-setup';

let h: GitHubHarness;
let app: Octokit;
let clock = Date.now();

beforeAll(async () => {
  h = await startGitHub({ now: () => clock });
  app = h.app();
});
afterAll(() => h.close());
beforeEach(() => {
  h.github.reset();
  clock = Date.now();
  h.github.seedInstallation('octo-org', 7);
});

const FULL = `${REPO.owner}/${REPO.repo}`;
const VM = { contents: 'read', actions: 'read' } as const;

const mint = (body: Record<string, unknown> = {}, installation_id = 7) =>
  app.rest.apps.createInstallationAccessToken({ installation_id, ...body });

/** A run with one artifact in octo-org/hello; returns the artifact's id. */
function seedArtifact(repo = FULL): number {
  h.github.seedWorkflowRun(repo, { id: 900, head_sha: SHA });
  return h.github.seedArtifact(repo, { run_id: 900, name: 'linux-build', data: 'PK zip bytes' });
}

describe('issuing', () => {
  it('scopes a token to the named repositories and permissions, for an hour', async () => {
    const { status, data } = await mint({ repositories: ['hello'], permissions: VM });

    expect(status).toBe(201);
    expect(data).toMatchObject({
      permissions: VM,
      repository_selection: 'selected',
      repositories: [{ full_name: FULL, name: 'hello' }],
    });
    expect(Date.parse(data.expires_at)).toBe(Math.floor((clock + 3_600_000) / 1000) * 1000);
    expect(h.github.tokenRecord(data.token)).toEqual({
      installationId: 7,
      owner: 'octo-org',
      repositories: ['hello'],
      permissions: VM,
      expiresAt: clock + 3_600_000,
    });
  });

  it('gives all the installation has when the request narrows nothing', async () => {
    const { data } = await mint();
    expect(data).toMatchObject({
      permissions: INSTALLATION_PERMISSIONS,
      repository_selection: 'all',
    });
    expect(data.repositories).toBeUndefined();
    expect(h.github.tokenRecord(data.token)).toMatchObject({ repositories: undefined });
  });

  it('takes repository ids of repositories it knows', async () => {
    seedArtifact();
    const { data: run } = await h.client().rest.actions.getWorkflowRun({ ...REPO, run_id: 900 });
    const { data } = await mint({ repository_ids: [run.repository.id], permissions: VM });
    expect(data.repositories?.map((r) => r.full_name)).toEqual([FULL]);

    const unknown = await failureOf(mint({ repository_ids: [run.repository.id + 1] }));
    expect(unknown.status).toBe(422);
  });

  it('answers 422 for a permission the installation was not granted', async () => {
    h.github.seedInstallation('octo-org', 7, {
      permissions: { contents: 'read', metadata: 'read' },
    });
    for (const permissions of [{ contents: 'write' }, { actions: 'read' }, { contents: 'own' }]) {
      const failure = await failureOf(mint({ repositories: ['hello'], permissions }));
      expect(failure).toMatchObject({
        status: 422,
        data: { message: 'The permissions requested are not granted to this installation.' },
      });
    }
    expect((await mint({ permissions: { contents: 'read' } })).status).toBe(201);
  });

  it('answers 422 for a repository the installation does not have', async () => {
    h.github.seedInstallation('octo-org', 7, { repositories: ['hello'] });
    const message =
      'There is at least one repository that does not exist or is not accessible to the parent installation.';
    for (const repositories of [['other'], ['hello', 'other'], ['octo-org/hello']]) {
      expect(await failureOf(mint({ repositories }))).toMatchObject({
        status: 422,
        data: { message },
      });
    }
    // Selected by the installation: its tokens are, too.
    expect((await mint()).data).toMatchObject({ repository_selection: 'selected' });
    const installation = await app.rest.apps.getRepoInstallation(REPO);
    expect(installation.data).toMatchObject({ id: 7, repository_selection: 'selected' });
  });

  it('answers 422 for a malformed request', async () => {
    const failure = await failureOf(
      app.request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: 7,
        repositories: 'hello',
      } as never),
    );
    expect(failure.status).toBe(422);
  });
});

describe('using', () => {
  it('reads and downloads artifacts of its repository with actions:read', async () => {
    const id = seedArtifact();
    const vm = h.client((await mint({ repositories: ['hello'], permissions: VM })).data.token);

    const list = await vm.rest.actions.listWorkflowRunArtifacts({ ...REPO, run_id: 900 });
    expect(list.data.artifacts.map((a) => a.id)).toEqual([id]);
    const zip = await vm.rest.actions.downloadArtifact({
      ...REPO,
      artifact_id: id,
      archive_format: 'zip',
    });
    expect(Buffer.from(zip.data as ArrayBuffer).toString()).toBe('PK zip bytes');
  });

  it('is not found on a repository it was not scoped to, nor in another owner', async () => {
    const id = seedArtifact();
    seedArtifact('other-org/hello');
    const vm = h.client((await mint({ repositories: ['tools'], permissions: VM })).data.token);
    const all = h.client((await mint({ permissions: VM })).data.token);

    for (const call of [
      vm.rest.actions.listWorkflowRunArtifacts({ ...REPO, run_id: 900 }),
      vm.rest.actions.downloadArtifact({ ...REPO, artifact_id: id, archive_format: 'zip' }),
      all.rest.actions.listWorkflowRunArtifacts({ owner: 'other-org', repo: 'hello', run_id: 900 }),
    ]) {
      expect(await failureOf(call)).toMatchObject({ status: 404, data: { message: 'Not Found' } });
    }
    expect(h.github.calls().filter((c) => c.path.includes('/_local/'))).toEqual([]);
  });

  it('is refused with 403 where it lacks the permission', async () => {
    const id = seedArtifact();
    const vm = h.client((await mint({ repositories: ['hello'], permissions: VM })).data.token);
    const noActions = h.client(
      (await mint({ repositories: ['hello'], permissions: { contents: 'read' } })).data.token,
    );

    for (const call of [
      vm.rest.repos.createCommitStatus({ ...REPO, sha: SHA, state: 'success' }),
      vm.rest.issues.createComment({ ...REPO, issue_number: 1, body: 'hi' }),
      noActions.rest.actions.downloadArtifact({ ...REPO, artifact_id: id, archive_format: 'zip' }),
    ]) {
      expect(await failureOf(call)).toMatchObject({
        status: 403,
        data: { message: 'Resource not accessible by integration' },
      });
    }
    // metadata:read comes with every token.
    h.github.seedCollaborator(FULL, 'alice');
    expect((await vm.rest.repos.checkCollaborator({ ...REPO, username: 'alice' })).status).toBe(
      204,
    );
  });

  it('works for an installation client of @octokit/auth-app, which asks for everything', async () => {
    const installation = h.app(7);
    const posted = await installation.rest.repos.createCommitStatus({
      ...REPO,
      sha: SHA,
      state: 'success',
    });
    expect(posted.status).toBe(201);
    expect(h.github.calls().map((c) => `${c.method} ${c.path} ${c.auth}`)).toEqual([
      'POST /app/installations/7/access_tokens bearer',
      `POST /repos/${FULL}/statuses/${SHA} token`,
    ]);
  });

  it('keeps the configured token working everywhere', async () => {
    const id = seedArtifact('other-org/tools');
    const zip = await h.client().rest.actions.downloadArtifact({
      owner: 'other-org',
      repo: 'tools',
      artifact_id: id,
      archive_format: 'zip',
    });
    expect(zip.status).toBe(200);
  });

  it('hides a private repository from anonymous readers, not from its tokens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmci-github-tokens-'));
    try {
      h.github.seedGitRepository(FULL, { path: dir, private: true });
      seedArtifact();
      const anonymous = await fetch(`${h.baseUrl}/repos/${FULL}/actions/runs/900/artifacts`);
      expect(anonymous.status).toBe(404);
      const vm = h.client((await mint({ repositories: ['hello'], permissions: VM })).data.token);
      const list = await vm.rest.actions.listWorkflowRunArtifacts({ ...REPO, run_id: 900 });
      expect(list.data.total_count).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('expiry and revocation', () => {
  it('answers 401 Bad credentials once the hour is over', async () => {
    seedArtifact();
    const vm = h.client((await mint({ repositories: ['hello'], permissions: VM })).data.token);
    clock += 3_600_000 - 1000;
    expect((await vm.rest.actions.listWorkflowRunArtifacts({ ...REPO, run_id: 900 })).status).toBe(
      200,
    );
    clock += 1000;
    expect(
      await failureOf(vm.rest.actions.listWorkflowRunArtifacts({ ...REPO, run_id: 900 })),
    ).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
  });

  it('revokes the calling token on DELETE /installation/token', async () => {
    const { token } = (await mint()).data;
    const vm = h.client(token);
    expect((await vm.rest.apps.revokeInstallationAccessToken()).status).toBe(204);
    expect(h.github.tokenRecord(token)).toBeUndefined();
    expect(
      await failureOf(vm.rest.repos.createCommitStatus({ ...REPO, sha: SHA, state: 'success' })),
    ).toMatchObject({ status: 401, data: { message: 'Bad credentials' } });
    expect((await failureOf(h.client().rest.apps.revokeInstallationAccessToken())).status).toBe(
      403,
    );
  });
});

describe('the artifact download URL', () => {
  async function location(id: number): Promise<string> {
    const { token } = (await mint({ repositories: ['hello'], permissions: VM })).data;
    const res = await fetch(`${h.baseUrl}/repos/${FULL}/actions/artifacts/${id}/zip`, {
      headers: { authorization: `token ${token}` },
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    return res.headers.get('location') ?? '';
  }

  it('is signed, needs no credentials and works for a minute', async () => {
    const id = seedArtifact();
    const url = await location(id);
    expect(url).toMatch(new RegExp(`/_local/artifacts/${id}/download\\?expires=\\d+&sig=[\\w-]+$`));

    const now = await fetch(url);
    expect(now.status).toBe(200);
    expect(await now.text()).toBe('PK zip bytes');
    clock += 59_000;
    expect((await fetch(url)).status).toBe(200);
    clock += 1_000;
    expect((await fetch(url)).status).toBe(403);
  });

  it('is refused when its signature, expiry or artifact is changed, or missing', async () => {
    const id = seedArtifact();
    const url = new URL(await location(id));
    const changed = (edit: (u: URL) => void): string => {
      const copy = new URL(url);
      edit(copy);
      return copy.toString();
    };
    const expires = Number(url.searchParams.get('expires'));
    for (const bad of [
      changed((u) => u.searchParams.set('sig', `${u.searchParams.get('sig')}x`)),
      changed((u) => u.searchParams.set('expires', String(expires + 3600))),
      changed((u) => (u.pathname = u.pathname.replace(`/${id}/`, `/${id + 1}/`))),
      changed((u) => (u.search = '')),
    ]) {
      expect((await fetch(bad)).status).toBe(403);
    }
  });
});
