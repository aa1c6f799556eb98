// enqueueTest: give a test its Cloud Task and move it to `queued` (DESIGN §1,
// §3.3). Used by the webhook for new tests and by the pending sweep.
//
// Generations: `test.enqueueGeneration` is the generation of the last task
// created for the test (0: none yet). An enqueue asks for generation + 1,
// whose task name derives from the test id and that number. Then:
// - the queue answered (created, or the name was taken already): the test
//   moves `from` → queued by compare-and-set, with
//   { enqueueGeneration: generation, queuedAt: now } and the TESTS_QUEUED line;
// - the move lost a race (canceled meanwhile, or a racing caller queued it
//   first): reported as `moved`; the racing callers named the same task, so
//   there is still one, and runTest ignores a task whose test is not queued;
// - the queue failed: the test stays as it is, the failure is logged and
//   reported, and the sweep tries again later with the same generation.
// A crash between the task's creation and the move is safe for the same
// reason: the retry names the same task, the queue answers ALREADY_EXISTS
// (created: false), and the move happens then.
// Store failures (the database unreachable) throw, as the store port does.
import type { TestRecord, TestStatus } from '../domain/test';
import { TESTS_QUEUED } from '../domain/messages';
import type { Logger } from '../log';
import type { TestStore } from '../store/port';
import type { TaskQueue } from './port';

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
  | { queued: false; reason: 'queue_failed'; retriable: boolean; code: string; detail: string }
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
  const task = await deps.queue.enqueue({ testId: test.id, generation });
  if (!task.ok) {
    log.warn('could not enqueue the test; it stays for the sweep', {
      generation,
      code: task.code,
      retriable: task.retriable,
      detail: task.detail,
    });
    const { retriable, code, detail } = task;
    return { queued: false, reason: 'queue_failed', retriable, code, detail };
  }

  const at = deps.now();
  const moved = await deps.store.transition(test.id, {
    from,
    to: 'queued',
    at,
    message: options.message ?? TESTS_QUEUED,
    patch: { enqueueGeneration: generation, queuedAt: at },
    // A caller that read an older generation lost to one that queued it first.
    expect: { enqueueGeneration: test.enqueueGeneration },
  });
  if (!moved.ok) {
    const current = moved.reason === 'not_found' ? null : moved.current;
    const detail = current === null ? 'test not found' : `test is ${current.status}`;
    log.info('test not queued: it moved meanwhile', {
      generation,
      taskName: task.taskName,
      reason: moved.reason,
      detail,
    });
    return { queued: false, reason: 'moved', detail, current };
  }
  log.info('test queued', { generation, taskName: task.taskName, created: task.created });
  return { queued: true, test: moved.test, taskName: task.taskName, created: task.created };
}
