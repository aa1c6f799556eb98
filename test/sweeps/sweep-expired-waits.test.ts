// Waiting has an end (issue 12, item 5), on the in-memory store and on the
// Firestore emulator: sweepExpired ends `error` a test that waited for its
// build longer than its platform's waitForBuildMinutes, or for an approval
// longer than waitForApprovalDays, counted from when that wait began, with a
// line that says what to do; a wait for maintenance never ends this way; a
// test released meanwhile is left alone; two runs at once end and post once.
import type { VmciConfig } from '../../shared/config';
import {
  approvalWaitExpired,
  buildWaitExpired,
  platformInMaintenance,
  STATUS_LINE_MAX,
  TESTS_QUEUED,
  WAITING_FOR_APPROVAL,
  WAITING_FOR_BUILD,
} from '../../shared/domain/messages';
import type { TestRecord } from '../../shared/domain/test';
import type { TestStore } from '../../shared/store/port';
import { noCounts } from '../../shared/sweeps/deps';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';
import type { Change } from '../config/fixtures';
import { useStore } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';
import { harness, NOW, seededHarness, sweepConfig, waitingTest, type Harness } from './support';

const counts = (c: Partial<ReturnType<typeof noCounts>>) => ({ ...noCounts(), ...c });
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

/** linux builds with build.yml, and waits for it at most 30 minutes; windows has no build. */
const withBuild = (...more: readonly Change[]) =>
  sweepConfig(
    ['platforms.linux.buildWorkflow', 'build.yml'],
    ['platforms.linux.artifactName', 'ccextractor-linux'],
    ['platforms.linux.waitForBuildMinutes', 30],
    ...more,
  );

/** GitHub shows the build of the tests' commit still running. */
function buildStillRunning(h: Harness): Harness {
  h.github.addWorkflowRun('ccextractor/ccextractor', 'build.yml', 'a'.repeat(40), {
    id: 1,
    attempt: 1,
    status: 'in_progress',
    conclusion: null,
  });
  return h;
}

function postsOf(h: Harness, id: string) {
  return h.statuses
    .posts()
    .filter((p) => p.targetUrl?.endsWith(`/status/tests/${id}`))
    .map(({ state, description, context }) => ({ state, description, context }));
}

