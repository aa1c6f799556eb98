// The stand-in's queues and tasks in memory, and the loop that dispatches
// them: schedule times, maxConcurrentDispatches, maxDispatchesPerSecond (token
// bucket), dispatch deadlines, retries with back-off, and the hour-long
// tombstones that keep task names from being reused.
import { HttpError } from '../http';
import { attemptHeaders, sendAttempt, type AttemptError } from './dispatch';
import type { QueueName } from './names';
import type { HttpMethod, NewTask, QueueSettings, QueueStateName, TaskRecord } from './resources';
import { attemptStatus, backoffMs, givesUp, retryAfterMs } from './retry';
import { nowMicros } from './time';

export interface EngineOptions {
  /** Multiplies back-offs, Retry-After, dispatch deadlines and maxRetryDuration. */
  timeScale: number;
  /** How long a completed, dropped or deleted task's name stays taken. */
  tombstoneMs: number;
  /** The secret that signs the local OIDC/OAuth tokens. */
  localToken: string;
  fetch: typeof fetch;
  log: (line: string) => void;
}

export type AttemptOutcome = 'completed' | 'retrying' | 'dropped' | 'deleted' | 'canceled';

/** One dispatch attempt, as history() reports it. Times are epoch milliseconds. */
export interface DispatchRecord {
  /** Full task name. */
  task: string;
  taskId: string;
  /** Full queue name. */
  queue: string;
  url: string;
  method: HttpMethod;
  /** 1 for the first attempt. */
  attempt: number;
  scheduleTime: number;
  dispatchTime: number;
  responseTime: number;
  /** HTTP status, or null when no response came (see `error`). */
  status: number | null;
  error?: AttemptError;
  outcome: AttemptOutcome;
  /** For `retrying`: when the next attempt is due. */
  nextAttemptTime?: number;
}

export interface QueueRecord extends QueueName {
  settings: QueueSettings;
  state: QueueStateName;
  tasks: Map<string, TaskRecord>;
  /** Task id → when its name may be used again (epoch ms). */
  tombstones: Map<string, number>;
  inFlight: number;
  tokens: number;
  refilledAtMs: number;
}

