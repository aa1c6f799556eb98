// GitHub clients against the local stand-in: token auth, and GitHub App auth
// with a real RSA key (JWT → installation token → the call), the installation
// looked up per repository and cached.
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { createGitHubClients } from '../../shared/github/client';
import { startGitHub, TOKEN, type GitHubHarness } from '../local/github-setup';
import { captureLog, SHA40 } from './support';

const APP_ID = '123456';
let harness: GitHubHarness;
let keys: { pkcs1: string; pkcs8: string; publicKey: KeyObject };

beforeAll(async () => {
  harness = await startGitHub();
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys = {
    pkcs1: pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    pkcs8: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: createPublicKey(pair.privateKey),
  };
});
afterAll(() => harness.close());
beforeEach(() => harness.github.reset());

const status = { sha: SHA40, state: 'pending', context: 'ci/linux' } as const;
const calls = (pattern: RegExp) =>
  harness.github.calls().filter((c) => pattern.test(`${c.method} ${c.path}`));

/** Checks an RS256 JWT against our public key and returns its claims. */
function verifiedClaims(jwt: string): Record<string, unknown> {
  const [header = '', payload = '', signature = ''] = jwt.split('.');
  const signed = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    keys.publicKey,
    Buffer.from(signature, 'base64url'),
  );
  expect(signed).toBe(true);
  expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'RS256' });
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

describe('createGitHubClients with a token', () => {
  it('posts with the token, through the injected fetch, as vm-ci', async () => {
    const seen: string[] = [];
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'token', token: TOKEN },
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });

    const octokit = await clients.forRepo('octo-org/hello');
    await octokit.rest.repos.createCommitStatus({ owner: 'octo-org', repo: 'hello', ...status });

    expect(harness.github.statuses('octo-org/hello', SHA40)).toHaveLength(1);
    const [call] = calls(/^POST .*\/statuses\//);
    expect(call).toMatchObject({ auth: 'token', status: 201 });
    expect(call?.headers['user-agent']).toMatch(/^vm-ci /);
    expect(seen).toEqual([`${harness.baseUrl}/repos/octo-org/hello/statuses/${SHA40}`]);
  });

  it('uses one client for every repository, and the given user agent', async () => {
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'token', token: TOKEN },
      userAgent: 'vm-ci-test/1.0',
    });

    const [a, b] = await Promise.all([clients.forRepo('o/a'), clients.forRepo('p/b')]);
    await a.rest.repos.createCommitStatus({ owner: 'o', repo: 'a', ...status });

    expect(a).toBe(b);
    expect(calls(/statuses/)[0]?.headers['user-agent']).toMatch(/^vm-ci-test\/1\.0 /);
  });

  it('rejects a repository that is not "owner/name"', async () => {
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'token', token: TOKEN },
    });

    await expect(clients.forRepo('just-a-name')).rejects.toThrow('"owner/name"');
  });
});

