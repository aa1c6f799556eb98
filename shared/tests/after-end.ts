// What follows the end of a test, whatever ended it (a result, a cancel, a
// failure to start, later a time-out): its final status on GitHub, the
// deletion of its VM, and the next pending test of its platform when the end
// freed a slot. Each step is idempotent and none throws for GitHub or the
// queue: what fails here is done again by the sweeps.
import type { TestRecord } from '../domain/test';
import { publishTestStatus, type PublishDeps } from '../github/publish';
import { enqueueTest } from '../queue/enqueue-test';
import type { TaskQueue } from '../queue/port';
import { hasPendingDeletion } from './teardown';

export type AfterEndDeps = PublishDeps & {
  queue: TaskQueue;
  /** Where known, a platform in maintenance gets no next test (it waits for the maintenance). */
  config?: { platforms: Record<string, { maintenance: boolean }> };
};

export interface AfterEndOptions {
  /** The end move gave back the test's slot. */
  slotReleased: boolean;
  /** Post the final status (default); false when the caller posts its statuses itself. */
  publish?: boolean;
}

export interface AfterEndOutcome {
  teardownRequested: boolean;
  /** The pending test that was queued into the freed slot. */
  started: string | null;
}

export async function afterTestEnded(
  deps: AfterEndDeps,
  test: TestRecord,
  options: AfterEndOptions,
): Promise<AfterEndOutcome> {
  const [teardownRequested] = await Promise.all([
    requestVmTeardown(deps, test),
    // A final status that fails here is posted again by the expired sweep, which alone gives up.
    options.publish === false ? undefined : publishTestStatus(deps, test, { retriedLater: true }),
  ]);
  const started = options.slotReleased ? await startNextPending(deps, test.platform) : null;
  return { teardownRequested, started };
}

/**
 * Asks runTest to delete the ended test's VM, through a Cloud Task of the
 * test's next enqueue generation: the request answers the VM at once, the
 * queue retries the deletion, and functions that never load Compute (webhook,
 * progress) can ask for it. Repeating it names the same task, so once.
 */
export async function requestVmTeardown(deps: AfterEndDeps, test: TestRecord): Promise<boolean> {
  if (!hasPendingDeletion(test)) return false;
  const generation = test.enqueueGeneration + 1;
  const task = await deps.queue.enqueue({ testId: test.id, generation, purpose: 'delete-vm' });
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  if (!task.ok) {
    log.warn('VM teardown not requested; the expired sweep will delete the VM', {
      instance: test.deletion?.name,
      code: task.code,
      detail: task.detail,
    });
    return false;
  }
  log.info('VM teardown requested', { instance: test.deletion?.name, taskName: task.taskName });
  return true;
}

/** Queues the platform's longest-waiting pending test, if there is one. */
export async function startNextPending(
  deps: AfterEndDeps,
  platform: string,
): Promise<string | null> {
  if (deps.config?.platforms[platform]?.maintenance) return null;
  try {
    const [next] = await deps.store.listByStatus('pending', { platform, limit: 1 });
    if (!next) return null;
    const queued = await enqueueTest(deps, next);
    if (!queued.queued) return null;
    await publishTestStatus(deps, queued.test);
    return queued.test.id;
  } catch (error) {
    // The pending sweep starts it instead; the end that got here stands.
    deps.log.error('Could not start the next pending test', { platform, error });
    return null;
  }
}
