// Compute Engine errors (DESIGN §4): one classification for whatever the
// Compute client threw or a finished operation carried, so runTest decides what
// to do from data, and people only ever see one of the fixed friendly lines.
//
// Shapes read (checked against @google-cloud/compute 7.8 / google-gax 6 over REST):
// - a finished operation, or its `error`: `{errors: [{code, message, errorDetails:
//   [{errorInfo: {reason, domain, metadatas: {zonesAvailable}}}, {help}, {localizedMessage}]}]}`;
// - a thrown GoogleError: numeric gRPC `code`, `httpStatusCode`, `message`, and,
//   when the body carried a google.rpc.ErrorInfo, `reason`, `domain`,
//   `errorInfoMetadata` and `statusDetails`. The legacy `errors[].reason` is only
//   in the raw body, attached under Symbol.for('google-gax.rawHttpResponsePayload'),
//   and for 401/403 also in `cause` (a GaxiosError whose `message` is the body);
// - Google's JSON error body `{error: {code, message, errors, status, details}}`;
// - plain text ("ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS The zone ..."), Node
//   network errors, and `operationTimeoutError()` below.
// The Compute library is not imported here: it takes a second to load, and the
// GoogleError is read by its fields.
import { GCP_MESSAGES, vmCreationFailed } from '../domain/messages';

/** What runTest does about an error. */
export const GCP_ERROR_ACTIONS = ['next_zone', 'retry_later', 'adopt', 'fail'] as const;
export type GcpErrorAction = (typeof GCP_ERROR_ACTIONS)[number];

/** The stable codes of the classes runTest treats specially. Any other code fails the test. */
export const GCP_ERROR_CODES = {
  zoneExhausted: 'ZONE_RESOURCE_POOL_EXHAUSTED',
  quotaExceeded: 'QUOTA_EXCEEDED',
  rateLimited: 'RATE_LIMITED',
  timeout: 'TIMEOUT',
  alreadyExists: 'ALREADY_EXISTS',
  notFound: 'NOT_FOUND',
  permissionDenied: 'PERMISSION_DENIED',
  unknown: 'UNKNOWN',
} as const;

export interface GcpErrorClass {
  /** A code from GCP_ERROR_CODES, or an unknown Compute code as `[A-Z0-9_]{1,64}`. */
  code: string;
  retriable: boolean;
  action: GcpErrorAction;
  /** The friendly line for people (at most 140 characters); never holds API text. */
  userMessage: string;
  /** For the logs only: the codes, statuses and raw messages seen (may name projects and zones). */
  detail: string;
  /** Zones that Compute said have capacity (ErrorInfo `zonesAvailable`), when it named any. */
  zonesAvailable?: string[];
}

/** The code that `operationTimeoutError()` carries; `classifyGcpError` maps it to TIMEOUT. */
export const OPERATION_TIMEOUT = 'OPERATION_TIMEOUT';

/** An operation that was not DONE within its wait budget (the VM may still appear). */
export class OperationTimeoutError extends Error {
  override readonly name = 'OperationTimeoutError';
  readonly code = OPERATION_TIMEOUT;
  readonly operation: string;

  constructor(operation: string, waitedMs?: number) {
    const waited =
      waitedMs === undefined || !Number.isFinite(waitedMs) ? '' : ` (waited ${waitedMs} ms)`;
    super(`Operation ${operation} was not DONE within its wait budget${waited}`);
    this.operation = operation;
  }
}

export function operationTimeoutError(operation: string, waitedMs?: number): OperationTimeoutError {
  return new OperationTimeoutError(operation, waitedMs);
}

// --- classes -------------------------------------------------------------------

type Kind = 'stockout' | 'quota' | 'rate' | 'timeout' | 'exists' | 'notFound' | 'permission';

