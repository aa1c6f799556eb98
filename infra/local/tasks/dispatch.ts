// One dispatch attempt: the HTTP request Cloud Tasks sends for a task, and
// what came back.
import { mintLocalToken } from '../../../shared/auth/local-token';
import type { TaskRecord } from './resources';
import { formatEpochSeconds } from './time';

export type AttemptError = 'DEADLINE_EXCEEDED' | 'UNAVAILABLE' | 'CANCELLED';

export interface AttemptResult {
  /** The HTTP status, or null when no response came. */
  status: number | null;
  error?: AttemptError;
  /** The Retry-After header of the response, if any. */
  retryAfter: string | null;
  /** Why there was no response (network error text). */
  detail?: string;
}

/** Headers Cloud Tasks computes, reserves or replaces, and hop-by-hop headers fetch refuses. */
const REPLACED =
  /^(host|content-length|user-agent|connection|keep-alive|transfer-encoding|upgrade|expect|te|trailer|proxy-.*|x-google-.*|x-appengine-.*|x-cloudtasks-.*)$/i;

/** The headers of an attempt: the task's own, then Cloud Tasks' (attempt counts as before this attempt). */
export function attemptHeaders(
  task: TaskRecord,
  queueId: string,
  localToken: string,
  nowMs: number,
): Record<string, string> {
  const { request } = task;
  const withToken = request.oidcToken !== undefined || request.oauthToken !== undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (REPLACED.test(name) || (withToken && name.toLowerCase() === 'authorization')) continue;
    headers[name] = value;
  }
  headers['User-Agent'] = 'Google-Cloud-Tasks';
  headers['X-CloudTasks-QueueName'] = queueId;
  headers['X-CloudTasks-TaskName'] = task.id;
  headers['X-CloudTasks-TaskRetryCount'] = String(task.dispatchCount);
  headers['X-CloudTasks-TaskExecutionCount'] = String(task.executionCount);
  headers['X-CloudTasks-TaskETA'] = formatEpochSeconds(task.scheduleUs);
  if (task.previousResponse !== undefined) {
    headers['X-CloudTasks-TaskPreviousResponse'] = String(task.previousResponse);
  }
  if (request.oidcToken) {
    const { serviceAccountEmail, audience } = request.oidcToken;
    const token = mintLocalToken(
      localToken,
      { kind: 'oidc', email: serviceAccountEmail, aud: audience ?? request.url },
      nowMs,
    );
    headers.Authorization = `Bearer ${token}`;
  } else if (request.oauthToken) {
    const { serviceAccountEmail, scope } = request.oauthToken;
    const token = mintLocalToken(
      localToken,
      {
        kind: 'oauth',
        email: serviceAccountEmail,
        scope: scope ?? 'https://www.googleapis.com/auth/cloud-platform',
      },
      nowMs,
    );
    headers.Authorization = `Bearer ${token}`;
  }
  return headers;
}

/**
 * Sends one attempt and waits for the response (its body is read and
 * dropped), at most `deadlineMs`; `cancel` aborts it (the stand-in closing).
 */
export async function sendAttempt(
  fetchImpl: typeof fetch,
  task: TaskRecord,
  headers: Record<string, string>,
  deadlineMs: number,
  cancel: AbortSignal,
): Promise<AttemptResult> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), deadlineMs);
  timer.unref();
  const { request } = task;
  try {
    const response = await fetchImpl(request.url, {
      method: request.httpMethod,
      headers,
      body: request.body.length > 0 ? new Uint8Array(request.body) : undefined,
      redirect: 'follow',
      signal: AbortSignal.any([cancel, deadline.signal]),
    });
    await response.arrayBuffer().catch(() => undefined);
    return { status: response.status, retryAfter: response.headers.get('retry-after') };
  } catch (err) {
    const error: AttemptError = cancel.aborted
      ? 'CANCELLED'
      : deadline.signal.aborted
        ? 'DEADLINE_EXCEEDED'
        : 'UNAVAILABLE';
    const cause =
      err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
    const detail = `${err instanceof Error ? err.message : String(err)}${cause}`;
    return { status: null, error, retryAfter: null, detail };
  } finally {
    clearTimeout(timer);
  }
}
