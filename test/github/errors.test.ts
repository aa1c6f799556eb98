// classifyGitHubError on the shapes Octokit throws, and the back-off formula.
import { classifyGitHubError, RATE_LIMIT_DEFAULT_WAIT_MS } from '../../shared/github/errors';
import { backoffDelay, retryPolicy } from '../../shared/github/retry';

const NOW = Date.parse('2026-11-02T10:00:00Z');

function httpError(status: number, headers: Record<string, string> = {}, data: unknown = {}) {
  return Object.assign(new Error('request failed'), { status, response: { headers, data } });
}

describe('classifyGitHubError', () => {
  it.each([
    { name: '500', err: httpError(500), retriable: true },
    { name: '503', err: httpError(503), retriable: true },
    { name: '400', err: httpError(400), retriable: false },
    { name: '409', err: httpError(409), retriable: false },
    { name: '429 without headers', err: httpError(429), retriable: true },
  ])('$name → retriable $retriable', ({ err, retriable }) => {
    expect(classifyGitHubError(err, NOW)).toMatchObject({ retriable, httpStatus: err.status });
  });

  it('reads retry-after given as an HTTP date', () => {
    const err = httpError(429, { 'retry-after': new Date(NOW + 4000).toUTCString() });

    expect(classifyGitHubError(err, NOW)).toMatchObject({ retriable: true, waitMs: 4000 });
  });

  it('asks a rate limit that names no wait for GitHub’s minute', () => {
    const err = httpError(403, {}, { message: 'You have exceeded a secondary rate limit.' });

    expect(classifyGitHubError(err, NOW).waitMs).toBe(RATE_LIMIT_DEFAULT_WAIT_MS);
  });

  it.each([
    {
      name: 'no answer (Octokit status 500, no response)',
      err: Object.assign(new Error('ECONNRESET'), { status: 500 }),
    },
    {
      name: 'an aborted request',
      err: Object.assign(new Error('aborted'), { name: 'AbortError' }),
    },
  ])('treats $name as retriable, without an HTTP status', ({ err }) => {
    const failure = classifyGitHubError(err, NOW);

    expect(failure).toMatchObject({ retriable: true });
    expect(failure.httpStatus).toBeUndefined();
  });

  it('treats anything else thrown as final', () => {
    expect(classifyGitHubError('weird', NOW)).toEqual({ retriable: false, detail: 'weird' });
  });

  it('keeps the detail short', () => {
    const err = httpError(500, {}, { message: 'x'.repeat(1000) });

    expect(classifyGitHubError(err, NOW).detail.length).toBeLessThanOrEqual(300);
  });
});

describe('backoffDelay', () => {
  const policy = { baseDelayMs: 200, maxDelayMs: 2000 };

  it.each([
    { attempt: 1, min: 100, max: 200 },
    { attempt: 2, min: 200, max: 400 },
    { attempt: 4, min: 800, max: 1600 },
    { attempt: 10, min: 1000, max: 2000 },
  ])('after try $attempt waits $min–$max ms', ({ attempt, min, max }) => {
    expect(backoffDelay(attempt, policy, () => 0)).toBe(min);
    expect(backoffDelay(attempt, policy, () => 1)).toBe(max);
    const random = backoffDelay(attempt, policy);
    expect(random).toBeGreaterThanOrEqual(min);
    expect(random).toBeLessThanOrEqual(max);
  });
});

describe('retryPolicy', () => {
  it('fills in the defaults', () => {
    expect(retryPolicy({ attempts: 5 })).toEqual({
      attempts: 5,
      baseDelayMs: 200,
      maxDelayMs: 2000,
      budgetMs: 5000,
    });
  });

  it.each([{ budgetMs: -1 }, { baseDelayMs: Number.NaN }, { attempts: 1.5 }])(
    'rejects %o',
    (bad) => {
      expect(() => retryPolicy(bad)).toThrow(RangeError);
    },
  );
});