const KINDS: Readonly<Record<Kind, Omit<GcpErrorClass, 'detail' | 'zonesAvailable'>>> = {
  stockout: {
    code: GCP_ERROR_CODES.zoneExhausted,
    retriable: true,
    action: 'next_zone',
    userMessage: GCP_MESSAGES.zoneExhausted,
  },
  quota: {
    code: GCP_ERROR_CODES.quotaExceeded,
    retriable: true,
    action: 'retry_later',
    userMessage: GCP_MESSAGES.quotaExceeded,
  },
  rate: {
    code: GCP_ERROR_CODES.rateLimited,
    retriable: true,
    action: 'retry_later',
    userMessage: GCP_MESSAGES.rateLimited,
  },
  timeout: {
    code: GCP_ERROR_CODES.timeout,
    retriable: true,
    action: 'retry_later',
    userMessage: GCP_MESSAGES.timedOut,
  },
  // Not an error when the VM is the test's own: runTest adopts it. The message
  // is for the case where it cannot.
  exists: {
    code: GCP_ERROR_CODES.alreadyExists,
    retriable: false,
    action: 'adopt',
    userMessage: vmCreationFailed(GCP_ERROR_CODES.alreadyExists),
  },
  notFound: {
    code: GCP_ERROR_CODES.notFound,
    retriable: false,
    action: 'fail',
    userMessage: GCP_MESSAGES.notFound,
  },
  permission: {
    code: GCP_ERROR_CODES.permissionDenied,
    retriable: false,
    action: 'fail',
    userMessage: GCP_MESSAGES.permissionDenied,
  },
};

// Operation codes, ErrorInfo reasons, legacy `errors[].reason`s (camelCase,
// normalized to UPPER_SNAKE), gRPC status names and Node network error codes.
const TOKEN_KINDS: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['ZONE_RESOURCE_POOL_EXHAUSTED', 'stockout'],
  ['ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', 'stockout'],
  ['RESOURCE_POOL_EXHAUSTED', 'stockout'],
  ['RESOURCE_AVAILABILITY', 'stockout'], // the operation's ErrorInfo reason on a stockout
  ['STOCKOUT', 'stockout'],
  ['QUOTA_EXCEEDED', 'quota'],
  ['RATE_LIMIT_EXCEEDED', 'rate'],
  ['USER_RATE_LIMIT_EXCEEDED', 'rate'],
  ['RESOURCE_OPERATION_RATE_EXCEEDED', 'rate'],
  ['RESOURCE_EXHAUSTED', 'rate'],
  ['TOO_MANY_REQUESTS', 'rate'],
  [OPERATION_TIMEOUT, 'timeout'],
  ['DEADLINE_EXCEEDED', 'timeout'],
  ['ETIMEDOUT', 'timeout'],
  ['ESOCKETTIMEDOUT', 'timeout'],
  ['ECONNRESET', 'timeout'],
  ['ECONNREFUSED', 'timeout'],
  ['ECONNABORTED', 'timeout'],
  ['EPIPE', 'timeout'],
  ['EAI_AGAIN', 'timeout'],
  ['TIMEOUT_ERROR', 'timeout'],
  ['ALREADY_EXISTS', 'exists'],
  ['RESOURCE_ALREADY_EXISTS', 'exists'],
  ['NOT_FOUND', 'notFound'],
  ['RESOURCE_NOT_FOUND', 'notFound'],
  ['PERMISSION_DENIED', 'permission'],
  ['IAM_PERMISSION_DENIED', 'permission'],
  ['FORBIDDEN', 'permission'],
  ['INSUFFICIENT_PERMISSIONS', 'permission'],
  ['UNAUTHENTICATED', 'permission'],
  ['AUTH_ERROR', 'permission'],
]);

// gRPC UNAVAILABLE is a stockout when it came as HTTP 503 from Compute, and a
// transport failure (retry later) otherwise.
const UNAVAILABLE = 'UNAVAILABLE';

const GRPC_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  UNAVAILABLE,
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

function isGrpcName(token: string): boolean {
  return (GRPC_NAMES as readonly string[]).includes(token);
}

const GRPC_KINDS: Readonly<Partial<Record<number, Kind>>> = {
  4: 'timeout',
  5: 'notFound',
  6: 'exists',
  7: 'permission',
  8: 'rate',
  14: 'timeout',
  16: 'permission',
};

const HTTP_KINDS: Readonly<Partial<Record<number, Kind>>> = {
  401: 'permission',
  403: 'permission',
  404: 'notFound',
  409: 'exists',
};

