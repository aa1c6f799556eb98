// How a live test ends, whatever ends it (a cancel, a VM that cannot be made,
// later a result or a time-out): one compare-and-set from exactly the status
// read, which gives back the capacity slot if that status holds one and
// records the VM's deletion, so an ended test never holds a slot or leaves an
// untracked VM (DESIGN §3.4, §3.5). The store sets, in the same transaction,
// when the final status is checked on GitHub (`statusCheckAt`, DESIGN §3.7).
import { holdsSlot, type TerminalStatus, type TestRecord, type VmDeletion } from '../domain/test';
import type { TestPatch, TransitionRequest } from '../store/port';

/**
 * The teardown task asked for with the end goes first; the expired sweep
 * checks the deletion only if that task has not finished it by then (a failed
 * attempt sets its own next check, with back-off).
 */
export const TEARDOWN_FIRST_MS = 2 * 60_000;

export function endMove(
  test: TestRecord,
  to: TerminalStatus,
  message: string,
  at: Date,
): TransitionRequest {
  const patch: TestPatch = { finishedAt: at, leaseExpiresAt: null };
  const deletion = deletionFor(test, at);
  if (deletion) patch.deletion = deletion;
  return {
    from: [test.status],
    to,
    at,
    message,
    patch,
    ...(holdsSlot(test.status) ? { slot: { op: 'release' } } : {}),
  };
}

/** A deletion for the test's VM; one already recorded for the same VM is kept (with its attempts). */
function deletionFor(test: TestRecord, at: Date): VmDeletion | null {
  const { instance, deletion } = test;
  if (!instance) return null;
  if (deletion && deletion.name === instance.name && deletion.zone === instance.zone) return null;
  return {
    name: instance.name,
    zone: instance.zone,
    requestedAt: at,
    attempts: 0,
    doneAt: null,
    nextCheckAt: new Date(at.getTime() + TEARDOWN_FIRST_MS),
  };
}
