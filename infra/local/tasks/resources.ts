// Cloud Tasks v2 resources: what the stand-in stores, how it reads them from
// REST JSON (validating like the real API) and how it writes them back.
// The client sends `$alt=json;enum-encoding=int`: enums then travel as numbers
// both ways; without it they are names.
import { HTTP_METHODS, type HttpMethod } from '../google-enums';
import { HttpError } from '../http';
import { parseTaskName } from './names';
import { formatDuration, formatTimestamp, parseDuration, parseTimestamp } from './time';

export type { HttpMethod };
export const TASK_VIEWS = ['VIEW_UNSPECIFIED', 'BASIC', 'FULL'] as const;
export type TaskView = Exclude<(typeof TASK_VIEWS)[number], 'VIEW_UNSPECIFIED'>;
export const QUEUE_STATES = ['STATE_UNSPECIFIED', 'RUNNING', 'PAUSED', 'DISABLED'] as const;
export type QueueStateName = 'RUNNING' | 'PAUSED';

/** A queue in REST JSON: the factory's `queues` option and createQueue/updateQueue bodies. */
export interface QueueConfig {
  /** The queue id ("test-runs") or its full name. */
  name: string;
  rateLimits?: {
    maxDispatchesPerSecond?: number;
    /** Output only in Cloud Tasks: derived from maxDispatchesPerSecond, ignored here too. */
    maxBurstSize?: number;
    maxConcurrentDispatches?: number;
  };
  retryConfig?: {
    /** -1: unlimited. */
    maxAttempts?: number;
    /** "0s": no time limit. */
    maxRetryDuration?: string;
    minBackoff?: string;
    maxBackoff?: string;
    maxDoublings?: number;
  };
  stackdriverLoggingConfig?: { samplingRatio?: number };
  state?: QueueStateName;
}

export interface RateLimits {
  maxDispatchesPerSecond: number;
  maxBurstSize: number;
  maxConcurrentDispatches: number;
}

export interface RetrySettings {
  maxAttempts: number;
  maxRetryDurationMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
}

export interface QueueSettings {
  rateLimits: RateLimits;
  retryConfig: RetrySettings;
  samplingRatio?: number;
}

/** Cloud Tasks' defaults for a queue created through the API. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  maxDispatchesPerSecond: 500,
  maxBurstSize: 100,
  maxConcurrentDispatches: 1000,
};
export const DEFAULT_RETRY: RetrySettings = {
  maxAttempts: 100,
  maxRetryDurationMs: 0,
  minBackoffMs: 100,
  maxBackoffMs: 3_600_000,
  maxDoublings: 16,
};

export interface HttpRequestSpec {
  url: string;
  httpMethod: HttpMethod;
  headers: Record<string, string>;
  body: Buffer;
  oidcToken?: { serviceAccountEmail: string; audience?: string };
  oauthToken?: { serviceAccountEmail: string; scope?: string };
}

export interface Attempt {
  scheduleUs: number;
  dispatchUs: number;
  responseUs?: number;
  responseStatus?: { code: number; message: string };
}

/** A live task. Times in microseconds since the epoch. */
export interface TaskRecord {
  name: string;
  id: string;
  queue: string;
  request: HttpRequestSpec;
  scheduleUs: number;
  createUs: number;
  dispatchDeadlineMs: number;
  dispatchCount: number;
  responseCount: number;
  /** Responses other than 503, for X-CloudTasks-TaskExecutionCount. */
  executionCount: number;
  previousResponse?: number;
  firstAttempt?: { dispatchUs: number };
  lastAttempt?: Attempt;
  inFlight: boolean;
  /** Creation order, to break ties between equal schedule times. */
  seq: number;
}

export interface NewTask {
  name?: string;
  request: HttpRequestSpec;
  scheduleUs?: number;
  dispatchDeadlineMs: number;
}

