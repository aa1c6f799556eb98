// Deleting an ended test's VM (DESIGN §3.4): the one place that turns a
// recorded deletion into a Compute call and notes how it went. A VM that is
// already gone (404) counts as deleted. What is not finished here (a deletion
// still running, a failed call) stays recorded with its attempts and the time
// of its next check, for the next teardown task or the expired sweep.
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

export interface TeardownOptions {
  budgetMs: number;
  /** Delete again although a deletion was noted done: the VM appeared after that check. */
  evenIfDone?: boolean;
  /** The first back-off after an unfinished attempt; it doubles per attempt. Default 60 s. */
  backoffBaseMs?: number;
  /**
   * The deletion's attempts as the caller read them. Given, the attempt is
   * claimed on the test first (compare-and-set), and Compute is called only if
   * the claim wins: racing callers (sweep instances, a teardown task) make one call.
   */
  expectAttempts?: number;
}

export type TeardownOutcome =
  | { outcome: 'nothing' }
  | { outcome: 'gone'; deletion: VmDeletion }
  /** Compute accepted the deletion but it did not finish within the budget. */
  | { outcome: 'deleting'; deletion: VmDeletion }
  | { outcome: 'failed'; deletion: VmDeletion; error: GcpErrorClass }
  /** Only with `expectAttempts`: the deletion moved on since it was read; Compute was not called. */
  | { outcome: 'claimed_elsewhere' };

/** The outcomes of a call without `expectAttempts`, which never loses a claim. */
export type UnclaimedTeardownOutcome = Exclude<TeardownOutcome, { outcome: 'claimed_elsewhere' }>;

const DEFAULT_BACKOFF_BASE_MS = 60_000;
const MAX_BACKOFF_MS = 30 * 60_000;

/**
 * How long to wait before checking a deletion again after its `attempts`-th
 * attempt (≥ 1): baseMs, doubled per attempt, at most 30 minutes. A VM that
 * will not go away is then checked twice an hour, not on every sweep.
 */
export function deletionBackoffMs(attempts: number, baseMs: number): number {
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a whole number ≥ 1, got ${attempts}`);
  }
  // The exponent is capped so that a huge attempts count cannot make Infinity (or NaN with 0 ms).
  return Math.min(baseMs * 2 ** Math.min(attempts - 1, 30), MAX_BACKOFF_MS);
}

/** A deletion was recorded for the test's VM and is not known to be done. */
export function hasPendingDeletion(test: Pick<TestRecord, 'deletion'>): boolean {
  return test.deletion !== null && test.deletion.doneAt === null;
}

export function teardownTestVm(
  deps: TeardownDeps,
  test: TestRecord,
  options: TeardownOptions & { expectAttempts?: undefined },
): Promise<UnclaimedTeardownOutcome>;
export function teardownTestVm(
  deps: TeardownDeps,
  test: TestRecord,
  options: TeardownOptions,
): Promise<TeardownOutcome>;
export async function teardownTestVm(
  deps: TeardownDeps,
  test: TestRecord,
  options: TeardownOptions,
): Promise<TeardownOutcome> {
  const recorded = test.deletion;
  if (!recorded || (recorded.doneAt !== null && !options.evenIfDone)) return { outcome: 'nothing' };
  const log = deps.log.child({ testId: test.id, platform: test.platform, instance: recorded.name });
  const baseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const attempts = recorded.attempts + 1;
  const nextCheck = (now: Date) => new Date(now.getTime() + deletionBackoffMs(attempts, baseMs));

  let expect: { attempts: number } | undefined;
  if (options.expectAttempts !== undefined) {
    // The claim counts the attempt and pushes the next check out before
    // Compute is called, so no other caller starts the same attempt meanwhile.
    const claim: VmDeletion = { ...recorded, attempts, nextCheckAt: nextCheck(deps.now()) };
    const claimed = await deps.store.recordDeletion(test.id, claim, {
      attempts: options.expectAttempts,
    });
    if (!claimed.recorded) {
      log.info('VM deletion claimed elsewhere', { expectAttempts: options.expectAttempts });
      return { outcome: 'claimed_elsewhere' };
    }
    expect = { attempts };
  }

  const deleted = await deps.vms.deleteVm(recorded.name, recorded.zone, {
    budgetMs: options.budgetMs,
  });
  const gone = deleted.ok && deleted.gone;
  const now = deps.now();
  const deletion: VmDeletion = gone
    ? { ...recorded, attempts, doneAt: now, nextCheckAt: null }
    : { ...recorded, attempts, doneAt: null, nextCheckAt: nextCheck(now) };
  const { recorded: noted } = await deps.store.recordDeletion(test.id, deletion, expect);
  // The test is gone, records another VM's deletion now, or (claimed) another
  // caller took the next attempt: nothing of this one to note.
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
