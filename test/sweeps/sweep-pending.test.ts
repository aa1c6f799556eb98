// sweepPending (DESIGN §3.3) on the in-memory store and on the Firestore
// emulator, with the memory queue and status port: lost tasks and dead claims
// get a task of the next generation, maintenance parks and wakes tests, and
// pending tests go into free slots, oldest first, within the batch; two runs
// at once make one task per generation and post each change once.
import type { VmciConfig } from '../../shared/config';
import { platformInMaintenance, TESTS_QUEUED, waitingForSlot } from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import type { TestStore } from '../../shared/store/port';
import { noCounts } from '../../shared/sweeps/deps';
import { PENDING_GRACE_MS, QUEUED_GRACE_MS, sweepPending } from '../../shared/sweeps/sweep-pending';
import { useStore } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';
import {
  at,
  harness,
  seededHarness,
  holdSlots,
  loseTask,
  NOW,
  pendingTest,
  queuedTest,
  runningTest,
  startingTest,
  statusesOf,
  sweepConfig,
  taskGenerations,
  waitingTest,
  type Harness,
} from './support';

const counts = (c: Partial<ReturnType<typeof noCounts>>) => ({ ...noCounts(), ...c });

/** The descriptions posted for each test, in order. */
function postsByTest(h: Harness): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const post of h.statuses.posts()) {
    const id = decodeURIComponent(post.targetUrl?.split('/').pop() ?? '');
    (out[id] ??= []).push(post.description);
  }
  return out;
}

/** Timeline entries the sweep added (at NOW), as `status: message`. */
async function changesOf(store: TestStore, id: string): Promise<string[]> {
  const test = await store.getTest(id);
  return (test?.timeline ?? [])
    .filter((e) => e.at.getTime() >= NOW.getTime())
    .map((e) => `${e.status}: ${e.message}`);
}

