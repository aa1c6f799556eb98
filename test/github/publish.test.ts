// publishTestStatus: posts a test's commit status when it changed, notes what
// was posted, and turns every failure into a result and a log line.
import { createGitHubStandIn, type GitHubStandIn } from '../../infra/local/github';
import { serve } from '../../infra/local/http';
import type { TestRecord } from '../../shared/domain/test';
import { createGitHubClients } from '../../shared/github/client';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { publishTestStatus, testStatusUrl, type PublishDeps } from '../../shared/github/publish';
import { createGitHubStatusPort, type CommitStatusPort } from '../../shared/github/statuses';
import { createMemoryStore } from '../../shared/store/memory';
import type { TestStore } from '../../shared/store/port';
import { at, claimMove, testRecord } from '../contracts/store/fixtures';
import { captureLog, fakeTime } from './support';

const PUBLIC_URL = 'https://ci.example.com';
const TEST_ID = 'push-linux 1/ä';
const TARGET = `${PUBLIC_URL}/status/tests/push-linux%201%2F%C3%A4`;
const SHA = 'e'.repeat(40);

async function setup(statuses: CommitStatusPort = createMemoryStatusPort()) {
  const store = createMemoryStore();
  const capture = captureLog();
  let clock = at(2);
  const deps: PublishDeps = {
    statuses,
    store,
    log: capture.log,
    now: () => clock,
    statusContext: 'CI - {platform}',
    publicUrl: PUBLIC_URL,
  };
  await store.createTests([testRecord({ id: TEST_ID, sha: SHA, message: 'Tests queued' })]);
  const current = async (): Promise<TestRecord> => {
    const test = await store.getTest(TEST_ID);
    if (!test) throw new Error('test vanished');
    return test;
  };
  const tick = (minutes: number) => {
    clock = at(minutes);
  };
  return { deps, store, capture, current, tick };
}

