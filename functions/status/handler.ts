// The status function's JSON (DESIGN §8): one test, or a commit's or a PR's
// tests, read-only and public, and a test's files (files.ts). Paths are
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
import { FILE_PATH, serveTestFiles } from './files';

export interface StatusDeps {
  store: TestStore;
  /** The tests' uploaded log and result files. */
  files: TestFileStore;
  log: Logger;
  config: Pick<VmciConfig, 'public' | 'statusViewers'>;
  /** Checks a status viewer's ID token. */
  callers: CallerVerifier;
  /** The audience a viewer's token carries: this function's URL (also the files' links' base). */
  audience: string;
}

export type StatusHandler = (req: Request, res: Response) => Promise<void>;

/** Most tests one listing returns. */
export const LIST_LIMIT = 100;

// Test ids are [a-z0-9-] (shared/domain/naming.ts); anything else cannot be a
// test, and never reaches Firestore (which rejects `..` or `__x__` as ids).
const TEST_ID = /^[A-Za-z0-9-]{1,200}$/;
const ONE_TEST = /^\/tests\/([^/]+)(\/.*)?$/;
const INTERNAL_ERROR = 'The test status could not be read right now. Please try again later.';
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

  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD');
      send(res, 405, { error: 'Method not allowed: use GET' });
      return;
    }
    const path = req.path.length > 1 ? req.path.replace(/\/$/, '') : '/';
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
          send(res, caller.status, { error: BAD_VIEWER[caller.status] });
          return;
        }
        viewer = true;
      }
      const shows = (test: TestRecord) => viewer || isPublicRepository(config, test);
      const view = (test: TestRecord) => testView(test, { showDetails: shows(test) });
      const match = ONE_TEST.exec(path);
      const [, id = '', rest = ''] = match ?? [];
      if (path === '/') {
        send(res, 200, { tests: '/tests?repo=&sha=' });
      } else if (path === '/tests') {
        const parsed = parseListQuery(req.query);
        if (!parsed.ok) send(res, 400, { error: parsed.reason });
        else send(res, 200, { tests: (await listTests(parsed.query)).map(view) });
      } else if (match && (rest === '' || FILE_PATH.test(rest))) {
        const test = TEST_ID.test(id) ? await store.getTest(id) : null;
        const showDetails = test !== null && shows(test);
        if (!test) send(res, 404, { error: 'Test not found' });
        else if (rest !== '') {
          const files = { files: deps.files, statusUrl: deps.audience };
          await serveTestFiles(files, test, rest, { req, res, showDetails });
        } else {
          const files = showDetails ? await filesOf(test) : null;
          send(res, 200, testView(test, { showDetails, files }));
        }
      } else {
        send(res, 404, { error: 'Not found' });
      }
    } catch (error) {
      log.error('Status read failed', { error, path });
      send(res, 500, { error: INTERNAL_ERROR });
    }
  };
}

/** JSON with the status; Express leaves the body out for HEAD. */
function send(res: Response, status: number, body: unknown): void {
  res.status(status).json(body);
}
