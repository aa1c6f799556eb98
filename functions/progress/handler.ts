// The progress function's door (DESIGN §6): a VM posts its stage or result
// with its per-test token. It parses, then the domain checks the token and
// decides (shared/progress). Answers tell the VM what to do next: 2xx done,
// 409 stop now, 401/400 never retry, 503 retry with back-off.
import type { Request, Response } from '@google-cloud/functions-framework';
import { bearerToken } from '../../shared/auth/bearer';
import { formatIssues } from '../../shared/config';
import { handleReport, type ReportDeps } from '../../shared/progress/handle-report';
import { progressReportSchema } from '../../shared/progress/report';

export type ProgressDeps = ReportDeps;

const CONFLICTS = {
  canceled: 'The test was canceled: stop the tests and power off.',
  ended: 'The test has already ended: stop and power off.',
  stage_regression: 'A stage cannot go back: this report is out of order.',
  not_running: 'This VM no longer runs the test: stop and power off.',
} as const;

export function makeProgressHandler(deps: ProgressDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const answer = (status: number, body: Record<string, unknown>) => {
      res.status(status).set('Cache-Control', 'no-store').json(body);
    };
    const log = deps.log;
    try {
      if (req.method !== 'POST') {
        res.set('Allow', 'POST');
        return answer(405, { error: 'Reports are sent with POST.' });
      }
      const parsed = progressReportSchema.safeParse(req.body);
      if (!parsed.success) {
        const problems = formatIssues(parsed.error.issues);
        log.warn('Progress report refused: bad body', { problems });
        return answer(400, { error: `Invalid report: ${problems.join('; ')}` });
      }
      const report = parsed.data;
      const testLog = log.child({ testId: report.testId });
      const result = await handleReport(
        { ...deps, log: testLog },
        bearerToken(req.headers.authorization),
        report,
      );
      switch (result.http) {
        case 401:
          testLog.warn('Progress report refused: unknown test or wrong token', {
            stage: report.stage,
          });
          return answer(401, { error: 'Unknown test or wrong token.' });
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
