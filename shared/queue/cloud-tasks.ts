// The TaskQueue on Cloud Tasks: one named HTTP task per enqueue generation,
// POSTed to runTest with an OIDC token of the queue's service account. The
// client is injected (a real one pointed at Google, or at the local stand-in),
// and only its type is imported here.
import type { CloudTasksClient } from '@google-cloud/tasks';
import { silentLogger, type Logger } from '../log';
import type { EnqueueResult, TaskQueue } from './port';
import { queuePath, taskBody, taskName } from './task-name';

/** Per-call budget: the webhook must answer GitHub within 10 s, with the store writes too. */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;

export interface CloudTasksQueueOptions {
  client: CloudTasksClient;
  project: string;
  location: string;
  /** The queue id, e.g. "test-runs". */
  queue: string;
  /** The runTest URL: functionUrl(config, 'runTest'). */
  targetUrl: string;
  /** The identity the tasks' OIDC tokens are minted for. */
  serviceAccountEmail: string;
  /** The OIDC token's audience; default targetUrl. */
  audience?: string;
  dispatchDeadlineSeconds: number;
  /** Client-side timeout of each call, retries included; default DEFAULT_CALL_TIMEOUT_MS. */
  timeoutMs?: number;
  log?: Logger;
}

// gRPC status codes, by number: what a GoogleError's `code` holds.
const GRPC_CODE_NAMES: Readonly<Record<number, string>> = {
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

// A configuration or programming problem (missing queue, disabled queue, no
// permission, a malformed task): trying again changes nothing. Everything
// else, including errors without a code (a refused connection), may pass.
const PERMANENT = new Set([
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'PERMISSION_DENIED',
  'FAILED_PRECONDITION',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'UNAUTHENTICATED',
]);

const DETAIL_MAX = 300;

export interface TasksErrorInfo {
  code: string;
  retriable: boolean;
  detail: string;
}

/** Classifies whatever a CloudTasksClient call threw. */
export function classifyTasksError(error: unknown): TasksErrorInfo {
  const raw = (error as { code?: unknown } | null)?.code;
  const code =
    typeof raw === 'number'
      ? (GRPC_CODE_NAMES[raw] ?? `CODE_${raw}`)
      : typeof raw === 'string' && raw !== ''
        ? raw
        : 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  const detail = message.length > DETAIL_MAX ? `${message.slice(0, DETAIL_MAX - 1)}…` : message;
  return { code, retriable: !PERMANENT.has(code), detail };
}

export function createCloudTasksQueue(options: CloudTasksQueueOptions): TaskQueue {
  const { client, targetUrl, serviceAccountEmail, dispatchDeadlineSeconds } = options;
  const parent = queuePath(options.project, options.location, options.queue);
  const audience = options.audience ?? targetUrl;
  const callOptions = { timeout: options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS };
  const log = options.log ?? silentLogger;

  return {
    async enqueue(request): Promise<EnqueueResult> {
      const name = taskName(parent, request);
      try {
        await client.createTask(
          {
            parent,
            task: {
              name,
              httpRequest: {
                url: targetUrl,
                httpMethod: 'POST',
                headers: { 'Content-Type': 'application/json' },
                body: Buffer.from(taskBody(request.testId)),
                oidcToken: { serviceAccountEmail, audience },
              },
              dispatchDeadline: { seconds: dispatchDeadlineSeconds },
            },
          },
          callOptions,
        );
        return { ok: true, taskName: name, created: true };
      } catch (error) {
        const info = classifyTasksError(error);
        // The name is taken: this generation's task exists, or ran a short while ago.
        if (info.code === 'ALREADY_EXISTS') return { ok: true, taskName: name, created: false };
        return { ok: false, ...info };
      }
    },

    async taskState(request) {
      const name = taskName(parent, request);
      try {
        await client.getTask({ name }, callOptions);
        return 'exists';
      } catch (error) {
        const info = classifyTasksError(error);
        // Cloud Tasks answers NOT_FOUND for a missing queue too; enqueue reports that one.
        if (info.code === 'NOT_FOUND') return 'missing';
        log.child({ testId: request.testId }).warn('could not read the task state', {
          taskName: name,
          code: info.code,
          detail: info.detail,
        });
        return 'unknown';
      }
    },
  };
}
