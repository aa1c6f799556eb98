// sweepPending (DESIGN §3.3), every minute: no test stays without a way to
// run. It gives a new task to queued tests whose task is gone (and shows a
// queued test whose task waits on GitHub), a new task to claims
// whose handler died, wakes tests that waited for a maintenance that is over,
// and queues pending tests into free slots, oldest first. Each step reads at
// most `sweeps.pendingBatch` tests (per platform where it goes by platform);
// the rest waits for the next run. Every change is a compare-and-set on the
// status and the enqueue generation it read, and every task is named by that
// generation, so two runs at once create one task and post one status.
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { platformInMaintenance, waitingForSlot } from '../domain/messages';
import type { TestRecord } from '../domain/test';
import { publishTestStatus } from '../github/publish';
import { enqueueTest } from '../queue/enqueue-test';
import { addCounts, eachCandidate, noCounts, type StepCounts, type SweepPendingDeps } from './deps';

/** A queued test this recent is left alone: its enqueuer may still be at work. */
export const QUEUED_GRACE_MS = 60_000;
/**
 * A pending test this recent is left alone too: the webhook queues the tests
 * it creates itself, and an end queues the next test into the slot it frees.
 * Racing them would post the same status twice.
 */
export const PENDING_GRACE_MS = 30_000;
/** How long a run may fill a platform's slots before another run may too (one run's period). */
export const FILL_LEASE_MS = 60_000;
/** How long a run that woke tests waits for another run's fill to end (real time), and how often it asks. */
const FILL_LEASE_WAIT_MS = 10_000;
const FILL_LEASE_POLL_MS = 100;

export interface SweepPendingSummary {
  /** Queued tests whose task was gone: queued again under a new task name. */
  lostTasks: StepCounts;
  /** `starting` tests whose claim expired with no task left: a new task takes the claim over. */
  expiredClaims: StepCounts;
  /** Tests that waited for a platform's maintenance, now over: pending. */
  woken: StepCounts;
  /** Pending tests of a platform now in maintenance: waiting. */
  parked: StepCounts;
  /** Pending tests queued into free slots. */
  enqueued: StepCounts;
}

export async function sweepPending(deps: SweepPendingDeps): Promise<SweepPendingSummary> {
  const summary: SweepPendingSummary = {
    lostTasks: await requeueLostTasks(deps),
    expiredClaims: await takeOverExpiredClaims(deps),
    woken: noCounts(),
    parked: noCounts(),
    enqueued: noCounts(),
  };
  for (const platform of Object.keys(deps.config.platforms)) {
    const woken = await wakeAfterMaintenance(deps, platform);
    summary.woken = addCounts(summary.woken, woken.counts);
    summary.parked = addCounts(summary.parked, await parkForMaintenance(deps, platform));
    summary.enqueued = addCounts(
      summary.enqueued,
      await fillFreeSlots(deps, platform, woken.tests),
    );
  }
  return summary;
}

async function requeueLostTasks(deps: SweepPendingDeps): Promise<StepCounts> {
  const limit = deps.config.sweeps.pendingBatch;
  const updatedBefore = new Date(deps.now().getTime() - QUEUED_GRACE_MS);
  const tests = await deps.store.listByStatus('queued', { limit, updatedBefore });
  return eachCandidate(deps.log, 'lostTasks', tests, limit, async (test) => {
    const task = await deps.queue.taskState({
      testId: test.id,
      generation: test.enqueueGeneration,
    });
    if (task === 'exists') {
      // Its task waits (a full queue, a dispatch rate): the test shows it is
      // queued, as nobody posted yet (the webhook leaves that to the claim).
      await publishTestStatus(deps, test);
      return 'skipped';
    }
    if (task !== 'missing') return taskKnown(deps, test, task);
    const queued = await enqueueTest(deps, test, { from: ['queued'] });
    if (!queued.queued) return queued.reason === 'moved' ? 'skipped' : 'failed';
    deps.log
      .child({ testId: test.id, platform: test.platform })
      .warn('The task of a queued test was gone; queued again', {
        lostGeneration: test.enqueueGeneration,
        taskName: queued.taskName,
      });
    // The line may have said why the last task waited (a GCP retry): it is queued afresh now.
    await publishTestStatus(deps, queued.test);
    return 'done';
  });
}

