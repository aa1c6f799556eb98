// Git over smart HTTP from the local GitHub stand-in, with the real git client:
// a public repository serves anyone; a private one wants an installation token
// for it (or the configured token) as the Basic password, and pushes are refused.
import type { Octokit } from '@octokit/rest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git } from '../support/git';
import { gitAsync, startGitHub, TOKEN, type GitHubHarness, type GitRun } from './github-setup';

let h: GitHubHarness;
let app: Octokit;
let clock = Date.now();
let root: string;
let first: string;
let second: string;
let fresh = 0;

const PRIVATE = 'octo-org/secret';
const PUBLIC = 'octo-org/open';

beforeAll(async () => {
  h = await startGitHub({ now: () => clock });
  app = h.app();
  root = mkdtempSync(join(tmpdir(), 'vmci-github-git-'));
  const work = join(root, 'work');
  mkdirSync(work);
  git(work, 'init', '-q', '-b', 'main');
  writeFileSync(join(work, 'README.md'), 'one\n');
  git(work, 'add', 'README.md');
  git(work, 'commit', '-q', '-m', 'one');
  first = git(work, 'rev-parse', 'HEAD');
  writeFileSync(join(work, 'README.md'), 'two\n');
  git(work, 'commit', '-q', '-am', 'two');
  second = git(work, 'rev-parse', 'HEAD');
  git(root, 'clone', '-q', '--bare', work, join(root, 'open.git'));
});
afterAll(async () => {
  await h.close();
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  h.github.reset();
  clock = Date.now();
  h.github.seedInstallation('octo-org', 7);
  // The private one is served from the non-bare working repository, the public one is bare.
  h.github.seedGitRepository(PRIVATE, { path: join(root, 'work'), private: true });
  h.github.seedGitRepository(PUBLIC, { path: join(root, 'open.git'), private: false });
});

const url = (repo: string): string => h.github.cloneUrl(repo, h.baseUrl);
const basic = (secret: string): string =>
  `http.extraHeader=Authorization: Basic ${Buffer.from(`x-access-token:${secret}`).toString('base64')}`;

/** An empty repository whose origin is `repo` on the stand-in. */
function clientRepo(repo: string, remote = url(repo)): string {
  const dir = join(root, `client-${++fresh}`);
  mkdirSync(dir);
  git(dir, 'init', '-q');
  git(dir, 'remote', 'add', 'origin', remote);
  return dir;
}

async function mint(
  repositories: string[] = ['secret'],
  permissions: Record<string, 'read' | 'write'> = { contents: 'read', actions: 'read' },
): Promise<string> {
  const { data } = await app.rest.apps.createInstallationAccessToken({
    installation_id: 7,
    repositories,
    permissions,
  });
  return data.token;
}

/** `git fetch --depth 1 origin <sha>` as the VM runs it, then what it got. */
async function fetchCommit(
  dir: string,
  sha: string,
  ...config: string[]
): Promise<GitRun & { fetched: string | null }> {
  const run = await gitAsync(
    dir,
    ...config.flatMap((c) => ['-c', c]),
    'fetch',
    '-q',
    '--depth',
    '1',
    'origin',
    sha,
  );
  const fetched = run.code === 0 ? (await gitAsync(dir, 'rev-parse', 'FETCH_HEAD')).stdout : null;
  return { ...run, fetched };
}