// Phrases of Compute's messages, for errors that arrive as text only.
const PHRASES: ReadonlyArray<readonly [RegExp, Kind]> = [
  [/does not have enough resources/i, 'stockout'],
  [/\bquota\b[^.]{0,120}\bexceeded\b/i, 'quota'],
  [/\brate[ -]?limit|\btoo many requests\b/i, 'rate'],
  [/\balready exists\b/i, 'exists'],
  [/\b(?:was|were|is) not found\b|\b(?:could|can)not be found\b|\bdoes not exist\b/i, 'notFound'],
  [/\bpermission\b|\bforbidden\b|\bnot authori[sz]ed\b/i, 'permission'],
  [/\bdeadline exceeded\b|\btimed out\b/i, 'timeout'],
];

// --- reading the input -----------------------------------------------------------

const RAW_HTTP_PAYLOAD = Symbol.for('google-gax.rawHttpResponsePayload');
const MAX_NODES = 40;
const MAX_ITEMS = 20;
const MAX_TEXT_SCAN = 4000;
const MAX_JSON = 1_000_000;
const MAX_DETAIL = 1000;

interface Evidence {
  /** Normalized codes and reasons from explicit fields, most specific first. */
  tokens: string[];
  /** The same from the `cause` chain: trusted only when known. */
  causeTokens: string[];
  /** The same, as they came (for the log detail). */
  rawTokens: string[];
  /** Known codes found inside message text. */
  textTokens: string[];
  /** An UPPER_SNAKE code that opens a message ("SOMETHING_ELSE: ..."). */
  leadingTokens: string[];
  messages: string[];
  httpStatus?: number;
  grpcCode?: number;
  zonesAvailable?: string[];
}

type Bag = Record<PropertyKey, unknown>;

function isObject(value: unknown): value is Bag {
  return typeof value === 'object' && value !== null;
}

/** A property read that survives throwing getters and proxies. */
function prop(obj: Bag, key: PropertyKey): unknown {
  try {
    return obj[key];
  } catch {
    return undefined;
  }
}