const MAX_TASK_BYTES = 1024 * 1024;
const MAX_URL_LENGTH = 2083;
const MAX_SCHEDULE_AHEAD_US = 30 * 24 * 3600 * 1_000_000;
const MIN_DEADLINE_MS = 15_000;
const MAX_DEADLINE_MS = 30 * 60_000;
export const DEFAULT_DEADLINE_MS = 10 * 60_000;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const BODY_METHODS: ReadonlySet<HttpMethod> = new Set(['POST', 'PUT', 'PATCH']);
const TASK_FIELDS = new Set([
  'name',
  'httpRequest',
  'appEngineHttpRequest',
  'scheduleTime',
  'createTime',
  'dispatchDeadline',
  'dispatchCount',
  'responseCount',
  'firstAttempt',
  'lastAttempt',
  'view',
]);
const QUEUE_FIELDS = new Set([
  'name',
  'rateLimits',
  'retryConfig',
  'stackdriverLoggingConfig',
  'state',
  'purgeTime',
  'appEngineRoutingOverride',
]);

export function invalid(message: string): HttpError {
  return new HttpError(400, 'INVALID_ARGUMENT', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknown(value: Record<string, unknown>, known: Set<string>, what: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw invalid(`Invalid JSON payload: unknown field "${key}" in ${what}`);
  }
}

/** An enum given as its number or its name; undefined when absent or unspecified (value 0). */
export function parseEnum<const N extends readonly [string, ...string[]]>(
  names: N,
  value: unknown,
  field: string,
): Exclude<N[number], N[0]> | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const index =
    typeof value === 'number' ? value : typeof value === 'string' ? names.indexOf(value) : -1;
  const name = Number.isInteger(index) ? names[index] : undefined;
  if (name === undefined) throw invalid(`${field}: unknown value ${JSON.stringify(value)}`);
  return index === 0 ? undefined : (name as Exclude<N[number], N[0]>);
}

function renderEnum<T extends string>(names: readonly T[], name: T, asInt: boolean): T | number {
  return asInt ? names.indexOf(name) : name;
}

function parseNumber(value: unknown, field: string, integer: boolean): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw invalid(`${field}: not ${integer ? 'an integer' : 'a number'}`);
  }
  return n;
}

function parseString(value: unknown, field: string): string {
  if (typeof value !== 'string') throw invalid(`${field}: not a string`);
  return value;
}

function parseUrl(value: unknown): string {
  if (value === undefined || value === '') throw invalid('httpRequest.url is required');
  const url = parseString(value, 'httpRequest.url');
  if (!/^https?:\/\//i.test(url) || url.length > MAX_URL_LENGTH || !URL.canParse(url)) {
    throw invalid(`httpRequest.url must be an http:// or https:// URL: ${JSON.stringify(url)}`);
  }
  return url;
}

function parseHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid('httpRequest.headers: not a map of strings');
  const headers: Record<string, string> = {};
  for (const [name, raw] of Object.entries(value)) {
    const text = parseString(raw, `httpRequest.headers.${name}`);
    if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(text)) {
      throw invalid(`httpRequest.headers: invalid header ${JSON.stringify(name)}`);
    }
    headers[name] = text;
  }
  return headers;
}

function parseBody(value: unknown): Buffer {
  if (value === undefined || value === '') return Buffer.alloc(0);
  const text = parseString(value, 'httpRequest.body');
  if (!BASE64.test(text)) throw invalid('httpRequest.body: not base64');
  return Buffer.from(text, 'base64');
}

function parseHttpRequest(value: unknown): HttpRequestSpec {
  if (!isObject(value)) throw invalid('task.httpRequest is required');
  const httpMethod = parseEnum(HTTP_METHODS, value.httpMethod, 'httpRequest.httpMethod') ?? 'POST';
  const body = parseBody(value.body);
  if (body.length > 0 && !BODY_METHODS.has(httpMethod)) {
    throw invalid(`httpRequest.body is not allowed with HTTP method ${httpMethod}`);
  }
  if (body.length > MAX_TASK_BYTES) throw invalid('Task size too large: the limit is 1 MiB');
  const request: HttpRequestSpec = {
    url: parseUrl(value.url),
    httpMethod,
    headers: parseHeaders(value.headers),
    body,
  };
  if (value.oidcToken !== undefined && value.oauthToken !== undefined) {
    throw invalid('httpRequest: oidcToken and oauthToken are mutually exclusive');
  }
  for (const kind of ['oidcToken', 'oauthToken'] as const) {
    const token = value[kind];
    if (token === undefined) continue;
    if (
      !isObject(token) ||
      typeof token.serviceAccountEmail !== 'string' ||
      !token.serviceAccountEmail
    ) {
      throw invalid(`httpRequest.${kind}.serviceAccountEmail is required`);
    }
    const extraKey = kind === 'oidcToken' ? 'audience' : 'scope';
    const extra = token[extraKey];
    const spec = {
      serviceAccountEmail: token.serviceAccountEmail,
      ...(extra === undefined || extra === ''
        ? {}
        : { [extraKey]: parseString(extra, `httpRequest.${kind}.${extraKey}`) }),
    };
    if (kind === 'oidcToken') request.oidcToken = spec;
    else request.oauthToken = spec;
  }
  return request;
}

