// The retry policy of GitHub calls made while a function answers a request:
// few tries, short exponential back-off, and a time budget that keeps the
// caller well inside GitHub's 10-second webhook limit.
import type { GitHubFailure } from './errors';

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** The back-off before the second try; it doubles for each further try. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** No try starts, and no wait is begun, that would end past this much time since the first. */
  budgetMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = {
  attempts: 3,
  baseDelayMs: 200,
  maxDelayMs: 2000,
  budgetMs: 5000,
};

export function retryPolicy(overrides: Partial<RetryOptions> = {}): RetryOptions {
  const policy = { ...DEFAULT_RETRY, ...overrides };
  const { attempts, baseDelayMs, maxDelayMs, budgetMs } = policy;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`retry.attempts must be a positive integer, got ${attempts}`);
  }
  for (const [name, value] of Object.entries({ baseDelayMs, maxDelayMs, budgetMs })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`retry.${name} must be a non-negative number, got ${value}`);
    }
  }
  return policy;
}

/**
 * The wait after failed try number `attempt` (1-based): base·2^(attempt-1),
 * capped at maxDelayMs, of which a random half is jitter so that callers that
 * failed together do not retry together.
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export const realSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** One try of a GitHub call: its value, or how it failed (classifyGitHubError). */
export type TryResult<T> = { ok: true; value: T } | { ok: false; failure: GitHubFailure };

/** The last try's outcome; a failure says how many tries were made and why they stopped. */
export type RetriedResult<T> =
  { ok: true; value: T } | { ok: false; failure: GitHubFailure; note: string };

export interface RetryLoopOptions {
  retry?: Partial<RetryOptions>;
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock for the budget; default Date.now. */
  now?: () => number;
  random?: () => number;
}

/** What a retry loop tells its caller before each wait (for a debug log). */
export interface RetryNotice {
  failure: GitHubFailure;
  delayMs: number;
  tries: number;
}

/**
 * The retry loop of every GitHub call made while a function answers: a
 * retriable failure is tried again after back-off (or the wait GitHub asked
 * for), at most `attempts` tries, and never past the time budget. Each try is
 * given the time left, to bound its own request. Throws RangeError for a bad
 * policy, when it is made.
 */
export function createRetryLoop(options: RetryLoopOptions = {}) {
  const policy = retryPolicy(options.retry);
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  return {
    policy,
    now,
    async run<T>(
      tryOnce: (timeLeftMs: number) => Promise<TryResult<T>>,
      onRetry: (notice: RetryNotice) => void = () => {},
    ): Promise<RetriedResult<T>> {
      const started = now();
      const elapsed = () => now() - started;
      for (let tries = 1; ; tries += 1) {
        const result = await tryOnce(policy.budgetMs - elapsed());
        if (result.ok) return result;
        const { failure } = result;
        const tried = tries === 1 ? '1 try' : `${tries} tries`;
        if (!failure.retriable || tries >= policy.attempts) {
          return { ok: false, failure, note: tried };
        }
        const delay = failure.waitMs ?? backoffDelay(tries, policy, random);
        if (elapsed() + delay > policy.budgetMs) {
          return {
            ok: false,
            failure,
            note: `${tried}; a ${delay} ms wait would pass the time budget`,
          };
        }
        onRetry({ failure, delayMs: delay, tries });
        await sleep(delay);
      }
    },
  };
}
