// The task-queue port: one named Cloud Task per enqueue generation of a test
// (DESIGN §1, §3.2). Failures come back as data; only programming errors (a
// bad test id or generation) throw.

import type { TaskPurpose } from '../domain/naming';

export interface TaskRequest {
  testId: string;
  /** The enqueue generation, 1 or more; the task name derives from it and the test id. */
  generation: number;
  /** What the task is for, shown in its name; default `run`. */
  purpose?: TaskPurpose;
}

export type EnqueueResult =
  | { ok: true; taskName: string; created: boolean }
  | { ok: false; retriable: boolean; code: string; detail: string };

export type TaskState = 'exists' | 'missing' | 'unknown';

export interface TaskQueue {
  /** Creates the named task for one enqueue generation of a test. Idempotent: the name exists already → ok, created: false. */
  enqueue(request: TaskRequest): Promise<EnqueueResult>;
  /** Whether that generation's task still exists in the queue: 'exists' | 'missing' | 'unknown' (the queue could not be asked). */
  taskState(request: TaskRequest): Promise<TaskState>;
}