/** The body of CreateTask: `{task, responseView?}`, checked against the queue in the path. */
export function parseCreateTask(
  body: unknown,
  parentQueue: string,
  nowUs: number,
): { task: NewTask; view: TaskView } {
  if (!isObject(body) || !isObject(body.task)) throw invalid('task is required');
  const task = body.task;
  rejectUnknown(task, TASK_FIELDS, 'task');
  const view = parseEnum(TASK_VIEWS, body.responseView, 'responseView') ?? 'BASIC';
  let name: string | undefined;
  if (task.name !== undefined && task.name !== '') {
    const parsed = parseTaskName(parseString(task.name, 'task.name'));
    if (!parsed) {
      throw invalid(
        `Task name must have the format projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID/tasks/TASK_ID, TASK_ID made of [A-Za-z0-9_-], at most 500: ${JSON.stringify(task.name)}`,
      );
    }
    if (parsed.queue !== parentQueue) {
      throw invalid(`Task name ${parsed.name} is not in the queue ${parentQueue}`);
    }
    name = parsed.name;
  }
  if (task.appEngineHttpRequest !== undefined) {
    throw invalid('appEngineHttpRequest: the local Cloud Tasks stand-in runs HTTP tasks only');
  }
  const request = parseHttpRequest(task.httpRequest);
  let scheduleUs: number | undefined;
  if (task.scheduleTime !== undefined && task.scheduleTime !== null) {
    scheduleUs = parseTimestamp(task.scheduleTime, 'task.scheduleTime');
    if (scheduleUs > nowUs + MAX_SCHEDULE_AHEAD_US) {
      throw invalid('task.scheduleTime is more than 30 days in the future');
    }
  }
  let dispatchDeadlineMs = DEFAULT_DEADLINE_MS;
  if (task.dispatchDeadline !== undefined && task.dispatchDeadline !== null) {
    dispatchDeadlineMs = Math.trunc(parseDuration(task.dispatchDeadline, 'task.dispatchDeadline'));
    if (dispatchDeadlineMs < MIN_DEADLINE_MS || dispatchDeadlineMs > MAX_DEADLINE_MS) {
      throw invalid('task.dispatchDeadline must be between 15s and 1800s for HTTP tasks');
    }
  }
  return {
    task: {
      ...(name === undefined ? {} : { name }),
      request,
      ...(scheduleUs === undefined ? {} : { scheduleUs }),
      dispatchDeadlineMs,
    },
    view,
  };
}

function burstFor(maxDispatchesPerSecond: number): number {
  return Math.max(1, Math.ceil(maxDispatchesPerSecond / 5));
}

type Field = 'rateLimits' | 'retryConfig' | 'stackdriverLoggingConfig';
const SUBFIELDS: Record<Field, string[]> = {
  rateLimits: ['maxDispatchesPerSecond', 'maxBurstSize', 'maxConcurrentDispatches'],
  retryConfig: ['maxAttempts', 'maxRetryDuration', 'minBackoff', 'maxBackoff', 'maxDoublings'],
  stackdriverLoggingConfig: ['samplingRatio'],
};

