// The status function's JSON (DESIGN §8): one test, or a commit's or a PR's
// tests, read-only and public. Paths are relative to the function's own URL.
// Store failures answer a generic 500; their details go only to the log.
import type { Request, Response } from '../../shared/http/function-app';
import type { Logger } from '../../shared/log';
import type { TestStore } from '../../shared/store/port';
import { parseListQuery, type ListQuery } from '../../shared/tests/list-query';
import { testView } from '../../shared/tests/view';

export interface StatusDeps {
  store: TestStore;
  log: Logger;
}

export type StatusHandler = (req: Request, res: Response) => Promise<void>;

/** Most tests one listing returns. */
export const LIST_LIMIT = 100;

// Test ids are [a-z0-9-] (shared/domain/naming.ts); anything else cannot be a
// test, and never reaches Firestore (which rejects `..` or `__x__` as ids).
const TEST_ID = /^[A-Za-z0-9-]{1,200}$/;
const ONE_TEST = /^\/tests\/[^/]+$/;
const INTERNAL_ERROR = 'The test status could not be read right now. Please try again later.';

export function makeStatusHandler({ store, log }: StatusDeps): StatusHandler {
  const listTests = (q: ListQuery) =>
    'sha' in q
      ? store.listBySha(q.repo, q.sha, { limit: LIST_LIMIT })
      : store.listByPr(q.repo, q.pr, { limit: LIST_LIMIT });

  return async (req, res) => {
    res.set('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD');
      send(res, 405, { error: 'Method not allowed: use GET' });
      return;
    }
    const path = req.path.length > 1 ? req.path.replace(/\/$/, '') : '/';
    try {
      if (path === '/') {
        send(res, 200, { tests: '/tests?repo=&sha=' });
      } else if (path === '/tests') {
        const parsed = parseListQuery(req.query);
        if (!parsed.ok) send(res, 400, { error: parsed.reason });
        else send(res, 200, { tests: (await listTests(parsed.query)).map(testView) });
      } else if (ONE_TEST.test(path)) {
        const id = path.slice('/tests/'.length);
        const test = TEST_ID.test(id) ? await store.getTest(id) : null;
        if (test) send(res, 200, testView(test));
        else send(res, 404, { error: 'Test not found' });
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
