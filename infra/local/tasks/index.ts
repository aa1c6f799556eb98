// The local Cloud Tasks stand-in: the Cloud Tasks v2 REST API as the real
// @google-cloud/tasks client speaks it (point the client at it with
// localClientOptions), plus a dispatcher that really sends each task's HTTP
// request. See README.md beside this file.
import { randomBytes } from 'node:crypto';
import type { LocalService } from '../http';
import { generateTaskId, isQueueId, parseQueueName, queueName, type QueueName } from './names';
import {
  verifyLocalToken,
  type LocalTokenClaims,
  type LocalTokenKind,
} from '../../../shared/auth/local-token';
import { TaskEngine, type DispatchRecord, type QueueRecord } from './queue';
import {
  applyQueueJson,
  type HttpMethod,
  type HttpRequestSpec,
  type QueueConfig,
  type QueueSettings,
  type QueueStateName,
} from './resources';
import { createRoutes } from './service';

export type { DispatchRecord, AttemptOutcome } from './queue';
export type {
  QueueConfig,
  QueueSettings,
  RetrySettings,
  RateLimits,
  HttpMethod,
} from './resources';
export { backoffMs } from './retry';
export {
  mintLocalToken,
  verifyLocalToken,
  LocalTokenError,
  LOCAL_TOKEN_ISSUER,
  type LocalTokenClaims,
  type LocalTokenKind,
} from '../../../shared/auth/local-token';

export interface TasksStandInOptions {
  /** Default project for queues given by id (default "vmci-local"). */
  project?: string;
  /** Default location for queues given by id (default "us-central1"). */
  location?: string;
  /** Queues that exist from the start, in the Queue REST shape. */
  queues?: QueueConfig[];
  /**
   * Multiplies every queue-side duration: retry back-offs, Retry-After,
   * dispatch deadlines and maxRetryDuration (0.001: a 10s back-off takes 10 ms).
   * Schedule times are absolute and stay as given. Default 1.
   */
  timeScale?: number;
  /** The secret that signs the local OIDC/OAuth tokens (see shared/auth/local-token.ts). Default: random. */
  localToken?: string;
  /** How long a completed, dropped or deleted task's name cannot be reused (default 1 hour). */
  tombstoneMs?: number;
  log?: (line: string) => void;
  /** What dispatches the tasks' HTTP requests (default: the global fetch). */
  fetch?: typeof fetch;
}

export interface QueueSnapshot {
  name: string;
  id: string;
  state: QueueStateName;
  settings: QueueSettings;
  /** Tasks in the queue, including those in flight. */
  tasks: number;
  inFlight: number;
}

export interface TaskSnapshot {
  name: string;
  id: string;
  queue: string;
  url: string;
  httpMethod: HttpMethod;
  headers: Record<string, string>;
  body: Buffer;
  oidcToken?: HttpRequestSpec['oidcToken'];
  oauthToken?: HttpRequestSpec['oauthToken'];
  scheduleTime: Date;
  createTime: Date;
  dispatchDeadlineMs: number;
  dispatchCount: number;
  responseCount: number;
  inFlight: boolean;
}

export interface TasksStandIn extends LocalService {
  readonly project: string;
  readonly location: string;
  /** The secret the local tokens are signed with. */
  readonly localToken: string;
  readonly timeScale: number;
  /** projects/{project}/locations/{location}/queues/{id}. */
  queuePath(id: string): string;
  queues(): QueueSnapshot[];
  /** Live tasks (all queues, or one given by id or full name), by name. */
  tasks(queue?: string): TaskSnapshot[];
  /** Every finished dispatch attempt, in the order they finished. */
  history(): DispatchRecord[];
  /**
   * Resolves once nothing is in flight and no task of a running queue is due
   * within `withinMs` (default: until no task is left in any running queue).
   */
  whenIdle(options?: { withinMs?: number }): Promise<void>;
  /** Stops dispatching from one queue (by id or name) or all; in-flight attempts finish. */
  pause(queue?: string): void;
  resume(queue?: string): void;
  /** Checks an `Authorization` header (or bare token) this stand-in attached; throws LocalTokenError. */
  verifyToken(
    authorization: string,
    expect?: { audience?: string | string[]; email?: string | string[]; kind?: LocalTokenKind },
  ): LocalTokenClaims;
}

export function createTasksStandIn(options: TasksStandInOptions = {}): TasksStandIn {
  const project = options.project ?? 'vmci-local';
  const location = options.location ?? 'us-central1';
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) {
    throw new Error(`timeScale must be a positive number, got ${timeScale}`);
  }
  const localToken = options.localToken ?? randomBytes(24).toString('base64url');
  const engine = new TaskEngine({
    timeScale,
    tombstoneMs: options.tombstoneMs ?? 3_600_000,
    localToken,
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    log: options.log ?? (() => {}),
  });

  const resolveName = (queue: string): QueueName => {
    const parsed = parseQueueName(isQueueId(queue) ? queueName(project, location, queue) : queue);
    if (!parsed) throw new Error(`not a queue id or name: ${queue}`);
    return parsed;
  };
  const known = (queue: string): QueueRecord => {
    const record = engine.findQueue(resolveName(queue).name);
    if (!record) throw new Error(`no queue ${queue}`);
    return record;
  };

  for (const config of options.queues ?? []) {
    const { name, state, ...rest } = config;
    const settings = applyQueueJson(undefined, rest as Record<string, unknown>);
    engine.createQueue(resolveName(name), settings, state ?? 'RUNNING');
  }

  const routes = createRoutes(engine, generateTaskId);
  const setState = (state: QueueStateName, queue?: string): void => {
    const targets = queue === undefined ? engine.queueList() : [known(queue)];
    for (const target of targets) engine.setState(target.name, state);
  };

  return {
    project,
    location,
    localToken,
    timeScale,
    handle: routes,
    close: () => engine.close(),
    queuePath: (id) => queueName(project, location, id),
    queues: () =>
      engine.queueList().map((queue) => ({
        name: queue.name,
        id: queue.id,
        state: queue.state,
        settings: structuredClone(queue.settings),
        tasks: queue.tasks.size,
        inFlight: queue.inFlight,
      })),
    tasks: (queue) => {
      const queues = queue === undefined ? engine.queueList() : [known(queue)];
      return queues
        .flatMap((record) => engine.taskList(record.name))
        .map((task) => ({
          name: task.name,
          id: task.id,
          queue: task.queue,
          url: task.request.url,
          httpMethod: task.request.httpMethod,
          headers: { ...task.request.headers },
          body: Buffer.from(task.request.body),
          ...(task.request.oidcToken ? { oidcToken: { ...task.request.oidcToken } } : {}),
          ...(task.request.oauthToken ? { oauthToken: { ...task.request.oauthToken } } : {}),
          scheduleTime: new Date(Math.floor(task.scheduleUs / 1000)),
          createTime: new Date(task.createUs / 1000),
          dispatchDeadlineMs: task.dispatchDeadlineMs,
          dispatchCount: task.dispatchCount,
          responseCount: task.responseCount,
          inFlight: task.inFlight,
        }));
    },
    history: () => engine.history(),
    whenIdle: (opts) => engine.whenIdle(opts?.withinMs),
    pause: (queue) => setState('PAUSED', queue),
    resume: (queue) => setState('RUNNING', queue),
    verifyToken: (authorization, expect) => verifyLocalToken(authorization, localToken, expect),
  };
}
