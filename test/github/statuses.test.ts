// The Octokit status adapter's retry policy in detail: waits, the budget,
// rate-limit headers, network failures. GitHub's answers come from a scripted
// fetch, so each case states exactly what GitHub said.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGitHubClients, type GitHubClients } from '../../shared/github/client';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import type { RetryOptions } from '../../shared/github/retry';
import { createGitHubStatusPort, type StatusToPost } from '../../shared/github/statuses';
import { captureLog, fakeTime, scriptedFetch, SHA40, type ScriptedReply } from './support';

const TOKEN = 'ghp_statusesUnitTest0123456789abcdefghij';
const STATUS: StatusToPost = {
  state: 'failure',
  context: 'ci/windows',
  description: '2 of 10 tests failed',
  targetUrl: 'https://ci.example.com/status/tests/t2',
};
const RATE_LIMIT_MESSAGE = 'You have exceeded a secondary rate limit. Please wait a few minutes.';

function portWith(
  script: (ScriptedReply | Error)[],
  options: { retry?: Partial<RetryOptions>; random?: () => number; baseUrl?: string } = {},
) {
  const scripted = scriptedFetch(script);
  const time = fakeTime();
  const capture = captureLog();
  const clients = createGitHubClients({
    baseUrl: options.baseUrl ?? 'https://api.github.test',
    auth: { kind: 'token', token: TOKEN },
    fetch: scripted.fetch,
  });
  const port = createGitHubStatusPort({
    clients,
    log: capture.log,
    sleep: time.sleep,
    now: time.now,
    random: options.random ?? (() => 1),
    ...(options.retry ? { retry: options.retry } : {}),
  });
  return { port, requests: scripted.requests, waits: time.waits, capture };
}

const badGateway: ScriptedReply = { status: 502, body: { message: 'Server Error' } };

