// sweepPending and sweepExpired through the whole local cloud (README "The
// sweeps: nothing lost, nothing leaked"; DESIGN §3.3–§3.5): the local Cloud
// Scheduler calls them with its OIDC tokens; they read the Firestore emulator,
// ask the Tasks and Compute stand-ins through the real Google clients, hand
// work to runTest through real tasks and post to the local GitHub. Each case
// is checked on what those stand-ins recorded and on Firestore.
//
// The schedule is paused in every test but one, and runs happen when a test
// asks (scheduler.runNow, which runs a paused job as Cloud Scheduler's "force
// run" does). Where a case needs time to have passed (a test queued a minute
// ago, a deadline or a back-off that is over), the test writes the earlier
// time into the test's document instead of waiting for it.
import { join } from 'node:path';
import { mintLocalToken } from '../../shared/auth/local-token';
import { deriveVmToken } from '../../shared/auth/vm-token';
import {
  CANCELED_BY_MAINTAINER,
  platformInMaintenance,
  PR_CLOSED,
  STARTING_VM,
  TESTS_QUEUED,
  timeLimitExceeded,
  VM_GONE_WITHOUT_RESULT,
  VM_STARTED,
  VM_STOPPED_WITHOUT_RESULT,
  waitingForSlot,
} from '../../shared/domain/messages';
import { deploymentLabel, testLabel, vmLabels, vmName } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { silentLogger } from '../../shared/log';
import { capacityShardId, capacityToDoc } from '../../shared/store/firestore-convert';
import { ALL_SHARDS, shardCap } from '../../shared/store/rules';
import type { SweepExpiredSummary } from '../../shared/sweeps/sweep-expired';
import { QUEUED_GRACE_MS, type SweepPendingSummary } from '../../shared/sweeps/sweep-pending';
import { cancelTest } from '../../shared/tests/cancel';
import {
  ago,
  counts,
  deleteTask,
  deletesOf,
  deletionDone,
  dispatches,
  doneLines,
  fromNow,
  getTest,
  inStatus,
  insertsOf,
  insertVm,
  jobName,
  labelsOf,
  linesWith,
  liveTasks,
  pushed,
  realDeletes,
  repeatedStatuses,
  rewrite,
  runningPush,
  runSweep,
  setJobs,
  statusesOf,
  storeTest,
  SWEEPS_CONFIG,
  sweepsIdle,
  vmGone,
  vmNames,
  waitFor,
  waitForTest,
  ZONE,
  useSweepCloud,
} from './sweeps-support';
import {
  idOf,
  pullRequestPayload,
  pushPayload,
  REPO,
  send,
  shaOf,
  snapshot,
  taskNameOf,
  type WebhookCloud,
} from './webhook-support';
import { eventually } from '../local/compute-setup';
import { useSuiteRepo } from '../support/suite-repo';

jest.setTimeout(60_000);

/** Queued longer ago than the pending sweep's grace for a queued test's enqueuer. */
const queuedLongAgo = () => ago(QUEUED_GRACE_MS + 5_000);

