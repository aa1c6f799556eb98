// The status function (DESIGN §8): one test, or a commit's or a PR's tests,
// read-only and public, a test's files (files.ts), and the recent tests with
// each platform's queue. Browsers get HTML pages (shared/status-page/, built
// from the test views only), everyone else JSON (negotiate.ts). Paths are
// relative to the function's own URL. A private repository's tests show no
// ref, author, summary, zone, failing tests or files, unless the caller sends
// a Google ID token of one of `statusViewers` (audience: this function's URL).
// Store failures answer a generic 500; details go to the log.
import type { CallerVerifier } from '../../shared/auth/caller';
import { isPublicRepository, type VmciConfig } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import type { TestFileStore } from '../../shared/files/port';
import type { Request, Response } from '../../shared/http/function-app';
import type { Logger } from '../../shared/log';
import { requestHeader } from '../../shared/runtime/request';
import type { TestStore } from '../../shared/store/port';
import { parseListQuery, type ListQuery } from '../../shared/tests/list-query';
import { testFilesView, testView, type TestFilesView } from '../../shared/tests/view';
import { PAGE_CSS, PAGE_JS } from '../../shared/status-page/assets';
import { renderCommitPage } from '../../shared/status-page/commit';
import { errorPage } from '../../shared/status-page/layout';
import { basePath, githubWebBase } from '../../shared/status-page/links';
import type { PlatformQueue } from '../../shared/status-page/recent';
import type { PageContext } from '../../shared/status-page/table';
import { renderTestPage } from '../../shared/status-page/test-page';
import { FILE_PATH, serveTestFiles } from './files';
import { prefersHtml, sendHtml, sendJson as send, splitJsonForm } from './negotiate';
import { serveRecent } from './recent';

export interface StatusDeps {
  store: TestStore;
  /** The tests' uploaded log and result files. */
  files: TestFileStore;
  log: Logger;
  /** `repositories`, `platforms` and `githubApiUrl` feed the pages (the form's choices, GitHub links). */
  config: Pick<VmciConfig, 'public' | 'statusViewers'> &
    Partial<Pick<VmciConfig, 'repositories' | 'platforms' | 'githubApiUrl'>>;
  /** Checks a status viewer's ID token. */
  callers: CallerVerifier;
  /** The audience a viewer's token carries: this function's URL (also the files' links' base). */
  audience: string;
  /** Each platform's queue and slots (shared/tests/platform-summary.ts); default none shown. */
  platformSummaries?: () => Promise<readonly PlatformSummaryLike[]>;
  /** The pages' clock (durations of running tests); default the system's. */
  now?: () => Date;
}

/** A platform summary as the recent page and its JSON show it. */
export type PlatformSummaryLike = PlatformQueue & { counts: Record<string, number> };

export type StatusHandler = (req: Request, res: Response) => Promise<void>;

/** Most tests one listing returns. */
export const LIST_LIMIT = 100;

// Test ids are [a-z0-9-] (shared/domain/naming.ts); anything else cannot be a
// test, and never reaches Firestore (which rejects `..` or `__x__` as ids).
const TEST_ID = /^[A-Za-z0-9-]{1,200}$/;
const ONE_TEST = /^\/tests\/([^/]+)(\/.*)?$/;
const INTERNAL_ERROR = 'The test status could not be read right now. Please try again later.';
const ASSETS: Record<string, { type: string; body: string }> = {
  '/assets/page.js': { type: 'text/javascript; charset=utf-8', body: PAGE_JS },
  '/assets/page.css': { type: 'text/css; charset=utf-8', body: PAGE_CSS },
};
const BAD_VIEWER = {
  401: 'That credential is not valid: send a Google ID token for this URL, or none.',
  403: 'This account may not see private repositories: ask for it in statusViewers.',
} as const;