describe('publishTestStatus', () => {
  it('posts the test’s status with the context template and its status page', async () => {
    const port = createMemoryStatusPort();
    const { deps, current } = await setup(port);

    const outcome = await publishTestStatus(deps, await current());

    expect(outcome).toEqual({ posted: true, result: { ok: true } });
    expect(port.posts()).toEqual([
      {
        repo: 'ccextractor/ccextractor',
        sha: SHA,
        state: 'pending',
        context: 'CI - linux',
        description: 'Tests queued',
        targetUrl: TARGET,
      },
    ]);
  });

  it('notes what it posted on the test, leaving status and timeline alone', async () => {
    const { deps, current } = await setup();
    const before = await current();

    await publishTestStatus(deps, before);

    const after = await current();
    expect(after.githubStatus).toEqual({
      state: 'pending',
      description: 'Tests queued',
      at: at(2),
    });
    expect({ ...after, githubStatus: null }).toEqual(before);
  });

  it('posts nothing when the state and message are what GitHub already shows', async () => {
    const port = createMemoryStatusPort();
    const { deps, current } = await setup(port);
    await publishTestStatus(deps, await current());

    const outcome = await publishTestStatus(deps, await current());

    expect(outcome).toEqual({ posted: false, reason: 'unchanged' });
    expect(port.tries()).toBe(1);
  });

  it('posts again when the message changes', async () => {
    const port = createMemoryStatusPort();
    const { deps, store, current, tick } = await setup(port);
    await publishTestStatus(deps, await current());
    await store.transition(TEST_ID, claimMove({ message: 'Starting a VM' }));
    tick(3);

    const outcome = await publishTestStatus(deps, await current());

    expect(outcome.posted).toBe(true);
    expect(port.posts().map((p) => [p.state, p.description])).toEqual([
      ['pending', 'Tests queued'],
      ['pending', 'Starting a VM'],
    ]);
    expect((await current()).githubStatus).toEqual({
      state: 'pending',
      description: 'Starting a VM',
      at: at(3),
    });
  });

  it.each([
    { retriable: true, level: 'warn' },
    { retriable: false, level: 'error' },
  ])(
    'leaves githubStatus as it was when the post fails (retriable: $retriable, logged at $level)',
    async ({ retriable, level }) => {
      const port = createMemoryStatusPort();
      const { deps, current, capture } = await setup(port);
      port.failNext(5, { retriable, httpStatus: retriable ? 502 : 404, detail: 'GitHub said no' });

      const outcome = await publishTestStatus(deps, await current());

      expect(outcome).toEqual({
        posted: false,
        reason: 'failed',
        result: expect.objectContaining({ ok: false, retriable }),
      });
      expect((await current()).githubStatus).toBeNull();
      expect(capture.entries).toContainEqual(
        expect.objectContaining({
          level,
          message: expect.stringContaining('GitHub said no'),
          labels: { testId: TEST_ID, platform: 'linux' },
        }),
      );
    },
  );

  it('lets a later call post what a failed one could not', async () => {
    const port = createMemoryStatusPort({ attempts: 1 });
    const { deps, current } = await setup(port);
    port.failNext(1, { retriable: true, httpStatus: 503 });
    await publishTestStatus(deps, await current());

    const outcome = await publishTestStatus(deps, await current());

    expect(outcome.posted).toBe(true);
    expect((await current()).githubStatus?.description).toBe('Tests queued');
  });

  it('never throws: a port that rejects is logged as an error', async () => {
    const broken: CommitStatusPort = { post: () => Promise.reject(new Error('port bug')) };
    const { deps, current, capture } = await setup(broken);

    await expect(publishTestStatus(deps, await current())).resolves.toEqual({
      posted: false,
      reason: 'failed',
    });
    expect(capture.entries).toContainEqual(
      expect.objectContaining({ level: 'error', labels: { testId: TEST_ID, platform: 'linux' } }),
    );
  });

  it('a publisher that posts an older state after a newer one posts the newer one again', async () => {
    const port = createMemoryStatusPort();
    const { deps, store, current } = await setup(port);
    const old = await current(); // "Tests queued", as a slow publisher read it
    const moved = await store.transition(TEST_ID, {
      from: [old.status],
      to: 'canceled',
      at: at(3),
      message: 'PR closed',
    });
    expect(moved.ok).toBe(true);
    // The newer state is published first, then the slow publisher's older one lands.
    await publishTestStatus(deps, await current());
    await publishTestStatus(deps, old);

    expect(port.posts().map((p) => p.description)).toEqual([
      'PR closed',
      'Tests queued',
      'PR closed',
    ]);
    expect((await current()).githubStatus).toMatchObject({ description: 'PR closed' });
  });

  it('reads the test no more after a post: the note of the post returns it as stored', async () => {
    const port = createMemoryStatusPort();
    const { deps, store, current } = await setup(port);
    let reads = 0;
    const counting: TestStore = {
      ...store,
      getTest: (id) => {
        reads += 1;
        return store.getTest(id);
      },
    };

    await publishTestStatus({ ...deps, store: counting }, await current());

    expect(port.posts()).toHaveLength(1);
    expect(reads).toBe(0);
    // When the note fails, the test is read instead, to catch up with a newer state.
    const failing: TestStore = {
      ...counting,
      recordStatusPosted: () => Promise.reject(new Error('firestore unavailable')),
    };
    const moved = await store.transition(TEST_ID, claimMove());
    if (!moved.ok) throw new Error('the move failed');
    await publishTestStatus({ ...deps, store: failing }, moved.test);
    expect(reads).toBe(1);
  });

  it('a publisher does not post again what another posted after it (both chasing the newest)', async () => {
    const port = createMemoryStatusPort();
    const { deps, store, current, tick } = await setup(port);
    let interleaved = false;
    // Publisher A's post is noted; before A reads the test again, the test moves
    // on and publisher B posts and notes the newer state, later than A's post.
    const racing: TestStore = {
      ...store,
      recordStatusPosted: async (id, posted) => {
        const noted = await store.recordStatusPosted(id, posted);
        if (!interleaved) {
          interleaved = true;
          tick(4);
          const moved = await store.transition(TEST_ID, {
            from: ['queued'],
            to: 'canceled',
            at: at(4),
            message: 'PR closed',
          });
          if (!moved.ok) throw new Error('the move failed');
          await publishTestStatus(deps, moved.test);
        }
        return noted;
      },
    };

    await publishTestStatus({ ...deps, store: racing }, await current());

    expect(interleaved).toBe(true);
    expect(port.posts().map((p) => p.description)).toEqual(['Tests queued', 'PR closed']);
    expect((await current()).githubStatus).toMatchObject({ description: 'PR closed' });
  });

  it('still reports the post when the store cannot note it', async () => {
    const port = createMemoryStatusPort();
    const { deps, current, capture } = await setup(port);
    const store: TestStore = {
      ...deps.store,
      recordStatusPosted: () => Promise.reject(new Error('firestore unavailable')),
    };

    const outcome = await publishTestStatus({ ...deps, store }, await current());

    expect(outcome).toEqual({ posted: true, result: { ok: true } });
    expect(port.posts()).toHaveLength(1);
    expect(capture.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', message: 'commit status posted but not recorded' }),
    );
  });

  it('warns when the store does not know the test it posted for', async () => {
    const { deps, capture } = await setup();

    const outcome = await publishTestStatus(deps, testRecord({ id: 'gone', sha: SHA }));

    expect(outcome.posted).toBe(true);
    expect(capture.entries).toContainEqual(
      expect.objectContaining({ level: 'warn', labels: { testId: 'gone', platform: 'linux' } }),
    );
  });

  it('builds the status page URL without a doubled slash', () => {
    expect(testStatusUrl('https://ci.example.com/', 'a b')).toBe(
      'https://ci.example.com/status/tests/a%20b',
    );
  });
});

