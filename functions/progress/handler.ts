// The progress function's door (DESIGN §3.6, §6): a VM posts its stage or
// result with its per-test token. The token is checked first (it names its
// test), then the body is read (64 KiB at most) and parsed, and the domain
// decides (shared/progress). Answers tell the VM what to do next: 2xx done,
// 409 stop now, 401/400 never retry, 503 retry with back-off. Uploads of the
// VM's log and result files (`PUT /files/<name>`) have their own door (files.ts).
import type { Request, Response } from '../../shared/http/function-app';
import { bearerToken } from '../../shared/auth/bearer';
import { formatIssues } from '../../shared/config';
import { currentConfig } from '../../shared/config/switches';
import { parseJsonObject, readRawBody, utf8Text } from '../../shared/http/raw-body';
import {
  authenticateReporter,
  handleReport,
  type ReportDeps,
} from '../../shared/progress/handle-report';
import { isEndReport, progressReportSchema } from '../../shared/progress/report';
import type { TestFileStore } from '../../shared/files/port';
import { CONFLICTS, UNAUTHORIZED } from './answers';
import { isUploadPath, makeUploadDoor } from './files';

export type ProgressDeps = ReportDeps & { files: TestFileStore };

/** A report is a few hundred bytes; the summary is capped at 10,000 characters. */
export const MAX_REPORT_BYTES = 64 * 1024;

export function makeProgressHandler(deps: ProgressDeps) {
  const uploads = makeUploadDoor(deps);
  return async (req: Request, res: Response): Promise<void> => {
    if (isUploadPath(req.path)) return uploads(req, res);
    const answer = (status: number, body: Record<string, unknown>) => {
      res.status(status).json(body);
    };
    const log = deps.log;
    try {
      if (req.method !== 'POST') {
        res.set('Allow', 'POST');
        return answer(405, { error: 'Reports are sent with POST.' });
      }
      // The token names its test: it is checked before a byte of the body is read.
      const token = bearerToken(req.headers.authorization);
      const reporter = await authenticateReporter(deps.store, token);
      if (!reporter) {
        log.warn('Progress report refused: unknown test or wrong token');
        return answer(401, { error: UNAUTHORIZED });
      }
      const testLog = log.child({ testId: reporter.id });
      const read = await readRawBody(req, MAX_REPORT_BYTES);
      if (!read.ok) {
        testLog.warn('Progress report refused: body not read', { status: read.status });
        return answer(read.status, { error: read.error });
      }
      const text = utf8Text(read.bytes);
      const json = text === undefined ? undefined : parseJsonObject(text);
      if (json === undefined) {
        testLog.warn('Progress report refused: not JSON');
        return answer(400, { error: 'Invalid report: the body is not a JSON object.' });
      }
      const parsed = progressReportSchema.safeParse(json);
      if (!parsed.success) {
        const problems = formatIssues(parsed.error.issues);
        testLog.warn('Progress report refused: bad body', { problems });
        return answer(400, { error: fitLine(`Invalid report: ${problems.join('; ')}`) });
      }
      const report = parsed.data;
      // A freed slot goes to no test of a platform an operator put in maintenance.
      // Only an end frees one: other reports need not read the switches.
      const config =
        deps.config &&
        (isEndReport(report)
          ? await currentConfig({ ...deps, config: deps.config, log: testLog })
          : deps.config);
      const result = await handleReport({ ...deps, config, log: testLog }, token, report, reporter);
      switch (result.http) {
        case 401:
          testLog.warn('Progress report refused: the report is about another test', {
            stage: report.stage,
          });
          return answer(401, { error: UNAUTHORIZED });
        case 409:
          testLog.info('Progress report refused', {
            stage: report.stage,
            reason: result.reason,
            status: result.test.status,
          });
          return answer(409, { error: CONFLICTS[result.reason], status: result.test.status });
        case 503:
          res.set('Retry-After', '2');
          return answer(503, { error: 'Not ready for this report yet; retry shortly.' });
        case 200:
          testLog.info('Progress report', { stage: report.stage, outcome: result.outcome });
          return answer(200, {
            testId: result.test.id,
            status: result.test.status,
            stage: result.test.stage,
            outcome: result.outcome,
          });
      }
    } catch (error) {
      log.error('Progress report failed', { error });
      res.set('Retry-After', '5');
      return answer(503, { error: 'vm-ci could not record this report now; retry.' });
    }
  };
}

/** Problems are listed whole in the log; the answer keeps to one bounded line. */
function fitLine(text: string): string {
  return text.length <= 500 ? text : `${text.slice(0, 499)}…`;
}