describe.each(storeKinds('vmci-sweeps-pending'))('sweepPending ($name)', ({ make }) => {
  const current = useStore(make);

  const setup = (tests: readonly TestRecord[], options: { config?: VmciConfig } = {}) =>
    seededHarness(current().store, tests, options);

  describe('queued tests whose task was lost', () => {
    it('get a task of generation + 1 and stay queued with that generation', async () => {
      const before = queuedTest('q1', { enqueueGeneration: 3, updatedAt: at(1) });
      const h = await setup([before]);
      await loseTask(h.queue, 'q1', 3);

      const summary = await sweepPending(h.deps);

      expect(summary.lostTasks).toEqual(counts({ found: 1, done: 1 }));
      expect(h.queue.stateCalls()).toContainEqual({ testId: 'q1', generation: 3 });
      expect(taskGenerations(h.queue)).toEqual({ q1: [4] });
      expect(await h.store.getTest('q1')).toMatchObject({
        status: 'queued',
        enqueueGeneration: 4,
        attempts: before.attempts,
        queuedAt: NOW,
        updatedAt: NOW,
        message: TESTS_QUEUED,
      });
      const [line] = h.logs.find('The task of a queued test was gone; queued again');
      expect(line).toMatchObject({
        level: 'warn',
        labels: { testId: 'q1', platform: 'linux' },
        fields: { lostGeneration: 3 },
      });

      // The next run finds the new task and leaves the test alone.
      h.clock.advance(2 * QUEUED_GRACE_MS);
      const again = await sweepPending(h.deps);
      expect(again.lostTasks).toEqual(counts({ found: 1, skipped: 1 }));
      expect(taskGenerations(h.queue)).toEqual({ q1: [4] });
      expect((await h.store.getTest('q1'))?.enqueueGeneration).toBe(4);
    });

    it('whose task still exists get no new task; a status nobody posted yet is posted, once', async () => {
      const before = queuedTest('q1', { enqueueGeneration: 2 });
      const h = await setup([before]);
      await h.queue.enqueue({ testId: 'q1', generation: 2 });

      const summary = await sweepPending(h.deps);

      expect(summary.lostTasks).toEqual(counts({ found: 1, skipped: 1 }));
      // The webhook leaves a queued test's first status to runTest's claim; a
      // task that waits this long (a full queue) is shown queued by the sweep.
      const after = await h.store.getTest('q1');
      expect(after).toEqual({ ...before, githubStatus: expect.anything() });
      expect(after?.githubStatus).toMatchObject({ state: 'pending', description: before.message });
      expect(taskGenerations(h.queue)).toEqual({ q1: [2] });
      expect(h.statuses.posts().map((p) => p.description)).toEqual([before.message]);

      h.clock.advance(2 * QUEUED_GRACE_MS);
      await sweepPending(h.deps);
      expect(h.statuses.posts()).toHaveLength(1);
    });

    it('queued more recently than QUEUED_GRACE_MS: the queue is not even asked', async () => {
      const ago = (ms: number) => new Date(NOW.getTime() - ms);
      const recent = queuedTest('recent', { updatedAt: ago(1000) });
      const edge = queuedTest('edge', { updatedAt: ago(QUEUED_GRACE_MS) });
      const old = queuedTest('old', { updatedAt: ago(QUEUED_GRACE_MS + 1) });
      const h = await setup([recent, edge, old]);

      const summary = await sweepPending(h.deps);

      expect(h.queue.stateCalls().map((c) => c.testId)).toEqual(['old']);
      expect(summary.lostTasks).toEqual(counts({ found: 1, done: 1 }));
      expect(await h.store.getTest('recent')).toEqual(recent);
      expect(await h.store.getTest('edge')).toEqual(edge);
      expect(taskGenerations(h.queue)).toEqual({ old: [2] });
    });

    it.each([
      { queue: 'unreachable (UNAVAILABLE)', failure: { retriable: true } },
      { queue: 'missing (NOT_FOUND)', failure: { retriable: false } },
    ])('the queue $queue: counted as errors, the test unchanged', async ({ failure }) => {
      const before = queuedTest('q1');
      const h = await setup([before]);
      h.queue.failWith(failure);

      const summary = await sweepPending(h.deps);

      expect(summary.lostTasks).toEqual(counts({ found: 1, errors: 1 }));
      expect(await h.store.getTest('q1')).toEqual(before);
      expect(h.queue.tasks()).toEqual([]);

      // Once the queue answers again, the next run gives the test its task.
      h.queue.failWith(null);
      expect((await sweepPending(h.deps)).lostTasks).toEqual(counts({ found: 1, done: 1 }));
      expect(taskGenerations(h.queue)).toEqual({ q1: [2] });
    });

    it('an enqueue that fails is an error for that test only', async () => {
      const h = await setup([
        queuedTest('q1', { updatedAt: at(1) }),
        queuedTest('q2', { updatedAt: at(2) }),
      ]);
      h.queue.failNext(1, { retriable: true });

      const summary = await sweepPending(h.deps);

      expect(summary.lostTasks).toEqual(counts({ found: 2, done: 1, errors: 1 }));
      expect(taskGenerations(h.queue)).toEqual({ q2: [2] });
      expect((await h.store.getTest('q1'))?.enqueueGeneration).toBe(1);
    });

    it('pendingBatch bounds the step, and `more` says so', async () => {
      const config = sweepConfig(['sweeps.pendingBatch', 2]);
      const h = await setup(
        [1, 2, 3].map((n) => queuedTest(`q${n}`, { updatedAt: at(n) })),
        { config },
      );

      const first = await sweepPending(h.deps);
      expect(first.lostTasks).toEqual(counts({ found: 2, done: 2, more: true }));
      expect(taskGenerations(h.queue)).toEqual({ q1: [2], q2: [2] });

      h.clock.advance(1000);
      const second = await sweepPending(h.deps);
      expect(second.lostTasks).toEqual(counts({ found: 1, done: 1 }));
      expect(taskGenerations(h.queue)).toEqual({ q1: [2], q2: [2], q3: [2] });
    });
  });

  describe('starting tests whose claim outlived its handler', () => {
    it('lease expired, task gone: a task of generation + 1, still starting, attempts and slot kept', async () => {
      const before = startingTest('s1', {
        enqueueGeneration: 2,
        attempts: 3,
        leaseExpiresAt: at(20),
        updatedAt: at(10),
      });
      const h = await setup([before]);
      await holdSlots(h.store, 'linux', 's1');
      await loseTask(h.queue, 's1', 2);

      const summary = await sweepPending(h.deps);

      expect(summary.expiredClaims).toEqual(counts({ found: 1, done: 1 }));
      expect(taskGenerations(h.queue)).toEqual({ s1: [3] });
      expect(await h.store.getTest('s1')).toMatchObject({
        status: 'starting',
        enqueueGeneration: 3,
        attempts: 3,
        leaseExpiresAt: at(20),
        instance: before.instance,
        message: before.message,
      });
      expect(await h.store.slotHolders('linux')).toEqual(['s1']);
      expect(h.logs.find('A claim outlived its handler; a new task takes it over')).toEqual([
        expect.objectContaining({ level: 'warn', labels: { testId: 's1', platform: 'linux' } }),
      ]);

      // The new task lives: the next run leaves the claim to it.
      h.clock.advance(60_000);
      expect((await sweepPending(h.deps)).expiredClaims).toEqual(counts({ found: 1, skipped: 1 }));
      expect(taskGenerations(h.queue)).toEqual({ s1: [3] });
    });

    it('a lease that ends exactly now has expired', async () => {
      const h = await setup([startingTest('s1', { leaseExpiresAt: NOW })]);
      await loseTask(h.queue, 's1', 1);

      await sweepPending(h.deps);

      expect(taskGenerations(h.queue)).toEqual({ s1: [2] });
    });

    it('lease expired but its task is still in the queue: untouched', async () => {
      const before = startingTest('s1', { leaseExpiresAt: at(5) });
      const h = await setup([before]);
      await h.queue.enqueue({ testId: 's1', generation: 1 });

      const summary = await sweepPending(h.deps);

      expect(summary.expiredClaims).toEqual(counts({ found: 1, skipped: 1 }));
      expect(await h.store.getTest('s1')).toEqual(before);
      expect(taskGenerations(h.queue)).toEqual({ s1: [1] });
    });

    it('a valid lease: untouched, and the queue is not asked', async () => {
      const before = startingTest('s1', { leaseExpiresAt: at(31) });
      const h = await setup([before]);

      const summary = await sweepPending(h.deps);

      expect(summary.expiredClaims).toEqual(counts({}));
      expect(h.queue.stateCalls()).toEqual([]);
      expect(await h.store.getTest('s1')).toEqual(before);
      expect(h.queue.tasks()).toEqual([]);
    });

    it('an unreachable queue: an error, the claim untouched', async () => {
      const before = startingTest('s1');
      const h = await setup([before]);
      h.queue.failWith({ retriable: true });

      const summary = await sweepPending(h.deps);

      expect(summary.expiredClaims).toEqual(counts({ found: 1, errors: 1 }));
      expect(await h.store.getTest('s1')).toEqual(before);
    });
  });

  describe('maintenance', () => {
    const parked = (id: string, overrides: Partial<TestRecord> = {}) =>
      waitingTest(id, 'maintenance', { message: platformInMaintenance('linux'), ...overrides });

    it('over: a waiting test becomes pending, then queued in the same run, each change posted', async () => {
      const h = await setup([parked('w1', { updatedAt: at(2) })]);

      const summary = await sweepPending(h.deps);

      expect(summary.woken).toEqual(counts({ found: 1, done: 1 }));
      expect(summary.enqueued).toEqual(counts({ found: 1, done: 1 }));
      expect(await h.store.getTest('w1')).toMatchObject({
        status: 'queued',
        waitReason: null,
        enqueueGeneration: 1,
        message: TESTS_QUEUED,
      });
      expect(await changesOf(h.store, 'w1')).toEqual([
        `pending: ${waitingForSlot('linux')}`,
        `queued: ${TESTS_QUEUED}`,
      ]);
      expect(h.statuses.posts()).toEqual([
        expect.objectContaining({
          state: 'pending',
          context: 'ci/linux',
          description: waitingForSlot('linux'),
          targetUrl: `${h.config.publicUrl}/status/tests/w1`,
        }),
        expect.objectContaining({ state: 'pending', description: TESTS_QUEUED }),
      ]);
      expect(taskGenerations(h.queue)).toEqual({ w1: [1] });
    });

    it('over, but no free slot: the woken test waits pending, posted once', async () => {
      const h = await setup([parked('w1'), runningTest('r1'), runningTest('r2')]);
      await holdSlots(h.store, 'linux', 'r1', 'r2');

      await sweepPending(h.deps);

      expect(await h.store.getTest('w1')).toMatchObject({
        status: 'pending',
        waitReason: null,
        message: waitingForSlot('linux'),
      });
      expect(postsByTest(h)).toEqual({ w1: [waitingForSlot('linux')] });
      expect(h.queue.tasks()).toEqual([]);
    });

    it('tests waiting for an approval or a build are not woken', async () => {
      const approval = waitingTest('a1', 'approval');
      const build = waitingTest('b1', 'build');
      const h = await setup([approval, build]);

      const summary = await sweepPending(h.deps);

      expect(summary.woken).toEqual(counts({}));
      expect(await h.store.getTest('a1')).toEqual(approval);
      expect(await h.store.getTest('b1')).toEqual(build);
      expect(h.statuses.posts()).toEqual([]);
      expect(h.queue.tasks()).toEqual([]);
    });

    it('on: waiting tests stay, pending tests are parked, other platforms go on', async () => {
      const w1 = parked('w1');
      const config = sweepConfig(['platforms.linux.maintenance', true]);
      const h = await setup(
        [
          w1,
          pendingTest('p1', { updatedAt: at(3) }),
          pendingTest('p2', { updatedAt: at(4) }),
          pendingTest('pw', { platform: 'windows', updatedAt: at(5) }),
        ],
        { config },
      );

      const summary = await sweepPending(h.deps);

      expect(summary.parked).toEqual(counts({ found: 2, done: 2 }));
      expect(summary.woken).toEqual(counts({}));
      expect(await h.store.getTest('w1')).toEqual(w1);
      for (const id of ['p1', 'p2']) {
        expect(await h.store.getTest(id)).toMatchObject({
          status: 'waiting',
          waitReason: 'maintenance',
          message: platformInMaintenance('linux'),
        });
      }
      expect(await h.store.getTest('pw')).toMatchObject({ status: 'queued' });
      expect(taskGenerations(h.queue)).toEqual({ pw: [1] });
      expect(postsByTest(h)).toEqual({
        p1: [platformInMaintenance('linux')],
        p2: [platformInMaintenance('linux')],
        pw: [TESTS_QUEUED],
      });

      // Maintenance over: all three wake; the two free slots go to the two that
      // waited longest (w1 waited before p1 and p2 were parked).
      const after = harness(h.store, { config: sweepConfig(), now: at(40) });
      const woken = await sweepPending(after.deps);
      expect(woken.woken).toEqual(counts({ found: 3, done: 3 }));
      expect(await statusesOf(h.store, 'p1', 'p2', 'w1')).toEqual({
        p1: 'queued',
        p2: 'pending',
        w1: 'queued',
      });
    });
  });

  describe('pending tests into free slots', () => {
    it('leaves a test pending for less than PENDING_GRACE_MS to the webhook or end that queues it', async () => {
      const ms = (delta: number) => new Date(NOW.getTime() - PENDING_GRACE_MS + delta);
      const h = await setup([
        pendingTest('fresh', { updatedAt: ms(0) }),
        pendingTest('waited', { updatedAt: ms(-1) }),
      ]);

      await sweepPending(h.deps);

      expect(await statusesOf(h.store, 'fresh', 'waited')).toEqual({
        fresh: 'pending',
        waited: 'queued',
      });
      expect(postsByTest(h)).toEqual({ waited: [TESTS_QUEUED] });
    });

    it.each([
      { maxConcurrent: 2, holders: 0, queued: 0, pending: 3, expected: 2 },
      { maxConcurrent: 3, holders: 1, queued: 1, pending: 4, expected: 1 },
      { maxConcurrent: 4, holders: 1, queued: 0, pending: 2, expected: 2 },
      { maxConcurrent: 2, holders: 2, queued: 0, pending: 2, expected: 0 },
      { maxConcurrent: 2, holders: 0, queued: 2, pending: 2, expected: 0 },
      { maxConcurrent: 2, holders: 3, queued: 0, pending: 2, expected: 0 },
      // More free slots than a list may return: the queued tests are counted, not listed.
      { maxConcurrent: 5000, holders: 1, queued: 1, pending: 3, expected: 3 },
    ])(
      'maxConcurrent $maxConcurrent, $holders slot holders, $queued queued: $expected of $pending queued, least recently updated first',
      async ({ maxConcurrent, holders, queued, pending, expected }) => {
        // Updated in an order that is neither the ids' nor the creation order.
        const minutes = [9, 3, 7, 5, 4, 8].slice(0, pending);
        const pendings = minutes.map((m, i) => pendingTest(`p${i}`, { updatedAt: at(m) }));
        const holding = Array.from({ length: holders }, (_, i) => runningTest(`r${i}`));
        const queuedOnes = Array.from({ length: queued }, (_, i) =>
          queuedTest(`q${i}`, { updatedAt: at(29) }),
        );
        const config = sweepConfig(['platforms.linux.maxConcurrent', maxConcurrent]);
        const h = await setup([...pendings, ...holding, ...queuedOnes], { config });
        await holdSlots(h.store, 'linux', ...holding.map((t) => t.id));
        for (const q of queuedOnes) await h.queue.enqueue({ testId: q.id, generation: 1 });

        const summary = await sweepPending(h.deps);

        const oldestFirst = [...pendings]
          .sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime())
          .map((t) => t.id);
        const chosen = oldestFirst.slice(0, expected);
        const statuses = await statusesOf(h.store, ...oldestFirst);
        expect(statuses).toEqual(
          Object.fromEntries(
            oldestFirst.map((id) => [id, chosen.includes(id) ? 'queued' : 'pending']),
          ),
        );
        expect(summary.enqueued).toMatchObject({ done: expected, errors: 0 });
        const tasks = taskGenerations(h.queue);
        for (const id of chosen) expect(tasks[id]).toEqual([1]);
        expect(Object.keys(postsByTest(h)).sort()).toEqual([...chosen].sort());
        for (const id of chosen) expect(postsByTest(h)[id]).toEqual([TESTS_QUEUED]);
      },
    );

    it('equal updatedAt: by id', async () => {
      const h = await setup(
        ['pc', 'pa', 'pb'].map((id) => pendingTest(id, { updatedAt: at(4) })),
        { config: sweepConfig(['platforms.linux.maxConcurrent', 1]) },
      );

      await sweepPending(h.deps);

      expect(await statusesOf(h.store, 'pa', 'pb', 'pc')).toEqual({
        pa: 'queued',
        pb: 'pending',
        pc: 'pending',
      });
    });

    it('pendingBatch bounds each run, and `more` says so', async () => {
      const config = sweepConfig(['sweeps.pendingBatch', 2], ['platforms.linux.maxConcurrent', 10]);
      const h = await setup(
        [1, 2, 3, 4, 5].map((n) => pendingTest(`p${n}`, { updatedAt: at(n) })),
        { config },
      );
      const queuedNow = async () =>
        Object.values(await statusesOf(h.store, 'p1', 'p2', 'p3', 'p4', 'p5')).filter(
          (s) => s === 'queued',
        ).length;

      expect((await sweepPending(h.deps)).enqueued).toEqual(
        counts({ found: 2, done: 2, more: true }),
      );
      expect(await statusesOf(h.store, 'p1', 'p2', 'p3')).toEqual({
        p1: 'queued',
        p2: 'queued',
        p3: 'pending',
      });
      h.clock.advance(1000);
      expect((await sweepPending(h.deps)).enqueued).toEqual(
        counts({ found: 2, done: 2, more: true }),
      );
      expect(await queuedNow()).toBe(4);
      h.clock.advance(1000);
      expect((await sweepPending(h.deps)).enqueued).toEqual(counts({ found: 1, done: 1 }));
      expect(await queuedNow()).toBe(5);
    });

    it('stopping at the free slots is not a backlog: `more` stays false', async () => {
      const h = await setup([1, 2, 3, 4, 5].map((n) => pendingTest(`p${n}`, { updatedAt: at(n) })));

      const summary = await sweepPending(h.deps);

      expect(summary.enqueued).toEqual(counts({ found: 2, done: 2 }));
    });

    it('one failing enqueue: an error for that test, the next one still queued', async () => {
      const h = await setup([
        pendingTest('p1', { updatedAt: at(1) }),
        pendingTest('p2', { updatedAt: at(2) }),
      ]);
      h.queue.failNext(1, { retriable: true });

      const summary = await sweepPending(h.deps);

      expect(summary.enqueued).toEqual(counts({ found: 2, done: 1, errors: 1 }));
      expect(await statusesOf(h.store, 'p1', 'p2')).toEqual({ p1: 'pending', p2: 'queued' });
      expect(postsByTest(h)).toEqual({ p2: [TESTS_QUEUED] });
    });
  });

  describe('two runs at once', () => {
    /** Lost tasks, a dead claim, a maintenance over and pending tests on both platforms. */
    async function seedMixed(): Promise<Harness> {
      const config = sweepConfig(['platforms.linux.maxConcurrent', 5]);
      const h = await setup(
        [
          queuedTest('l1', { updatedAt: at(1) }),
          queuedTest('l2', { updatedAt: at(2) }),
          startingTest('s1', { leaseExpiresAt: at(5), updatedAt: at(4) }),
          ...[2, 3, 4, 5].map((m) => pendingTest(`p${m}`, { updatedAt: at(m) })),
          waitingTest('m1', 'maintenance', {
            platform: 'windows',
            message: platformInMaintenance('windows'),
            updatedAt: at(1),
          }),
          pendingTest('w1', { platform: 'windows', updatedAt: at(3) }),
        ],
        { config },
      );
      await holdSlots(h.store, 'linux', 's1');
      await loseTask(h.queue, 'l1', 1);
      await loseTask(h.queue, 'l2', 1);
      await loseTask(h.queue, 's1', 1);
      return h;
    }

    /** What one run alone makes of seedMixed. */
    const EXPECTED = {
      statuses: {
        l1: 'queued',
        l2: 'queued',
        s1: 'starting',
        p2: 'queued',
        p3: 'queued',
        p4: 'pending',
        p5: 'pending',
        m1: 'pending',
        w1: 'queued',
      },
      tasks: { l1: [2], l2: [2], s1: [2], p2: [1], p3: [1], w1: [1] },
      posts: {
        // A lost task's test is queued afresh, and says so.
        l1: [TESTS_QUEUED],
        l2: [TESTS_QUEUED],
        p2: [TESTS_QUEUED],
        p3: [TESTS_QUEUED],
        m1: [waitingForSlot('windows')],
        w1: [TESTS_QUEUED],
      },
    };
    const IDS = Object.keys(EXPECTED.statuses);

    async function expectConsistent(h: Harness): Promise<void> {
      expect(await statusesOf(h.store, ...IDS)).toEqual(EXPECTED.statuses);
      // One task per test and generation: no test was given two generations.
      expect(taskGenerations(h.queue)).toEqual(EXPECTED.tasks);
      for (const [id, [generation]] of Object.entries(EXPECTED.tasks)) {
        expect((await h.store.getTest(id))?.enqueueGeneration).toBe(generation);
      }
      // One post per change, and one timeline entry per change.
      expect(postsByTest(h)).toEqual(EXPECTED.posts);
      expect(await changesOf(h.store, 'l1')).toEqual([`queued: ${TESTS_QUEUED}`]);
      expect(await changesOf(h.store, 'm1')).toEqual([`pending: ${waitingForSlot('windows')}`]);
      expect(await changesOf(h.store, 'p2')).toEqual([`queued: ${TESTS_QUEUED}`]);
      expect((await changesOf(h.store, 's1')).length).toBe(1);
      expect(await h.store.slotHolders('linux')).toEqual(['s1']);
    }

    it('one run alone: the reference outcome', async () => {
      const h = await seedMixed();

      await sweepPending(h.deps);

      await expectConsistent(h);
    });

    it('two runs started together (two store handles): the same outcome', async () => {
      const h = await seedMixed();

      await Promise.all([sweepPending(h.deps), sweepPending(h.depsWith(current().peer()))]);

      await expectConsistent(h);
    });

    it('a run that counts free slots before the other queues into them queues none of them again', async () => {
      const config = sweepConfig(['platforms.linux.maxConcurrent', 2]);
      const h = await setup(
        [1, 2, 3, 4].map((n) => pendingTest(`p${n}`, { updatedAt: at(n) })),
        { config },
      );
      // The window: B counts the queued tests, then A queues into the free
      // slots, then B lists the pending ones. Each wait gives up after 2 s, for
      // a run that does not come.
      let bCounted!: () => void;
      const bHasCounted = new Promise<void>((resolve) => (bCounted = resolve));
      const within2s = (p: Promise<unknown>) =>
        Promise.race([p, new Promise((resolve) => setTimeout(resolve, 2000))]);
      const untilQueued = async (store: TestStore, id: string) => {
        while ((await store.getTest(id))?.status !== 'queued') {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const a = h.store;
      const b = current().peer();
      const runA: TestStore = {
        ...a,
        listByStatus: async (status, opts) => {
          if (status === 'pending' && opts.platform === 'linux') await within2s(bHasCounted);
          return a.listByStatus(status, opts);
        },
      };
      const runB: TestStore = {
        ...b,
        listByStatus: async (status, opts) => {
          if (status === 'pending' && opts.platform === 'linux')
            await within2s(untilQueued(b, 'p1'));
          const tests = await b.listByStatus(status, opts);
          if (status === 'queued' && opts.platform === 'linux') bCounted();
          return tests;
        },
      };

      await Promise.all([sweepPending(h.depsWith(runA)), sweepPending(h.depsWith(runB))]);

      expect(await statusesOf(h.store, 'p1', 'p2', 'p3', 'p4')).toEqual({
        p1: 'queued',
        p2: 'queued',
        p3: 'pending',
        p4: 'pending',
      });
      expect(taskGenerations(h.queue)).toEqual({ p1: [1], p2: [1] });
    });

    it('a test one run wakes and the other queues: each change posted once', async () => {
      const h = await setup([
        waitingTest('m1', 'maintenance', {
          platform: 'windows',
          message: platformInMaintenance('windows'),
          updatedAt: at(1),
        }),
      ]);

      await Promise.all([sweepPending(h.deps), sweepPending(h.depsWith(current().peer()))]);

      expect(await statusesOf(h.store, 'm1')).toEqual({ m1: 'queued' });
      expect(taskGenerations(h.queue)).toEqual({ m1: [1] });
      expect(await changesOf(h.store, 'm1')).toEqual([
        `pending: ${waitingForSlot('windows')}`,
        `queued: ${TESTS_QUEUED}`,
      ]);
      expect(postsByTest(h)).toEqual({ m1: [waitingForSlot('windows'), TESTS_QUEUED] });
    });
  });
});