describe('publishTestStatus through Octokit and the local GitHub stand-in', () => {
  const TOKEN = 'ghp_publishEndToEnd0123456789abcdefghijk';
  let github: GitHubStandIn;
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    github = createGitHubStandIn({ token: TOKEN });
    server = await serve([github]);
  });
  afterAll(() => server.close());

  it('posts once, skips an unchanged state, posts a change, and retries a failed post later', async () => {
    const time = fakeTime();
    const statuses = createGitHubStatusPort({
      clients: createGitHubClients({
        baseUrl: `${server.url}/github`,
        auth: { kind: 'token', token: TOKEN },
      }),
      sleep: time.sleep,
      now: time.now,
    });
    const { deps, store, current } = await setup(statuses);
    const repo = 'ccextractor/ccextractor';
    const posts = () => github.calls().filter((c) => c.method === 'POST').length;

    await expect(publishTestStatus(deps, await current())).resolves.toMatchObject({ posted: true });
    await expect(publishTestStatus(deps, await current())).resolves.toEqual({
      posted: false,
      reason: 'unchanged',
    });
    expect(posts()).toBe(1);
    expect(github.statuses(repo, SHA)).toEqual([
      expect.objectContaining({
        state: 'pending',
        context: 'CI - linux',
        description: 'Tests queued',
        target_url: TARGET,
      }),
    ]);

    await store.transition(TEST_ID, claimMove({ message: 'Starting a VM' }));
    github.injectFault({ method: 'POST', path: '/statuses/', status: 502, count: 3 });
    await expect(publishTestStatus(deps, await current())).resolves.toMatchObject({
      posted: false,
      reason: 'failed',
      result: { ok: false, retriable: true, httpStatus: 502 },
    });
    expect((await current()).githubStatus?.description).toBe('Tests queued');

    await expect(publishTestStatus(deps, await current())).resolves.toMatchObject({ posted: true });
    expect(github.statuses(repo, SHA).map((s) => s.description)).toEqual([
      'Starting a VM',
      'Tests queued',
    ]);
    expect((await current()).githubStatus?.description).toBe('Starting a VM');
  });
});