/** The test ran past its time limit: started `maxRunMinutes` and 5 s ago, as its deadline says. */
async function pastDeadline(h: WebhookCloud, test: TestRecord): Promise<number> {
  const minutes = h.cloud.config.platforms[test.platform]!.maxRunMinutes;
  const startedAt = ago(minutes * 60_000 + 5_000);
  await rewrite(h, test.id, {
    startedAt,
    deadlineAt: new Date(startedAt.getTime() + minutes * 60_000),
  });
  return minutes;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('the sweeps, with VMs that run nothing', () => {
  const h = useSweepCloud();

  // --- sweepPending -----------------------------------------------------------------------------

  describe('sweepPending', () => {
    it('a queued test whose task was deleted gets a task of generation 2 from one run, and runs on one VM', async () => {
      const { cloud } = h;
      cloud.tasks.pause();
      const [linux, windows] = await pushed(h, 'lost-task');
      expect(liveTasks(h, [linux, windows])).toEqual({ [linux]: [1], [windows]: [1] });
      await deleteTask(h, linux, 1);

      // Queued just now: its enqueuer may still be at work, so the sweep leaves it.
      const early = await runSweep(h, 'sweepPending');
      expect(early.summary.lostTasks).toEqual(counts());
      expect(await getTest(h, linux)).toMatchObject({ status: 'queued', enqueueGeneration: 1 });

      for (const id of [linux, windows]) await rewrite(h, id, { updatedAt: queuedLongAgo() });
      const run = await runSweep(h, 'sweepPending');

      // The windows test's task is still there: skipped.
      expect(run.summary.lostTasks).toEqual(counts({ found: 2, done: 1, skipped: 1 }));
      expect(liveTasks(h, [linux, windows])).toEqual({ [linux]: [2], [windows]: [1] });
      expect(await getTest(h, linux)).toMatchObject({ status: 'queued', enqueueGeneration: 2 });
      const warned = linesWith(h, 'The task of a queued test was gone; queued again');
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatchObject({
        severity: 'WARNING',
        lostGeneration: 1,
        taskName: taskNameOf(cloud, linux, 2),
      });
      expect(labelsOf(warned[0]!)).toMatchObject({ testId: linux, sweep: 'sweepPending' });

      cloud.tasks.resume();
      const [ranLinux, ranWindows] = await Promise.all(
        [linux, windows].map((id) => waitForTest(h, id, inStatus('running'))),
      );
      await cloud.tasks.whenIdle();
      expect(ranLinux).toMatchObject({ enqueueGeneration: 2, attempts: 1 });
      expect(dispatches(h, linux, 2)).toEqual([200]);
      expect(dispatches(h, linux, 1)).toEqual([]);
      // One insert for each test: the linux test got exactly one VM.
      expect(insertsOf(h).sort()).toEqual(
        [ranLinux!.instance!.name, ranWindows!.instance!.name].sort(),
      );
    });

    it('a claim whose handler died after inserting the VM: one run gives it a task that adopts that VM', async () => {
      const { cloud } = h;
      const [linuxTest, windowsTest] = await runningPush(h, 'crash');
      const vm = linuxTest!.instance!;
      // runTest claimed the test and inserted its VM, then died before it wrote
      // `running`: the test is left `starting` with that VM recorded, its lease
      // over, and no task left (the crashed delivery's task is gone).
      await rewrite(h, linuxTest!.id, {
        status: 'starting',
        stage: null,
        message: STARTING_VM,
        startedAt: null,
        deadlineAt: null,
        timeToStartMs: null,
        leaseExpiresAt: ago(1_000),
      });
      expect(liveTasks(h, [linuxTest!.id])).toEqual({ [linuxTest!.id]: [] });

      const run = await runSweep(h, 'sweepPending');

      expect(run.summary.expiredClaims).toEqual(counts({ found: 1, done: 1 }));
      expect(run.summary.lostTasks).toEqual(counts());
      const adopted = await waitForTest(h, linuxTest!.id, inStatus('running'));
      await cloud.tasks.whenIdle();
      expect(adopted).toMatchObject({
        instance: vm,
        stage: 'preparation',
        attempts: 2,
        enqueueGeneration: 2,
        leaseExpiresAt: null,
      });
      expect(dispatches(h, linuxTest!.id, 2)).toEqual([200]);
      // No second VM: no insert of the claim's own attempt, the same VMs live.
      expect(insertsOf(h).sort()).toEqual([vm.name, windowsTest!.instance!.name].sort());
      expect(insertsOf(h)).not.toContain(vmName('linux', linuxTest!.id, 2));
      expect(vmNames(h)).toEqual([vm.name, windowsTest!.instance!.name].sort());
      expect(linesWith(h, 'A claim outlived its handler; a new task takes it over')).toMatchObject([
        { severity: 'WARNING', instance: vm.name, taskName: taskNameOf(cloud, linuxTest!.id, 2) },
      ]);
      expect(linesWith(h, 'Adopting the VM of an earlier attempt')).toHaveLength(1);
      expect(await h.store.slotHolders('linux')).toEqual([linuxTest!.id]);
    });

    it('a test that waited for a maintenance now over is woken, queued into a free slot and run', async () => {
      const { cloud } = h;
      // It arrived while linux was in maintenance; the configuration has it out of maintenance now.
      expect(cloud.config.platforms.linux!.maintenance).toBeFalsy();
      const waiting = await storeTest(h, 'maintenance', 'linux', {
        status: 'waiting',
        waitReason: 'maintenance',
        message: platformInMaintenance('linux'),
      });

      const run = await runSweep(h, 'sweepPending');

      expect(run.summary).toEqual({
        lostTasks: counts(),
        expiredClaims: counts(),
        woken: counts({ found: 1, done: 1 }),
        parked: counts(),
        enqueued: counts({ found: 1, done: 1 }),
      });
      const ran = await waitForTest(h, waiting.id, inStatus('running'));
      await cloud.tasks.whenIdle();
      expect(ran).toMatchObject({ waitReason: null, enqueueGeneration: 1, attempts: 1 });
      expect(insertsOf(h)).toEqual([ran.instance!.name]);
      // Woken, then queued, by the sweep; then runTest's (whose publisher may also catch "Starting a VM").
      const posted = (await statusesOf(h, waiting.sha)).map((s) => s.description);
      expect(posted.slice(0, 2)).toEqual([waitingForSlot('linux'), TESTS_QUEUED]);
      expect(posted.at(-1)).toBe(VM_STARTED);
    });

    it('runs on its schedule: a lost task is recovered with no explicit call', async () => {
      const { cloud } = h;
      cloud.tasks.pause();
      const [linux, windows] = await pushed(h, 'scheduled');
      await deleteTask(h, linux, 1);
      await rewrite(h, linux, { updatedAt: queuedLongAgo() });
      cloud.tasks.resume();

      // The deployed schedules, every minute and every 5 minutes, last 0.6 s and 3 s here.
      await setJobs(cloud, 'resume');
      const recovered = await waitForTest(h, linux, inStatus('running'));
      await setJobs(cloud, 'pause');
      await sweepsIdle();

      expect(recovered.enqueueGeneration).toBe(2);
      await waitForTest(h, windows, inStatus('running'));
      const history = cloud.scheduler.history();
      expect(history.filter((entry) => entry.trigger === 'run')).toEqual([]);
      const pendingRuns = history.filter((entry) => entry.job === jobName(cloud, 'sweepPending'));
      expect(pendingRuns.length).toBeGreaterThan(0);
      for (const entry of pendingRuns) expect(entry).toMatchObject({ httpStatus: 200, ok: true });
      expect(linesWith(h, 'The task of a queued test was gone; queued again')).toHaveLength(1);
      expect(insertsOf(h)).toHaveLength(2);
    });

    it('a call without the scheduler’s token is refused (401/403/405) and changes nothing', async () => {
      const { cloud } = h;
      cloud.tasks.pause();
      const [linux] = await pushed(h, 'auth');
      await deleteTask(h, linux, 1);
      await rewrite(h, linux, { updatedAt: queuedLongAgo() });
      const before = await snapshot(h);
      // A scheduled run the fresh cloud made before beforeEach paused the jobs may have logged already.
      const donesBefore = {
        sweepPending: doneLines(h, 'sweepPending').length,
        sweepExpired: doneLines(h, 'sweepExpired').length,
      };
      const token = (aud: string, email = cloud.config.queue.serviceAccount) =>
        `Bearer ${mintLocalToken(cloud.localTokenSecret, { kind: 'oidc', email, aud })}`;

      const calls: [string, string, string | null, number][] = [
        ['POST', 'sweepPending', null, 401],
        ['POST', 'sweepExpired', null, 401],
        ['POST', 'sweepPending', 'Bearer not-a-token', 401],
        // A task's token, made for runTest.
        ['POST', 'sweepPending', token(`${cloud.url}/runTest`), 403],
        ['POST', 'sweepExpired', token(`${cloud.url}/sweepPending`), 403],
        [
          'POST',
          'sweepPending',
          token(`${cloud.url}/sweepPending`, 'someone@vmci-local.iam.gserviceaccount.com'),
          403,
        ],
        ['GET', 'sweepPending', token(`${cloud.url}/sweepPending`), 405],
      ];
      for (const [method, sweep, authorization, status] of calls) {
        const res = await fetch(`${cloud.url}/${sweep}`, {
          method,
          headers: authorization ? { authorization } : {},
        });
        expect([method, sweep, res.status]).toEqual([method, sweep, status]);
        expect(((await res.json()) as { error?: unknown }).error).toEqual(expect.any(String));
      }

      expect(await snapshot(h)).toEqual(before);
      expect(cloud.compute.calls()).toEqual([]);
      expect(liveTasks(h, [linux])).toEqual({ [linux]: [] });
      expect(doneLines(h, 'sweepPending').slice(donesBefore.sweepPending)).toEqual([]);
      expect(doneLines(h, 'sweepExpired').slice(donesBefore.sweepExpired)).toEqual([]);
      const refused = [
        ...linesWith(h, 'sweepPending call refused'),
        ...linesWith(h, 'sweepExpired call refused'),
      ];
      expect(refused).toHaveLength(6);
      // The scheduler's own call, with its token, does what those could not.
      const run = await runSweep(h, 'sweepPending');
      expect(run.summary.lostTasks).toEqual(counts({ found: 1, done: 1 }));
    });
  });

  // --- sweepExpired -----------------------------------------------------------------------------

  describe('sweepExpired', () => {
    it('a VM kept past its deadline: timed_out, error status, VM deleted, slot given back', async () => {
      const { cloud } = h;
      const [linuxTest, windowsTest] = await runningPush(h, 'deadline');
      const vm = linuxTest!.instance!.name;
      const minutes = await pastDeadline(h, linuxTest!);

      const run = await runSweep(h, 'sweepExpired');

      expect(run.summary).toEqual({
        deletions: counts(),
        timedOut: counts({ found: 1, done: 1 }),
        // Its VM is not this pass's to delete: the teardown the end asked for does it (and
        // may have done it by the time the VMs are listed).
        builds: counts(),
        waits: counts(),
        vms: { listed: expect.any(Number), orphans: counts(), lost: counts() },
        slots: counts(),
        statuses: counts(),
      });
      const message = `Could not complete tests: time limit of ${minutes} min exceeded`;
      expect(timeLimitExceeded(minutes)).toBe(message);
      const ended = await waitForTest(h, linuxTest!.id, deletionDone, 'its VM deleted');
      expect(ended).toMatchObject({
        status: 'timed_out',
        message,
        deletion: { name: vm, zone: ZONE, attempts: 1 },
      });
      await cloud.tasks.whenIdle();
      expect(vmNames(h)).toEqual([windowsTest!.instance!.name]);
      expect(deletesOf(h, vm)).toEqual([{ outcome: 'new_operation' }]);
      expect(dispatches(h, linuxTest!.id, 2)).toEqual([200]);
      const statuses = await statusesOf(h, linuxTest!.sha);
      expect(statuses.filter((s) => s.context === 'ci/linux').at(-1)).toEqual({
        state: 'error',
        context: 'ci/linux',
        description: message,
      });
      expect(statuses.filter((s) => s.description === message)).toHaveLength(1);
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(await h.store.slotHolders('windows')).toEqual([windowsTest!.id]);
      expect((await getTest(h, windowsTest!.id)).status).toBe('running');
    });

    it('orphans: a VM of no test, or of a missing test, is deleted; a live test’s other VM only once past the grace', async () => {
      const { cloud } = h;
      const starting = await storeTest(h, 'orphans', 'linux', (test) => ({
        status: 'starting',
        message: STARTING_VM,
        attempts: 1,
        enqueueGeneration: 1,
        queuedAt: test.createdAt,
        leaseExpiresAt: fromNow(10 * 60_000),
        instance: { name: vmName('linux', test.id, 1), zone: ZONE, provisioning: 'STANDARD' },
      }));
      await h.store.acquireSlot('linux', starting.id, 2, new Date());
      const missingId = idOf(shaOf('sweeps/never-stored'), 'linux');
      // Made as runTest makes a VM (name, labels, vmci-test-id), but the first: it has only
      // the `vmci` label and no metadata; the second names a test that does not exist.
      const unowned = await insertVm(h, {
        testId: 'someone-else',
        attempt: 1,
        labels: { vmci: 'true' },
        metadata: null,
      });
      const ofMissing = await insertVm(h, { testId: missingId, attempt: 1 });
      // Another vm-ci in the same project made this one: not ours to judge.
      const elsewhereId = idOf(shaOf('sweeps/staging'), 'linux');
      const elsewhere = await insertVm(h, {
        testId: elsewhereId,
        attempt: 1,
        labels: vmLabels('linux', elsewhereId, deploymentLabel('https://staging.example.com')),
      });
      const own = await insertVm(h, { testId: starting.id, attempt: 1 });
      const young = await insertVm(h, { testId: starting.id, attempt: 2 });
      const youngVm = cloud.compute.instances().find((vm) => vm.name === young)!;
      expect(youngVm.labels['vmci-test']).toBe(testLabel(starting.id));
      expect(youngVm.metadata['vmci-test-id']).toBe(starting.id);
      const graceMs = SWEEPS_CONFIG.orphanGraceMinutes * 60_000;

      const first = await runSweep(h, 'sweepExpired');

      expect(Date.now() - Date.parse(youngVm.createdAt)).toBeLessThan(graceMs);
      expect(first.summary.vms).toEqual({
        listed: 5,
        orphans: counts({ found: 2, done: 2 }),
        lost: counts(),
      });
      expect(vmNames(h)).toEqual([elsewhere, own, young].sort());
      expect(deletesOf(h, unowned)).toEqual([{ outcome: 'new_operation' }]);
      expect(deletesOf(h, ofMissing)).toEqual([{ outcome: 'new_operation' }]);
      const deleted = linesWith(h, 'Orphan VM deleted');
      expect(deleted.map((line) => [labelsOf(line).instance, line.why, line.severity])).toEqual([
        [unowned, 'no_test_id', 'WARNING'],
        [ofMissing, 'test_missing', 'WARNING'],
      ]);

      // The young VM ages past orphanGraceMinutes (a few seconds here).
      await sleep(Date.parse(youngVm.createdAt) + graceMs + 200 - Date.now());
      const second = await runSweep(h, 'sweepExpired');

      expect(second.summary.vms.orphans).toEqual(counts({ found: 1, done: 1 }));
      expect(vmNames(h)).toEqual([elsewhere, own].sort());
      expect(deletesOf(h, elsewhere)).toEqual([]);
      expect(deletesOf(h, young)).toEqual([{ outcome: 'new_operation' }]);
      expect(linesWith(h, 'Orphan VM deleted').at(-1)).toMatchObject({ why: 'not_the_test_vm' });
      // Every orphan deletion is a named request, so racing sweeps make one operation.
      const deletes = cloud.compute.calls().filter((call) => call.method === 'delete');
      expect(deletes.every((call) => call.requestId !== null)).toBe(true);
      expect(await getTest(h, starting.id)).toMatchObject({ status: 'starting', attempts: 1 });
      expect(second.summary.slots).toEqual(counts());
    });

    it('a running test whose VM powered off, and one whose VM was deleted by hand: error, VM deleted', async () => {
      const { cloud } = h;
      const [linuxTest, windowsTest] = await runningPush(h, 'silent-end');
      const [linuxVm, windowsVm] = [linuxTest!.instance!.name, windowsTest!.instance!.name];
      await cloud.compute.powerOff(linuxVm);
      expect(cloud.compute.instances().find((vm) => vm.name === linuxVm)?.status).toBe(
        'TERMINATED',
      );
      const res = await fetch(
        `${cloud.url}/compute/v1/projects/${cloud.config.project}/zones/${ZONE}/instances/${windowsVm}`,
        { method: 'DELETE' },
      );
      expect(res.status).toBe(200);
      await vmGone(h, windowsVm);
      // Not heard from for longer than the grace period, after which its VM is looked for.
      await rewrite(h, windowsTest!.id, { updatedAt: ago(60_000) });

      const run = await runSweep(h, 'sweepExpired');

      expect(run.summary.vms).toEqual({
        listed: 1,
        orphans: counts(),
        lost: counts({ found: 2, done: 2 }),
      });
      const [stopped, vanished] = await Promise.all(
        [linuxTest!.id, windowsTest!.id].map((id) => waitForTest(h, id, deletionDone)),
      );
      await cloud.tasks.whenIdle();
      expect(stopped).toMatchObject({ status: 'error', message: VM_STOPPED_WITHOUT_RESULT });
      expect(vanished).toMatchObject({ status: 'error', message: VM_GONE_WITHOUT_RESULT });
      expect(vmNames(h)).toEqual([]);
      expect(realDeletes(h, linuxVm)).toBe(1);
      expect(
        linesWith(h, 'Test VM ended without a result').map((l) => [
          labelsOf(l).instance,
          l.vmStatus,
        ]),
      ).toEqual([
        [linuxVm, 'TERMINATED'],
        [windowsVm, 'gone'],
      ]);
      const statuses = await statusesOf(h, linuxTest!.sha);
      expect(statuses.filter((s) => s.context === 'ci/linux').at(-1)).toMatchObject({
        state: 'error',
        description: VM_STOPPED_WITHOUT_RESULT,
      });
      expect(statuses.filter((s) => s.context === 'ci/windows').at(-1)).toMatchObject({
        state: 'error',
        description: VM_GONE_WITHOUT_RESULT,
      });
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(await h.store.slotHolders('windows')).toEqual([]);
    });

    it('a wrong slot count both ways is put right, each correction logged, the freed slot used', async () => {
      const { cloud } = h;
      const [linuxTest, windowsTest] = await runningPush(h, 'slots');
      const pending = await storeTest(h, 'slots-pending', 'linux');
      const ghost = idOf(shaOf('sweeps/ghost'), 'linux');
      // linux: a slot held for a test that does not exist, in the shard its running
      // test leaves free (2 slots: shards 0 and 1, one each), so the pending test
      // finds the platform full; windows: its running test's slot is missing.
      const capacity = h.db.collection('capacity');
      const linuxShard = (await h.store.getTest(linuxTest!.id))?.slotShard;
      const ghostShard = ALL_SHARDS.find((k) => shardCap(2, k) > 0 && k !== linuxShard)!;
      await capacity
        .doc(capacityShardId('linux', ghostShard))
        .set(capacityToDoc('linux', ghostShard, { [ghost]: new Date() }));
      expect(await h.store.slotHolders('linux')).toEqual([linuxTest!.id, ghost].sort());
      const windowsShard = (await h.store.getTest(windowsTest!.id))!.slotShard!;
      await capacity
        .doc(capacityShardId('windows', windowsShard))
        .set(capacityToDoc('windows', windowsShard, {}));
      expect(await h.store.slotHolders('windows')).toEqual([]);

      const run = await runSweep(h, 'sweepExpired');

      expect(run.summary.slots).toEqual(counts({ found: 2, done: 2 }));
      expect(await h.store.slotHolders('windows')).toEqual([windowsTest!.id]);
      const corrected = linesWith(h, 'Capacity slot corrected');
      expect(
        corrected.map((l) => [l.severity, labelsOf(l).platform, labelsOf(l).testId, l.change]),
      ).toEqual([
        ['WARNING', 'linux', ghost, 'released'],
        ['WARNING', 'windows', windowsTest!.id, 'restored'],
      ]);
      // The freed slot went to the pending test, which runs.
      const ran = await waitForTest(h, pending.id, inStatus('running'));
      await cloud.tasks.whenIdle();
      expect(await h.store.slotHolders('linux')).toEqual([linuxTest!.id, pending.id].sort());
      expect(vmNames(h)).toHaveLength(3);
      expect(vmNames(h)).toContain(ran.instance!.name);
    });
  });

  // --- deletions that fail ----------------------------------------------------------------------

  describe('VM deletions that fail', () => {
    it('a rate-limited delete is retried by the teardown task until the VM is gone', async () => {
      const { cloud } = h;
      const [linuxTest] = await runningPush(h, 'delete-retried');
      const vm = linuxTest!.instance!.name;
      cloud.compute.injectFault({ code: 'rateLimitExceeded', operation: 'delete', count: 2 });
      await pastDeadline(h, linuxTest!);

      expect((await runSweep(h, 'sweepExpired')).summary.timedOut.done).toBe(1);

      const ended = await waitForTest(h, linuxTest!.id, deletionDone, 'its VM deleted');
      await cloud.tasks.whenIdle();
      expect(ended.deletion).toMatchObject({ name: vm, attempts: 3, nextCheckAt: null });
      expect(dispatches(h, linuxTest!.id, 2)).toEqual([503, 503, 200]);
      expect(deletesOf(h, vm)).toEqual([
        { outcome: 'error', fault: 'rateLimitExceeded' },
        { outcome: 'error', fault: 'rateLimitExceeded' },
        { outcome: 'new_operation' },
      ]);
      expect(vmNames(h)).not.toContain(vm);
    });

    it('PR closed while deletes fail: the teardown leaves them to sweepExpired, which retries with back-off', async () => {
      const { cloud } = h;
      const sha = shaOf('sweeps/pr-closed');
      const opened = await send(
        cloud,
        'pull_request',
        pullRequestPayload('opened', sha, { association: 'OWNER' }),
      );
      expect(opened.status).toBe(202);
      const ids = opened.body.tests as string[];
      const tests = await Promise.all(ids.map((id) => waitForTest(h, id, inStatus('running'))));
      await cloud.tasks.whenIdle();
      const vms = tests.map((t) => t.instance!.name);
      const setupStatuses = (await statusesOf(h, sha)).length;
      const failures = 3;
      cloud.compute.injectFault({ code: 'INTERNAL_ERROR', operation: 'delete', count: failures });

      const closed = await send(
        cloud,
        'pull_request',
        pullRequestPayload('closed', sha, { association: 'OWNER' }),
      );
      expect(closed.status).toBe(202);
      await Promise.all(
        ids.map((id) =>
          waitForTest(h, id, (t) => t.status === 'canceled' && t.deletion!.attempts > 0),
        ),
      );
      await cloud.tasks.whenIdle();
      // Compute's INTERNAL_ERROR is not one runTest's teardown retries: both are left to the sweep.
      expect(linesWith(h, 'VM deletion not finished; left to the expired sweep')).toHaveLength(2);
      for (const id of ids) expect(dispatches(h, id, 2)).toEqual([200]);

      for (let run = 1; ; run++) {
        const current = await Promise.all(ids.map((id) => getTest(h, id)));
        if (current.every(deletionDone)) break;
        expect(run).toBeLessThanOrEqual(3);
        // The back-off (deletionBackoffSeconds, doubled per attempt), waited for.
        const due = Math.max(
          ...current.filter((t) => !deletionDone(t)).map((t) => t.deletion!.nextCheckAt!.getTime()),
        );
        await sleep(due + 50 - Date.now());
        await runSweep(h, 'sweepExpired');
      }

      const ended = await Promise.all(ids.map((id) => getTest(h, id)));
      let failed = 0;
      for (const [i, test] of ended.entries()) {
        const calls = deletesOf(h, vms[i]!);
        const fails = calls.filter((c) => c.fault === 'INTERNAL_ERROR');
        failed += fails.length;
        // The failed attempts (operations that ended with the error), then the one that deleted.
        expect(calls).toEqual([...fails, { outcome: 'new_operation' }]);
        expect(fails.every((c) => c.outcome === 'new_operation')).toBe(true);
        expect(test).toMatchObject({ status: 'canceled', message: PR_CLOSED });
        expect(test.deletion).toMatchObject({ attempts: fails.length + 1, nextCheckAt: null });
      }
      expect(failed).toBe(failures);
      expect(vmNames(h)).toEqual([]);
      const statuses = await statusesOf(h, sha);
      for (const context of ['ci/linux', 'ci/windows']) {
        expect(statuses.filter((s) => s.context === context).at(-1)).toMatchObject({
          state: 'error',
          description: PR_CLOSED,
        });
      }
      expect(await repeatedStatuses(h, sha, setupStatuses)).toEqual([]);
    });

    it('more failures than the queue’s attempts: only sweepExpired, after the back-off, finishes the deletion', async () => {
      const { cloud } = h;
      const maxAttempts = cloud.config.queue.maxAttempts;
      const [linuxTest] = await runningPush(h, 'delete-outlasts-queue');
      const id = linuxTest!.id;
      const vm = linuxTest!.instance!.name;
      const fault = { outcome: 'error', fault: 'rateLimitExceeded' };
      cloud.compute.injectFault({
        code: 'rateLimitExceeded',
        operation: 'delete',
        count: maxAttempts + 1,
      });
      await pastDeadline(h, linuxTest!);
      expect((await runSweep(h, 'sweepExpired')).summary.timedOut.done).toBe(1);

      await waitFor('the teardown task to end', () => dispatches(h, id, 2).at(-1) === 200);
      await cloud.tasks.whenIdle();
      expect(dispatches(h, id, 2)).toEqual([...Array(maxAttempts - 1).fill(503), 200]);
      expect(linesWith(h, 'VM deletion not finished; left to the expired sweep')).toHaveLength(1);
      const left = await getTest(h, id);
      expect(left.deletion).toMatchObject({ attempts: maxAttempts, doneAt: null });
      // The next check waits deletionBackoffSeconds, doubled per attempt.
      const backoffMs = SWEEPS_CONFIG.deletionBackoffSeconds * 1000 * 2 ** (maxAttempts - 1);
      const wait = left.deletion!.nextCheckAt!.getTime() - Date.now();
      expect(wait).toBeGreaterThan(backoffMs - 5_000);
      expect(wait).toBeLessThanOrEqual(backoffMs);

      // Not due yet: the sweep leaves it, and its VM pass keeps the VM whose deletion is recorded.
      const early = await runSweep(h, 'sweepExpired');
      expect(early.summary.deletions).toEqual(counts());
      expect(early.summary.vms.orphans).toEqual(counts());
      expect(vmNames(h)).toContain(vm);
      expect(deletesOf(h, vm)).toEqual(Array(maxAttempts).fill(fault));

      // The back-off is over; the sweep's attempt fails too (the last injected failure).
      await rewrite(h, id, { 'deletion.nextCheckAt': ago(1_000) });
      const failed = await runSweep(h, 'sweepExpired');
      expect(failed.summary.deletions).toEqual(counts({ found: 1, errors: 1 }));
      const again = await getTest(h, id);
      expect(again.deletion).toMatchObject({ attempts: maxAttempts + 1, doneAt: null });
      expect(again.deletion!.nextCheckAt!.getTime() - Date.now()).toBeGreaterThan(backoffMs);

      // That longer back-off is over too.
      await rewrite(h, id, { 'deletion.nextCheckAt': ago(1_000) });
      const done = await runSweep(h, 'sweepExpired');

      expect(done.summary.deletions).toEqual(counts({ found: 1, done: 1 }));
      expect((await getTest(h, id)).deletion).toMatchObject({
        attempts: maxAttempts + 2,
        doneAt: expect.any(Date),
        nextCheckAt: null,
      });
      expect(vmNames(h)).not.toContain(vm);
      expect(deletesOf(h, vm)).toEqual([
        ...Array(maxAttempts + 1).fill(fault),
        { outcome: 'new_operation' },
      ]);
      expect(linesWith(h, 'VM deletion given up: delete the VM by hand')).toEqual([]);
    });
  });

  // --- two sweeps at once -------------------------------------------------------------------------

  describe('two runs of a sweep at once', () => {
    it('sweepPending ×2 over lost and pending tests: one new task per test, each status once', async () => {
      const { cloud } = h;
      cloud.tasks.pause();
      const [linux, windows] = await pushed(h, 'race-pending');
      for (const id of [linux, windows]) {
        await deleteTask(h, id, 1);
        await rewrite(h, id, { updatedAt: queuedLongAgo() });
      }
      // Pending tests, oldest first; linux has one slot left beside its queued test, windows none.
      const oldest = await storeTest(h, 'race-p1', 'linux', { updatedAt: ago(10 * 60_000) });
      const newer = await storeTest(h, 'race-p2', 'linux', { updatedAt: ago(5 * 60_000) });
      const pendingWindows = await storeTest(h, 'race-pw', 'windows');
      const ids = [linux, windows, oldest.id, newer.id, pendingWindows.id];

      const attempts = await Promise.all([
        cloud.scheduler.runNow('sweepPending'),
        cloud.scheduler.runNow('sweepPending'),
      ]);

      expect(attempts.map((a) => a.httpStatus)).toEqual([200, 200]);
      const tasks = liveTasks(h, ids);
      expect(tasks).toMatchObject({
        [linux]: [2],
        [windows]: [2],
        [oldest.id]: [1],
        [pendingWindows.id]: [],
      });
      // At most one task per test, of the generation its document names.
      for (const id of ids) {
        const test = await getTest(h, id);
        expect([id, tasks[id]]).toEqual([
          id,
          test.status === 'queued' ? [test.enqueueGeneration] : [],
        ]);
      }
      const summaries = doneLines(h, 'sweepPending').map((l) => l.summary as SweepPendingSummary);
      expect(summaries).toHaveLength(2);
      expect(sum(summaries.map((s) => s.lostTasks.done))).toBe(2);
      expect(
        linesWith(h, 'The task of a queued test was gone; queued again')
          .map((l) => labelsOf(l).testId)
          .sort(),
      ).toEqual([linux, windows].sort());
      for (const test of [await getTest(h, linux), oldest, newer, pendingWindows]) {
        expect([test.sha, await repeatedStatuses(h, test.sha)]).toEqual([test.sha, []]);
      }
      expect((await statusesOf(h, oldest.sha)).map((s) => s.description)).toEqual(['Tests queued']);
    });

    it('sweepExpired ×2 over a timed-out test, an orphan VM and a due deletion: each deleted, ended and posted once', async () => {
      const { cloud } = h;
      const [timedOut, canceled] = await runningPush(h, 'race-expired');
      const setupStatuses = (await statusesOf(h, timedOut!.sha)).length;
      // The teardown tasks wait: what is deleted here is deleted by the sweeps.
      cloud.tasks.pause();
      await pastDeadline(h, timedOut!);
      const cancel = await cancelTest(
        { store: h.store, log: silentLogger, now: () => new Date() },
        canceled!.id,
        CANCELED_BY_MAINTAINER,
      );
      expect(cancel.canceled).toBe(true);
      // Its teardown was never asked for, and its first check is due.
      await rewrite(h, canceled!.id, { 'deletion.nextCheckAt': ago(1_000) });
      const orphan = await insertVm(h, {
        testId: 'no-such-test',
        attempt: 1,
        labels: { vmci: 'true' },
        metadata: null,
      });
      const vms = [timedOut!.instance!.name, canceled!.instance!.name, orphan];

      const attempts = await Promise.all([
        cloud.scheduler.runNow('sweepExpired'),
        cloud.scheduler.runNow('sweepExpired'),
      ]);

      expect(attempts.map((a) => a.httpStatus)).toEqual([200, 200]);
      const summaries = doneLines(h, 'sweepExpired').map((l) => l.summary as SweepExpiredSummary);
      expect(summaries).toHaveLength(2);
      expect(sum(summaries.map((s) => s.timedOut.done))).toBe(1);
      expect(sum(summaries.map((s) => s.deletions.done))).toBe(1);
      expect(vmNames(h)).toEqual([timedOut!.instance!.name]);
      expect((await getTest(h, canceled!.id)).deletion).toMatchObject({
        attempts: 1,
        doneAt: expect.any(Date),
      });

      cloud.tasks.resume();
      const ended = await waitForTest(h, timedOut!.id, deletionDone, 'its VM deleted');
      await cloud.tasks.whenIdle();
      expect(ended.status).toBe('timed_out');
      expect(vmNames(h)).toEqual([]);
      for (const name of vms) expect([name, realDeletes(h, name)]).toEqual([name, 1]);
      // The second sweep's delete of the orphan named the same request: no new operation.
      expect(deletesOf(h, orphan).filter((c) => c.outcome === 'new_operation')).toHaveLength(1);
      // One teardown task (the generation after the run's), delivered once.
      const teardowns = cloud.tasks
        .history()
        .filter((r) => r.taskId.includes(timedOut!.id) && !r.taskId.endsWith('-g1'));
      expect(teardowns.map((r) => [r.task, r.status])).toEqual([
        [taskNameOf(cloud, timedOut!.id, 2, 'delete-vm'), 200],
      ]);
      expect(liveTasks(h, [timedOut!.id, canceled!.id])).toEqual({
        [timedOut!.id]: [],
        [canceled!.id]: [],
      });
      expect(await repeatedStatuses(h, timedOut!.sha, setupStatuses)).toEqual([]);
      const message = timeLimitExceeded(cloud.config.platforms.linux!.maxRunMinutes);
      expect((await statusesOf(h, timedOut!.sha)).filter((s) => s.description === message)).toEqual(
        [{ state: 'error', context: 'ci/linux', description: message }],
      );
      expect(await h.store.slotHolders('linux')).toEqual([]);
      expect(await h.store.slotHolders('windows')).toEqual([]);
    });
  });
});

// --- a real VM ----------------------------------------------------------------------------------

describe('a VM running the real startup script, kept alive past its deadline', () => {
  const repo = useSuiteRepo('vmci-sweeps-repo-');
  // Long enough that Compute's own maxRunDuration (scaled by the cloud's clock) never ends it.
  const maxRunMinutes = 120;
  const h = useSweepCloud({
    configPath: join(__dirname, '../../config/vmci.local.yaml'),
    configure: (config) => ({
      ...config,
      cloneUrls: { [REPO]: repo.dir },
      platforms: { linux: { ...config.platforms.linux!, maxRunMinutes } },
    }),
    bootVms: true,
    vmEnv: { VMCI_REPORT_DELAY_SECONDS: '0.1' },
  });

  it('one sweepExpired ends it timed_out, stops and deletes the VM, posts the error; a late report is refused', async () => {
    const { cloud } = h;
    const sha = repo.commit('slow', 'echo "slow suite"; sleep 600');
    const answer = await send(cloud, 'push', pushPayload(sha));
    expect(answer.status).toBe(202);
    const [id] = answer.body.tests as string[];
    const testing = await waitForTest(h, id!, (t) => t.stage === 'testing', 'testing');
    const vm = testing.instance!.name;
    expect(cloud.compute.instances()).toMatchObject([
      { name: vm, status: 'RUNNING', pid: expect.any(Number) },
    ]);
    // `testing` is reported just before the suite starts: on a busy machine the
    // sweep could stop the VM in between. The sweep is to stop a suite that runs.
    await eventually(() => cloud.compute.consoleOutput(vm).includes('slow suite'), 30_000);
    await pastDeadline(h, testing);

    const run = await runSweep(h, 'sweepExpired');

    expect(run.summary.timedOut).toEqual(counts({ found: 1, done: 1 }));
    expect(await cloud.compute.whenTerminated(vm)).toMatchObject({ status: 'DELETED' });
    const ended = await waitForTest(h, id!, deletionDone, 'its VM deleted');
    const message = timeLimitExceeded(maxRunMinutes);
    expect(ended).toMatchObject({ status: 'timed_out', stage: 'testing', message });
    // Stopped by a signal while the suite ran, not after it.
    expect(cloud.compute.consoleOutput(vm)).toContain('vmci: stopped by a signal');
    expect(realDeletes(h, vm)).toBe(1);
    expect(await h.store.slotHolders('linux')).toEqual([]);
    const statuses = await statusesOf(h, sha);
    expect(statuses.at(-1)).toEqual({ state: 'error', context: 'ci/linux', description: message });

    // The suite "finishes" after all: too late, the test's end stands.
    const late = await fetch(`${cloud.url}/progress`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${deriveVmToken(cloud.tokenKey, id!, vm)}`,
      },
      body: JSON.stringify({
        testId: id,
        stage: 'completed',
        result: { exitCode: 0, passed: 1, failed: 0 },
      }),
    });
    expect(late.status).toBe(409);
    expect(await getTest(h, id!)).toEqual(ended);
    expect(await statusesOf(h, sha)).toEqual(statuses);
  });
});
