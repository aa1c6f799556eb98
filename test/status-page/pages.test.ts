// The status pages as pure functions of the test views: what they show, that
// text from GitHub and from test output stays text, that every link is one of
// ours, and that a page says whether it is live.
import type { TestRecord } from '../../shared/domain/test';
import { renderCommitPage } from '../../shared/status-page/commit';
import { formatDuration } from '../../shared/status-page/format';
import {
  basePath,
  githubCommitUrl,
  githubPrUrl,
  githubWebBase,
  recentHref,
} from '../../shared/status-page/links';
import { renderRecentPage, type RecentPageModel } from '../../shared/status-page/recent';
import { renderTestPage } from '../../shared/status-page/test-page';
import { testFilesView, testView } from '../../shared/tests/view';
import { at, testRecord } from '../contracts/store/fixtures';

const IMG = '<img src=x onerror=window.__xss=1>';
const SCRIPT = '</script><script>window.__xss=2</script>';
const QUOTES = `"><svg onload=window.__xss=3>'`;
const JS_URL = 'javascript:window.__xss=4';
const PAYLOADS = [IMG, SCRIPT, QUOTES];

const TITLE = `Fix ${IMG} ${SCRIPT}`;
const TITLE_HTML =
  'Fix &lt;img src=x onerror=window.__xss=1&gt; &lt;/script&gt;&lt;script&gt;window.__xss=2&lt;/script&gt;';

const BASE = '/status';
const WEB = 'https://github.com';
const NOW = at(30);
const ctx = { base: BASE, web: WEB, now: NOW };

/** A failed test whose every text from outside carries a payload. */
function hostile(overrides: Partial<TestRecord> = {}): TestRecord {
  return testRecord({
    id: 'pr-linux-1',
    repo: 'Codertocat/Hello-World',
    ref: `refs/heads/${JS_URL}${IMG}`,
    author: `octo${QUOTES}`,
    title: TITLE,
    trigger: 'pull_request',
    pr: 2,
    repoPublic: true,
    status: 'failed',
    message: `1 of 3 tests failed: ${IMG}`,
    createdAt: at(0),
    startedAt: at(1),
    timeToStartMs: 61_000,
    finishedAt: at(4),
    instance: { name: 'vmci-linux-abc-1', zone: 'local-a', provisioning: 'SPOT' },
    result: { exitCode: 1, passed: 2, failed: 1, summary: `summary ${SCRIPT}` },
    failures: {
      counts: { tests: 3, failures: 1, errors: 0, skipped: 0 },
      cases: [
        {
          name: `test_${IMG}`,
          classname: `demo${QUOTES}`,
          suite: `suite${SCRIPT}`,
          file: `results/${IMG}.xml`,
          kind: 'failure',
          message: `expected 43 ${SCRIPT}`,
        },
      ],
    },
    timeline: [
      { at: at(0), status: 'queued', message: 'Queued' },
      { at: at(1), status: 'running', stage: 'testing', message: `Running ${IMG}` },
      { at: at(4), status: 'failed', message: `1 of 3 tests failed: ${IMG}` },
    ],
    ...overrides,
  });
}

const files = testFilesView('http://x/status', 'pr-linux-1', [
  { name: 'log.txt', size: 10, contentType: 'text/plain', updated: at(4) },
]);

/** The page with every run of white space as one space. */
const flat = (page: string) => page.replace(/\s+/g, ' ');

/** Every href, src and action value in a page. */
function urlsOf(page: string): string[] {
  return [...page.matchAll(/\s(?:href|src|action)="([^"]*)"/g)].map((m) => m[1]!);
}