describe('a public repository', () => {
  it('clones and fetches an exact older commit anonymously', async () => {
    const target = join(root, `clone-${++fresh}`);
    const clone = await gitAsync(root, 'clone', '-q', url(PUBLIC), target);
    expect(clone).toMatchObject({ code: 0 });
    expect(git(target, 'rev-parse', 'HEAD')).toBe(second);

    const run = await fetchCommit(clientRepo(PUBLIC), first);
    expect(run).toMatchObject({ code: 0, fetched: first });
    const calls = h.github.calls().filter((c) => c.path.startsWith('/git/'));
    expect(calls.map((c) => [c.method, c.path, c.auth, c.status])).toContainEqual([
      'POST',
      '/git/octo-org/open.git/git-upload-pack',
      'none',
      200,
    ]);
  });

  it('speaks protocol v2 when asked, as git does by default', async () => {
    const res = await fetch(`${url(PUBLIC)}/info/refs?service=git-upload-pack`, {
      headers: { 'git-protocol': 'version=2' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-git-upload-pack-advertisement');
    expect(await res.text()).toContain('version 2');
  });
});

describe('a private repository', () => {
  it('refuses an anonymous fetch at once with an authentication failure', async () => {
    const run = await fetchCommit(clientRepo(PRIVATE), first);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/terminal prompts disabled|Authentication failed/);
    expect(run.ms).toBeLessThan(10_000);
    expect(h.github.calls().map((c) => c.status)).toEqual([401]);
  });

  it('answers 401 with a Basic challenge, as GitHub does', async () => {
    const res = await fetch(`${url(PRIVATE)}/info/refs?service=git-upload-pack`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="GitHub"');
  });

  it('fetches the exact commit with a token for it, as an extra header or in the URL', async () => {
    const token = await mint();
    const run = await fetchCommit(clientRepo(PRIVATE), first, basic(token));
    expect(run).toMatchObject({ code: 0, fetched: first });

    const withUrl = new URL(url(PRIVATE));
    withUrl.username = 'x-access-token';
    withUrl.password = token;
    const dir = clientRepo(PRIVATE, withUrl.toString());
    expect(await fetchCommit(dir, second)).toMatchObject({ code: 0, fetched: second });
    // Depth 1: the commit alone, not its parent.
    expect(git(dir, 'rev-list', '--count', 'FETCH_HEAD')).toBe('1');
  });

  it('fetches with the configured token', async () => {
    const run = await fetchCommit(clientRepo(PRIVATE), first, basic(TOKEN));
    expect(run).toMatchObject({ code: 0, fetched: first });
  });

  it('is not found with a token for another repository', async () => {
    const token = await mint(['open']);
    const run = await fetchCommit(clientRepo(PRIVATE), first, basic(token));
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Repository not found|not found/);
    expect(h.github.calls().at(-1)).toMatchObject({ auth: 'basic', status: 404 });
  });

  it('refuses a token without contents:read', async () => {
    const token = await mint(['secret'], { actions: 'read' });
    const run = await fetchCommit(clientRepo(PRIVATE), first, basic(token));
    expect(run.code).not.toBe(0);
    expect(h.github.calls().at(-1)).toMatchObject({ status: 403 });
  });

  it('refuses a token once it has expired, and a token it never issued', async () => {
    const token = await mint();
    clock += 60 * 60 * 1000 + 1000;
    const expired = await fetchCommit(clientRepo(PRIVATE), first, basic(token));
    expect(expired.code).not.toBe(0);
    expect(expired.ms).toBeLessThan(10_000);
    expect(h.github.calls().at(-1)).toMatchObject({ status: 401 });

    const made = await fetchCommit(clientRepo(PRIVATE), first, basic(`ghs_${'x'.repeat(36)}`));
    expect(made.code).not.toBe(0);
    expect(h.github.calls().at(-1)).toMatchObject({ status: 401 });
  });
});

describe('pushes', () => {
  it('are refused with 403, even with the configured token', async () => {
    const work = join(root, 'work');
    const run = await gitAsync(
      work,
      '-c',
      basic(TOKEN),
      'push',
      url(PUBLIC),
      'HEAD:refs/heads/pushed',
    );
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/403|denied/);
    expect(git(join(root, 'open.git'), 'branch', '--list', 'pushed')).toBe('');

    const res = await fetch(`${url(PRIVATE)}/git-receive-pack`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      body: '0000',
    });
    expect(res.status).toBe(403);
  });
});

describe('the clone URL', () => {
  it('is the API base, /git/, the repository and .git', () => {
    expect(h.github.cloneUrl('Octo-Org/Hello', 'http://127.0.0.1:8080/github/')).toBe(
      'http://127.0.0.1:8080/github/git/Octo-Org/Hello.git',
    );
  });
});