/**
 * A claim outlives its lease only when its handler died. While its task is
 * still in the queue, the queue's next delivery takes the claim over; once the
 * task is gone, a new one does. Either way runTest looks for the VM the claim
 * recorded before it creates one, so the takeover adopts rather than duplicates.
 */
async function takeOverExpiredClaims(deps: SweepPendingDeps): Promise<StepCounts> {
  const limit = deps.config.sweeps.pendingBatch;
  const now = deps.now();
  const starting = await deps.store.listByStatus('starting', { limit, updatedBefore: now });
  const expired = starting.filter((t) => t.leaseExpiresAt === null || t.leaseExpiresAt <= now);
  const counts = await eachCandidate(deps.log, 'expiredClaims', expired, limit, async (test) => {
    const task = await deps.queue.taskState({
      testId: test.id,
      generation: test.enqueueGeneration,
    });
    if (task !== 'missing') return taskKnown(deps, test, task);
    // The generation is taken first: only the run that takes it creates the
    // task, and a task that then fails to be created is found missing next run.
    const generation = test.enqueueGeneration + 1;
    const moved = await deps.store.transition(test.id, {
      from: ['starting'],
      to: 'starting',
      at: deps.now(),
      message: test.message,
      patch: { enqueueGeneration: generation },
      expect: { enqueueGeneration: test.enqueueGeneration, attempts: test.attempts },
    });
    if (!moved.ok) return 'skipped';
    const created = await deps.queue.enqueue({ testId: test.id, generation });
    const log = deps.log.child({ testId: test.id, platform: test.platform });
    if (!created.ok) {
      log.warn('A claim outlived its handler, and its new task could not be created', {
        generation,
        code: created.code,
        detail: created.detail,
      });
      return 'failed';
    }
    log.warn('A claim outlived its handler; a new task takes it over', {
      leaseExpiresAt: test.leaseExpiresAt,
      instance: test.instance?.name,
      taskName: created.taskName,
    });
    return 'done';
  });
  return { ...counts, more: starting.length >= limit };
}

/** A task still there needs nothing; a queue that could not say is retried next run. */
function taskKnown(
  deps: SweepPendingDeps,
  test: TestRecord,
  task: 'exists' | 'unknown',
): 'skipped' | 'failed' {
  if (task === 'exists') return 'skipped';
  deps.log
    .child({ testId: test.id, platform: test.platform })
    .warn('Could not ask the queue about a task; next run asks again', {
      generation: test.enqueueGeneration,
    });
  return 'failed';
}

/** Also returns the tests it made pending, for this run's fill step. */
async function wakeAfterMaintenance(
  deps: SweepPendingDeps,
  platform: string,
): Promise<{ counts: StepCounts; tests: TestRecord[] }> {
  const woken: TestRecord[] = [];
  if (deps.config.platforms[platform]!.maintenance) return { counts: noCounts(), tests: woken };
  const limit = deps.config.sweeps.pendingBatch;
  const tests = await deps.store.listByStatus('waiting', {
    platform,
    waitReason: 'maintenance',
    limit,
  });
  const counts = await eachCandidate(deps.log, 'woken', tests, limit, async (test) => {
    const moved = await moveAndPublish(deps, test, {
      from: 'waiting',
      to: 'pending',
      message: waitingForSlot(platform),
    });
    if (moved) woken.push(moved);
    return moved ? 'done' : 'skipped';
  });
  return { counts, tests: woken };
}

async function parkForMaintenance(deps: SweepPendingDeps, platform: string): Promise<StepCounts> {
  if (!deps.config.platforms[platform]!.maintenance) return noCounts();
  const limit = deps.config.sweeps.pendingBatch;
  const tests = await deps.store.listByStatus('pending', { platform, limit });
  return eachCandidate(deps.log, 'parked', tests, limit, async (test) => {
    const moved = await moveAndPublish(deps, test, {
      from: 'pending',
      to: 'waiting',
      message: platformInMaintenance(platform),
      waitReason: 'maintenance',
    });
    return moved ? 'done' : 'skipped';
  });
}

