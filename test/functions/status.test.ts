// The status function's JSON, through the app it is served by, on the
// in-memory store and on the Firestore emulator: what it shows, and what it
// hides of a private repository from anyone but a status viewer.
import supertest from 'supertest';
import { makeStatusHandler, type StatusDeps } from '../../functions/status/handler';
import { createLocalCallerVerifier } from '../../shared/auth/caller';
import { mintLocalToken } from '../../shared/auth/local-token';
import { functionApp, SECURITY_HEADERS } from '../../shared/http/function-app';
import { createMemoryFileStore } from '../../shared/files/memory';
import type { TestFileStore } from '../../shared/files/port';
import { createLogger } from '../../shared/log';
import type { TestStore } from '../../shared/store/port';
import { at, testRecord, useStore } from '../contracts/store/fixtures';
import { captureLog, storeKinds } from '../tests/stores';

const REPO = 'ccextractor/ccextractor';
const SHA = 'a'.repeat(40);
const TOKEN_HASH = 'c0ffee'.repeat(10);

const PRIVATE_REPO = 'acme/secret-sauce';
const VIEWER = 'ops@acme.example';
const TOKEN_SECRET = 'status-test-local-token-secret';
const AUDIENCE = 'https://ci.example.com/status';

/** The status app; REPO is configured public, everything else is as GitHub said. */
function serve(
  store: TestStore,
  config: Partial<StatusDeps['config']> = {},
  files: TestFileStore = createMemoryFileStore(),
) {
  const log = captureLog();
  const logger = createLogger({ write: log.write });
  const handler = makeStatusHandler({
    store,
    files,
    log: logger,
    config: { public: { [REPO]: true }, statusViewers: [VIEWER], ...config },
    callers: createLocalCallerVerifier(TOKEN_SECRET),
    audience: AUDIENCE,
  });
  return { request: supertest(functionApp(handler, { log: logger })), log };
}

const bearer = (email: string, aud = AUDIENCE, secret = TOKEN_SECRET) =>
  `Bearer ${mintLocalToken(secret, { kind: 'oidc', email, aud })}`;

async function seed(store: TestStore): Promise<void> {
  await store.createTests([
    testRecord({ id: 'push-linux', tokenHash: TOKEN_HASH, createdAt: at(0) }),
    testRecord({
      id: 'push-windows',
      platform: 'windows',
      tokenHash: TOKEN_HASH,
      createdAt: at(1),
    }),
    testRecord({
      id: 'pr-old',
      trigger: 'pull_request',
      pr: 7,
      sha: 'b'.repeat(40),
      createdAt: at(2),
    }),
    testRecord({
      id: 'pr-new',
      trigger: 'pull_request',
      pr: 7,
      sha: 'c'.repeat(40),
      createdAt: at(3),
    }),
    testRecord({ id: 'elsewhere', repo: 'o/r', createdAt: at(4) }),
  ]);
}

function expectJsonNoStore(res: supertest.Response): void {
  expect(res.headers['content-type']).toMatch(/^application\/json\b/);
  expect(res.headers['cache-control']).toBe('no-store');
  // Every answer: never sniffed as HTML, never framed, nothing loaded.
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers[name.toLowerCase()]).toBe(value);
  }
}

