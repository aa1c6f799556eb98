// A Cloud Scheduler Job in its REST JSON form (v1), checked and completed with
// the service's defaults. Only HTTP targets are supported.
import { randomBytes } from 'node:crypto';
import { HTTP_METHODS, type HttpMethod } from '../google-enums';
import { HttpError } from '../http';
import { CronError, parseCron } from './cron';

export interface JobJson {
  name: string;
  description: string;
  httpTarget: {
    uri: string;
    httpMethod: HttpMethod;
    headers: Record<string, string>;
    /** base64 */
    body?: string;
    oidcToken?: { serviceAccountEmail: string; audience?: string };
    oauthToken?: { serviceAccountEmail: string; scope?: string };
  };
  schedule: string;
  timeZone: string;
  state: 'ENABLED' | 'PAUSED';
  userUpdateTime: string;
  scheduleTime?: string;
  lastAttemptTime?: string;
  status?: { code?: number; message?: string };
  retryConfig: {
    retryCount: number;
    maxRetryDuration: string;
    minBackoffDuration: string;
    maxBackoffDuration: string;
    maxDoublings: number;
  };
  attemptDeadline: string;
}

/** A job as a caller gives it (REST shape); `name` may be a bare job id. */
export interface JobInput {
  name?: string;
  schedule: string;
  timeZone?: string;
  description?: string;
  httpTarget: Partial<JobJson['httpTarget']> & { uri: string };
  retryConfig?: Partial<JobJson['retryConfig']>;
  attemptDeadline?: string;
}

const JOB_NAME = /^projects\/[^/]+\/locations\/[^/]+\/jobs\/[A-Za-z0-9_-]{1,500}$/;
export const OUTPUT_ONLY = ['state', 'scheduleTime', 'lastAttemptTime', 'status', 'userUpdateTime'];

export const invalid = (message: string): HttpError =>
  new HttpError(400, 'INVALID_ARGUMENT', message);

export function checkJobName(name: string): string {
  if (!JOB_NAME.test(name))
    throw invalid(`Invalid resource field value in the request: job name "${name}"`);
  return name;
}

export const newJobId = (): string => `job-${randomBytes(6).toString('hex')}`;

/** A proto Duration ("1.5s" or {seconds, nanos}) in milliseconds. */
export function durationMs(input: unknown, field: string, fallback: number): number {
  if (input === undefined || input === null) return fallback;
  if (typeof input === 'string' && /^\d+(\.\d{1,9})?s$/.test(input))
    return Number(input.slice(0, -1)) * 1000;
  if (typeof input === 'object') {
    const { seconds = 0, nanos = 0 } = input as { seconds?: number | string; nanos?: number };
    const ms = Number(seconds) * 1000 + Number(nanos) / 1e6;
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  throw invalid(`Invalid duration for ${field}: ${JSON.stringify(input)}`);
}

export const formatDuration = (ms: number): string => `${ms / 1000}s`;

function httpMethod(input: unknown): HttpMethod {
  if (input === undefined || input === null) return 'POST';
  const name = typeof input === 'number' ? HTTP_METHODS[input] : input;
  if (name === 'HTTP_METHOD_UNSPECIFIED') return 'POST';
  if (HTTP_METHODS.includes(name as HttpMethod)) return name as HttpMethod;
  throw invalid(`Invalid httpMethod: ${String(input)}`);
}

function checkTimeZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    throw invalid('Schedule or time zone is invalid.');
  }
}

function target(input: unknown): JobJson['httpTarget'] {
  const t = (input ?? {}) as Record<string, unknown>;
  if (typeof t.uri !== 'string' || !/^https?:\/\/[^/]/.test(t.uri)) {
    throw invalid('httpTarget.uri must be an http(s) URL');
  }
  const headers = (t.headers ?? {}) as Record<string, unknown>;
  if (Object.values(headers).some((v) => typeof v !== 'string'))
    throw invalid('httpTarget.headers must map names to strings');
  if (
    t.body !== undefined &&
    t.body !== null &&
    (typeof t.body !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(t.body))
  ) {
    throw invalid('httpTarget.body must be base64');
  }
  const out: JobJson['httpTarget'] = {
    uri: t.uri,
    httpMethod: httpMethod(t.httpMethod),
    headers: headers as Record<string, string>,
  };
  if (typeof t.body === 'string' && t.body !== '') out.body = t.body;
  if (t.oidcToken) out.oidcToken = t.oidcToken as JobJson['httpTarget']['oidcToken'];
  if (t.oauthToken) out.oauthToken = t.oauthToken as JobJson['httpTarget']['oauthToken'];
  return out;
}

function retryConfig(input: unknown): JobJson['retryConfig'] {
  const r = (input ?? {}) as Record<string, unknown>;
  const retryCount = r.retryCount === undefined ? 0 : Number(r.retryCount);
  if (!Number.isInteger(retryCount) || retryCount < 0 || retryCount > 5)
    throw invalid('retryConfig.retryCount must be 0-5');
  const maxDoublings = r.maxDoublings === undefined ? 5 : Number(r.maxDoublings);
  if (!Number.isInteger(maxDoublings) || maxDoublings < 0)
    throw invalid('retryConfig.maxDoublings must be >= 0');
  const min = durationMs(r.minBackoffDuration, 'minBackoffDuration', 5000);
  const max = durationMs(r.maxBackoffDuration, 'maxBackoffDuration', 3_600_000);
  if (min > max) throw invalid('minBackoffDuration must not exceed maxBackoffDuration');
  return {
    retryCount,
    maxRetryDuration: formatDuration(durationMs(r.maxRetryDuration, 'maxRetryDuration', 0)),
    minBackoffDuration: formatDuration(min),
    maxBackoffDuration: formatDuration(max),
    maxDoublings,
  };
}

/** Checks `input` and completes it; output-only fields come from `previous`. */
export function normalizeJob(
  input: Record<string, unknown>,
  name: string,
  previous?: JobJson,
): JobJson {
  if (input.pubsubTarget || input.appEngineHttpTarget) {
    throw invalid('The local Cloud Scheduler supports only httpTarget jobs');
  }
  if (typeof input.schedule !== 'string') throw invalid('schedule is required');
  try {
    parseCron(input.schedule);
  } catch (err) {
    if (err instanceof CronError)
      throw invalid(`Schedule or time zone is invalid. (${err.message})`);
    throw err;
  }
  const job: JobJson = {
    name: checkJobName(name),
    description: typeof input.description === 'string' ? input.description : '',
    httpTarget: target(input.httpTarget),
    schedule: input.schedule,
    timeZone: checkTimeZone(
      typeof input.timeZone === 'string' && input.timeZone ? input.timeZone : 'Etc/UTC',
    ),
    state: previous?.state ?? 'ENABLED',
    userUpdateTime: new Date().toISOString(),
    retryConfig: retryConfig(input.retryConfig),
    attemptDeadline: formatDuration(durationMs(input.attemptDeadline, 'attemptDeadline', 180_000)),
  };
  if (previous?.scheduleTime) job.scheduleTime = previous.scheduleTime;
  if (previous?.lastAttemptTime) job.lastAttemptTime = previous.lastAttemptTime;
  if (previous?.status) job.status = previous.status;
  return job;
}
