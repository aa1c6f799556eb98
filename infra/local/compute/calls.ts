// The call log: every instances.insert and instances.delete the stand-in
// received, oldest first, with what became of it (`GET /_local/compute/calls`).
// Integration tests count a VM's 'new_operation' deletes to tell that it was
// deleted once, not twice.
import { ComputeApiError } from './api';
import type { OperationJson } from './operations';

export type ComputeCallMethod = 'insert' | 'delete';

/**
 * - new_operation: the call was accepted and started an operation (one that may
 *   still fail: an injected failed-operation fault is a new operation too);
 * - same_request: its requestId matched an earlier call's operation, which was
 *   answered again; nothing new was done;
 * - error: the call itself failed (404, 409, 400, an injected synchronous fault…).
 */
export type ComputeCallOutcome = 'new_operation' | 'same_request' | 'error';

export interface ComputeCall {
  method: ComputeCallMethod;
  project: string;
  zone: string;
  /** The instance name (for an insert, the body's `name`; '' when it had none). */
  name: string;
  /** The requestId as sent; null when there was none. */
  requestId: string | null;
  at: Date;
  outcome: ComputeCallOutcome;
  /** The error's message, when the outcome is 'error'. */
  error?: string;
  /** The name of the operation answered (new or earlier), unless the call failed. */
  operation?: string;
  /** The injected fault this call used up (faults.ts): it failed the call or its operation (or slowed it). */
  fault?: string;
}

/** What a tracked call answers, and whether it was a repeat of an earlier requestId. */
export interface CallResult {
  result: OperationJson;
  sameRequest: boolean;
}

/** Filled in by the call as it goes. */
export interface CallNote {
  fault?: string;
}

export class CallLog {
  private readonly entries: ComputeCall[] = [];

  /** Runs `call` and notes how it went; rethrows what it throws. */
  track(
    what: Pick<ComputeCall, 'method' | 'project' | 'zone' | 'name' | 'requestId'>,
    call: (note: CallNote) => CallResult,
  ): OperationJson {
    const at = new Date();
    const requestId = what.requestId === '' ? null : what.requestId;
    const note: CallNote = {};
    try {
      const { result, sameRequest } = call(note);
      this.entries.push({
        ...what,
        requestId,
        at,
        outcome: sameRequest ? 'same_request' : 'new_operation',
        operation: result.name,
        ...note,
      });
      return result;
    } catch (err) {
      const message =
        err instanceof ComputeApiError
          ? `HTTP ${err.httpStatus}: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err);
      this.entries.push({ ...what, requestId, at, outcome: 'error', error: message, ...note });
      throw err;
    }
  }

  /** Copies, oldest first. */
  list(): ComputeCall[] {
    return this.entries.map((c) => ({ ...c, at: new Date(c.at) }));
  }
}
