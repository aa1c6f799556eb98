// The status function's pages: HTML for a browser, JSON for everyone else
// (and always for the `.json` form), the pages' security headers, the recent
// list's filters and pages, and what strangers see of private repositories.
// Through the app the function is served by, on the in-memory store and on
// the Firestore emulator.
import supertest from 'supertest';
import { makeStatusHandler, type StatusDeps } from '../../functions/status/handler';
import { PAGE_CSP } from '../../functions/status/negotiate';
import { createLocalCallerVerifier } from '../../shared/auth/caller';
import { mintLocalToken } from '../../shared/auth/local-token';
import type { TestRecord } from '../../shared/domain/test';
import { createMemoryFileStore } from '../../shared/files/memory';
import { functionApp } from '../../shared/http/function-app';
import { createLogger } from '../../shared/log';
import { PAGE_CSS, PAGE_JS } from '../../shared/status-page/assets';
import type { TestStore } from '../../shared/store/port';
import { at, testRecord, useStore } from '../contracts/store/fixtures';
import { captureLog, storeKinds } from '../tests/stores';

const REPO = 'Codertocat/Hello-World';
const PRIVATE_REPO = 'acme/secret-sauce';
const SHA = 'a'.repeat(40);
const VIEWER = 'ops@acme.example';
const TOKEN_SECRET = 'status-pages-test-secret';
const AUDIENCE = 'https://ci.example.com/status';
const BROWSER =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const NOW = at(60);

const SUMMARIES = [
  {
    platform: 'linux',
    maintenance: false,
    maxConcurrent: 2,
    slotsInUse: 1,
    counts: { waiting: 0, pending: 1, queued: 2, starting: 0, running: 1 },
    oldestWaitingAt: at(50),
  },
];

function serve(store: TestStore, changes: Partial<StatusDeps> = {}) {
  const log = captureLog();
  const logger = createLogger({ write: log.write });
  const handler = makeStatusHandler({
    store,
    files: createMemoryFileStore(),
    log: logger,
    config: {
      public: { [REPO]: true },
      statusViewers: [VIEWER],
      repositories: [REPO, PRIVATE_REPO],
      platforms: {} as never,
      githubApiUrl: 'https://api.github.com',
    },
    callers: createLocalCallerVerifier(TOKEN_SECRET),
    audience: AUDIENCE,
    platformSummaries: async () => SUMMARIES,
    now: () => NOW,
    ...changes,
  });
  return { request: supertest(functionApp(handler, { log: logger })), log };
}

const viewerToken = () =>
  `Bearer ${mintLocalToken(TOKEN_SECRET, { kind: 'oidc', email: VIEWER, aud: AUDIENCE })}`;

function expectPageHeaders(res: supertest.Response): void {
  expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
  expect(res.headers['content-security-policy']).toBe(
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
      "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  );
  expect(res.headers['content-security-policy']).toBe(PAGE_CSP);
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['vary']).toMatch(/\bAccept\b/);
  expect(res.headers['cache-control']).toBe('no-store');
}

function expectJson(res: supertest.Response): void {
  expect(res.headers['content-type']).toMatch(/^application\/json\b/);
  expect(res.headers['vary']).toMatch(/\bAccept\b/);
}

const ids = (body: { tests: { id: string }[] }) => body.tests.map((t) => t.id);

