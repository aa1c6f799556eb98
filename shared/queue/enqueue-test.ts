// enqueueTest: give a test its Cloud Task and move it to `queued` (DESIGN §1,
// §3.3). Used by the webhook, the end of a test (the next pending one) and the sweeps.
//
// Generations: `test.enqueueGeneration` is the generation of the last task
// asked for the test (0: none yet). An enqueue takes generation + 1 and names
// its task from the test id and that number. The record comes first:
// - the test moves `from` → queued by compare-and-set on the generation it
//   read, with { enqueueGeneration: generation, queuedAt: now } and the
//   TESTS_QUEUED line. Of racing callers only one wins, and only the winner
//   creates the task; the others report `moved`;
// - then the task. Its handler (runTest) finds the test queued under the
//   task's generation from the first delivery, so it never waits for the
//   enqueuer to catch up;
// - the queue failed: the test goes back to where it was (its status and
//   line, under the new generation, whose task name is never used), the
//   failure is logged and reported, and the pending sweep tries again.
// A crash between the move and the task leaves a queued test without a task:
// the pending sweep finds its task missing and queues it again (requeueLostTasks).
// Store failures (the database unreachable) throw, as the store port does.
import type { TestRecord, TestStatus } from '../domain/test';
import { TESTS_QUEUED } from '../domain/messages';
import type { Logger } from '../log';
import type { TestStore, TransitionResult } from '../store/port';
import type { EnqueueResult, TaskQueue } from './port';

export interface EnqueueTestDeps {
  store: TestStore;
  queue: TaskQueue;
  log: Logger;
  now: () => Date;
}

export interface EnqueueTestOptions {
  /** The statuses the test may be queued from; default ['pending']. */
  from?: readonly TestStatus[];
  /** The friendly line; default TESTS_QUEUED. */
  message?: string;
}

export type EnqueueTestResult =
  | { queued: true; test: TestRecord; taskName: string; created: boolean }
  | {
      queued: false;
      reason: 'queue_failed';
      retriable: boolean;
      code: string;
      detail: string;
      /** The test after the failure: back where it was, or as another writer moved it. */
      current: TestRecord;
    }
  /** `current`: the test as it is now, null when it no longer exists. */
  | { queued: false; reason: 'moved'; detail: string; current: TestRecord | null };

export async function enqueueTest(
  deps: EnqueueTestDeps,
  test: TestRecord,
  options: EnqueueTestOptions = {},
): Promise<EnqueueTestResult> {
  const from = options.from ?? ['pending'];
  const log = deps.log.child({ testId: test.id, platform: test.platform });

  // Not worth a task: the caller's own record says the move cannot happen.
  if (!from.includes(test.status)) {
    return { queued: false, reason: 'moved', detail: `test is ${test.status}`, current: test };
  }

  const generation = test.enqueueGeneration + 1;
  // A queued test (its task lost) is claimed by a task of any generation: the
  // task may come first, and a queue failure leaves the test untouched.
  if (test.status === 'queued') {
    const task = await deps.queue.enqueue({ testId: test.id, generation });
    if (!task.ok) return queueFailed(log, generation, task, test);
    const moved = await move(deps, test, from, generation, options);
    if (!moved.ok) return notMoved(log, generation, moved, task.taskName);
    log.info('test queued', { generation, taskName: task.taskName, created: task.created });
    return { queued: true, test: moved.test, taskName: task.taskName, created: task.created };
  }

  const moved = await move(deps, test, from, generation, options);
  if (!moved.ok) return notMoved(log, generation, moved);
  const task = await deps.queue.enqueue({ testId: test.id, generation });
  if (!task.ok) return queueFailed(log, generation, task, await putBack(deps, test, moved.test));
  log.info('test queued', { generation, taskName: task.taskName, created: task.created });
  return { queued: true, test: moved.test, taskName: task.taskName, created: task.created };
}

function move(
  deps: EnqueueTestDeps,
  test: TestRecord,
  from: readonly TestStatus[],
  generation: number,
  options: EnqueueTestOptions,
): Promise<TransitionResult> {
  const at = deps.now();
  return deps.store.transition(test.id, {
    from,
    to: 'queued',
    at,
    message: options.message ?? TESTS_QUEUED,
    patch: { enqueueGeneration: generation, queuedAt: at },
    // A caller that read an older generation lost to one that queued it first.
    expect: { enqueueGeneration: test.enqueueGeneration },
  });
}

function notMoved(
  log: Logger,
  generation: number,
  moved: Exclude<TransitionResult, { ok: true }>,
  taskName?: string,
): EnqueueTestResult {
  const current = moved.reason === 'not_found' ? null : moved.current;
  const detail = current === null ? 'test not found' : `test is ${current.status}`;
  log.info('test not queued: it moved meanwhile', {
    generation,
    reason: moved.reason,
    detail,
    ...(taskName ? { taskName } : {}),
  });
  return { queued: false, reason: 'moved', detail, current };
}

function queueFailed(
  log: Logger,
  generation: number,
  task: Extract<EnqueueResult, { ok: false }>,
  current: TestRecord,
): EnqueueTestResult {
  const { retriable, code, detail } = task;
  log.warn('could not enqueue the test; it stays for the sweep', {
    generation,
    code,
    retriable,
    detail,
    status: current.status,
  });
  return { queued: false, reason: 'queue_failed', retriable, code, detail, current };
}

/** After a failed enqueue: the test as it was before the move. A move by someone else meanwhile (a cancel) stands. */
async function putBack(
  deps: EnqueueTestDeps,
  before: TestRecord,
  queued: TestRecord,
): Promise<TestRecord> {
  const back = await deps.store.transition(queued.id, {
    from: ['queued'],
    to: before.status,
    at: deps.now(),
    message: before.message,
    patch: {
      queuedAt: before.queuedAt,
      ...(before.waitReason ? { waitReason: before.waitReason } : {}),
    },
    expect: { enqueueGeneration: queued.enqueueGeneration },
  });
  if (back.ok) return back.test;
  return back.reason === 'not_found' ? queued : back.current;
}

/**
 * A new test that may run now, as it is stored: already queued under
 * generation 1, so that its task (created right after, by ensureTask) finds
 * it queued. One write instead of a create and a move; a crash before the
 * task is made leaves it to the pending sweep, as any lost task.
 */
export function queuedOnCreation(test: TestRecord): TestRecord {
  if (test.status !== 'pending' || test.enqueueGeneration !== 0) return test;
  const at = test.createdAt;
  return {
    ...test,
    status: 'queued',
    enqueueGeneration: 1,
    queuedAt: at,
    timeline: [{ at, status: 'queued', message: test.message }],
  };
}

/**
 * Creates the task of a test stored queued (queuedOnCreation, or found queued
 * again by a redelivery): the same name as its generation's, so a task that
 * exists already is not made twice. When the queue fails, the test goes
 * back to pending under the same generation, for the pending sweep.
 */
export async function ensureTask(
  deps: EnqueueTestDeps,
  test: TestRecord,
): Promise<EnqueueTestResult> {
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  const generation = test.enqueueGeneration;
  const task = await deps.queue.enqueue({ testId: test.id, generation });
  if (task.ok) {
    log.info('test queued', { generation, taskName: task.taskName, created: task.created });
    return { queued: true, test, taskName: task.taskName, created: task.created };
  }
  const back = await deps.store.transition(test.id, {
    from: ['queued'],
    to: 'pending',
    at: deps.now(),
    message: test.message,
    expect: { enqueueGeneration: generation },
  });
  const current = back.ok ? back.test : back.reason === 'not_found' ? test : back.current;
  return queueFailed(log, generation, task, current);
}
