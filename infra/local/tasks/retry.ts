// When a failed attempt is retried, and when a task is given up: Cloud Tasks'
// rules, as pure functions of the queue's RetryConfig.
import type { RetrySettings } from './resources';

/**
 * The delay before retry number `retry` (1 = after the first failed attempt):
 * minBackoff, doubled `maxDoublings` times, then growing linearly by
 * minBackoff × 2^maxDoublings, never above maxBackoff. With 10s / 300s / 3
 * doublings: 10, 20, 40, 80, 160, 240, 300, 300, … seconds.
 */
export function backoffMs(config: RetrySettings, retry: number): number {
  const k = Math.max(0, retry - 1);
  const { minBackoffMs: min, maxDoublings: d } = config;
  const raw = k <= d ? min * 2 ** k : min * 2 ** d * (1 + k - d);
  return Math.min(raw, config.maxBackoffMs);
}

/** `Retry-After` as seconds or as an HTTP date → milliseconds from now; undefined if absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * Whether a task that has now been attempted `attempts` times is given up.
 * Cloud Tasks stops once it has been attempted maxAttempts times and (when
 * maxRetryDuration is set) maxRetryDuration has passed since its first attempt.
 * `elapsedMs` is real time since the first attempt; maxRetryDuration is
 * multiplied by `scale` (the stand-in's timeScale) before the comparison.
 */
export function givesUp(
  config: RetrySettings,
  attempts: number,
  elapsedMs: number,
  scale = 1,
): boolean {
  const attemptsLimited = config.maxAttempts !== -1;
  const durationLimited = config.maxRetryDurationMs > 0;
  const attemptsDone = attemptsLimited && attempts >= config.maxAttempts;
  const durationDone = durationLimited && elapsedMs >= config.maxRetryDurationMs * scale;
  if (attemptsLimited && durationLimited) return attemptsDone && durationDone;
  return attemptsDone || durationDone;
}

const GRPC_NAMES: Record<number, string> = {
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

/** google.rpc.Status of an attempt, as lastAttempt.responseStatus shows it. */
export function attemptStatus(
  httpStatus: number | null,
  error?: 'DEADLINE_EXCEEDED' | 'UNAVAILABLE',
): { code: number; message: string } {
  if (httpStatus === null) {
    const code = error === 'DEADLINE_EXCEEDED' ? 4 : 14;
    const why =
      error === 'DEADLINE_EXCEEDED'
        ? 'the dispatch deadline passed'
        : 'the target could not be reached';
    return { code, message: `${GRPC_NAMES[code]}(${code}): ${why}` };
  }
  const code = grpcCodeOfHttp(httpStatus);
  return { code, message: `${GRPC_NAMES[code]}(${code}): HTTP status code ${httpStatus}` };
}

function grpcCodeOfHttp(status: number): number {
  if (status >= 200 && status < 300) return 0;
  const known: Record<number, number> = {
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    409: 10,
    412: 9,
    429: 8,
    499: 1,
    500: 13,
    501: 12,
    503: 14,
    504: 4,
  };
  return known[status] ?? (status >= 500 ? 13 : status >= 400 ? 9 : 2);
}