describe('createGitHubStatusPort', () => {
  it('sends GitHub the fields of a commit status', async () => {
    const { port, requests } = portWith([]);

    await expect(port.post('octo-org/hello', SHA40, STATUS)).resolves.toEqual({ ok: true });

    expect(requests).toHaveLength(1);
    expect(requests[0]?.url).toBe(`https://api.github.test/repos/octo-org/hello/statuses/${SHA40}`);
    expect(requests[0]?.init?.method).toBe('POST');
    expect(JSON.parse(String(requests[0]?.init?.body))).toEqual({
      state: 'failure',
      context: 'ci/windows',
      description: '2 of 10 tests failed',
      target_url: STATUS.targetUrl,
    });
  });

  it('backs off exponentially between tries, capped at maxDelayMs', async () => {
    const { port, requests, waits } = portWith(Array(4).fill(badGateway), {
      retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 300, budgetMs: 5000 },
    });

    await expect(port.post('o/r', SHA40, STATUS)).resolves.toEqual({ ok: true });

    expect(requests).toHaveLength(5);
    expect(waits).toEqual([100, 200, 300, 300]);
  });

  it('jitters each wait within the upper half of its back-off', async () => {
    const { port, waits } = portWith([badGateway, badGateway], { random: () => 0 });

    await port.post('o/r', SHA40, STATUS);

    expect(waits).toEqual([100, 200]);
  });

  it('stops before a wait that would pass the budget, still retriable', async () => {
    const { port, requests, waits } = portWith(Array(10).fill(badGateway), {
      retry: { attempts: 10, baseDelayMs: 1000, maxDelayMs: 1000, budgetMs: 2500 },
    });

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toEqual({
      ok: false,
      retriable: true,
      httpStatus: 502,
      detail: expect.stringMatching(/HTTP 502: Server Error.*3 tries.*budget/),
    });
    expect(requests).toHaveLength(3);
    expect(waits).toEqual([1000, 1000]);
  });

  it.each([
    { status: 403, retryAfter: '2', wait: 2000 },
    { status: 429, retryAfter: '1', wait: 1000 },
  ])(
    'waits the $retryAfter s a $status asks for in retry-after',
    async ({ status, retryAfter, wait }) => {
      const { port, requests, waits } = portWith([
        { status, body: { message: RATE_LIMIT_MESSAGE }, headers: { 'retry-after': retryAfter } },
      ]);

      await expect(port.post('o/r', SHA40, STATUS)).resolves.toEqual({ ok: true });

      expect(requests).toHaveLength(2);
      expect(waits).toEqual([wait]);
    },
  );

  it('waits until x-ratelimit-reset when the rate limit is used up', async () => {
    const reset = Math.ceil(Date.now() / 1000) + 3;
    const { port, waits } = portWith([
      {
        status: 403,
        body: { message: 'API rate limit exceeded' },
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      },
    ]);

    await expect(port.post('o/r', SHA40, STATUS)).resolves.toEqual({ ok: true });

    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(1000);
    expect(waits[0]).toBeLessThanOrEqual(4000);
  });

  it('does not wait out a retry-after longer than the budget', async () => {
    const { port, requests, waits } = portWith([
      { status: 403, body: { message: RATE_LIMIT_MESSAGE }, headers: { 'retry-after': '30' } },
    ]);

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toMatchObject({ ok: false, retriable: true, httpStatus: 403 });
    expect(requests).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('treats a secondary rate limit without retry-after as a minute’s wait: not now', async () => {
    const { port, requests } = portWith([{ status: 403, body: { message: RATE_LIMIT_MESSAGE } }]);

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toMatchObject({ ok: false, retriable: true, httpStatus: 403 });
    expect(requests).toHaveLength(1);
  });

  it.each([
    { status: 401, message: 'Bad credentials' },
    { status: 403, message: 'Resource not accessible by integration' },
    { status: 404, message: 'Not Found' },
  ])('does not retry a $status that is not a rate limit', async ({ status, message }) => {
    const { port, requests } = portWith([{ status, body: { message } }]);

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toEqual({
      ok: false,
      retriable: false,
      httpStatus: status,
      detail: expect.stringContaining(`HTTP ${status}: ${message}`),
    });
    expect(requests).toHaveLength(1);
  });

  it('reports GitHub’s validation errors in the detail of a 422', async () => {
    const { port } = portWith([
      {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Status', field: 'state', code: 'custom', message: 'state is bad' }],
        },
      },
    ]);

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toMatchObject({
      ok: false,
      retriable: false,
      detail: expect.stringContaining('Validation Failed: state is bad'),
    });
  });

  it('retries a request that got no answer', async () => {
    const { port, requests } = portWith([new TypeError('fetch failed')]);

    await expect(port.post('o/r', SHA40, STATUS)).resolves.toEqual({ ok: true });

    expect(requests).toHaveLength(2);
  });

  it('reports a refused connection as retriable after every try', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port: tcpPort } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const time = fakeTime();
    const port = createGitHubStatusPort({
      clients: createGitHubClients({
        baseUrl: `http://127.0.0.1:${tcpPort}/github`,
        auth: { kind: 'token', token: TOKEN },
      }),
      sleep: time.sleep,
      now: time.now,
    });

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toMatchObject({ ok: false, retriable: true });
    expect(result.ok || result.httpStatus).toBeUndefined();
    expect(time.waits).toHaveLength(2);
  });

  it('aborts a request that hangs past the budget', async () => {
    const hanging: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const port = createGitHubStatusPort({
      clients: createGitHubClients({
        baseUrl: 'https://api.github.test',
        auth: { kind: 'token', token: TOKEN },
        fetch: hanging,
      }),
      retry: { budgetMs: 200 },
    });
    const started = Date.now();

    const result = await port.post('o/r', SHA40, STATUS);

    expect(result).toMatchObject({ ok: false, retriable: true });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('turns a client that cannot be made into a result, never a rejection', async () => {
    const clients: GitHubClients = {
      forRepo: () => {
        throw new Error('installation lookup exploded');
      },
      repoReadToken: async () => null,
    };
    const port = createGitHubStatusPort({ clients, sleep: async () => {} });

    await expect(port.post('o/r', SHA40, STATUS)).resolves.toEqual({
      ok: false,
      retriable: false,
      detail: expect.stringContaining('installation lookup exploded'),
    });
  });

  it('logs each retry at debug without the token', async () => {
    const { port, capture } = portWith([badGateway]);

    await port.post('o/r', SHA40, STATUS);

    const retries = capture.entries.filter((e) => e.message.includes('retrying'));
    expect(retries).toEqual([
      expect.objectContaining({
        level: 'debug',
        fields: expect.objectContaining({ httpStatus: 502, delayMs: 200, tries: 1 }),
      }),
    ]);
    expect(capture.text()).not.toContain(TOKEN);
  });

  it('rejects a retry policy without tries', () => {
    const clients = createGitHubClients({
      baseUrl: 'https://api.github.test',
      auth: { kind: 'token', token: TOKEN },
    });
    expect(() => createGitHubStatusPort({ clients, retry: { attempts: 0 } })).toThrow(RangeError);
  });
});

describe('createMemoryStatusPort', () => {
  const post = { ...STATUS, state: 'pending' as const };

  it('fails the next tries as told, then posts again', async () => {
    const port = createMemoryStatusPort();
    port.failNext(1, { retriable: false, httpStatus: 404, detail: 'Not Found' });

    await expect(port.post('o/r', SHA40, post)).resolves.toEqual({
      ok: false,
      retriable: false,
      httpStatus: 404,
      detail: 'Not Found',
    });
    await expect(port.post('o/r', SHA40, post)).resolves.toEqual({ ok: true });
    expect(port.posts()).toEqual([{ ...post, repo: 'o/r', sha: SHA40 }]);
    expect(port.tries()).toBe(2);
  });

  it('retries retriable failures up to `attempts` tries per post', async () => {
    const port = createMemoryStatusPort({ attempts: 2 });
    port.failNext(3, { retriable: true, httpStatus: 503 });

    await expect(port.post('o/r', SHA40, post)).resolves.toMatchObject({
      ok: false,
      retriable: true,
      httpStatus: 503,
    });
    expect(port.tries()).toBe(2);
    // The third failure is still queued for the next post, whose second try succeeds.
    await expect(port.post('o/r', SHA40, post)).resolves.toEqual({ ok: true });
    expect(port.tries()).toBe(4);
  });

  it('hands out copies of what it recorded', async () => {
    const port = createMemoryStatusPort();
    await port.post('o/r', SHA40, post);

    const [first] = port.posts();
    if (first) first.description = 'changed';

    expect(port.posts()[0]?.description).toBe(post.description);
  });
});