function items(value: unknown): unknown[] {
  try {
    return Array.isArray(value) ? value.slice(0, MAX_ITEMS) : [];
  } catch {
    return [];
  }
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** `quotaExceeded` → `QUOTA_EXCEEDED`; anything that is not an identifier is not a code. */
function normalizeToken(raw: string): string | undefined {
  const t = raw.trim();
  if (!/^[A-Za-z][A-Za-z0-9_]{0,127}$/.test(t)) return undefined;
  return t
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()
    .slice(0, 64);
}

function parseJson(text: string): unknown {
  const t = text.trim();
  if (t.length > MAX_JSON || !(t.startsWith('{') || t.startsWith('['))) return undefined;
  try {
    return JSON.parse(t) as unknown;
  } catch {
    return undefined;
  }
}

function parseZones(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const zones = [
    ...new Set(
      value
        .split(',')
        .map((z) => z.trim())
        .filter((z) => /^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/.test(z) && z.length <= 63),
    ),
  ];
  return zones.length > 0 ? zones : undefined;
}

function collect(input: unknown): Evidence {
  const ev: Evidence = {
    tokens: [],
    causeTokens: [],
    rawTokens: [],
    textTokens: [],
    leadingTokens: [],
    messages: [],
  };
  const seen = new Set<unknown>();
  // `inCause`: reached through `cause`, which wraps lower-level failures (an
  // AbortError under a DEADLINE_EXCEEDED) whose own codes must not win.
  const queue: Array<{ node: unknown; inCause: boolean }> = [{ node: input, inCause: false }];
  let inCause = false;

  const addToken = (value: unknown): void => {
    const raw = str(value);
    if (raw === undefined) return;
    const token = normalizeToken(raw);
    if (token === undefined) return;
    (inCause ? ev.causeTokens : ev.tokens).push(token);
    ev.rawTokens.push(raw.trim());
  };
  const addZones = (metadata: unknown): void => {
    if (ev.zonesAvailable || !isObject(metadata)) return;
    ev.zonesAvailable = parseZones(prop(metadata, 'zonesAvailable'));
  };
  const addErrorInfo = (info: unknown): void => {
    if (!isObject(info)) return;
    addToken(prop(info, 'reason'));
    addZones(prop(info, 'metadatas'));
    addZones(prop(info, 'metadata'));
  };
  const addHttp = (value: unknown): void => {
    if (ev.httpStatus !== undefined || typeof value !== 'number') return;
    if (Number.isInteger(value) && value >= 100 && value <= 599) ev.httpStatus = value;
  };
  const addCode = (value: unknown): void => {
    if (typeof value === 'string') addToken(value);
    else if (typeof value === 'number' && value >= 100) addHttp(value);
    // Small numbers deeper in `cause` are other things' codes (a DOMException's 20).
    else if (ev.grpcCode === undefined && typeof value === 'number' && !inCause) {
      if (Number.isInteger(value) && value > 0 && value < GRPC_NAMES.length) ev.grpcCode = value;
    }
  };
  const addText = (text: string): void => {
    const json = parseJson(text);
    if (json !== undefined) {
      queue.push({ node: json, inCause });
      return;
    }
    const scan = text.slice(0, MAX_TEXT_SCAN);
    if (scan.trim() !== '') ev.messages.push(scan);
    for (const m of scan.matchAll(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g)) {
      if (TOKEN_KINDS.has(m[0])) ev.textTokens.push(m[0]);
    }
    // grpc-js style "14 UNAVAILABLE: ..." and a code that opens the text.
    const grpc = /^\s*(\d{1,2}) ([A-Z_]+):/.exec(scan);
    if (grpc?.[1] !== undefined && GRPC_NAMES[Number(grpc[1])] === grpc[2]) {
      addCode(Number(grpc[1]));
    }
    const lead = /^\s*(?:\d{1,2}\s+)?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?=[\s:.,;]|$)/.exec(scan);
    if (lead?.[1] !== undefined && !inCause) ev.leadingTokens.push(lead[1].slice(0, 64));
  };

  const visit = (node: unknown): void => {
    if (typeof node === 'string') {
      addText(node);
      return;
    }
    if (!isObject(node)) return;

    // An operation, its `error`, or a legacy JSON body: `errors[]`.
    for (const entry of items(prop(node, 'errors'))) {
      if (!isObject(entry)) continue;
      addToken(prop(entry, 'code'));
      for (const d of items(prop(entry, 'errorDetails'))) {
        if (isObject(d)) addErrorInfo(prop(d, 'errorInfo'));
      }
      addToken(prop(entry, 'reason'));
      const message = str(prop(entry, 'message'));
      if (message !== undefined) addText(message);
    }
    // GoogleError: ErrorInfo promoted onto the error, and the decoded details.
    addToken(prop(node, 'reason'));
    addZones(prop(node, 'errorInfoMetadata'));
    for (const d of items(prop(node, 'statusDetails'))) addErrorInfo(d);
    // Google's JSON error body: `details` with `@type` ErrorInfo.
    for (const d of items(prop(node, 'details'))) {
      if (isObject(d) && str(prop(d, '@type'))?.endsWith('google.rpc.ErrorInfo')) addErrorInfo(d);
    }
    addHttp(prop(node, 'httpStatusCode'));
    addCode(prop(node, 'code'));
    const status = prop(node, 'status');
    if (typeof status === 'number') addHttp(status);
    // A body's gRPC status name, not an operation's PENDING / RUNNING / DONE.
    else if (typeof status === 'string' && isGrpcName(status)) addToken(status);
    const message = str(prop(node, 'message'));
    if (message !== undefined) addText(message);

    // Deeper: the body or operation wrapper, the HTTP response, the raw body, the cause.
    const error = prop(node, 'error');
    if (isObject(error)) queue.push({ node: error, inCause });
    const response = prop(node, 'response');
    if (isObject(response)) {
      addHttp(prop(response, 'status'));
      const data = prop(response, 'data');
      if (data !== undefined) queue.push({ node: data, inCause });
    }
    const raw = prop(node, RAW_HTTP_PAYLOAD);
    if (raw !== undefined) queue.push({ node: raw, inCause });
    const cause = prop(node, 'cause');
    if (cause !== undefined) queue.push({ node: cause, inCause: true });
  };

  for (let n = 0; n < MAX_NODES && queue.length > 0; n++) {
    const next = queue.shift();
    if (next === undefined) break;
    const { node } = next;
    inCause = next.inCause;
    if (isObject(node)) {
      if (seen.has(node)) continue;
      seen.add(node);
    }
    try {
      visit(node);
    } catch {
      // One unreadable part must not hide what the others say.
    }
  }
  return ev;
}

// --- deciding ----------------------------------------------------------------------