describe.each(storeKinds('vmci-status-pages'))('status pages ($name)', ({ make }) => {
  const current = useStore(make);
  let request: supertest.Agent;

  beforeEach(async () => {
    const { store } = current();
    await store.createTests([
      testRecord({ id: 'old-linux', repo: REPO, createdAt: at(0), status: 'passed' }),
      testRecord({ id: 'push-linux', repo: REPO, createdAt: at(10) }),
      testRecord({ id: 'push-windows', repo: REPO, platform: 'windows', createdAt: at(10) }),
      testRecord({
        id: 'pr-linux',
        repo: REPO,
        trigger: 'pull_request',
        pr: 2,
        sha: 'b'.repeat(40),
        status: 'failed',
        createdAt: at(20),
      }),
      testRecord({
        id: 'secret-linux',
        repo: PRIVATE_REPO,
        ref: 'refs/heads/secret-launch-plan',
        repoPublic: false,
        createdAt: at(30),
      }),
    ]);
    request = serve(store).request;
  });

  describe('content negotiation', () => {
    it.each([
      ['no Accept', undefined],
      ['*/*', '*/*'],
      ['application/json', 'application/json'],
      ['JSON preferred', 'application/json, text/html;q=0.9'],
    ])('%s: the same JSON as before, with Vary: Accept', async (_case, accept) => {
      const get = (path: string) => {
        const req = request.get(path);
        return accept === undefined ? req : req.set('accept', accept);
      };
      const one = await get('/tests/push-linux');
      expectJson(one);
      expect(one.body).toMatchObject({ id: 'push-linux', status: 'queued' });
      const list = await get(`/tests?repo=${REPO}&sha=${SHA}`);
      expectJson(list);
      expect(ids(list.body)).toEqual(['old-linux', 'push-linux', 'push-windows']);
      const index = await get('/');
      expect(index.body).toEqual({ tests: '/tests?repo=&sha=' });
    });

    it('a browser gets HTML pages with the strict headers', async () => {
      for (const path of ['/', '/tests/push-linux', `/tests?repo=${REPO}&sha=${SHA}`]) {
        const res = await request.get(path).set('accept', BROWSER);
        expect(res.status).toBe(200);
        expectPageHeaders(res);
        expect(res.text).toMatch(/^<!doctype html>/);
        expect(res.text).toContain('<main data-live="true">');
      }
    });

    it('the .json form is JSON whatever Accept says, and the same JSON', async () => {
      const plain = await request.get('/tests/push-linux');
      const suffixed = await request.get('/tests/push-linux.json').set('accept', BROWSER);
      expectJson(suffixed);
      expect(suffixed.body).toEqual(plain.body);

      const list = await request.get(`/tests.json?repo=${REPO}&pr=2`).set('accept', BROWSER);
      expectJson(list);
      expect(list.body).toEqual((await request.get(`/tests?repo=${REPO}&pr=2`)).body);

      expect((await request.get('/tests/nope.json').set('accept', BROWSER)).body).toEqual({
        error: 'Test not found',
      });
    });

    it('HEAD of a page: its headers, no body', async () => {
      const res = await request.head('/tests/push-linux').set('accept', BROWSER);
      expect(res.status).toBe(200);
      expectPageHeaders(res);
      expect(res.text ?? '').toBe('');
    });

    it('errors are pages for a browser: 404, a bad query (400)', async () => {
      const missing = await request.get('/tests/nope').set('accept', BROWSER);
      expect(missing.status).toBe(404);
      expectPageHeaders(missing);
      expect(missing.text).toContain('Test not found');

      const nowhere = await request.get('/nowhere').set('accept', BROWSER);
      expect(nowhere.status).toBe(404);
      expectPageHeaders(nowhere);

      const bad = await request.get(`/tests?repo=${REPO}&sha=xyz`).set('accept', BROWSER);
      expect(bad.status).toBe(400);
      expectPageHeaders(bad);
      expect(bad.text).toContain('sha: expected a 40-character hex commit sha');
      expect(bad.text).not.toContain('xyz');
    });

    it('a store failure: a 500 page without internals', async () => {
      const detail = 'projects/secret-project PERMISSION_DENIED';
      const broken: TestStore = {
        ...current().store,
        getTest: async () => {
          throw new Error(detail);
        },
        listRecent: async () => {
          throw new Error(detail);
        },
      };
      const { request: failing, log } = serve(broken);
      for (const path of ['/tests/push-linux', '/']) {
        const res = await failing.get(path).set('accept', BROWSER);
        expect(res.status).toBe(500);
        expectPageHeaders(res);
        expect(res.text).toContain('could not be read right now');
        expect(res.text).not.toContain('secret-project');
      }
      const json = await failing.get('/.json');
      expect(json.status).toBe(500);
      expect(json.body).toEqual({
        error: 'The test status could not be read right now. Please try again later.',
      });
      expect(log.lines).toHaveLength(3);
    });
  });

  describe('the assets', () => {
    it.each([
      ['/assets/page.js', 'text/javascript; charset=utf-8', PAGE_JS],
      ['/assets/page.css', 'text/css; charset=utf-8', PAGE_CSS],
    ])('%s: %s, whatever Accept says', async (path, type, body) => {
      for (const accept of [BROWSER, '*/*']) {
        const res = await request.get(path).set('accept', accept);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toBe(type);
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        expect(res.text).toBe(body);
      }
    });

    it('the script swaps <main> as nodes, never as a string of HTML', () => {
      expect(PAGE_JS).toContain('DOMParser');
      expect(PAGE_JS).toContain("getAttribute('data-live') === 'true'");
      expect(PAGE_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    });
  });

  describe('the recent list', () => {
    it('/.json: the platforms and the newest tests a stranger may see', async () => {
      const res = await request.get('/.json').set('accept', BROWSER);
      expectJson(res);
      expect(res.body.platforms).toEqual([
        { ...SUMMARIES[0], oldestWaitingAt: at(50).toISOString() },
      ]);
      // Newest first; ties by id, descending. No private repository's test.
      expect(ids(res.body)).toEqual(['pr-linux', 'push-windows', 'push-linux', 'old-linux']);
      expect(res.body.next).toBeNull();
      expect(res.text).not.toContain('secret');
    });

    it('a status viewer sees every repository’s tests', async () => {
      const res = await request.get('/.json').set('authorization', viewerToken());
      expect(ids(res.body)[0]).toBe('secret-linux');
      expect(res.body.tests[0]).toMatchObject({ ref: 'refs/heads/secret-launch-plan' });
      const page = await request
        .get('/')
        .set('accept', BROWSER)
        .set('authorization', viewerToken());
      expect(page.text).toContain('data-test="secret-linux"');
      expect(page.text).not.toContain('status viewers only');
    });

    it('the page lists the same tests, and says private ones are for viewers', async () => {
      const res = await request.get('/').set('accept', BROWSER);
      const rows = [...res.text.matchAll(/<tr data-test="([^"]+)"/g)].map((m) => m[1]);
      expect(rows).toEqual(['pr-linux', 'push-windows', 'push-linux', 'old-linux']);
      expect(res.text).not.toContain('secret');
      expect(res.text).toContain('status viewers only');
      expect(res.text).toContain('data-platform="linux"');
    });

    it.each([
      ['platform', 'platform=windows', ['push-windows']],
      ['state', 'status=passed', ['old-linux']],
      ['repository', `repo=${PRIVATE_REPO}`, []],
      ['commit', `sha=${SHA}`, ['push-windows', 'push-linux', 'old-linux']],
      [
        'commit and platform',
        `repo=${REPO}&sha=${SHA}&platform=linux`,
        ['push-linux', 'old-linux'],
      ],
      ['pull request', `repo=${REPO}&pr=2`, ['pr-linux']],
      ['pull request in any repository', 'pr=2&status=failed', ['pr-linux']],
      [
        'an empty form',
        'repo=&sha=&pr=&platform=&status=',
        ['pr-linux', 'push-windows', 'push-linux', 'old-linux'],
      ],
    ])('filtered by %s', async (_case, query, expected) => {
      const json = await request.get(`/.json?${query}`);
      expect(json.status).toBe(200);
      expect(ids(json.body)).toEqual(expected);
      const page = await request.get(`/?${query}`).set('accept', BROWSER);
      const rows = [...page.text.matchAll(/<tr data-test="([^"]+)"/g)].map((m) => m[1]);
      expect(rows).toEqual(expected);
    });

    it.each([
      ['sha=abc', 'sha: expected a 40-character hex commit sha'],
      ['status=done', 'status: expected a test state'],
      ['repo=nope', 'repo: expected owner/name'],
      ['pr=0', 'pr: expected a pull request number'],
      [`sha=${SHA}&pr=2`, 'expected sha or pr, not both'],
      ['before=yesterday', 'before: expected a time'],
    ])('?%s: 400, %s', async (query, reason) => {
      const json = await request.get(`/.json?${query}`);
      expect(json.status).toBe(400);
      expect(json.body).toEqual({ error: reason });
      const page = await request.get(`/?${query}`).set('accept', BROWSER);
      expect(page.status).toBe(400);
      expect(page.text).toContain(reason);
    });
  });
});

describe('the recent list, page by page', () => {
  const current = useStore(storeKinds('vmci-status-pages-paging')[1]!.make);

  it('pages never split the tests of one instant, and skip none', async () => {
    const { store } = current();
    // 60 instants, two tests each (linux and windows), and 10 private tests among them.
    const tests: TestRecord[] = [];
    for (let i = 0; i < 60; i++) {
      for (const platform of ['linux', 'windows']) {
        tests.push(
          testRecord({
            id: `t${String(i).padStart(2, '0')}-${platform}`,
            repo: i % 6 === 0 ? PRIVATE_REPO : REPO,
            platform,
            createdAt: at(i),
          }),
        );
      }
    }
    await store.createTests(tests);
    const { request } = serve(store);

    for (const who of ['stranger', 'viewer'] as const) {
      const seen: string[] = [];
      let next: string | null = '/.json';
      let pages = 0;
      while (next !== null) {
        const path: string = next.replace(/^\/status/, '');
        const req = request.get(path);
        const res = await (who === 'viewer' ? req.set('authorization', viewerToken()) : req);
        expect(res.status).toBe(200);
        const page = ids(res.body);
        expect(page.length).toBeLessThanOrEqual(50);
        seen.push(...page);
        next = res.body.next;
        pages += 1;
        expect(pages).toBeLessThan(10);
      }
      const visible = tests
        .filter((t) => who === 'viewer' || t.repo === REPO)
        .map((t) => t.id)
        .sort()
        .reverse();
      expect(seen).toEqual(visible);
      expect(pages).toBe(3);
    }
  });
});
