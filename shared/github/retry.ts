// The retry policy of GitHub calls made while a function answers a request:
// few tries, short exponential back-off, and a time budget that keeps the
// caller well inside GitHub's 10-second webhook limit.

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
