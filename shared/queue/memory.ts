// The in-memory double of the task queue, with Cloud Tasks' naming semantics:
// a name is taken while its task lives and after it completed or was dropped
// (tombstones, kept forever here), so a repeated enqueue never makes a second
// task. Failures can be switched on to play an unreachable or misconfigured queue.
import type { EnqueueResult, TaskQueue, TaskRequest, TaskState } from './port';
import { queuePath as makeQueuePath, taskBody, taskName } from './task-name';

export interface MemoryQueueFailure {
  retriable: boolean;
  /** Default: UNAVAILABLE when retriable, NOT_FOUND (a missing queue) when not. */
  code?: string;
  detail?: string;
}

export interface MemoryQueueOptions {
  /** Default: projects/vmci-local/locations/us-central1/queues/test-runs. */
  queuePath?: string;
  /** Every call fails like this until `failWith(null)`. */
  failWith?: MemoryQueueFailure;
}

export interface MemoryTask {
  /** The full resource name, as `enqueue` returns it. */
  name: string;
  testId: string;
  generation: number;
  /** The JSON body runTest would receive. */
  body: string;
}

export interface MemoryQueue extends TaskQueue {
  readonly queuePath: string;
  /** Live tasks, oldest first. */
  tasks(): MemoryTask[];
  /**
   * Every later call fails like this (null: they work again). While it holds,
   * taskState answers 'unknown', or 'missing' for NOT_FOUND, as Cloud Tasks does.
   */
  failWith(failure: MemoryQueueFailure | null): void;
  /** The next `count` enqueues fail like this; taskState is unaffected. */
  failNext(count: number, failure: MemoryQueueFailure): void;
  /** The task ran and its handler answered 2xx. False when no such task lives. */
  complete(name: string): boolean;
  /** The task was given up on (retries used up) or deleted. False when no such task lives. */
  drop(name: string): boolean;
}

function codeOf(failure: MemoryQueueFailure): string {
  return failure.code ?? (failure.retriable ? 'UNAVAILABLE' : 'NOT_FOUND');
}

function failureResult(failure: MemoryQueueFailure): EnqueueResult {
  const code = codeOf(failure);
  return {
    ok: false,
    retriable: failure.retriable,
    code,
    detail: failure.detail ?? `memory queue: ${code}`,
  };
}

export function createMemoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  const path = options.queuePath ?? makeQueuePath('vmci-local', 'us-central1', 'test-runs');
  const live = new Map<string, MemoryTask>();
  const tombstones = new Set<string>();
  let always: MemoryQueueFailure | null = options.failWith ?? null;
  const next: MemoryQueueFailure[] = [];

  // A turn passes, as a round trip would, so racing callers interleave.
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  const finish = (name: string): boolean => {
    if (!live.delete(name)) return false;
    tombstones.add(name);
    return true;
  };

  return {
    queuePath: path,

    async enqueue(request: TaskRequest): Promise<EnqueueResult> {
      const name = taskName(path, request);
      await turn();
      const failure = next.shift() ?? always;
      if (failure) return failureResult(failure);
      // Check and insert in one synchronous step: the queue's own atomic create.
      if (live.has(name) || tombstones.has(name))
        return { ok: true, taskName: name, created: false };
      live.set(name, {
        name,
        testId: request.testId,
        generation: request.generation,
        body: taskBody(request.testId),
      });
      return { ok: true, taskName: name, created: true };
    },

    async taskState(request: TaskRequest): Promise<TaskState> {
      const name = taskName(path, request);
      await turn();
      if (always) return codeOf(always) === 'NOT_FOUND' ? 'missing' : 'unknown';
      return live.has(name) ? 'exists' : 'missing';
    },

    tasks: () => [...live.values()].map((task) => ({ ...task })),
    failWith: (failure) => {
      always = failure;
    },
    failNext: (count, failure) => {
      if (!Number.isSafeInteger(count) || count < 0) {
        throw new RangeError(`count must be a non-negative integer, got ${count}`);
      }
      for (let i = 0; i < count; i++) next.push(failure);
    },
    complete: finish,
    drop: finish,
  };
}