/**
 * Queues as many pending tests as the platform has slots that no claim or
 * task will take: those pending for a while, longest first, then those this
 * run woke. It counts and then queues, so it runs under the platform's fill
 * lease: a second run at once would count the same free slots and queue a
 * test too many (its claim would find no slot, and it would go back to pending).
 */
async function fillFreeSlots(
  deps: SweepPendingDeps,
  platform: string,
  woken: readonly TestRecord[],
): Promise<StepCounts> {
  if (deps.config.platforms[platform]!.maintenance) return noCounts();
  const lease = `fill-${platform}`;
  const holder = randomUUID();
  // The other run's fill does not know the tests this run woke: wait for it then.
  if (!(await takeFillLease(deps, lease, holder, woken.length > 0))) {
    deps.log.info("Another pending sweep is filling this platform's free slots", { platform });
    return noCounts();
  }
  try {
    return await fillUnderLease(deps, platform, woken);
  } finally {
    await deps.store.releaseLease(lease, holder).catch((error: unknown) => {
      // It runs out by itself; the next run only waits for that.
      deps.log.warn('Could not give back the fill lease', { platform, error });
    });
  }
}

/** Takes the fill lease; given `wait`, tries again until another run gives it back. */
async function takeFillLease(
  deps: SweepPendingDeps,
  lease: string,
  holder: string,
  wait: boolean,
): Promise<boolean> {
  const waitUntil = Date.now() + (wait ? FILL_LEASE_WAIT_MS : 0);
  for (;;) {
    const now = deps.now();
    const until = new Date(now.getTime() + FILL_LEASE_MS);
    if ((await deps.store.takeLease(lease, holder, now, until)).taken) return true;
    if (Date.now() >= waitUntil) return false;
    await delay(FILL_LEASE_POLL_MS);
  }
}

async function fillUnderLease(
  deps: SweepPendingDeps,
  platform: string,
  woken: readonly TestRecord[],
): Promise<StepCounts> {
  const config = deps.config.platforms[platform]!;
  const holders = await deps.store.slotHolders(platform);
  let free = config.maxConcurrent - holders.length;
  if (free <= 0) return noCounts();
  // Queued tests will claim slots when their tasks run: those slots are spoken
  // for. Counted, not listed: one aggregation, whatever maxConcurrent is.
  free -= await deps.store.countByStatus(platform, 'queued');
  if (free <= 0) return noCounts();
  const limit = Math.min(free, deps.config.sweeps.pendingBatch);
  const updatedBefore = new Date(deps.now().getTime() - PENDING_GRACE_MS);
  const waited = await deps.store.listByStatus('pending', { platform, limit, updatedBefore });
  const tests = [...waited, ...woken.filter((t) => !waited.some((w) => w.id === t.id))].slice(
    0,
    limit,
  );
  const counts = await eachCandidate(deps.log, 'enqueued', tests, limit, async (test) => {
    const queued = await enqueueTest(deps, test);
    if (!queued.queued) return queued.reason === 'moved' ? 'skipped' : 'failed';
    await publishTestStatus(deps, queued.test);
    return 'done';
  });
  // Stopping at the free slots is not a backlog for this step.
  return { ...counts, more: counts.more && limit === deps.config.sweeps.pendingBatch };
}

async function moveAndPublish(
  deps: SweepPendingDeps,
  test: TestRecord,
  move: {
    from: 'waiting' | 'pending';
    to: 'waiting' | 'pending';
    message: string;
    /** What a test moved to `waiting` waits for; the store clears it on leaving. */
    waitReason?: TestRecord['waitReason'];
  },
): Promise<TestRecord | null> {
  const moved = await deps.store.transition(test.id, {
    from: [move.from],
    to: move.to,
    at: deps.now(),
    message: move.message,
    ...(move.waitReason ? { patch: { waitReason: move.waitReason } } : {}),
  });
  if (!moved.ok) return null;
  deps.log
    .child({ testId: test.id, platform: test.platform })
    .info(move.to === 'pending' ? 'Maintenance over: test pending' : 'Platform in maintenance', {});
  await publishTestStatus(deps, moved.test);
  return moved.test;
}