export function makeStatusHandler(deps: StatusDeps): StatusHandler {
  const { store, log, config } = deps;
  const listTests = (q: ListQuery) =>
    'sha' in q
      ? store.listBySha(q.repo, q.sha, { limit: LIST_LIMIT })
      : store.listByPr(q.repo, q.pr, { limit: LIST_LIMIT });

  /** The test's files in short; null when they cannot be read (the view still answers). */
  const filesOf = async (test: TestRecord): Promise<TestFilesView | null> => {
    try {
      // A test whose VM was never made has no files: no need to ask.
      const listed = test.instance ? await deps.files.list(test.id) : [];
      return testFilesView(deps.audience, test.id, listed);
    } catch (error) {
      log.warn('Test files not listed', { testId: test.id, error });
      return null;
    }
  };

  const base = basePath(deps.audience);
  const context = (): PageContext => ({
    base,
    web: githubWebBase(config.githubApiUrl),
    now: deps.now?.() ?? new Date(),
  });
  const recentDeps = {
    store,
    config,
    context,
    ...(deps.platformSummaries ? { platformSummaries: deps.platformSummaries } : {}),
  };

  return async (req, res) => {
    // Every answer depends on Accept (HTML or JSON): caches must keep them apart.
    res.set('Vary', 'Accept');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD');
      send(res, 405, { error: 'Method not allowed: use GET' });
      return;
    }
    const asset = ASSETS[req.path];
    if (asset) {
      res.status(200).set({ 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=300' });
      res.send(asset.body);
      return;
    }
    const trimmed = req.path.length > 1 ? req.path.replace(/\/$/, '') : '/';
    const { path, json } = splitJsonForm(trimmed);
    const html = !json && prefersHtml(req);
    /** An error as a page (for a browser) or as JSON. */
    const fail = (status: number, error: string, title = 'Not found') => {
      if (html) sendHtml(res, status, errorPage(base, title, error));
      else send(res, status, { error });
    };
    try {
      // No credential: a stranger. A credential that fails is said so, not ignored.
      const authorization = requestHeader(req, 'authorization');
      let viewer = false;
      if (authorization !== undefined) {
        const caller = await deps.callers.verify(authorization, {
          audience: deps.audience,
          emails: [...config.statusViewers],
        });
        if (!caller.ok) {
          log.warn('Status viewer refused', { status: caller.status, reason: caller.reason });
          fail(caller.status, BAD_VIEWER[caller.status], 'Not allowed');
          return;
        }
        viewer = true;
      }
      const shows = (test: TestRecord) => viewer || isPublicRepository(config, test);
      const view = (test: TestRecord) => testView(test, { showDetails: shows(test) });
      const match = ONE_TEST.exec(path);
      const [, id = '', rest = ''] = match ?? [];
      if (path === '/' && !html && !json) {
        send(res, 200, { tests: '/tests?repo=&sha=' });
      } else if (path === '/') {
        await serveRecent(recentDeps, req.query, { html, viewer, shows, view, res });
      } else if (path === '/tests') {
        const parsed = parseListQuery(req.query);
        if (!parsed.ok) fail(400, parsed.reason, 'Bad query');
        else {
          const tests = (await listTests(parsed.query)).map(view);
          if (html)
            sendHtml(res, 200, renderCommitPage({ ...context(), query: parsed.query, tests }));
          else send(res, 200, { tests });
        }
      } else if (match && (rest === '' || (FILE_PATH.test(rest) && !json))) {
        const test = TEST_ID.test(id) ? await store.getTest(id) : null;
        const showDetails = test !== null && shows(test);
        if (!test) fail(404, 'Test not found');
        else if (rest !== '') {
          const files = { files: deps.files, statusUrl: deps.audience };
          await serveTestFiles(files, test, rest, { req, res, showDetails });
        } else {
          const files = showDetails ? await filesOf(test) : null;
          const shown = testView(test, { showDetails, files });
          if (html) sendHtml(res, 200, renderTestPage({ ...context(), test: shown }));
          else send(res, 200, shown);
        }
      } else {
        fail(404, 'Not found');
      }
    } catch (error) {
      log.error('Status read failed', { error, path: req.path });
      fail(500, INTERNAL_ERROR, 'Try again later');
    }
  };
}
