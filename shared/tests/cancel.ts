// Canceling a test (DESIGN §2, §5): the one operation behind "superseded",
// "PR closed", a maintainer's cancel and the sweeps. One compare-and-set
// transition ends the test, gives back its capacity slot and records its VM's
// deletion, so a canceled test never holds a slot or leaves an untracked VM.
// Deleting the VM itself is the VM-teardown work's job, not this module's.
import { isTerminal, LIVE_STATUSES, type TestRecord, type TestStatus } from '../domain/test';
import type { Logger } from '../log';
import type { TestStore } from '../store/port';
import { endMove } from './end-move';
import { hasPendingDeletion } from './teardown';

export interface CancelDeps {
  store: TestStore;
  log: Logger;
  now: () => Date;
}

export interface CancelOptions {
  /** Statuses the test may be canceled from; default: every non-terminal status. */
  from?: readonly TestStatus[];
  /** The test as the caller just read it: no read of its own (a stale one costs one retry). */
  read?: TestRecord;
}

export type CancelResult =
  | { canceled: true; test: TestRecord; vmDeletionRecorded: boolean; slotReleased: boolean }
  | {
      canceled: false;
      reason: 'not_found' | 'terminal' | 'unexpected_status';
      current?: TestRecord;
    };

/**
 * How many compare-and-set attempts a cancel makes. Each lost race means the
 * test moved on (queued → starting → running); a few moves is all a live test
 * can make before it is terminal.
 */
export const CANCEL_ATTEMPTS = 4;

export async function cancelTest(
  deps: CancelDeps,
  testId: string,
  message: string,
  options: CancelOptions = {},
): Promise<CancelResult> {
  const from = options.from ?? LIVE_STATUSES;
  const log = deps.log.child({ testId });
  let current = options.read ?? (await deps.store.getTest(testId));
  for (let attempt = 1; ; attempt++) {
    if (!current) return { canceled: false, reason: 'not_found' };
    if (isTerminal(current.status)) return { canceled: false, reason: 'terminal', current };
    if (!from.includes(current.status)) {
      return { canceled: false, reason: 'unexpected_status', current };
    }
    const move = endMove(current, 'canceled', message, deps.now());
    const result = await deps.store.transition(testId, move);
    if (result.ok) {
      const slotReleased = result.slot?.op === 'release' && result.slot.released;
      log.info('Test canceled', {
        from: current.status,
        statusMessage: message,
        slotReleased,
        vmDeletion: move.patch?.deletion?.name ?? null,
      });
      return {
        canceled: true,
        test: result.test,
        vmDeletionRecorded: hasPendingDeletion(result.test),
        slotReleased,
      };
    }
    if (result.reason === 'not_found') return { canceled: false, reason: 'not_found' };
    if (attempt >= CANCEL_ATTEMPTS) {
      log.warn('Cancel gave up: the test kept moving', {
        attempts: attempt,
        status: result.current.status,
      });
      return { canceled: false, reason: 'unexpected_status', current: result.current };
    }
    // Lost the race: the transaction's own read is the fresh state to retry from.
    current = result.current;
  }
}

export interface CancelSelector {
  repo: string;
  pr: number;
  /** Only tests in these statuses (1 to 10), checked again at the moment of each cancel. */
  statuses: readonly TestStatus[];
  /** Tests of this commit are left alone (the PR's new head when superseding). */
  exceptSha?: string;
  message: string;
}

export type CancelEntry =
  { testId: string; result: CancelResult } | { testId: string; error: Error };

/**
 * Cancels a PR's tests in `statuses` (at most `limit` of them, newest first).
 * Each test is canceled on its own: one failure is logged and reported in its
 * entry, and the others go on. A failure to list the tests is thrown.
 */
export async function cancelTests(
  deps: CancelDeps,
  selector: CancelSelector,
  limit = 100,
): Promise<CancelEntry[]> {
  const { repo, pr, statuses, exceptSha, message } = selector;
  const listed = await deps.store.listByPr(repo, pr, { statuses, limit });
  const targets = listed.filter((test) => test.sha !== exceptSha);
  return Promise.all(
    targets.map(async (read): Promise<CancelEntry> => {
      const { id } = read;
      try {
        const result = await cancelTest(deps, id, message, { from: statuses, read });
        return { testId: id, result };
      } catch (thrown) {
        const error = thrown instanceof Error ? thrown : new Error(String(thrown));
        deps.log.child({ testId: id }).error('Cancel failed', { error, repo, pr });
        return { testId: id, error };
      }
    }),
  );
}