describe.each(storeKinds('vmci-sweeps-waits'))('sweepExpired: waits ($name)', ({ make }) => {
  const current = useStore(make);

  // The build never finishes: GitHub shows its run still going (a build that
  // never ran at all ends sooner, as not tested: sweep-expired-builds.test.ts).
  const setup = async (tests: readonly TestRecord[], options: { config?: VmciConfig } = {}) =>
    buildStillRunning(await seededHarness(current().store, tests, options));

  it('a build wait past the platform’s limit ends error, with the line on GitHub; one within it is left', async () => {
    const config = withBuild();
    const late = waitingTest('late', 'build', {
      message: WAITING_FOR_BUILD,
      waitingSince: ago(30 * MINUTE + 1),
      updatedAt: ago(30 * MINUTE + 1),
    });
    const edge = waitingTest('edge', 'build', {
      message: WAITING_FOR_BUILD,
      waitingSince: ago(30 * MINUTE),
      updatedAt: ago(30 * MINUTE),
    });
    const h = await setup([late, edge], { config });

    const summary = await sweepExpired(h.deps);

    const line = buildWaitExpired('build.yml', 30);
    expect(line).toBe(
      'No build of build.yml finished within 30 min: check the workflow, then push again',
    );
    expect(summary.waits).toEqual(counts({ found: 1, done: 1 }));
    const ended = await h.store.getTest('late');
    expect(ended).toMatchObject({
      status: 'error',
      message: line,
      waitReason: null,
      waitingSince: null,
      finishedAt: NOW,
    });
    expect(ended?.timeline.at(-1)).toEqual({ at: NOW, status: 'error', message: line });
    expect(postsOf(h, 'late')).toEqual([
      { state: 'error', description: line, context: 'ci/linux' },
    ]);
    // Nothing to release: a waiting test holds no slot, has no VM and no task.
    expect(h.queue.tasks()).toEqual([]);
    expect(await h.store.slotHolders('linux')).toEqual([]);
    expect(h.logs.find('A wait ran past its limit; test ended')).toEqual([
      expect.objectContaining({
        level: 'info',
        labels: { testId: 'late', platform: 'linux' },
        fields: expect.objectContaining({ waitReason: 'build', limitMinutes: 30 }),
      }),
    ]);
    // Exactly at the limit: not yet.
    expect(await h.store.getTest('edge')).toEqual(edge);
  });

  it('without waitForBuildMinutes, a build wait lasts 120 minutes', async () => {
    const config = sweepConfig(
      ['platforms.linux.buildWorkflow', 'build.yml'],
      ['platforms.linux.artifactName', 'ccextractor-linux'],
    );
    const within = waitingTest('within', 'build', { waitingSince: ago(119 * MINUTE) });
    const past = waitingTest('past', 'build', { waitingSince: ago(121 * MINUTE) });
    const h = await setup([within, past], { config });

    await sweepExpired(h.deps);

    expect((await h.store.getTest('within'))?.status).toBe('waiting');
    expect(await h.store.getTest('past')).toMatchObject({
      status: 'error',
      message: buildWaitExpired('build.yml', 120),
    });
  });

  it('an approval wait past waitForApprovalDays ends error; a maintenance wait never ends this way', async () => {
    // linux is in maintenance: its test passed every other gate and waits for the platform.
    const config = sweepConfig(['waitForApprovalDays', 3], ['platforms.linux.maintenance', true]);
    const approval = waitingTest('approval', 'approval', {
      platform: 'windows',
      message: WAITING_FOR_APPROVAL,
      waitingSince: ago(3 * DAY + 1),
    });
    const recent = waitingTest('recent', 'approval', { waitingSince: ago(3 * DAY - MINUTE) });
    const maintenance = waitingTest('maint', 'maintenance', {
      message: platformInMaintenance('linux'),
      waitingSince: ago(1000 * DAY),
    });
    const h = await setup([approval, recent, maintenance], { config });

    const summary = await sweepExpired(h.deps);

    const line = approvalWaitExpired(3);
    expect(line).toBe(
      'Not approved within 3 days: push a new commit, then ask a maintainer to approve it',
    );
    expect(summary.waits).toEqual(counts({ found: 1, done: 1 }));
    expect(await h.store.getTest('approval')).toMatchObject({ status: 'error', message: line });
    expect(postsOf(h, 'approval')).toEqual([
      { state: 'error', description: line, context: 'ci/windows' },
    ]);
    expect(await h.store.getTest('recent')).toEqual(recent);
    expect(await h.store.getTest('maint')).toEqual(maintenance);
  });

  it('counts from when the wait for that reason began: not from the test’s creation, nor its last update', async () => {
    const config = withBuild();
    // Waited 13 days for approval, then approved 10 minutes ago: now waits for its build.
    const approvedLately = waitingTest('approved', 'build', {
      createdAt: ago(13 * DAY),
      waitingSince: ago(10 * MINUTE),
      updatedAt: ago(10 * MINUTE),
    });
    // Waits for its build since 40 minutes; its line changed 1 minute ago (same wait).
    const retold = waitingTest('retold', 'build', {
      waitingSince: ago(40 * MINUTE),
      updatedAt: ago(MINUTE),
    });
    const h = await setup([approvedLately, retold], { config });

    await sweepExpired(h.deps);

    expect((await h.store.getTest('approved'))?.status).toBe('waiting');
    expect((await h.store.getTest('retold'))?.status).toBe('error');
  });

  it('a wait the store saw begin: the transition into it starts the clock', async () => {
    const config = withBuild(['waitForApprovalDays', 1]);
    const { store } = current();
    await store.createTests([
      waitingTest('t', 'approval', { waitingSince: ago(2 * DAY), updatedAt: ago(2 * DAY) }),
    ]);
    // Approved just now: it goes on to wait for its build.
    const approved = await store.transition('t', {
      from: ['waiting'],
      to: 'waiting',
      at: ago(MINUTE),
      message: WAITING_FOR_BUILD,
      patch: { waitReason: 'build' },
    });
    expect(approved.ok).toBe(true);
    const h = buildStillRunning(harness(store, { config }));

    expect((await sweepExpired(h.deps)).waits).toEqual(counts({}));
    expect((await store.getTest('t'))?.status).toBe('waiting');

    h.clock.advance(30 * MINUTE);
    expect((await sweepExpired(h.deps)).waits).toEqual(counts({ found: 1, done: 1 }));
    expect((await store.getTest('t'))?.message).toBe(buildWaitExpired('build.yml', 30));
  });

  it.each([
    {
      what: 'its build finished (pending)',
      race: (store: TestStore) =>
        store.transition('t', {
          from: ['waiting'],
          to: 'pending',
          at: ago(1),
          message: TESTS_QUEUED,
        }),
      status: 'pending',
    },
    {
      what: 'it began another wait',
      race: (store: TestStore) =>
        store.transition('t', {
          from: ['waiting'],
          to: 'waiting',
          at: ago(1),
          message: platformInMaintenance('linux'),
          patch: { waitReason: 'maintenance' },
        }),
      status: 'waiting',
    },
  ])(
    'a test released between the read and the end is left alone: $what',
    async ({ race, status }) => {
      const { store } = current();
      await store.createTests([waitingTest('t', 'build', { waitingSince: ago(DAY) })]);
      // The build check (builds.ts) reads the build waits first; the race comes after the waits step's read.
      let reads = 0;
      const racing: TestStore = {
        ...store,
        listWaitingBefore: async (...args) => {
          const listed = await store.listWaitingBefore(...args);
          if (listed.length > 0 && ++reads === 2) await race(store);
          return listed;
        },
      };
      const h = buildStillRunning(harness(racing, { config: withBuild() }));

      const summary = await sweepExpired(h.deps);

      expect(summary.waits).toEqual(counts({ found: 1, skipped: 1 }));
      expect((await store.getTest('t'))?.status).toBe(status);
      expect(h.statuses.posts()).toEqual([]);
    },
  );

  it('two runs at once end each test once and post its line once', async () => {
    const tests = [1, 2, 3].map((n) =>
      waitingTest(`b${n}`, 'build', { waitingSince: ago(DAY + n * MINUTE) }),
    );
    const h = await setup(tests, { config: withBuild() });

    const runs = await Promise.all([
      sweepExpired(h.deps),
      sweepExpired(h.depsWith(current().peer())),
    ]);

    expect(runs.map((r) => r.waits.done).reduce((a, b) => a + b)).toBe(3);
    for (const test of tests) {
      const ended = await h.store.getTest(test.id);
      expect(ended?.timeline.filter((e) => e.status === 'error')).toHaveLength(1);
      expect(postsOf(h, test.id)).toHaveLength(1);
    }
    expect(h.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
  });

  it('reads at most expiredBatch waits per platform and reason a run, longest first', async () => {
    const tests = [3, 1, 2].map((n) =>
      waitingTest(`b${n}`, 'build', { waitingSince: ago(DAY + (10 - n) * MINUTE) }),
    );
    const h = await setup(tests, { config: withBuild(['sweeps.expiredBatch', 2]) });

    const first = await sweepExpired(h.deps);

    expect(first.waits).toEqual(counts({ found: 2, done: 2, more: true }));
    expect((await h.store.getTest('b3'))?.status).toBe('waiting');
    expect((await sweepExpired(h.deps)).waits).toEqual(counts({ found: 1, done: 1 }));
  });

  it('every line fits one status and keeps what to do, whatever the workflow’s name', () => {
    const long = buildWaitExpired(`${'very-long-workflow-name-'.repeat(10)}.yml`, 10080);
    expect(long.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
    expect(long).toMatch(
      /^No build of very-long.*… finished within 10080 min: check the workflow, then push again$/,
    );
    expect(buildWaitExpired(undefined, 120)).toBe(
      'No build finished within 120 min: check the workflow, then push again',
    );
    expect(approvalWaitExpired(1)).toBe(
      'Not approved within 1 day: push a new commit, then ask a maintainer to approve it',
    );
    expect(approvalWaitExpired(365).length).toBeLessThanOrEqual(STATUS_LINE_MAX);
  });
});