describe('createGitHubClients with a GitHub App', () => {
  it.each(['pkcs1', 'pkcs8'] as const)(
    'signs a JWT with a %s key, trades it for an installation token, and posts with that',
    async (format) => {
      const bearer: string[] = [];
      const clients = createGitHubClients({
        baseUrl: harness.baseUrl,
        auth: { kind: 'app', appId: APP_ID, privateKey: keys[format], installationId: 42 },
        fetch: (input, init) => {
          const authorization = new Headers(init?.headers).get('authorization') ?? '';
          if (/^bearer /i.test(authorization)) bearer.push(authorization.slice(7));
          return fetch(input, init);
        },
      });

      const octokit = await clients.forRepo('octo-org/hello');
      await octokit.rest.repos.createCommitStatus({ owner: 'octo-org', repo: 'hello', ...status });

      expect(calls(/./).map((c) => [c.method, c.path, c.auth, c.status])).toEqual([
        ['POST', '/app/installations/42/access_tokens', 'bearer', 201],
        ['POST', `/repos/octo-org/hello/statuses/${SHA40}`, 'token', 201],
      ]);
      expect(bearer).toHaveLength(1);
      expect(verifiedClaims(bearer[0] ?? '')).toMatchObject({ iss: APP_ID });
    },
  );

  it('looks up each repository’s installation once, as the App', async () => {
    harness.github.seedInstallation('octo-org', 7);
    harness.github.seedInstallation('other-org', 9);
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'app', appId: APP_ID, privateKey: keys.pkcs8 },
    });

    const [hello, again] = await Promise.all([
      clients.forRepo('octo-org/hello'),
      clients.forRepo('Octo-Org/Hello'),
    ]);
    const world = await clients.forRepo('octo-org/world');
    const other = await clients.forRepo('other-org/x');
    await hello.rest.repos.createCommitStatus({ owner: 'octo-org', repo: 'hello', ...status });
    await world.rest.repos.createCommitStatus({ owner: 'octo-org', repo: 'world', ...status });
    await other.rest.repos.createCommitStatus({ owner: 'other-org', repo: 'x', ...status });
    await clients.forRepo('octo-org/hello');

    expect(again).toBe(hello);
    // One installation, one client: its token is reused across its repositories.
    expect(world).toBe(hello);
    expect(other).not.toBe(hello);
    expect(calls(/installation/).map((c) => `${c.method} ${c.path} ${c.auth}`)).toEqual([
      'GET /repos/octo-org/hello/installation bearer',
      'GET /repos/octo-org/world/installation bearer',
      'GET /repos/other-org/x/installation bearer',
      'POST /app/installations/7/access_tokens bearer',
      'POST /app/installations/9/access_tokens bearer',
    ]);
    expect(calls(/statuses/).every((c) => c.auth === 'token' && c.status === 201)).toBe(true);
  });

  it('mints a VM’s token as the App: one repository, read-only, a new one each time', async () => {
    harness.github.seedInstallation('octo-org', 7);
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'app', appId: APP_ID, privateKey: keys.pkcs8 },
    });

    const first = await clients.repoReadToken('Octo-Org/hello');
    const second = await clients.repoReadToken('octo-org/hello');

    expect(first).toEqual({ token: expect.stringMatching(/^ghs_/), expiresAt: expect.any(String) });
    expect(second?.token).not.toBe(first?.token);
    const minted = calls(/access_tokens/);
    expect(minted.map((c) => [c.path, c.auth, c.status, c.body])).toEqual(
      Array(2).fill([
        '/app/installations/7/access_tokens',
        'bearer',
        201,
        { repositories: ['hello'], permissions: { contents: 'read', actions: 'read' } },
      ]),
    );
  });

  it('with one known installation, mints for it; a plain token is never given to a VM', async () => {
    const app = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'app', appId: APP_ID, privateKey: keys.pkcs1, installationId: 42 },
    });
    const plain = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'token', token: TOKEN },
    });

    expect(await app.repoReadToken('octo-org/hello')).toMatchObject({ token: expect.any(String) });
    expect(await plain.repoReadToken('octo-org/hello')).toBeNull();
    expect(calls(/access_tokens/).map((c) => c.path)).toEqual([
      '/app/installations/42/access_tokens',
    ]);
  });

  it('does not cache a failed installation lookup', async () => {
    harness.github.injectFault({ path: '/installation$', status: 502, count: 1 });
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'app', appId: APP_ID, privateKey: keys.pkcs1 },
    });

    await expect(clients.forRepo('octo-org/hello')).rejects.toMatchObject({ status: 502 });
    await expect(clients.forRepo('octo-org/hello')).resolves.toBeDefined();

    expect(calls(/installation$/).map((c) => c.status)).toEqual([502, 200]);
  });

  it('logs Octokit’s lines at debug only, without the key, JWT or tokens', async () => {
    const capture = captureLog();
    const clients = createGitHubClients({
      baseUrl: harness.baseUrl,
      auth: { kind: 'app', appId: APP_ID, privateKey: keys.pkcs8 },
      log: capture.log,
    });

    const octokit = await clients.forRepo('octo-org/hello');
    await octokit.rest.repos.createCommitStatus({ owner: 'octo-org', repo: 'hello', ...status });

    const fromOctokit = capture.entries.filter((e) => e.fields.source === 'octokit');
    expect(fromOctokit.length).toBeGreaterThan(0);
    expect(fromOctokit.every((e) => e.level === 'debug')).toBe(true);
    expect(fromOctokit.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/^POST \/repos\/octo-org\/hello\/statuses\/\w+ - 201/),
    );
    const text = capture.text();
    const keyLines = keys.pkcs8.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    for (const line of keyLines) expect(text).not.toContain(line);
    expect(text).not.toMatch(/ghs_|bearer ey|token ey/i);
  });
});