function tokenKind(token: string, ev: Evidence): Kind | undefined {
  if (token === UNAVAILABLE) return ev.httpStatus === 503 ? 'stockout' : 'timeout';
  return TOKEN_KINDS.get(token);
}

interface Decision {
  kind?: Kind;
  code?: string;
}

function decide(ev: Evidence): Decision {
  // 1. An explicit code or reason that we know.
  for (const t of [...ev.tokens, ...ev.causeTokens]) {
    const kind = tokenKind(t, ev);
    if (kind) return { kind };
  }
  // 2. A known code written in the text ("ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS The zone ...").
  for (const t of ev.textTokens) {
    const kind = tokenKind(t, ev);
    if (kind) return { kind };
  }
  // 3. The HTTP statuses that DESIGN §4 names as retriable whatever their reason.
  if (ev.httpStatus === 503) return { kind: 'stockout' };
  if (ev.httpStatus === 429) return { kind: 'rate' };
  // 4. An explicit code that we do not know: report it as it is.
  const specific = [...ev.tokens, ...ev.leadingTokens].find((t) => !isGrpcName(t));
  if (specific !== undefined) return { code: specific };
  // 5. Compute's wording, for errors that are only text.
  for (const text of ev.messages) {
    for (const [re, kind] of PHRASES) if (re.test(text)) return { kind };
  }
  // 6. Statuses alone.
  if (ev.httpStatus !== undefined) {
    const kind = HTTP_KINDS[ev.httpStatus];
    if (kind) return { kind };
  }
  if (ev.grpcCode !== undefined) {
    const kind = GRPC_KINDS[ev.grpcCode];
    if (kind) return { kind };
  }
  const generic = ev.tokens[0] ?? ev.leadingTokens[0];
  if (generic !== undefined) return { code: generic };
  if (ev.grpcCode !== undefined) return { code: GRPC_NAMES[ev.grpcCode] };
  if (ev.httpStatus !== undefined) return { code: `HTTP_${ev.httpStatus}` };
  return {};
}

function oneLine(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
}

function describeInput(input: unknown): string {
  if (input === undefined || input === null) return String(input);
  if (typeof input === 'object') return 'an object without error fields';
  if (typeof input === 'function') return 'a function';
  try {
    return `${typeof input}: ${String(input as string | number | boolean | bigint | symbol).slice(0, 200)}`;
  } catch {
    return typeof input;
  }
}

function buildDetail(code: string, ev: Evidence, input: unknown): string {
  const facts = [
    ...(ev.httpStatus === undefined ? [] : [`HTTP ${ev.httpStatus}`]),
    ...(ev.grpcCode === undefined ? [] : [`gRPC ${ev.grpcCode}`]),
    ...new Set(ev.rawTokens),
  ];
  const messages = [...new Set(ev.messages.map(oneLine))].filter((m) => m !== '');
  const head = facts.length > 0 ? `${code} (${facts.join(', ')})` : code;
  const tail = messages.length > 0 ? messages.join(' | ') : describeInput(input);
  const detail = oneLine(`${head}: ${tail}`);
  return detail.length <= MAX_DETAIL ? detail : `${detail.slice(0, MAX_DETAIL - 1)}…`;
}

function unknownClass(code: string | undefined, detail: string): GcpErrorClass {
  const known = code !== undefined && code !== GCP_ERROR_CODES.unknown;
  return {
    code: known ? code : GCP_ERROR_CODES.unknown,
    retriable: false,
    action: 'fail',
    userMessage: vmCreationFailed(known ? code : undefined),
    detail,
  };
}

/**
 * Classifies a Compute Engine error: a finished operation or its `error`, a
 * thrown GoogleError or HTTP error, an error text, or anything else. Never throws.
 */
export function classifyGcpError(error: unknown): GcpErrorClass {
  try {
    const ev = collect(error);
    const decision = decide(ev);
    const zones = ev.zonesAvailable ? { zonesAvailable: [...ev.zonesAvailable] } : {};
    if (decision.kind) {
      const base = KINDS[decision.kind];
      return { ...base, detail: buildDetail(base.code, ev, error), ...zones };
    }
    const code = decision.code ?? GCP_ERROR_CODES.unknown;
    return { ...unknownClass(code, buildDetail(code, ev, error)), ...zones };
  } catch {
    return unknownClass(undefined, 'UNKNOWN: the error could not be read');
  }
}
