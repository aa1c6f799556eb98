// Deleting an ended test's VM (DESIGN §3.4): the one place that turns a
// recorded deletion into a Compute call and notes how it went. A VM that is
// already gone (404) counts as deleted. What is not finished here (a deletion
// still running, a failed call) stays recorded with its attempts, for the next
// teardown task or the expired sweep.
import type { VmProvisioner } from '../compute/port';
import type { TestRecord, VmDeletion } from '../domain/test';
import type { GcpErrorClass } from '../gcp/errors';
import type { Logger } from '../log';
import type { TestStore } from '../store/port';

export interface TeardownDeps {
  store: TestStore;
  vms: VmProvisioner;
  log: Logger;
  now: () => Date;
}

export type TeardownOutcome =
  | { outcome: 'nothing' }
  | { outcome: 'gone'; deletion: VmDeletion }
  /** Compute accepted the deletion but it did not finish within the budget. */
  | { outcome: 'deleting'; deletion: VmDeletion }
  | { outcome: 'failed'; deletion: VmDeletion; error: GcpErrorClass };

/** A deletion was recorded for the test's VM and is not known to be done. */
export function hasPendingDeletion(test: Pick<TestRecord, 'deletion'>): boolean {
  return test.deletion !== null && test.deletion.doneAt === null;
}

export async function teardownTestVm(
  deps: TeardownDeps,
  test: TestRecord,
  options: {
    budgetMs: number;
    /** Delete again although a deletion was noted done: the VM appeared after that check. */
    evenIfDone?: boolean;
  },
): Promise<TeardownOutcome> {
  const recorded = test.deletion;
  if (!recorded || (recorded.doneAt !== null && !options.evenIfDone)) return { outcome: 'nothing' };
  const log = deps.log.child({ testId: test.id, platform: test.platform, instance: recorded.name });
  const deleted = await deps.vms.deleteVm(recorded.name, recorded.zone, {
    budgetMs: options.budgetMs,
  });
  const attempts = recorded.attempts + 1;
  const gone = deleted.ok && deleted.gone;
  const deletion: VmDeletion = { ...recorded, attempts, doneAt: gone ? deps.now() : null };
  const { recorded: noted } = await deps.store.recordDeletion(test.id, deletion);
  // The test is gone, or records another VM's deletion now: nothing of this one to note.
  if (!noted) log.warn('VM deletion not noted on the test', {});
  if (!deleted.ok) {
    log.warn('VM deletion failed; it will be retried', {
      zone: recorded.zone,
      attempts,
      code: deleted.error.code,
      retriable: deleted.error.retriable,
      detail: deleted.error.detail,
    });
    return { outcome: 'failed', deletion, error: deleted.error };
  }
  log.info(gone ? 'VM deleted' : 'VM deletion under way', { zone: recorded.zone, attempts });
  return { outcome: gone ? 'gone' : 'deleting', deletion };
}