function camel(path: string): string {
  return path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Reads one field of rateLimits/retryConfig; undefined = unspecified (the default applies). */
function readSubfield(field: Field, key: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const where = `${field}.${key}`;
  switch (key) {
    case 'maxDispatchesPerSecond': {
      const n = parseNumber(value, where, false);
      if (n < 0 || n > 500) throw invalid(`${where} must be in (0, 500]`);
      return n === 0 ? undefined : n;
    }
    case 'maxConcurrentDispatches': {
      const n = parseNumber(value, where, true);
      if (n < 0 || n > 5000) throw invalid(`${where} must be in [1, 5000]`);
      return n === 0 ? undefined : n;
    }
    case 'maxAttempts': {
      const n = parseNumber(value, where, true);
      if (n < -1) throw invalid(`${where} must be -1 (unlimited) or positive`);
      return n === 0 ? undefined : n;
    }
    case 'maxDoublings': {
      const n = parseNumber(value, where, true);
      if (n < 0) throw invalid(`${where} must not be negative`);
      return n;
    }
    case 'samplingRatio': {
      const n = parseNumber(value, where, false);
      if (n < 0 || n > 1) throw invalid(`${where} must be in [0, 1]`);
      return n;
    }
    case 'maxBurstSize':
      return undefined;
    default: {
      const ms = parseDuration(value, where);
      if (ms < 0) throw invalid(`${where} must not be negative`);
      return ms;
    }
  }
}

function setSubfield(
  settings: QueueSettings,
  field: Field,
  key: string,
  n: number | undefined,
): void {
  if (field === 'stackdriverLoggingConfig') {
    settings.samplingRatio = n ?? 0;
    return;
  }
  if (field === 'rateLimits') {
    const limits = settings.rateLimits;
    if (key === 'maxDispatchesPerSecond') {
      limits.maxDispatchesPerSecond = n ?? DEFAULT_RATE_LIMITS.maxDispatchesPerSecond;
    } else if (key === 'maxConcurrentDispatches') {
      limits.maxConcurrentDispatches = n ?? DEFAULT_RATE_LIMITS.maxConcurrentDispatches;
    }
    limits.maxBurstSize = burstFor(limits.maxDispatchesPerSecond);
    return;
  }
  const retry = settings.retryConfig;
  const keyMs = {
    maxRetryDuration: 'maxRetryDurationMs',
    minBackoff: 'minBackoffMs',
    maxBackoff: 'maxBackoffMs',
  } as const;
  const target: keyof RetrySettings =
    key === 'maxAttempts' || key === 'maxDoublings' ? key : keyMs[key as keyof typeof keyMs];
  retry[target] = n ?? DEFAULT_RETRY[target];
}

/**
 * Applies a Queue's REST JSON to settings: all fields (create, or update
 * without a mask: unspecified ones fall back to the defaults) or only the
 * fields named in `updateMask` (snake_case or camelCase paths).
 */
export function applyQueueJson(
  current: QueueSettings | undefined,
  body: Record<string, unknown>,
  updateMask?: string[],
): QueueSettings {
  rejectUnknown(body, QUEUE_FIELDS, 'queue');
  if (body.appEngineRoutingOverride !== undefined) {
    throw invalid('appEngineRoutingOverride: the local Cloud Tasks stand-in runs HTTP tasks only');
  }
  for (const field of Object.keys(SUBFIELDS) as Field[]) {
    const value = body[field];
    if (value === undefined || value === null) continue;
    if (!isObject(value)) throw invalid(`queue.${field}: not an object`);
    rejectUnknown(value, new Set(SUBFIELDS[field]), `queue.${field}`);
  }
  const whole = !updateMask || updateMask.length === 0;
  const settings: QueueSettings = whole || !current ? defaultSettings() : cloneSettings(current);
  const paths: Array<[Field, string]> = [];
  if (whole) {
    for (const field of Object.keys(SUBFIELDS) as Field[]) {
      if (field === 'stackdriverLoggingConfig' && body[field] === undefined) continue;
      for (const key of SUBFIELDS[field]) paths.push([field, key]);
    }
  } else {
    for (const raw of updateMask) {
      const [field, key, ...rest] = camel(raw.trim()).split('.');
      if (
        !field ||
        !(field in SUBFIELDS) ||
        rest.length > 0 ||
        (key && !SUBFIELDS[field as Field].includes(key))
      ) {
        throw invalid(`updateMask: unsupported field path ${JSON.stringify(raw)}`);
      }
      for (const k of key ? [key] : SUBFIELDS[field as Field]) paths.push([field as Field, k]);
    }
  }
  for (const [field, key] of paths) {
    const group = body[field] as Record<string, unknown> | undefined;
    setSubfield(settings, field, key, readSubfield(field, key, group?.[key]));
  }
  const retry = settings.retryConfig;
  if (retry.minBackoffMs > retry.maxBackoffMs) {
    throw invalid('retryConfig.minBackoff must not be greater than retryConfig.maxBackoff');
  }
  return settings;
}

export function defaultSettings(): QueueSettings {
  return { rateLimits: { ...DEFAULT_RATE_LIMITS }, retryConfig: { ...DEFAULT_RETRY } };
}

function cloneSettings(s: QueueSettings): QueueSettings {
  return {
    rateLimits: { ...s.rateLimits },
    retryConfig: { ...s.retryConfig },
    ...(s.samplingRatio === undefined ? {} : { samplingRatio: s.samplingRatio }),
  };
}

export function renderQueue(
  queue: { name: string; settings: QueueSettings; state: QueueStateName; purgeUs?: number },
  enumsAsInt: boolean,
): Record<string, unknown> {
  const { rateLimits, retryConfig, samplingRatio } = queue.settings;
  return {
    name: queue.name,
    rateLimits: { ...rateLimits },
    retryConfig: {
      maxAttempts: retryConfig.maxAttempts,
      maxRetryDuration: formatDuration(retryConfig.maxRetryDurationMs),
      minBackoff: formatDuration(retryConfig.minBackoffMs),
      maxBackoff: formatDuration(retryConfig.maxBackoffMs),
      maxDoublings: retryConfig.maxDoublings,
    },
    state: renderEnum(QUEUE_STATES, queue.state, enumsAsInt),
    ...(queue.purgeUs === undefined ? {} : { purgeTime: formatTimestamp(queue.purgeUs) }),
    ...(samplingRatio === undefined ? {} : { stackdriverLoggingConfig: { samplingRatio } }),
  };
}

function renderAttempt(attempt: Attempt): Record<string, unknown> {
  return {
    scheduleTime: formatTimestamp(attempt.scheduleUs),
    dispatchTime: formatTimestamp(attempt.dispatchUs),
    ...(attempt.responseUs === undefined
      ? {}
      : { responseTime: formatTimestamp(attempt.responseUs) }),
    ...(attempt.responseStatus ? { responseStatus: { ...attempt.responseStatus } } : {}),
  };
}

/** A Task in REST JSON. BASIC leaves out the body, as Cloud Tasks does. Zero counts are omitted (proto3 JSON). */
export function renderTask(
  task: TaskRecord,
  view: TaskView,
  enumsAsInt: boolean,
): Record<string, unknown> {
  const { request } = task;
  return {
    name: task.name,
    httpRequest: {
      url: request.url,
      httpMethod: renderEnum(HTTP_METHODS, request.httpMethod, enumsAsInt),
      headers: { ...request.headers },
      ...(view === 'FULL' && request.body.length > 0
        ? { body: request.body.toString('base64') }
        : {}),
      ...(request.oidcToken ? { oidcToken: { ...request.oidcToken } } : {}),
      ...(request.oauthToken ? { oauthToken: { ...request.oauthToken } } : {}),
    },
    scheduleTime: formatTimestamp(task.scheduleUs),
    createTime: formatTimestamp(task.createUs),
    dispatchDeadline: formatDuration(task.dispatchDeadlineMs),
    ...(task.dispatchCount ? { dispatchCount: task.dispatchCount } : {}),
    ...(task.responseCount ? { responseCount: task.responseCount } : {}),
    ...(task.firstAttempt
      ? { firstAttempt: { dispatchTime: formatTimestamp(task.firstAttempt.dispatchUs) } }
      : {}),
    ...(task.lastAttempt ? { lastAttempt: renderAttempt(task.lastAttempt) } : {}),
    view: renderEnum(TASK_VIEWS, view, enumsAsInt),
  };
}
