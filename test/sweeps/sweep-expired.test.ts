// sweepExpired (DESIGN §3.4, §3.5) on the in-memory store and on the Firestore
// emulator, with the memory queue, status port and provisioner: recorded
// deletions are finished with back-off and given up once, tests past their
// deadline end timed_out, VMs no live test owns are deleted, tests whose VM
// stopped or vanished end in error, capacity slots are put right; two runs at
// once end, post, enqueue and delete each thing once.
import type { VmciConfig } from '../../shared/config';
import {
  GCP_MESSAGES,
  timeLimitExceeded,
  VM_GONE_WITHOUT_RESULT,
  VM_STOPPED_WITHOUT_RESULT,
} from '../../shared/domain/messages';
import { deletionRequestId, testLabel, VM_LABEL_KEYS } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import type { GcpErrorClass } from '../../shared/gcp/errors';
import type { TestStore } from '../../shared/store/port';
import { COMPUTE_CONCURRENCY, noCounts } from '../../shared/sweeps/deps';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';
import { ORPHAN_WINDOW_MS } from '../../shared/sweeps/vm-pass';
import { deletionBackoffMs, teardownTestVm } from '../../shared/tests/teardown';
import { useStore } from '../contracts/store/fixtures';
import { storeKinds } from '../tests/stores';
import {
  at,
  endedTest,
  harness,
  seededHarness,
  holdSlots,
  NOW,
  pendingTest,
  queuedTest,
  runningTest,
  startingTest,
  sweepConfig,
  taskGenerations,
  vmOf,
  type Harness,
} from './support';

const counts = (c: Partial<ReturnType<typeof noCounts>>) => ({ ...noCounts(), ...c });

const UNAVAILABLE: GcpErrorClass = {
  code: 'UNAVAILABLE',
  retriable: true,
  action: 'retry_later',
  userMessage: GCP_MESSAGES.timedOut,
  detail: 'injected: compute unavailable',
};

const minutes = (n: number) => n * 60_000;

/** A deletion that is not done, due at `nextCheckAt`. */
const dueDeletion = (overrides: Partial<NonNullable<TestRecord['deletion']>> = {}) => ({
  deletionOf: { attempts: 0, doneAt: null, nextCheckAt: at(29), requestedAt: at(20), ...overrides },
});

function postsOf(h: Harness, id: string) {
  return h.statuses
    .posts()
    .filter((p) => p.targetUrl?.endsWith(`/status/tests/${id}`))
    .map(({ state, description, context }) => ({ state, description, context }));
}

function entriesOf(test: TestRecord | null, status: string) {
  return (test?.timeline ?? []).filter((e) => e.status === status);
}

