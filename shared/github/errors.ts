// What a failed GitHub call means for a retry: transient (network, 5xx, rate
// limits) or final (any other 4xx, or an error that is not GitHub's answer).
// GitHub's guidance on rate limits: wait `retry-after` seconds; else, with
// x-ratelimit-remaining 0, until x-ratelimit-reset; else at least a minute.

export interface GitHubFailure {
  retriable: boolean;
  httpStatus?: number;
  /** For logs only: GitHub's message, never request headers. */
  detail: string;
  /** How long GitHub asked us to wait before trying again. */
  waitMs?: number;
}

const DETAIL_MAX = 300;
/** GitHub's advice for a secondary rate limit that names no wait. */
export const RATE_LIMIT_DEFAULT_WAIT_MS = 60_000;

type Headers = Record<string, unknown>;

interface HttpErrorShape {
  status: number;
  message: string;
  response: { headers?: Headers; data?: unknown };
}

function isHttpError(err: unknown): err is HttpErrorShape {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Partial<HttpErrorShape>;
  return typeof e.status === 'number' && typeof e.response === 'object' && e.response !== null;
}

function clip(text: string): string {
  return text.length <= DETAIL_MAX ? text : `${text.slice(0, DETAIL_MAX - 1)}…`;
}

/** GitHub's `message`, with the validation errors of a 422 when there are any. */
function githubMessage(data: unknown, fallback: string): string {
  if (typeof data !== 'object' || data === null) return fallback;
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const base = typeof message === 'string' && message !== '' ? message : fallback;
  if (!Array.isArray(errors) || errors.length === 0) return base;
  const parts = errors.map((e: unknown) => {
    if (typeof e === 'string') return e;
    const { message: m, field, code } = (e ?? {}) as Record<string, unknown>;
    return typeof m === 'string' ? m : `${String(field)} ${String(code)}`;
  });
  return `${base}: ${parts.join('; ')}`;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** `retry-after` in seconds or as an HTTP date, in ms from now. */
function retryAfterMs(value: string, nowMs: number): number | undefined {
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function isRateLimited(status: number, headers: Headers, message: string): boolean {
  if (status === 429) return true;
  if (status !== 403) return false;
  return (
    header(headers, 'retry-after') !== undefined ||
    header(headers, 'x-ratelimit-remaining') === '0' ||
    /rate limit/i.test(message)
  );
}

function rateLimitWaitMs(headers: Headers, nowMs: number): number {
  const after = header(headers, 'retry-after');
  const fromRetryAfter = after === undefined ? undefined : retryAfterMs(after, nowMs);
  if (fromRetryAfter !== undefined) return fromRetryAfter;
  const reset = Number(header(headers, 'x-ratelimit-reset'));
  if (header(headers, 'x-ratelimit-remaining') === '0' && Number.isFinite(reset) && reset > 0) {
    return Math.max(0, reset * 1000 - nowMs);
  }
  return RATE_LIMIT_DEFAULT_WAIT_MS;
}

/** Classifies whatever an Octokit call (or the client lookup before it) threw. */
export function classifyGitHubError(err: unknown, nowMs: number): GitHubFailure {
  if (isHttpError(err)) {
    const headers = err.response.headers ?? {};
    const message = githubMessage(err.response.data, err.message);
    const detail = clip(`HTTP ${err.status}: ${message}`);
    if (isRateLimited(err.status, headers, message)) {
      return {
        retriable: true,
        httpStatus: err.status,
        detail,
        waitMs: rateLimitWaitMs(headers, nowMs),
      };
    }
    return { retriable: err.status >= 500, httpStatus: err.status, detail };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  // Octokit reports a request that got no answer as status 500 without a response.
  const noAnswer =
    (e as { status?: unknown }).status === 500 ||
    e.name === 'AbortError' ||
    e.name === 'TimeoutError';
  if (noAnswer) return { retriable: true, detail: clip(`no answer from GitHub: ${e.message}`) };
  return { retriable: false, detail: clip(e.message) };
}
