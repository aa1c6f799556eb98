// The progress function's upload door (DESIGN §6, infra/vm/README.md "Files"):
// `PUT /files/<name>` with the VM's per-test token stores its log or a result
// file. The token is checked first, then the name, and the body is read only
// up to the room the test has left (shared/progress/handle-upload.ts).
import { bearerToken } from '../../shared/auth/bearer';
import type { TestFileStore } from '../../shared/files/port';
import {
  storedContentType,
  TEST_FILES_MAX_BYTES,
  TEST_FILES_MAX_COUNT,
  UPLOAD_MAX_BYTES,
  uploadFileName,
} from '../../shared/files/upload';
import type { Request, Response } from '../../shared/http/function-app';
import { readRawBody, tooLarge } from '../../shared/http/raw-body';
import type { Logger } from '../../shared/log';
import { authenticateReporter } from '../../shared/progress/handle-report';
import { handleUpload } from '../../shared/progress/handle-upload';
import type { TestStore } from '../../shared/store/port';
import { CONFLICTS, UNAUTHORIZED } from './answers';

const PREFIX = '/files/';

export interface UploadDoorDeps {
  store: Pick<TestStore, 'getTest'>;
  files: TestFileStore;
  log: Logger;
}

export function isUploadPath(path: string): boolean {
  return path === '/files' || path.startsWith(PREFIX);
}

const BAD_NAME =
  'Invalid file name: log.txt, or results/ and path segments of letters, digits, ".", "_" and "-".';
const FULL = {
  bytes: `The test's files would be over ${TEST_FILES_MAX_BYTES / 1024 / 1024} MiB in all.`,
  count: `The test has ${TEST_FILES_MAX_COUNT} files already: no more are taken.`,
} as const;

/** The declared Content-Length, when there is a valid one. */
function declaredLength(req: Request): number | undefined {
  const value = Number(req.headers['content-length']);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

export function makeUploadDoor(deps: UploadDoorDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const answer = (status: number, body: Record<string, unknown>) => {
      res.status(status).json(body);
    };
    const log = deps.log;
    try {
      if (req.method !== 'PUT') {
        res.set('Allow', 'PUT');
        return answer(405, { error: 'Files are uploaded with PUT.' });
      }
      // As for reports: the token names its test, and is checked before a byte is read.
      const token = bearerToken(req.headers.authorization);
      const test = await authenticateReporter(deps.store, token);
      if (!test || token === null) {
        log.warn('File upload refused: unknown test or wrong token');
        return answer(401, { error: UNAUTHORIZED });
      }
      const testLog = log.child({ testId: test.id });
      const name = uploadFileName(req.path.slice(PREFIX.length));
      if (name === null) {
        testLog.warn('File upload refused: bad name', { path: req.path.slice(0, 600) });
        return answer(400, { error: BAD_NAME });
      }
      const result = await handleUpload({ files: deps.files, log: testLog }, test, token, {
        name,
        contentType: storedContentType(req.headers['content-type']),
        declaredBytes: declaredLength(req),
        readBody: (limit) => readRawBody(req, limit),
      });
      switch (result.http) {
        case 200:
        case 201:
          return answer(result.http, { name: result.name, size: result.size });
        case 400:
          return answer(400, { error: result.error });
        case 409:
          testLog.info('File upload refused', { name, reason: result.reason, status: test.status });
          return answer(409, { error: CONFLICTS[result.reason], status: test.status });
        case 413:
          testLog.warn('File upload refused: over the request cap', { name });
          return answer(413, { error: tooLarge(UPLOAD_MAX_BYTES).error });
        case 507:
          testLog.warn('File upload refused: the test has no room left', {
            name,
            reason: result.reason,
          });
          return answer(507, { error: FULL[result.reason] });
        case 503:
          res.set('Retry-After', '5');
          return answer(503, { error: 'vm-ci could not store this file now; retry.' });
      }
    } catch (error) {
      log.error('File upload failed', { error });
      res.set('Retry-After', '5');
      return answer(503, { error: 'vm-ci could not store this file now; retry.' });
    }
  };
}