describe.each(storeKinds('vmci-sweeps-expired'))('sweepExpired ($name)', ({ make }) => {
  const current = useStore(make);

  const setup = (tests: readonly TestRecord[], options: { config?: VmciConfig } = {}) =>
    seededHarness(current().store, tests, options);

  describe('recorded VM deletions', () => {
    it('due: Compute deletes the VM once, and the deletion is noted done', async () => {
      const before = endedTest('d1', dueDeletion());
      const h = await setup([before]);
      const vm = await h.seedVm(before, { createdAt: at(1) });

      const summary = await sweepExpired(h.deps);

      expect(summary.deletions).toEqual(counts({ found: 1, done: 1 }));
      expect(h.vms.deleteCalls()).toEqual([{ name: vm.name, zone: vm.zone }]);
      expect(h.vms.vms()).toEqual([]);
      expect((await h.store.getTest('d1'))?.deletion).toEqual({
        name: vm.name,
        zone: vm.zone,
        requestedAt: at(20),
        attempts: 1,
        doneAt: NOW,
        nextCheckAt: null,
      });
      // Nothing else about the test changes.
      expect(await h.store.getTest('d1')).toMatchObject({
        status: before.status,
        timeline: before.timeline,
      });
    });

    it('a failing delete: attempts + 1, next check pushed out by deletionBackoffMs, then retried', async () => {
      const config = sweepConfig(['sweeps.deletionBackoffSeconds', 30]);
      const before = endedTest('d1', dueDeletion({ attempts: 2 }));
      const h = await setup([before], { config });
      const vm = await h.seedVm(before, { createdAt: at(1) });
      h.vms.failNext('deleteVm', UNAVAILABLE);

      const summary = await sweepExpired(h.deps);

      const backoff = deletionBackoffMs(3, 30_000);
      expect(summary.deletions).toEqual(counts({ found: 1, errors: 1 }));
      expect((await h.store.getTest('d1'))?.deletion).toMatchObject({
        attempts: 3,
        doneAt: null,
        nextCheckAt: new Date(NOW.getTime() + backoff),
      });
      expect(h.vms.vms().map((v) => v.name)).toEqual([vm.name]);
      // The VM pass leaves it to the deletion path: one Compute call in the run.
      expect(h.vms.deleteCalls()).toHaveLength(1);
      expect(h.logs.find('VM deletion failed; it will be retried')).toHaveLength(1);

      // Before the back-off ends: not touched.
      h.clock.advance(backoff - 1);
      await sweepExpired(h.deps);
      expect(h.vms.deleteCalls()).toHaveLength(1);

      // After it: deleted.
      h.clock.advance(2);
      const later = await sweepExpired(h.deps);
      expect(later.deletions).toEqual(counts({ found: 1, done: 1 }));
      expect(h.vms.deleteCalls()).toHaveLength(2);
      expect(h.vms.vms()).toEqual([]);
      expect((await h.store.getTest('d1'))?.deletion).toMatchObject({
        attempts: 4,
        doneAt: h.clock.now(),
      });
    });

    it.each([
      { when: 'in the future', nextCheckAt: at(31) },
      { when: 'exactly now', nextCheckAt: NOW },
      { when: 'never (null)', nextCheckAt: null },
    ])('next check $when: not touched', async ({ nextCheckAt }) => {
      const before = endedTest('d1', dueDeletion({ nextCheckAt }));
      const h = await setup([before]);
      await h.seedVm(before, { createdAt: at(1) });

      const summary = await sweepExpired(h.deps);

      expect(summary.deletions).toEqual(counts({}));
      expect(h.vms.deleteCalls()).toEqual([]);
      expect(await h.store.getTest('d1')).toEqual(before);
    });

    it('attempts at deletionMaxAttempts: given up once, with one ERROR for Error Reporting', async () => {
      const config = sweepConfig(['sweeps.deletionMaxAttempts', 3]);
      const before = endedTest('d1', dueDeletion({ attempts: 3 }));
      const h = await setup([before], { config });
      const vm = await h.seedVm(before, { createdAt: at(1) });

      const summary = await sweepExpired(h.deps);

      expect(summary.deletions).toEqual(counts({ found: 1, errors: 1 }));
      expect(h.vms.deleteCalls()).toEqual([]);
      expect((await h.store.getTest('d1'))?.deletion).toEqual({
        ...before.deletion,
        nextCheckAt: null,
      });
      const errors = h.logs.entries.filter((e) => e.level === 'error');
      expect(errors).toEqual([
        expect.objectContaining({
          message: 'VM deletion given up: delete the VM by hand',
          labels: { testId: 'd1', platform: 'linux', instance: vm.name },
          fields: expect.objectContaining({ error: expect.any(Error), attempts: 3 }),
        }),
      ]);
      const line = h.logs.lines.find((l) => l.severity === 'ERROR');
      expect(line).toMatchObject({
        '@type':
          'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent',
        stack_trace: expect.stringContaining(vm.name),
      });

      // Not retried, and not reported again.
      h.clock.advance(minutes(120));
      const next = await sweepExpired(h.deps);
      expect(next.deletions).toEqual(counts({}));
      expect(h.vms.deleteCalls()).toEqual([]);
      expect(h.logs.entries.filter((e) => e.level === 'error')).toHaveLength(1);
    });

    it('from the first failure to giving up: deletionMaxAttempts Compute calls, then one report', async () => {
      const config = sweepConfig(
        ['sweeps.deletionMaxAttempts', 2],
        ['sweeps.deletionBackoffSeconds', 10],
      );
      const before = endedTest('d1', dueDeletion());
      const h = await setup([before], { config });
      await h.seedVm(before, { createdAt: at(1) });
      h.vms.failNext('deleteVm', UNAVAILABLE, 10);

      for (let run = 0; run < 5; run++) {
        await sweepExpired(h.deps);
        h.clock.advance(minutes(31));
      }

      expect(h.vms.deleteCalls()).toHaveLength(2);
      expect(h.logs.find('VM deletion given up: delete the VM by hand')).toHaveLength(1);
      expect((await h.store.getTest('d1'))?.deletion).toMatchObject({
        attempts: 2,
        doneAt: null,
        nextCheckAt: null,
      });
    });
  });

  describe('tests past their deadline', () => {
    it('a running test: timed_out with the limit it ran under, slot freed, teardown task, error status', async () => {
      // Started at 1, deadline at 8: it ran under a 7-minute limit (the configuration says 10 now).
      const before = runningTest('r1', {
        startedAt: at(1),
        deadlineAt: at(8),
        enqueueGeneration: 2,
      });
      const h = await setup([before, pendingTest('p1', { updatedAt: at(2) })]);
      const vm = await h.seedVm(before, { createdAt: at(1) });
      await holdSlots(h.store, 'linux', 'r1');
      expect(h.config.platforms.linux!.maxRunMinutes).not.toBe(7);

      const summary = await sweepExpired(h.deps);

      expect(summary.timedOut).toEqual(counts({ found: 1, done: 1 }));
      const stored = await h.store.getTest('r1');
      expect(stored).toMatchObject({
        status: 'timed_out',
        message: timeLimitExceeded(7),
        finishedAt: NOW,
        deletion: { name: vm.name, zone: vm.zone, requestedAt: NOW, attempts: 0, doneAt: null },
      });
      const nextCheckAt = stored?.deletion?.nextCheckAt;
      expect(nextCheckAt?.getTime()).toBeGreaterThanOrEqual(NOW.getTime());
      expect(entriesOf(stored, 'timed_out')).toHaveLength(1);
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(taskGenerations(h.queue)).toEqual({ r1: [3], p1: [1] });
      expect(postsOf(h, 'r1')).toEqual([
        { state: 'error', description: timeLimitExceeded(7), context: 'ci/linux' },
      ]);
      // The freed slot went to the pending test at once.
      expect((await h.store.getTest('p1'))?.status).toBe('queued');
      // Its teardown task deletes the VM; this run makes at most one Compute call for it.
      expect(h.vms.deleteOperations().get(`${vm.zone}/${vm.name}`) ?? 0).toBeLessThanOrEqual(1);

      // Should the teardown task never run, the first run after the recorded check deletes the VM.
      h.clock.set(new Date(nextCheckAt!.getTime() + 1));
      await sweepExpired(h.deps);
      expect(h.vms.vms()).toEqual([]);
      expect((await h.store.getTest('r1'))?.deletion?.doneAt).toEqual(h.clock.now());
    });

    it('without startedAt, the limit is the platform’s configured one', async () => {
      const h = await setup([
        runningTest('r1', { startedAt: null, deadlineAt: at(20), platform: 'windows' }),
      ]);

      await sweepExpired(h.deps);

      const limit = h.config.platforms.windows!.maxRunMinutes;
      expect(await h.store.getTest('r1')).toMatchObject({
        status: 'timed_out',
        message: timeLimitExceeded(limit),
      });
    });

    it('a deadline not yet passed (or exactly now) is left alone', async () => {
      const later = runningTest('later', { deadlineAt: at(31) });
      const edge = runningTest('edge', { deadlineAt: NOW });
      const h = await setup([later, edge]);
      await h.seedVm(later, { createdAt: at(1) });
      await h.seedVm(edge, { createdAt: at(1) });
      await holdSlots(h.store, 'linux', 'later', 'edge');
      // As stored with their slots (each notes its slot's shard).
      const [laterHeld, edgeHeld] = await Promise.all([
        h.store.getTest('later'),
        h.store.getTest('edge'),
      ]);
      expect(laterHeld).toEqual({ ...later, slotShard: expect.any(Number) });
      expect(edgeHeld).toEqual({ ...edge, slotShard: expect.any(Number) });

      const summary = await sweepExpired(h.deps);

      expect(summary.timedOut).toEqual(counts({}));
      expect(await h.store.getTest('later')).toEqual(laterHeld);
      expect(await h.store.getTest('edge')).toEqual(edgeHeld);
      expect(h.statuses.posts()).toEqual([]);
    });

    it('a result that lands between the read and the end wins', async () => {
      const before = runningTest('r1', { deadlineAt: at(20) });
      const { store } = current();
      await store.createTests([before]);
      const racing: TestStore = {
        ...store,
        listPastDeadline: async (now, limit) => {
          const listed = await store.listPastDeadline(now, limit);
          await store.transition('r1', {
            from: ['running'],
            to: 'passed',
            at: at(29),
            message: 'All tests passed',
            patch: { finishedAt: at(29) },
          });
          return listed;
        },
      };
      const h = harness(racing);
      await h.seedVm(before, { createdAt: at(1) });

      const summary = await sweepExpired(h.deps);

      expect(summary.timedOut).toEqual(counts({ found: 1, skipped: 1 }));
      expect(await store.getTest('r1')).toMatchObject({ status: 'passed' });
      expect(postsOf(h, 'r1').filter((p) => p.state === 'error')).toEqual([]);
    });
  });

  describe('VMs that no live test owns', () => {
    it('deleted: of an ended test, of a missing test, without a test id, too old for a live test; others kept', async () => {
      const ended = endedTest('ended', { status: 'canceled' });
      const starting = startingTest('starting', { leaseExpiresAt: at(40) });
      const running = runningTest('running', { deadlineAt: at(90) });
      const h = await setup([ended, starting, running]);
      await holdSlots(h.store, 'linux', 'starting', 'running');
      const old = at(1);
      const grace = minutes(h.config.sweeps.orphanGraceMinutes);
      const young = new Date(NOW.getTime() - grace / 2);
      const endedVm = await h.seedVm(ended, { createdAt: old });
      const missingVm = await h.seedVm({ id: 'missing', platform: 'linux' }, { createdAt: old });
      const noIdVm = await h.seedVm(
        { id: 'anon', platform: 'linux' },
        { createdAt: old, metadataTestId: null },
      );
      const staleVm = await h.seedVm({ ...starting, attempt: 2 }, { createdAt: old });
      const youngVm = await h.seedVm({ ...starting, attempt: 3 }, { createdAt: young });
      const ownVm = await h.seedVm(running, { createdAt: old });
      const unlabelled = await h.seedVm(
        { id: 'foreign', platform: 'linux' },
        { createdAt: old, labels: { [VM_LABEL_KEYS.test]: testLabel('foreign') } },
      );
      const elsewhere = await h.seedVm(
        { id: 'elsewhere', platform: 'linux' },
        { createdAt: old, zone: 'us-east1-b' },
      );

      const summary = await sweepExpired(h.deps);

      const deleted = [endedVm, missingVm, noIdVm, staleVm];
      expect(summary.vms.orphans).toEqual(counts({ found: 4, done: 4 }));
      expect(summary.vms.listed).toBe(6);
      expect(
        h.vms
          .vms()
          .map((v) => v.name)
          .sort(),
      ).toEqual([youngVm, ownVm, unlabelled, elsewhere].map((v) => v.name).sort());
      const window = String(Math.floor(NOW.getTime() / ORPHAN_WINDOW_MS));
      expect(h.vms.deleteCalls()).toEqual(
        expect.arrayContaining(
          deleted.map((vm) => ({
            name: vm.name,
            zone: vm.zone,
            requestId: deletionRequestId(vm.name, vm.zone, `orphan/${window}`),
          })),
        ),
      );
      expect(h.vms.deleteCalls()).toHaveLength(4);
      expect(
        h.logs
          .find('Orphan VM deleted')
          .map((e) => e.fields.why)
          .sort(),
      ).toEqual(['no_test_id', 'not_the_test_vm', 'test_ended', 'test_missing']);
      // The live tests are untouched.
      expect((await h.store.getTest('starting'))?.status).toBe('starting');
      expect((await h.store.getTest('running'))?.status).toBe('running');

      // Past the grace, the young VM that is not the starting test's goes too.
      h.clock.advance(grace);
      await sweepExpired(h.deps);
      expect(
        h.vms
          .vms()
          .map((v) => v.name)
          .sort(),
      ).toEqual([ownVm, unlabelled, elsewhere].map((v) => v.name).sort());
    });

    it('a failed orphan deletion is an error, and the next run tries again', async () => {
      const h = await setup([]);
      const vm = await h.seedVm({ id: 'missing', platform: 'linux' }, { createdAt: at(1) });
      h.vms.failNext('deleteVm', UNAVAILABLE);

      const summary = await sweepExpired(h.deps);

      expect(summary.vms.orphans).toEqual(counts({ found: 1, errors: 1 }));
      expect(h.vms.vms().map((v) => v.name)).toEqual([vm.name]);
      expect(h.logs.find('Orphan VM not deleted; the next run tries again')).toHaveLength(1);

      h.clock.advance(minutes(5));
      await sweepExpired(h.deps);
      expect(h.vms.vms()).toEqual([]);
    });

    it('VMs that cannot be listed: an error, and no running test is taken for vanished', async () => {
      const running = runningTest('r1', { updatedAt: at(1), deadlineAt: at(90) });
      const h = await setup([running]);
      await holdSlots(h.store, 'linux', 'r1');
      const held = await h.store.getTest('r1');
      expect(held).toEqual({ ...running, slotShard: expect.any(Number) });
      h.vms.failNext('listVms', UNAVAILABLE);

      const summary = await sweepExpired(h.deps);

      expect(summary.vms).toEqual({
        listed: 0,
        orphans: counts({ errors: 1 }),
        lost: counts({}),
      });
      expect(await h.store.getTest('r1')).toEqual(held);
      expect(h.vms.getCalls()).toEqual([]);
    });
  });

  describe('running tests whose VM ended without a result', () => {
    it('the VM powered off (TERMINATED): error, VM deletion recorded, teardown task, status posted, slot freed', async () => {
      const before = runningTest('r1', { deadlineAt: at(90), enqueueGeneration: 1 });
      const h = await setup([before]);
      const vm = await h.seedVm(before, { createdAt: at(1) });
      await holdSlots(h.store, 'linux', 'r1');
      h.vms.setStatus(vm.name, vm.zone, 'TERMINATED');

      const summary = await sweepExpired(h.deps);

      expect(summary.vms.lost).toEqual(counts({ found: 1, done: 1 }));
      const stored = await h.store.getTest('r1');
      expect(stored).toMatchObject({
        status: 'error',
        message: VM_STOPPED_WITHOUT_RESULT,
        finishedAt: NOW,
        deletion: { name: vm.name, zone: vm.zone, attempts: 0, doneAt: null },
      });
      expect(entriesOf(stored, 'error')).toHaveLength(1);
      expect(taskGenerations(h.queue)).toEqual({ r1: [2] });
      expect(postsOf(h, 'r1')).toEqual([
        { state: 'error', description: VM_STOPPED_WITHOUT_RESULT, context: 'ci/linux' },
      ]);
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(h.logs.find('Test VM ended without a result')).toEqual([
        expect.objectContaining({
          level: 'warn',
          labels: { testId: 'r1', platform: 'linux', instance: vm.name },
          fields: expect.objectContaining({ vmStatus: 'TERMINATED' }),
        }),
      ]);
    });

    it('a stage report that lands between the read and the end wins: the test stays running', async () => {
      const before = runningTest('r1', { deadlineAt: at(90), stage: 'preparation' });
      const { store } = current();
      await store.createTests([before]);
      let raced = false;
      const racing: TestStore = {
        ...store,
        getTest: async (id) => {
          const read = await store.getTest(id);
          if (id === 'r1' && !raced) {
            raced = true;
            await store.transition('r1', {
              from: ['running'],
              to: 'running',
              at: at(29),
              message: 'Running tests',
              stage: 'testing',
            });
          }
          return read;
        },
      };
      const h = harness(racing);
      const vm = await h.seedVm(before, { createdAt: at(1) });
      h.vms.setStatus(vm.name, vm.zone, 'TERMINATED');

      const summary = await sweepExpired(h.deps);

      expect(raced).toBe(true);
      expect(summary.vms.lost).toEqual(counts({ found: 1, skipped: 1 }));
      expect(await store.getTest('r1')).toMatchObject({ status: 'running', stage: 'testing' });
      expect(h.statuses.posts()).toEqual([]);
    });

    it('the VM vanished and the test was not heard from for the grace period: error', async () => {
      const grace = minutes(sweepConfig().sweeps.orphanGraceMinutes);
      const before = runningTest('r1', {
        deadlineAt: at(90),
        updatedAt: new Date(NOW.getTime() - grace - 1),
      });
      const h = await setup([before]);
      const vm = await h.seedVm(before, { createdAt: at(1) });
      await holdSlots(h.store, 'linux', 'r1');
      h.vms.remove(vm.name, vm.zone);

      const summary = await sweepExpired(h.deps);

      expect(summary.vms.lost).toEqual(counts({ found: 1, done: 1 }));
      expect(h.vms.getCalls()).toEqual([{ name: vm.name, zone: vm.zone }]);
      expect(await h.store.getTest('r1')).toMatchObject({
        status: 'error',
        message: VM_GONE_WITHOUT_RESULT,
      });
      expect(postsOf(h, 'r1')).toEqual([
        { state: 'error', description: VM_GONE_WITHOUT_RESULT, context: 'ci/linux' },
      ]);
      expect(await h.store.slotHolders('linux')).toEqual([]);
    });

    it('the VM vanished but the test was heard from within the grace period: not even asked', async () => {
      const before = runningTest('r1', { deadlineAt: at(90), updatedAt: at(29) });
      const h = await setup([before]);
      await holdSlots(h.store, 'linux', 'r1');
      const held = await h.store.getTest('r1');
      expect(held).toEqual({ ...before, slotShard: expect.any(Number) });

      const summary = await sweepExpired(h.deps);

      expect(summary.vms.lost).toEqual(counts({}));
      expect(h.vms.getCalls()).toEqual([]);
      expect(await h.store.getTest('r1')).toEqual(held);
    });

    it('Compute cannot say whether the VM exists: an error, the test left running', async () => {
      const before = runningTest('r1', { deadlineAt: at(90), updatedAt: at(1) });
      const h = await setup([before]);
      await holdSlots(h.store, 'linux', 'r1');
      const held = await h.store.getTest('r1');
      expect(held).toEqual({ ...before, slotShard: expect.any(Number) });
      h.vms.failNext('getVm', UNAVAILABLE);

      const summary = await sweepExpired(h.deps);

      expect(summary.vms.lost).toEqual(counts({ found: 1, errors: 1 }));
      expect(await h.store.getTest('r1')).toEqual(held);
    });

    it('a running test whose VM is outside the listed zones: asked for, found, kept', async () => {
      // A zone no longer configured: the listing misses the VM, getVm finds it.
      const before = runningTest('r1', {
        deadlineAt: at(90),
        updatedAt: at(1),
        instance: vmOf('r1', 'linux', 1, 'us-east1-b'),
      });
      const h = await setup([before]);
      await holdSlots(h.store, 'linux', 'r1');
      const held = await h.store.getTest('r1');
      expect(held).toEqual({ ...before, slotShard: expect.any(Number) });
      await h.seedVm(before, { createdAt: at(1), zone: 'us-east1-b' });

      const summary = await sweepExpired(h.deps);

      expect(summary.vms.lost).toEqual(counts({ found: 1, skipped: 1 }));
      expect(await h.store.getTest('r1')).toEqual(held);
    });
  });

  describe('capacity slots', () => {
    it('holders that should not hold are released, a running test without its slot gets it back; each logged', async () => {
      const h = await setup([
        runningTest('r1', { deadlineAt: at(90) }),
        runningTest('r2', { deadlineAt: at(90) }),
        endedTest('ended', { deletionOf: null, instance: null }),
        queuedTest('q1', { updatedAt: at(29) }),
        runningTest('win', { platform: 'windows', deadlineAt: at(90) }),
      ]);
      for (const id of ['r1', 'r2', 'win']) {
        await h.seedVm({ id, platform: id === 'win' ? 'windows' : 'linux' }, { createdAt: at(1) });
      }
      await h.queue.enqueue({ testId: 'q1', generation: 1 });
      await holdSlots(h.store, 'linux', 'r1', 'ended', 'ghost', 'q1', 'win');
      await holdSlots(h.store, 'windows', 'win');

      const summary = await sweepExpired(h.deps);

      expect(await h.store.slotHolders('linux')).toEqual(['r1', 'r2']);
      expect(await h.store.slotHolders('windows')).toEqual(['win']);
      expect(summary.slots).toMatchObject({ found: 5, done: 5, errors: 0 });
      const corrected = h.logs.find('Capacity slot corrected');
      expect(corrected.map((e) => [e.labels.testId, e.fields.change]).sort()).toEqual([
        ['ended', 'released'],
        ['ghost', 'released'],
        ['q1', 'released'],
        ['r2', 'restored'],
        ['win', 'released'],
      ]);
      for (const entry of corrected) {
        expect(entry).toMatchObject({ level: 'warn', labels: { platform: 'linux' } });
      }
      const lines = h.logs.lines.filter((l) => l.message === 'Capacity slot corrected');
      expect(lines.map((l) => l.severity)).toEqual(Array(5).fill('WARNING'));
    });

    it('a slot given back starts the platform’s next pending test at once', async () => {
      const h = await setup([pendingTest('p1', { updatedAt: at(2) })]);
      await holdSlots(h.store, 'linux', 'ghost');

      await sweepExpired(h.deps);

      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect((await h.store.getTest('p1'))?.status).toBe('queued');
      expect(taskGenerations(h.queue)).toEqual({ p1: [1] });
    });

    it('slots that are right: nothing changed, nothing logged', async () => {
      const r1 = runningTest('r1', { deadlineAt: at(90) });
      const s1 = startingTest('s1', { leaseExpiresAt: at(40) });
      const h = await setup([r1, s1]);
      await h.seedVm(r1, { createdAt: at(1) });
      await holdSlots(h.store, 'linux', 'r1', 's1');

      const summary = await sweepExpired(h.deps);

      expect(summary.slots).toEqual(counts({}));
      expect(h.logs.find('Capacity slot corrected')).toEqual([]);
      expect(await h.store.slotHolders('linux')).toEqual(['r1', 's1']);
    });
  });

  describe('a platform in maintenance', () => {
    const inMaintenance = () => sweepConfig(['platforms.linux.maintenance', true]);

    it('a slot given back starts no pending test there', async () => {
      const h = await setup([pendingTest('p1', { updatedAt: at(2) })], { config: inMaintenance() });
      await holdSlots(h.store, 'linux', 'ghost');

      await sweepExpired(h.deps);

      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect((await h.store.getTest('p1'))?.status).toBe('pending');
      expect(h.queue.tasks()).toEqual([]);
    });

    it('a test timed out there frees its slot, but starts no pending test there', async () => {
      const late = runningTest('late', { startedAt: at(1), deadlineAt: at(11) });
      const h = await setup([late, pendingTest('p1', { updatedAt: at(2) })], {
        config: inMaintenance(),
      });
      await h.seedVm(late, { createdAt: at(1) });
      await holdSlots(h.store, 'linux', 'late');

      await sweepExpired(h.deps);

      expect((await h.store.getTest('late'))?.status).toBe('timed_out');
      expect((await h.store.getTest('p1'))?.status).toBe('pending');
      expect(taskGenerations(h.queue)).toEqual({ late: [2] });
    });
  });

  describe('slots put right without freeing one', () => {
    it('a phantom holder released while a running test’s slot is restored: no pending test started', async () => {
      // windows: 1 slot. The phantom held it, the running test did not: after the
      // correction the running test holds it, and the platform is as full as before.
      const win = runningTest('win', { platform: 'windows', deadlineAt: at(90) });
      const h = await setup([win, pendingTest('p1', { platform: 'windows', updatedAt: at(2) })]);
      await h.seedVm(win, { createdAt: at(1) });
      await holdSlots(h.store, 'windows', 'ghost');

      await sweepExpired(h.deps);

      expect(await h.store.slotHolders('windows')).toEqual(['win']);
      expect(h.config.platforms.windows!.maxConcurrent).toBe(1);
      expect((await h.store.getTest('p1'))?.status).toBe('pending');
      expect(h.statuses.posts()).toEqual([]);
    });
  });

  describe('a deletion that finishes while the run looks at the VMs', () => {
    it('the VM listed before its teardown task deleted it is not deleted again', async () => {
      // The test ended; its teardown task deletes the VM and notes it done
      // right after this run listed the VMs and before it reads the test.
      const ended = endedTest('ended', dueDeletion({ nextCheckAt: at(31) }));
      const h0 = await setup([ended]);
      const vm = await h0.seedVm(ended, { createdAt: at(1) });
      let tornDown = false;
      const vms: typeof h0.vms = {
        ...h0.vms,
        async listVms(options) {
          const listed = await h0.vms.listVms(options);
          if (!tornDown) {
            tornDown = true;
            const test = (await h0.store.getTest('ended'))!;
            await teardownTestVm(h0.deps, test, { budgetMs: 1000 });
          }
          return listed;
        },
      };

      const summary = await sweepExpired(h0.depsWith(h0.store, { vms }));

      expect(tornDown).toBe(true);
      expect((await h0.store.getTest('ended'))?.deletion).toMatchObject({ doneAt: NOW });
      expect(h0.vms.deleteOperations().get(`${vm.zone}/${vm.name}`)).toBe(1);
      expect(summary.vms.orphans).toEqual(counts({}));
    });
  });

  describe('Compute calls of one run', () => {
    it('run several at once, never more than COMPUTE_CONCURRENCY, and each is done', async () => {
      const many = 3 * COMPUTE_CONCURRENCY;
      const deleting = Array.from({ length: many }, (_, i) =>
        endedTest(`deleting-${String(i).padStart(2, '0')}`, dueDeletion()),
      );
      const config = sweepConfig(['sweeps.expiredBatch', 100]);
      const h = await setup(deleting, { config });
      for (const test of deleting) await h.seedVm(test, { createdAt: at(1) });
      for (let i = 0; i < many; i++) {
        await h.seedVm({ id: `missing-${i}`, platform: 'linux' }, { createdAt: at(1) });
      }
      let inFlight = 0;
      let most = 0;
      const vms: typeof h.vms = {
        ...h.vms,
        async deleteVm(name, zone, options) {
          inFlight += 1;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          try {
            return await h.vms.deleteVm(name, zone, options);
          } finally {
            inFlight -= 1;
          }
        },
      };

      const summary = await sweepExpired(h.depsWith(h.store, { vms }));

      expect(summary.deletions).toEqual(counts({ found: many, done: many }));
      expect(summary.vms.orphans).toEqual(counts({ found: many, done: many }));
      expect(h.vms.vms()).toEqual([]);
      expect(most).toBeGreaterThan(1);
      expect(most).toBeLessThanOrEqual(COMPUTE_CONCURRENCY);
    });
  });

  describe('two runs at once', () => {
    it('end, post, enqueue and delete each thing once', async () => {
      const timedOut = runningTest('late', { startedAt: at(1), deadlineAt: at(11) });
      const stopped = runningTest('stopped', { deadlineAt: at(90) });
      const deleting = endedTest('deleting', dueDeletion());
      const h = await setup([timedOut, stopped, deleting]);
      const lateVm = await h.seedVm(timedOut, { createdAt: at(1) });
      const stoppedVm = await h.seedVm(stopped, { createdAt: at(1) });
      const deletingVm = await h.seedVm(deleting, { createdAt: at(1) });
      const orphanVm = await h.seedVm({ id: 'missing', platform: 'linux' }, { createdAt: at(1) });
      h.vms.setStatus(stoppedVm.name, stoppedVm.zone, 'TERMINATED');
      await holdSlots(h.store, 'linux', 'late', 'stopped', 'ghost');

      await Promise.all([sweepExpired(h.deps), sweepExpired(h.depsWith(current().peer()))]);

      const late = await h.store.getTest('late');
      expect(late).toMatchObject({ status: 'timed_out', message: timeLimitExceeded(10) });
      expect(entriesOf(late, 'timed_out')).toHaveLength(1);
      const gone = await h.store.getTest('stopped');
      expect(gone).toMatchObject({ status: 'error', message: VM_STOPPED_WITHOUT_RESULT });
      expect(entriesOf(gone, 'error')).toHaveLength(1);

      expect(postsOf(h, 'late')).toEqual([
        { state: 'error', description: timeLimitExceeded(10), context: 'ci/linux' },
      ]);
      expect(postsOf(h, 'stopped')).toEqual([
        { state: 'error', description: VM_STOPPED_WITHOUT_RESULT, context: 'ci/linux' },
      ]);
      expect(taskGenerations(h.queue)).toEqual({ late: [2], stopped: [2] });

      // At most one Compute deletion per VM; the due one and the orphan are gone.
      for (const [vm, ops] of h.vms.deleteOperations()) {
        expect({ vm, ops }).toEqual({ vm, ops: 1 });
      }
      const key = (vm: { name: string; zone: string }) => `${vm.zone}/${vm.name}`;
      expect(h.vms.deleteOperations().get(key(deletingVm))).toBe(1);
      expect(h.vms.deleteOperations().get(key(orphanVm))).toBe(1);
      expect(h.vms.deleteCalls().filter((c) => c.name === deletingVm.name)).toHaveLength(1);
      const left = h.vms.vms().map((v) => v.name);
      expect(left).not.toContain(deletingVm.name);
      expect(left).not.toContain(orphanVm.name);
      expect(left).toEqual(expect.arrayContaining([lateVm.name, stoppedVm.name]));
      expect((await h.store.getTest('deleting'))?.deletion).toMatchObject({
        attempts: 1,
        doneAt: NOW,
      });

      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(
        h.logs.find('Capacity slot corrected').filter((e) => e.labels.testId === 'ghost'),
      ).toHaveLength(1);
      expect(h.logs.entries.filter((e) => e.level === 'error')).toEqual([]);
    });
  });
});
