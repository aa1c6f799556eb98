// One execution of a job: the HTTP call Cloud Scheduler makes, retried per the
// job's retryConfig (backoff doubles from minBackoffDuration, at most
// maxDoublings times, capped at maxBackoffDuration).
import { setTimeout as sleep } from 'node:timers/promises';
import type { SchedulerClock } from './clock';
import { durationMs, type JobJson } from './job';
import { mintLocalToken } from '../../../shared/auth/local-token';

export interface HistoryEntry {
  /** the job's full name */
  job: string;
  trigger: 'schedule' | 'run';
  /** scheduler time the execution was due (X-CloudScheduler-ScheduleTime) */
  scheduleTime: string;
  /** 1 for the first attempt, 2 for the first retry... */
  attempt: number;
  /** the target's HTTP status; absent when the call itself failed */
  httpStatus?: number;
  ok: boolean;
  error?: string;
  /** real time the attempt ended */
  at: string;
}

export interface DispatchDeps {
  fetch: typeof fetch;
  localToken: string;
  clock: SchedulerClock;
  /** aborted when the stand-in closes */
  signal: AbortSignal;
  onAttempt(entry: HistoryEntry): void;
}

/** HTTP status → google.rpc.Code, for the job's `status` after a failed attempt. */
export function grpcCodeOf(httpStatus: number | undefined): number {
  const codes: Record<number, number> = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    409: 10,
    429: 8,
    499: 1,
    501: 12,
    503: 14,
    504: 4,
  };
  if (httpStatus === undefined) return 14;
  return codes[httpStatus] ?? (httpStatus >= 500 ? 13 : 2);
}

export function requestHeaders(
  job: JobJson,
  scheduleTime: string,
  localToken: string,
): Record<string, string> {
  const headers: Record<string, string> = { ...job.httpTarget.headers };
  const has = (name: string): boolean => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (job.httpTarget.body && !has('content-type'))
    headers['Content-Type'] = 'application/octet-stream';
  for (const name of Object.keys(headers))
    if (name.toLowerCase() === 'user-agent') delete headers[name];
  Object.assign(headers, {
    'User-Agent': 'Google-Cloud-Scheduler',
    'X-CloudScheduler': 'true',
    'X-CloudScheduler-JobName': job.name.split('/').pop() ?? job.name,
    'X-CloudScheduler-ScheduleTime': scheduleTime,
  });
  const { oidcToken, oauthToken } = job.httpTarget;
  if (oidcToken)
    headers.Authorization = `Bearer ${mintLocalToken(localToken, {
      kind: 'oidc',
      email: oidcToken.serviceAccountEmail,
      aud: oidcToken.audience || job.httpTarget.uri,
    })}`;
  else if (oauthToken)
    headers.Authorization = `Bearer ${mintLocalToken(localToken, {
      kind: 'oauth',
      email: oauthToken.serviceAccountEmail,
      scope: oauthToken.scope,
    })}`;
  return headers;
}

async function attemptOnce(job: JobJson, scheduleTime: string, deps: DispatchDeps) {
  const { httpMethod, body, uri } = job.httpTarget;
  const withBody = body !== undefined && !['GET', 'HEAD', 'DELETE', 'OPTIONS'].includes(httpMethod);
  const deadline = AbortSignal.timeout(durationMs(job.attemptDeadline, 'attemptDeadline', 180_000));
  try {
    const res = await deps.fetch(uri, {
      method: httpMethod,
      headers: requestHeaders(job, scheduleTime, deps.localToken),
      body: withBody ? Buffer.from(body, 'base64') : undefined,
      signal: AbortSignal.any([deps.signal, deadline]),
    });
    await res.arrayBuffer();
    return { httpStatus: res.status, ok: res.status >= 200 && res.status < 300 };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export function backoffMs(job: JobJson, retry: number): number {
  const { minBackoffDuration, maxBackoffDuration, maxDoublings } = job.retryConfig;
  const min = durationMs(minBackoffDuration, 'minBackoffDuration', 5000);
  const max = durationMs(maxBackoffDuration, 'maxBackoffDuration', 3_600_000);
  return Math.min(max, min * 2 ** Math.min(retry - 1, maxDoublings));
}

/** Runs the attempts and resolves with the last one. */
export async function dispatch(
  job: JobJson,
  scheduleTime: Date,
  trigger: HistoryEntry['trigger'],
  deps: DispatchDeps,
): Promise<HistoryEntry> {
  const due = scheduleTime.toISOString();
  for (let attempt = 1; ; attempt++) {
    const result = await attemptOnce(job, due, deps);
    const entry: HistoryEntry = {
      job: job.name,
      trigger,
      scheduleTime: due,
      attempt,
      ...result,
      at: new Date().toISOString(),
    };
    deps.onAttempt(entry);
    if (entry.ok || attempt > job.retryConfig.retryCount || deps.signal.aborted) return entry;
    try {
      await sleep(deps.clock.scaled(backoffMs(job, attempt)), undefined, {
        signal: deps.signal,
        ref: false,
      });
    } catch {
      return entry; // closed while waiting to retry
    }
  }
}
