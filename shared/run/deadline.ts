// runTest's time (issue 12, item 7): one deadline per delivery, not one budget
// per Compute call. Cloud Tasks waits dispatchDeadlineSeconds for an answer and
// then gives up on the delivery (and may send the task again); the claim is
// exclusive for leaseMs, after which another delivery may take it over and make
// a VM of its own. So a delivery gets one deadline, fixed when its request
// arrives, and every Compute call it makes is given only what is left of it:
// three slow zones cannot stretch one delivery to three dispatch deadlines.
import type { QueueConfig } from '../config';
import type { GcpErrorClass } from '../gcp/errors';

/** Room left after the last Compute call for the state writes and the answer. */
export const STATE_WRITES_MS = 30_000;
/** A delivery's shortest window (the dispatch deadline's floor, 15 s, leaves 10 s). */
export const MIN_WINDOW_MS = 10_000;
/**
 * The least time left for a VM creation to be worth starting: an insert answers
 * in seconds, but its operation (a VM coming up, or a stockout) takes 10–40 s.
 * With less, the creation would most likely end as a timeout, which keeps the
 * slot for a VM that may never come. A short window needs only half of itself.
 */
export const MIN_CREATE_MS = 20_000;
/** How long a claim outlasts the dispatch deadline. */
export const LEASE_MARGIN_MS = 60_000;

export interface RunDeadline {
  /** When the delivery's last Compute call must have ended. */
  at: Date;
  /** With less than this left, no VM creation is started (MIN_CREATE_MS, or half a short window). */
  minCreateMs: number;
}

type Queue = Pick<QueueConfig, 'dispatchDeadlineSeconds'>;

/** From a request's arrival to its deadline: the dispatch deadline less the state writes' room. */
export function deliveryWindowMs(queue: Queue): number {
  return Math.max(MIN_WINDOW_MS, queue.dispatchDeadlineSeconds * 1000 - STATE_WRITES_MS);
}

/** The deadline of a delivery that arrived at `arrivedAt`: computed once, when the handler starts. */
export function runTestDeadline(arrivedAt: Date, queue: Queue): RunDeadline {
  const windowMs = deliveryWindowMs(queue);
  return {
    at: new Date(arrivedAt.getTime() + windowMs),
    minCreateMs: Math.min(MIN_CREATE_MS, Math.floor(windowMs / 2)),
  };
}

/**
 * How long a claim is exclusive: past the dispatch deadline (so past the
 * delivery's deadline and its state writes), so a claim is never taken over
 * while the delivery that holds it still runs.
 */
export function runTestTimings(queue: Queue): { leaseMs: number } {
  return { leaseMs: queue.dispatchDeadlineSeconds * 1000 + LEASE_MARGIN_MS };
}

/** What is left of the deadline at `now` (never negative): the budget of a Compute call. */
export function timeLeftMs(deadline: RunDeadline, now: Date): number {
  return Math.max(0, deadline.at.getTime() - now.getTime());
}

/** Whether a VM creation (the next placement) is still worth starting at `now`. */
export function createFits(deadline: RunDeadline, now: Date): boolean {
  return timeLeftMs(deadline, now) >= deadline.minCreateMs;
}

/** The one line people see when a delivery stopped before any VM creation for lack of time. */
export const NO_TIME_TO_START =
  'Not enough time left in this attempt to start a VM. The test will be retried automatically.';

/** Why a delivery stopped without creating: retriable, no VM made (nothing was started). */
export function outOfTimeError(leftMs: number, minCreateMs: number): GcpErrorClass {
  return {
    code: 'OUT_OF_TIME',
    retriable: true,
    action: 'retry_later',
    userMessage: NO_TIME_TO_START,
    detail: `${leftMs} ms left before the delivery's deadline, less than the ${minCreateMs} ms a VM creation needs`,
  };
}