/** What a page must never hold: markup from the payloads, a link we did not build. */
function expectSafe(page: string): void {
  expect(page.match(/<script\b/g)).toHaveLength(1);
  expect(page).toContain(`<script src="${BASE}/assets/page.js" defer></script>`);
  expect(page).not.toMatch(/<img|<svg/i);
  for (const payload of PAYLOADS) expect(page).not.toContain(payload);
  // No tag of ours has an event handler, or a style (style-src 'self': none inline).
  expect(page).not.toMatch(/<[a-z][^<>]*\s(on[a-z]+|style)\s*=/i);
  for (const url of urlsOf(page)) {
    expect(url).toMatch(/^(\/status\/|https:\/\/github\.com\/|data:,$)/);
    expect(url).not.toMatch(/javascript:|[<>"']/i);
  }
}

describe('the test page', () => {
  it('shows the test, its result, failing tests, files and timeline, payloads as text', () => {
    const view = testView(hostile(), { showDetails: true, files });
    const page = renderTestPage({ ...ctx, test: view }).toString();

    expectSafe(page);
    expect(page).toContain('<main data-live="false">');
    // The title, under the heading, as text.
    expect(flat(page)).toContain(`</h1> <p class="subject">${TITLE_HTML}</p>`);
    expect(page).toContain('&lt;img src=x onerror=window.__xss=1&gt;');
    expect(page).toContain('summary &lt;/script&gt;&lt;script&gt;window.__xss=2&lt;/script&gt;');
    expect(page).toContain('test_&lt;img');
    expect(page).toContain('expected 43 &lt;/script&gt;');
    expect(page).toContain('vmci-linux-abc-1');
    expect(page).toContain('data-status="failed"');
    expect(page).toContain(`href="${BASE}/tests/pr-linux-1/files/log.txt"`);
    expect(page).toContain(`href="${BASE}/tests/pr-linux-1/files"`);
    expect(page).toContain(`href="${WEB}/Codertocat/Hello-World/commit/${'a'.repeat(40)}"`);
    expect(page).toContain(`href="${WEB}/Codertocat/Hello-World/pull/2"`);
    expect(page).toContain(`href="${BASE}/tests?repo=Codertocat%2FHello-World&amp;pr=2"`);
    expect(page).toContain('1 min 01 s'); // time to start
    expect(page).toContain('3 min 00 s'); // duration
    // The timeline, in order, with its stage.
    const order = ['Queued', 'Running &lt;img', '1 of 3 tests failed: &lt;img'].map((t) =>
      page.lastIndexOf(t),
    );
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(page).toContain('running · testing');
  });

  it('a private repository’s test shows nothing its view hides', () => {
    const secret = hostile({
      ref: 'refs/heads/secret-launch-plan',
      title: 'Add the secret launch countdown',
      author: 'insider',
      repoPublic: false,
      result: { exitCode: 1, passed: 2, failed: 1, summary: 'leaked: sk_live_123' },
    });
    const view = testView(secret, { showDetails: false, files: null });
    const page = renderTestPage({ ...ctx, test: view }).toString();

    const hidden = ['secret-launch-plan', 'launch countdown', 'insider', 'sk_live_123', 'local-a'];
    for (const text of [...hidden, 'test_']) expect(page).not.toContain(text);
    expect(page).not.toContain('class="subject"');
    expect(page).toContain('This repository is private');
    expect(page).not.toContain('/files');
  });

  it('a live test’s page is live, and its running time counts to now', () => {
    const running = hostile({
      status: 'running',
      stage: 'testing',
      finishedAt: null,
      result: null,
      failures: null,
    });
    const page = renderTestPage({
      ...ctx,
      test: testView(running, { showDetails: true }),
    }).toString();
    expect(page).toContain('<main data-live="true">');
    expect(page).toContain('Running for');
    expect(page).toContain('29 min 00 s');
  });

  it('no GitHub links when the API URL gives no web address', () => {
    const page = renderTestPage({
      ...ctx,
      web: null,
      test: testView(hostile(), { showDetails: true }),
    }).toString();
    expect(page).not.toContain('on GitHub');
    expectSafe(page);
  });
});

describe('the commit and PR pages', () => {
  const tests = [
    hostile({ id: 'c-linux', platform: 'linux' }),
    hostile({ id: 'c-windows', platform: 'windows', status: 'queued', finishedAt: null }),
  ].map((t) => testView(t, { showDetails: true }));

  it('a commit: one row per test with state, message, times; live while one is', () => {
    const page = renderCommitPage({
      ...ctx,
      query: { repo: 'Codertocat/Hello-World', sha: 'a'.repeat(40) },
      tests,
    }).toString();

    expectSafe(page);
    expect(page.match(/<tr data-test=/g)).toHaveLength(2);
    expect(page).toContain('<tr data-test="c-linux" data-status="failed">');
    expect(page).toContain('<tr data-test="c-windows" data-status="queued">');
    expect(page).toContain('<main data-live="true">');
    expect(page).toContain(`href="${WEB}/Codertocat/Hello-World/commit/${'a'.repeat(40)}"`);
    expect(page).toContain('Branch: javascript:window.__xss=4&lt;img');
    // Tested in PR #2 only: the PR's title names the PR, not the commit.
    expect(flat(page)).toContain(
      `Pull request: <a class="pr" href="${BASE}/tests?repo=Codertocat%2FHello-World&amp;pr=2">#2</a> <span class="subject">${TITLE_HTML}</span>`,
    );
    expect(flat(page)).not.toMatch(/<\/h1> <p class="subject">/);
  });

  it('a commit that was pushed: its title under the heading; each PR that tested it, with its title', () => {
    const page = flat(
      renderCommitPage({
        ...ctx,
        query: { repo: 'Codertocat/Hello-World', sha: 'a'.repeat(40) },
        tests: [
          hostile({ id: 'push', trigger: 'push', pr: null, title: `Initial ${IMG}` }),
          hostile({ id: 'pr3', pr: 3, title: 'Old name', createdAt: at(0) }),
          hostile({ id: 'pr3-renamed', pr: 3, title: 'New name', createdAt: at(5) }),
          hostile({ id: 'pr4', pr: 4, title: null }),
        ].map((t) => testView(t, { showDetails: true })),
      }).toString(),
    );

    expectSafe(page);
    expect(page).toContain(
      '<h1>Commit <span class="title">Codertocat/Hello-World @ aaaaaaa</span></h1> <p class="subject">Initial &lt;img src=x onerror=window.__xss=1&gt;</p>',
    );
    // The newest name of PR 3; PR 4, whose title is not known, by number alone.
    expect(page).toMatch(
      /Pull request: <a class="pr" [^>]*>#3<\/a> <span class="subject">New name<\/span> · <a class="pr" [^>]*>#4<\/a><\/p>/,
    );
    expect(page).not.toContain('Old name');
  });

  it('a PR: its commits, and the PR on GitHub; not live once every test ended', () => {
    const page = renderCommitPage({
      ...ctx,
      query: { repo: 'Codertocat/Hello-World', pr: 2 },
      tests: tests.slice(0, 1),
    }).toString();

    expectSafe(page);
    expect(page).toContain(`href="${WEB}/Codertocat/Hello-World/pull/2"`);
    expect(page).toContain('<main data-live="false">');
    expect(page).toContain('Commits tested:');
    // Headed by its number and title, as text; its repository under it.
    expect(flat(page)).toContain(
      `<h1><span class="title">#2</span> ${TITLE_HTML}</h1> <p class="context">Pull request in Codertocat/Hello-World</p>`,
    );
  });

  it('a PR renamed since its first tests is headed by its newest title', () => {
    const page = renderCommitPage({
      ...ctx,
      query: { repo: 'Codertocat/Hello-World', pr: 2 },
      tests: [
        hostile({ id: 'new', title: 'Fix the parser, take two', createdAt: at(9) }),
        hostile({ id: 'old', title: 'Fix the parser', createdAt: at(1) }),
        hostile({ id: 'older-untitled', title: null, createdAt: at(0) }),
      ].map((t) => testView(t, { showDetails: true })),
    }).toString();
    expect(page).toContain('<h1><span class="title">#2</span> Fix the parser, take two</h1>');
  });

  it('a PR whose title is not known, or hidden: headed by its repository and number', () => {
    for (const [test, showDetails] of [
      [hostile({ title: null }), true],
      [hostile({ title: 'Add the secret launch countdown', repoPublic: false }), false],
    ] as const) {
      const page = flat(
        renderCommitPage({
          ...ctx,
          query: { repo: 'Codertocat/Hello-World', pr: 2 },
          tests: [testView(test, { showDetails })],
        }).toString(),
      );
      expect(page).toContain(
        '<h1>Pull request <span class="title">Codertocat/Hello-World #2</span></h1>',
      );
      expect(page).not.toContain('launch countdown');
      expect(page).not.toContain('class="subject"');
    }
  });

  it('no tests: says so', () => {
    const page = renderCommitPage({
      ...ctx,
      query: { repo: 'o/r', sha: 'b'.repeat(40) },
      tests: [],
    }).toString();
    expect(page).toContain('No tests for this commit.');
    expect(page).toContain('<main data-live="false">');
  });
});

describe('the recent page', () => {
  const model = (changes: Partial<RecentPageModel> = {}): RecentPageModel => ({
    ...ctx,
    platforms: [
      {
        platform: 'linux',
        maintenance: false,
        maxConcurrent: 2,
        slotsInUse: 1,
        counts: { waiting: 1, pending: 2, queued: 3 },
        oldestWaitingAt: at(25),
      },
      {
        platform: 'windows',
        maintenance: true,
        maxConcurrent: 1,
        slotsInUse: 0,
        counts: { waiting: 0, pending: 0, queued: 0 },
        oldestWaitingAt: null,
      },
    ],
    tests: [testView(hostile(), { showDetails: true })],
    query: {},
    choices: { repos: ['Codertocat/Hello-World'], platforms: ['linux', 'windows'] },
    older: null,
    viewer: false,
    ...changes,
  });

  it('each platform’s queue, slots and maintenance above the tests', () => {
    const page = flat(renderRecentPage(model()).toString());

    expectSafe(page);
    const linux = page.slice(page.indexOf('data-platform="linux"'));
    expect(linux).toContain('6<span class="detail"> (1 waiting, 2 pending, 3 queued)</span>');
    expect(linux).toContain('1 of 2');
    expect(linux).toContain('5 min 00 s');
    const windows = page.slice(page.indexOf('data-platform="windows"'));
    expect(windows).toContain('maintenance');
    expect(page.indexOf('Platforms')).toBeLessThan(page.indexOf('Recent tests</h2>'));
    // A platform with tests in its queue keeps the page live.
    expect(page).toContain('<main data-live="true">');
    expect(page).toContain('Private repositories’ tests are listed for status viewers only.');
  });

  it('each test’s title under its commit and PR, as text; none for a private repository’s', () => {
    const page = flat(
      renderRecentPage(
        model({
          tests: [
            testView(hostile({ id: 'public' }), { showDetails: true }),
            testView(hostile({ id: 'private', title: 'Add the secret launch countdown' }), {
              showDetails: false,
            }),
          ],
        }),
      ).toString(),
    );

    expectSafe(page);
    const row = (id: string) => page.slice(page.indexOf(`data-test="${id}"`)).split('</tr>')[0]!;
    expect(row('public')).toMatch(
      new RegExp(
        `<td class="c-change"><a class="sha" [^>]*>aaaaaaa</a> <a class="pr" [^>]*>#2</a><span class="subject">${TITLE_HTML.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</span></td>`,
      ),
    );
    expect(row('private')).toContain('>#2</a></td>');
    expect(page).not.toContain('launch countdown');
    expect(page).toContain('<th scope="col" class="c-change">Commit</th>');
  });

  it('a GET form outside <main> (a refresh keeps what is typed), filled in with the query', () => {
    const page = flat(
      renderRecentPage(
        model({
          query: { repo: 'Codertocat/Hello-World', platform: 'windows', status: 'failed', pr: 2 },
        }),
      ).toString(),
    );
    const form = page.slice(page.indexOf('<form'), page.indexOf('</form>'));

    expect(page.indexOf('</form>')).toBeLessThan(page.indexOf('<main'));
    expect(form).toContain(`method="get" action="${BASE}/"`);
    expect(form).toContain('<option value="Codertocat/Hello-World" selected>');
    expect(form).toContain('<option value="windows" selected>');
    expect(form).toContain('<option value="failed" selected>');
    expect(form).toContain('name="pr" value="2"');
  });

  it('an older page link carries the filters and where it starts', () => {
    const page = renderRecentPage(
      model({ query: { platform: 'linux' }, older: { platform: 'linux', before: at(3) } }),
    ).toString();
    expect(page).toContain(
      `href="${BASE}/?platform=linux&amp;before=2026-11-02T10%3A03%3A00.000Z"`,
    );
  });

  it('a bad query: said, nothing listed', () => {
    const page = renderRecentPage(
      model({ problem: 'sha: expected a 40-character hex commit sha' }),
    );
    expect(page.toString()).toContain('sha: expected a 40-character hex commit sha');
    expect(page.toString()).not.toContain('<tr data-test=');
  });

  it('nothing live: not live', () => {
    const page = renderRecentPage(model({ platforms: [], tests: [], viewer: true })).toString();
    expect(page).toContain('<main data-live="false">');
    expect(page).toContain('No tests yet.');
    expect(page).not.toContain('status viewers only');
  });
});

describe('links', () => {
  it.each([
    ['https://api.github.com', 'https://github.com'],
    ['https://api.github.com/', 'https://github.com'],
    ['https://ghe.example.com/api/v3', 'https://ghe.example.com'],
    ['https://ghe.example.com/api/v3/', 'https://ghe.example.com'],
    ['http://127.0.0.1:8080/github', 'http://127.0.0.1:8080'],
    ['javascript:alert(1)', null],
    ['not a url', null],
    [undefined, null],
  ])('GitHub web address of %s: %s', (api, web) => {
    expect(githubWebBase(api)).toBe(web);
  });

  it('GitHub links encode each part', () => {
    expect(githubCommitUrl(WEB, 'o/r', 'a b')).toBe(`${WEB}/o/r/commit/a%20b`);
    expect(githubPrUrl(WEB, 'o/r?x', 7)).toBe(`${WEB}/o/r%3Fx/pull/7`);
  });

  it('the status function’s path, from its URL', () => {
    expect(basePath('http://127.0.0.1:8080/status')).toBe('/status');
    expect(basePath('https://vmci-status-1.a.run.app')).toBe('');
    expect(basePath('https://vmci-status-1.a.run.app/')).toBe('');
  });

  it('the recent list’s link leaves out empty filters', () => {
    expect(recentHref('/status', { repo: 'o/r', sha: '', pr: undefined })).toBe(
      '/status/?repo=o%2Fr',
    );
    expect(recentHref('', {}, '.json')).toBe('/.json');
  });

  it.each([
    [null, '—'],
    [850, '850 ms'],
    [12_400, '12 s'],
    [185_000, '3 min 05 s'],
    [7_440_000, '2 h 04 min'],
  ])('duration %s: %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
