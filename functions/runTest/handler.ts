// The runTest function's door: only Cloud Tasks' service account may call it;
// the body names a test; the decisions are shared/run/run-test.ts.
import type { Request, Response } from '../../shared/http/function-app';
import { z } from 'zod';
import type { CallerVerifier } from '../../shared/auth/caller';
import { taskGeneration } from '../../shared/domain/naming';
import { parseJsonObject, readRawBody, utf8Text } from '../../shared/http/raw-body';
import { runTestDeadline } from '../../shared/run/deadline';
import { runTest, type RunTestDeps } from '../../shared/run/run-test';
import { requestHeader } from '../../shared/runtime/request';

export type RunTestHandlerDeps = RunTestDeps & {
  callers: CallerVerifier;
  /** The audience the tasks' OIDC tokens carry: this function's URL. */
  audience: string;
};

/** Cloud Tasks caps a task at 1 MiB; runTest's body is one test id. */
const MAX_TASK_BODY_BYTES = 1024 * 1024;

const body = z.object({ testId: z.string().regex(/^[A-Za-z0-9-]{1,200}$/) });

export function makeRunTestHandler(deps: RunTestHandlerDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    // One deadline for the whole delivery, fixed at its arrival (shared/run/deadline.ts).
    const deadline = runTestDeadline(deps.now(), deps.config.queue);
    const taskName = requestHeader(req, 'x-cloudtasks-taskname');
    const log = deps.log.child(taskName ? { task: taskName } : {});
    try {
      if (req.method !== 'POST') {
        res.status(405).set('Allow', 'POST').json({ error: 'Tasks are delivered with POST.' });
        return;
      }
      const caller = await deps.callers.verify(requestHeader(req, 'authorization'), {
        audience: deps.audience,
        emails: [deps.config.queue.serviceAccount],
      });
      if (!caller.ok) {
        log.warn('runTest call refused', { status: caller.status, reason: caller.reason });
        res.status(caller.status).json({ error: caller.userMessage });
        return;
      }
      const read = await readRawBody(req, MAX_TASK_BODY_BYTES);
      const text = read.ok ? utf8Text(read.bytes) : undefined;
      const parsed = body.safeParse(text === undefined ? undefined : parseJsonObject(text));
      if (!parsed.success) {
        log.warn('runTest body refused', { problems: parsed.error.issues.map((i) => i.message) });
        // From Cloud Tasks, a body that names no test never will: end the task (2xx).
        res
          .status(taskName ? 200 : 400)
          .json({ error: 'The body must be {"testId": "<test id>"}.' });
        return;
      }
      const { testId } = parsed.data;
      const retryCount = Number(requestHeader(req, 'x-cloudtasks-taskretrycount') ?? 0) || 0;
      const generation = taskGeneration(taskName, testId);
      const outcome = await runTest(
        { ...deps, log: log.child({ testId }) },
        { testId, retryCount, deadline, ...(generation === undefined ? {} : { generation }) },
      );
      log.info('runTest done', {
        testId: parsed.data.testId,
        outcome: outcome.outcome,
        http: outcome.http,
      });
      res.status(outcome.http).json({
        testId: parsed.data.testId,
        outcome: outcome.outcome,
        status: outcome.test?.status ?? null,
      });
    } catch (error) {
      // Firestore or Google's keys unreachable: let Cloud Tasks retry.
      log.error('runTest failed', { error });
      res.status(503).json({ error: 'vm-ci could not process this task now; it will be retried.' });
    }
  };
}