describe.each(storeKinds('vmci-status'))('status function ($name)', ({ make }) => {
  const current = useStore(make);
  let request: supertest.Agent;

  beforeEach(async () => {
    const { store } = current();
    await seed(store);
    request = serve(store).request;
  });

  it('GET /tests/{id}: the test as JSON, dates as ISO strings, never the token hash', async () => {
    const res = await request.get('/tests/push-linux');

    expect(res.status).toBe(200);
    expectJsonNoStore(res);
    expect(res.body).toMatchObject({
      id: 'push-linux',
      repo: REPO,
      sha: SHA,
      ref: 'refs/heads/master',
      trigger: 'push',
      pr: null,
      platform: 'linux',
      status: 'queued',
      stage: null,
      waitReason: null,
      message: 'Queued',
      attempts: 0,
      createdAt: '2026-11-02T10:00:00.000Z',
      queuedAt: '2026-11-02T10:00:00.000Z',
      startedAt: null,
      finishedAt: null,
      deadlineAt: null,
      instance: null,
      result: null,
      timeline: [{ at: '2026-11-02T10:00:00.000Z', status: 'queued', message: 'Queued' }],
    });
    expect(res.text).not.toContain(TOKEN_HASH);
    expect(res.body).not.toHaveProperty('tokenHash');
  });

  it('HEAD /tests/{id}: the same status and headers, no body', async () => {
    const res = await request.head('/tests/push-linux');

    expect(res.status).toBe(200);
    expectJsonNoStore(res);
    expect(res.text ?? '').toBe('');
  });

  it.each(['/tests/nope', '/tests/..', '/tests/__x__', '/tests/a%2Fb'])(
    'GET %s: 404 Test not found',
    async (path) => {
      const res = await request.get(path);

      expect(res.status).toBe(404);
      expectJsonNoStore(res);
      expect(res.body).toEqual({ error: 'Test not found' });
    },
  );

  it('GET /tests?repo=&sha=: the commit’s tests, oldest first', async () => {
    const res = await request.get('/tests').query({ repo: REPO, sha: SHA.toUpperCase() });

    expect(res.status).toBe(200);
    expectJsonNoStore(res);
    expect(res.body.tests.map((t: { id: string }) => t.id)).toEqual(['push-linux', 'push-windows']);
    expect(res.body.tests[0]).toMatchObject({ createdAt: '2026-11-02T10:00:00.000Z' });
    expect(res.text).not.toContain(TOKEN_HASH);
    expect(res.text).not.toContain('tokenHash');
  });

  it('GET /tests?repo=&pr=: the PR’s tests, newest first', async () => {
    const res = await request.get('/tests/').query({ repo: REPO, pr: '7' });

    expect(res.status).toBe(200);
    expect(res.body.tests.map((t: { id: string }) => t.id)).toEqual(['pr-new', 'pr-old']);
  });

  it('GET /tests for a commit without tests: an empty list', async () => {
    const res = await request.get('/tests').query({ repo: 'o/r', sha: 'd'.repeat(40) });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ tests: [] });
  });

  it.each([
    ['repo=nope&sha=' + SHA, 'repo: expected owner/name'],
    ['sha=' + SHA, 'repo: expected owner/name'],
    [`repo=${REPO}&repo=o/r&sha=${SHA}`, 'repo: expected owner/name'],
    [`repo=${REPO}&sha=abc`, 'sha: expected a 40-character hex commit sha'],
    [`repo=${REPO}&pr=0`, 'pr: expected a pull request number'],
    [`repo=${REPO}&pr=7x`, 'pr: expected a pull request number'],
    [`repo=${REPO}`, 'expected sha=<commit sha> or pr=<number>'],
    [`repo=${REPO}&sha=${SHA}&pr=7`, 'expected sha or pr, not both'],
  ])('GET /tests?%s: 400 %s', async (query, reason) => {
    const res = await request.get(`/tests?${query}`);

    expect(res.status).toBe(400);
    expectJsonNoStore(res);
    expect(res.body).toEqual({ error: reason });
  });

  it('GET /: a small index pointing at the listing', async () => {
    const res = await request.get('/');

    expect(res.status).toBe(200);
    expectJsonNoStore(res);
    expect(res.body).toEqual({ tests: '/tests?repo=&sha=' });
  });

  it.each(['/nope', '/tests/push-linux/more', '/testsx'])('GET %s: 404', async (path) => {
    const res = await request.get(path);

    expect(res.status).toBe(404);
    expectJsonNoStore(res);
    expect(res.body).toEqual({ error: 'Not found' });
  });

  it.each(['post', 'put', 'delete', 'patch'] as const)(
    '%s /tests/{id}: 405 with Allow: GET, HEAD',
    async (method) => {
      const res = await request[method]('/tests/push-linux');

      expect(res.status).toBe(405);
      expectJsonNoStore(res);
      expect(res.headers.allow).toBe('GET, HEAD');
      expect((await current().store.getTest('push-linux'))?.status).toBe('queued');
    },
  );

  it('a store failure: 500 with a friendly message, the details only in the log', async () => {
    const { store } = current();
    const detail = 'projects/secret-project/databases/(default) PERMISSION_DENIED';
    const broken: TestStore = {
      ...store,
      getTest: async () => {
        throw new Error(detail);
      },
      listBySha: async () => {
        throw new Error(detail);
      },
    };
    const { request: failing, log } = serve(broken);

    for (const path of ['/tests/push-linux', `/tests?repo=${REPO}&sha=${SHA}`]) {
      const res = await failing.get(path);

      expect(res.status).toBe(500);
      expectJsonNoStore(res);
      expect(res.body).toEqual({
        error: 'The test status could not be read right now. Please try again later.',
      });
      expect(res.text).not.toContain('secret-project');
    }
    expect(log.lines).toHaveLength(2);
    expect(log.lines[0]).toMatchObject({
      severity: 'ERROR',
      error: { message: detail },
      path: '/tests/push-linux',
    });
  });

  describe('a private repository', () => {
    /** A finished test whose details could tell of private code. */
    async function seedPrivate(repoPublic: boolean | null): Promise<void> {
      await current().store.createTests([
        testRecord({
          id: `private-${String(repoPublic)}`,
          repo: PRIVATE_REPO,
          ref: 'refs/heads/secret-launch-plan',
          author: 'insider',
          repoPublic,
          status: 'failed',
          instance: { name: 'vmci-linux-x-1', zone: 'europe-west4-a', provisioning: 'SPOT' },
          result: { exitCode: 1, passed: 1, failed: 1, summary: 'leaked: sk_live_123' },
        }),
      ]);
    }
    const HIDDEN = ['secret-launch-plan', 'insider', 'sk_live_123', 'europe-west4-a'];

    it.each([
      ['GitHub said it is private', false],
      ['GitHub did not say', null],
    ])('%s: no ref, author, summary or zone for a stranger', async (_case, repoPublic) => {
      await seedPrivate(repoPublic);
      const id = `private-${String(repoPublic)}`;
      for (const path of [`/tests/${id}`, `/tests?repo=${PRIVATE_REPO}&sha=${SHA}`]) {
        const res = await request.get(path);
        expect(res.status).toBe(200);
        expectJsonNoStore(res);
        for (const hidden of HIDDEN) expect(res.text).not.toContain(hidden);
      }
      const res = await request.get(`/tests/${id}`);
      expect(res.body).toMatchObject({
        id,
        repo: PRIVATE_REPO,
        status: 'failed',
        detailsHidden: true,
        ref: null,
        author: null,
        instance: { name: 'vmci-linux-x-1', zone: null, provisioning: 'SPOT' },
        result: { exitCode: 1, passed: 1, failed: 1, summary: null },
      });
    });

    it('GitHub said it is public: shown whole', async () => {
      await seedPrivate(true);
      const res = await request.get('/tests/private-true');
      expect(res.body).toMatchObject({
        detailsHidden: false,
        ref: 'refs/heads/secret-launch-plan',
      });
    });

    it('the configured setting wins over what GitHub said, both ways', async () => {
      await seedPrivate(true);
      const closed = serve(current().store, { public: { [PRIVATE_REPO.toUpperCase()]: false } });
      expect((await closed.request.get('/tests/private-true')).body).toMatchObject({
        detailsHidden: true,
        ref: null,
      });
      await seedPrivate(false);
      const open = serve(current().store, { public: { [PRIVATE_REPO]: true } });
      expect((await open.request.get('/tests/private-false')).body).toMatchObject({
        detailsHidden: false,
        author: 'insider',
      });
    });

    it('a status viewer’s ID token shows everything', async () => {
      await seedPrivate(false);
      const res = await request.get('/tests/private-false').set('authorization', bearer(VIEWER));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        detailsHidden: false,
        ref: 'refs/heads/secret-launch-plan',
        author: 'insider',
        instance: { zone: 'europe-west4-a' },
        result: { summary: 'leaked: sk_live_123' },
      });
    });

    it.each([
      ['another account', () => bearer('someone@acme.example'), 403],
      ['a token for another URL', () => bearer(VIEWER, 'https://ci.example.com/runTest'), 403],
      ['a forged token', () => bearer(VIEWER, AUDIENCE, 'not-the-secret'), 401],
      ['not a token at all', () => 'Bearer nonsense', 401],
      ['a Basic credential', () => 'Basic b3BzOnB3', 401],
    ])('%s: refused, and nothing shown', async (_case, header, status) => {
      await seedPrivate(false);
      const res = await request.get('/tests/private-false').set('authorization', header());
      expect(res.status).toBe(status);
      expectJsonNoStore(res);
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(res.body.error).toMatch(/^[^\n]{1,140}$/);
      for (const hidden of HIDDEN) expect(res.text).not.toContain(hidden);
    });
  });
});