/** Code-unit order, the order list pages and their tokens follow. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** setTimeout's limit; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class TaskEngine {
  private readonly queueMap = new Map<string, QueueRecord>();
  private readonly attempts: DispatchRecord[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly cancel = new AbortController();
  private readonly idleWaiters: Array<{ withinMs: number; resolve: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private seq = 0;
  private closed = false;

  constructor(private readonly options: EngineOptions) {}

  // Queues

  findQueue(name: string): QueueRecord | undefined {
    return this.queueMap.get(name);
  }

  queue(name: string): QueueRecord {
    const queue = this.queueMap.get(name);
    if (!queue) throw new HttpError(404, 'NOT_FOUND', `Queue ${name} does not exist.`);
    return queue;
  }

  queueList(): QueueRecord[] {
    return [...this.queueMap.values()].sort(byName);
  }

  createQueue(
    name: QueueName,
    settings: QueueSettings,
    state: QueueStateName = 'RUNNING',
  ): QueueRecord {
    if (this.queueMap.has(name.name)) {
      throw new HttpError(409, 'ALREADY_EXISTS', `Queue ${name.name} already exists.`);
    }
    const queue: QueueRecord = {
      ...name,
      settings,
      state,
      tasks: new Map(),
      tombstones: new Map(),
      inFlight: 0,
      tokens: settings.rateLimits.maxBurstSize,
      refilledAtMs: Date.now(),
    };
    this.queueMap.set(name.name, queue);
    this.options.log(`tasks: queue ${name.name} created (${state})`);
    return queue;
  }

  updateQueue(name: string, settings: QueueSettings): QueueRecord {
    const queue = this.queue(name);
    queue.settings = settings;
    queue.tokens = Math.min(queue.tokens, settings.rateLimits.maxBurstSize);
    this.pump();
    return queue;
  }

  setState(name: string, state: QueueStateName): QueueRecord {
    const queue = this.queue(name);
    queue.state = state;
    this.options.log(`tasks: queue ${name} ${state}`);
    this.pump();
    return queue;
  }

  // Tasks

  createTask(queueName: string, input: NewTask, generateId: () => string): TaskRecord {
    const queue = this.queue(queueName);
    const nowMs = Date.now();
    for (const [id, until] of queue.tombstones) if (until <= nowMs) queue.tombstones.delete(id);
    let id: string;
    if (input.name !== undefined) {
      id = input.name.slice(queueName.length + '/tasks/'.length);
      if (queue.tasks.has(id)) {
        throw new HttpError(
          409,
          'ALREADY_EXISTS',
          `Requested entity already exists: ${input.name}`,
        );
      }
      if (queue.tombstones.has(id)) {
        throw new HttpError(
          409,
          'ALREADY_EXISTS',
          `The task name ${input.name} was used by a task that completed or was deleted recently; it cannot be reused for an hour.`,
        );
      }
    } else {
      do id = generateId();
      while (queue.tasks.has(id) || queue.tombstones.has(id));
    }
    const nowUs = nowMicros();
    const task: TaskRecord = {
      name: `${queueName}/tasks/${id}`,
      id,
      queue: queueName,
      request: input.request,
      scheduleUs: input.scheduleUs ?? nowUs,
      createUs: Math.floor(nowUs / 1_000_000) * 1_000_000,
      dispatchDeadlineMs: input.dispatchDeadlineMs,
      dispatchCount: 0,
      responseCount: 0,
      executionCount: 0,
      inFlight: false,
      seq: this.seq++,
    };
    queue.tasks.set(id, task);
    this.pump();
    return task;
  }

  /** Deletes a queue and its tasks; tasks in flight finish, and count for nothing. */
  deleteQueue(name: string): void {
    this.queue(name);
    this.queueMap.delete(name);
    this.options.log(`tasks: ${name} deleted`);
    this.pump();
  }

  task(name: string, queueName: string, id: string): TaskRecord {
    const task = this.queue(queueName).tasks.get(id);
    if (!task) throw new HttpError(404, 'NOT_FOUND', `Requested entity was not found: ${name}`);
    return task;
  }

  taskList(queueName: string): TaskRecord[] {
    return [...this.queue(queueName).tasks.values()].sort(byName);
  }

  deleteTask(name: string, queueName: string, id: string): void {
    const task = this.task(name, queueName, id);
    const queue = this.queue(queueName);
    queue.tasks.delete(id);
    queue.tombstones.set(id, Date.now() + this.options.tombstoneMs);
    this.options.log(`tasks: ${task.name} deleted`);
    this.pump();
  }

  // Inspection

  history(): DispatchRecord[] {
    return this.attempts.map((record) => ({ ...record }));
  }

  whenIdle(withinMs = Infinity): Promise<void> {
    if (this.closed || this.isIdle(withinMs)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push({ withinMs, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.cancel.abort();
    await Promise.allSettled([...this.running]);
    for (const waiter of this.idleWaiters.splice(0)) waiter.resolve();
  }

  // The loop

  private isIdle(withinMs: number): boolean {
    const horizonUs = (Date.now() + withinMs) * 1000;
    for (const queue of this.queueMap.values()) {
      if (queue.inFlight > 0) return false;
      if (queue.state !== 'RUNNING') continue;
      for (const task of queue.tasks.values()) if (task.scheduleUs <= horizonUs) return false;
    }
    return true;
  }

  private notifyIdle(): void {
    for (let i = this.idleWaiters.length - 1; i >= 0; i--) {
      const waiter = this.idleWaiters[i]!;
      if (this.isIdle(waiter.withinMs)) {
        this.idleWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  /** Milliseconds until the queue has a dispatch token (0: took one). */
  private takeToken(queue: QueueRecord, nowMs: number): number {
    const { maxDispatchesPerSecond: rate, maxBurstSize: burst } = queue.settings.rateLimits;
    queue.tokens = Math.min(burst, queue.tokens + ((nowMs - queue.refilledAtMs) / 1000) * rate);
    queue.refilledAtMs = nowMs;
    if (queue.tokens >= 1) {
      queue.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - queue.tokens) / rate) * 1000);
  }

  /** Dispatches what is due and allowed, then sets one timer for the next thing that will be. */
  private pump(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const nowMs = Date.now();
    const nowUs = nowMs * 1000;
    let nextMs = Infinity;
    for (const queue of this.queueMap.values()) {
      if (queue.state !== 'RUNNING') continue;
      const waiting = [...queue.tasks.values()]
        .filter((task) => !task.inFlight)
        .sort((a, b) => a.scheduleUs - b.scheduleUs || a.seq - b.seq);
      for (const task of waiting) {
        if (task.scheduleUs > nowUs) {
          nextMs = Math.min(nextMs, Math.ceil(task.scheduleUs / 1000));
          break;
        }
        if (queue.inFlight >= queue.settings.rateLimits.maxConcurrentDispatches) break;
        const wait = this.takeToken(queue, nowMs);
        if (wait > 0) {
          nextMs = Math.min(nextMs, nowMs + wait);
          break;
        }
        this.dispatch(queue, task);
      }
    }
    if (Number.isFinite(nextMs)) {
      this.timer = setTimeout(
        () => this.pump(),
        Math.min(MAX_TIMER_MS, Math.max(0, nextMs - nowMs)),
      );
      this.timer.unref();
    }
    this.notifyIdle();
  }

  private dispatch(queue: QueueRecord, task: TaskRecord): void {
    const { options } = this;
    const dispatchMs = Date.now();
    const scheduleUs = task.scheduleUs;
    const headers = attemptHeaders(task, queue.id, options.localToken, dispatchMs);
    task.inFlight = true;
    task.dispatchCount += 1;
    task.firstAttempt ??= { dispatchUs: dispatchMs * 1000 };
    task.lastAttempt = { scheduleUs, dispatchUs: dispatchMs * 1000 };
    queue.inFlight += 1;
    const attempt = task.dispatchCount;
    const deadlineMs = task.dispatchDeadlineMs * options.timeScale;
    const run = sendAttempt(options.fetch, task, headers, deadlineMs, this.cancel.signal).then(
      (result) => {
        const responseMs = Date.now();
        queue.inFlight -= 1;
        task.inFlight = false;
        task.lastAttempt = {
          scheduleUs,
          dispatchUs: dispatchMs * 1000,
          ...(result.status === null ? {} : { responseUs: responseMs * 1000 }),
          responseStatus: attemptStatus(
            result.status,
            result.error === 'CANCELLED' ? 'UNAVAILABLE' : result.error,
          ),
        };
        if (result.status !== null) {
          task.responseCount += 1;
          if (result.status !== 503) task.executionCount += 1;
          task.previousResponse = result.status;
        }
        const record: DispatchRecord = {
          task: task.name,
          taskId: task.id,
          queue: queue.name,
          url: task.request.url,
          method: task.request.httpMethod,
          attempt,
          scheduleTime: Math.floor(scheduleUs / 1000),
          dispatchTime: dispatchMs,
          responseTime: responseMs,
          status: result.status,
          ...(result.error ? { error: result.error } : {}),
          outcome: this.settle(
            queue,
            task,
            result.status,
            result.retryAfter,
            result.error,
            responseMs,
          ),
        };
        if (record.outcome === 'retrying')
          record.nextAttemptTime = Math.ceil(task.scheduleUs / 1000);
        this.attempts.push(record);
        const what =
          result.status ?? `${result.error}${result.detail ? ` (${result.detail})` : ''}`;
        const next =
          record.outcome === 'retrying'
            ? `retry in ${record.nextAttemptTime! - responseMs} ms`
            : record.outcome;
        options.log(
          `tasks: ${task.name} attempt ${attempt}: ${task.request.httpMethod} ${task.request.url} → ${what}; ${next}`,
        );
        this.pump();
        this.notifyIdle();
      },
    );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Decides what happens to a task after an attempt, and does it. */
  private settle(
    queue: QueueRecord,
    task: TaskRecord,
    status: number | null,
    retryAfter: string | null,
    error: AttemptError | undefined,
    nowMs: number,
  ): AttemptOutcome {
    if (queue.tasks.get(task.id) !== task) return 'deleted';
    if (error === 'CANCELLED') return 'canceled';
    const { retryConfig } = queue.settings;
    const { timeScale } = this.options;
    const done = status !== null && status >= 200 && status < 300;
    const firstMs = (task.firstAttempt?.dispatchUs ?? nowMs * 1000) / 1000;
    if (done || givesUp(retryConfig, task.dispatchCount, nowMs - firstMs, timeScale)) {
      queue.tasks.delete(task.id);
      queue.tombstones.set(task.id, nowMs + this.options.tombstoneMs);
      return done ? 'completed' : 'dropped';
    }
    let delayMs = backoffMs(retryConfig, task.dispatchCount);
    if (status === 429 || status === 503) {
      delayMs = Math.max(delayMs, retryAfterMs(retryAfter, nowMs) ?? 0);
    }
    task.scheduleUs = Math.round((nowMs + delayMs * timeScale) * 1000);
    return 'retrying';
  }
}
