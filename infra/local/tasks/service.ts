// The Cloud Tasks v2 REST routes, as @google-cloud/tasks (fallback/REST mode)
// calls them:
//   POST   /v2/{parent=projects/*/locations/*/queues/*}/tasks     createTask  {task, responseView?}
//   GET    /v2/{parent=projects/*/locations/*/queues/*}/tasks     listTasks   ?responseView&pageSize&pageToken
//   GET    /v2/{name=projects/*/locations/*/queues/*/tasks/*}     getTask     ?responseView
//   DELETE /v2/{name=projects/*/locations/*/queues/*/tasks/*}     deleteTask
//   POST   /v2/{parent=projects/*/locations/*}/queues             createQueue  Queue
//   GET    /v2/{parent=projects/*/locations/*}/queues             listQueues   ?pageSize&pageToken
//   GET    /v2/{name=projects/*/locations/*/queues/*}             getQueue
//   PATCH  /v2/{queue.name=projects/*/locations/*/queues/*}       updateQueue  Queue ?updateMask (creates a missing queue)
//   DELETE /v2/{name=projects/*/locations/*/queues/*}             deleteQueue
//   POST   /v2/{name=projects/*/locations/*/queues/*}:pause|:resume
// Other methods on these paths answer 501 UNIMPLEMENTED; other paths are not ours.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readJson, sendGoogleError, sendJson } from '../http';
import { isLocationName, parseQueueName, parseTaskName, type QueueName } from './names';
import type { TaskEngine } from './queue';
import {
  applyQueueJson,
  invalid,
  parseCreateTask,
  parseEnum,
  renderQueue,
  renderTask,
  TASK_VIEWS,
} from './resources';
import { nowMicros } from './time';

const PREFIX = /^\/v2\/(projects\/[^/]+\/locations\/[^/]+)\/queues(?:\/(.*))?$/;
const MAX_PAGE = 1000;

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

function unimplemented(method: string, path: string): HttpError {
  return new HttpError(
    501,
    'UNIMPLEMENTED',
    `${method} ${path} is not supported by the local Cloud Tasks stand-in`,
  );
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalid(`malformed path segment ${segment}`);
  }
}

function requireQueueName(name: string): QueueName {
  const parsed = parseQueueName(name);
  if (!parsed) {
    throw invalid(
      `Queue name must have the format projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID: ${name}`,
    );
  }
  return parsed;
}

function page<T extends { name: string }>(
  items: T[],
  url: URL,
): { items: T[]; nextPageToken?: string } {
  const sizeText = url.searchParams.get('pageSize');
  const size = sizeText === null ? 0 : Number(sizeText);
  if (!Number.isInteger(size) || size < 0) throw invalid('pageSize must be a non-negative integer');
  const limit = size === 0 ? MAX_PAGE : Math.min(size, MAX_PAGE);
  const token = url.searchParams.get('pageToken');
  let start = 0;
  if (token) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    if (!after.startsWith('projects/')) throw invalid('invalid pageToken');
    start = items.findIndex((item) => item.name > after);
    if (start === -1) start = items.length;
  }
  const slice = items.slice(start, start + limit);
  const more = start + limit < items.length;
  return more
    ? { items: slice, nextPageToken: Buffer.from(slice.at(-1)!.name).toString('base64url') }
    : { items: slice };
}

export function createRoutes(engine: TaskEngine, generateId: () => string): Handler {
  async function route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const match = PREFIX.exec(url.pathname);
    if (!match) return false;
    const method = req.method ?? 'GET';
    const parent = match[1]!.split('/').map(decode).join('/');
    if (!isLocationName(parent)) throw invalid(`malformed location ${parent}`);
    const rest = match[2] === undefined ? [] : match[2].split('/').map(decode);
    const ints = (url.searchParams.get('$alt') ?? '').includes('enum-encoding=int');
    const view = (): 'BASIC' | 'FULL' =>
      parseEnum(TASK_VIEWS, numeric(url.searchParams.get('responseView')), 'responseView') ??
      'BASIC';
    const send = (body: unknown) => {
      sendJson(res, 200, body);
      return true;
    };

    // .../queues
    if (rest.length === 0) {
      if (method === 'GET') {
        if (url.searchParams.get('filter')) {
          throw invalid('filter is not supported by the local Cloud Tasks stand-in');
        }
        const { items, nextPageToken } = page(
          engine.queueList().filter((queue) => queue.name.startsWith(`${parent}/queues/`)),
          url,
        );
        return send({
          ...(items.length ? { queues: items.map((queue) => renderQueue(queue, ints)) } : {}),
          ...(nextPageToken ? { nextPageToken } : {}),
        });
      }
      if (method === 'POST') {
        const body = await readJson(req);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw invalid('queue is required');
        }
        const queueBody = body as Record<string, unknown>;
        const name = requireQueueName(String(queueBody.name ?? ''));
        if (!name.name.startsWith(`${parent}/queues/`)) {
          throw invalid(`Queue ${name.name} is not in ${parent}`);
        }
        if (engine.findQueue(name.name)) {
          throw new HttpError(409, 'ALREADY_EXISTS', `Queue ${name.name} already exists.`);
        }
        const settings = applyQueueJson(undefined, queueBody);
        return send(renderQueue(engine.createQueue(name, settings), ints));
      }
      throw unimplemented(method, url.pathname);
    }

    const [queueSegment, collection, taskSegment, ...extra] = rest;
    const [queueId, verb, ...colons] = queueSegment!.split(':');
    if (colons.length > 0 || extra.length > 0) throw unimplemented(method, url.pathname);
    const queueName = requireQueueName(`${parent}/queues/${queueId}`).name;

    // .../queues/{q} and .../queues/{q}:verb
    if (collection === undefined) {
      if (verb !== undefined) {
        if (method !== 'POST' || (verb !== 'pause' && verb !== 'resume')) {
          throw unimplemented(method, url.pathname);
        }
        await readJson(req);
        const queue = engine.setState(queueName, verb === 'pause' ? 'PAUSED' : 'RUNNING');
        return send(renderQueue(queue, ints));
      }
      if (method === 'GET') return send(renderQueue(engine.queue(queueName), ints));
      if (method === 'DELETE') {
        engine.deleteQueue(queueName);
        return send({});
      }
      if (method === 'PATCH') {
        const body = await readJson(req);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) {
          throw invalid('queue is required');
        }
        const queueBody = body as Record<string, unknown>;
        if (queueBody.name !== undefined && queueBody.name !== queueName) {
          throw invalid(`queue.name ${String(queueBody.name)} does not match the path`);
        }
        const maskText = url.searchParams.get('updateMask');
        const mask = maskText ? maskText.split(',').filter(Boolean) : undefined;
        const current = engine.findQueue(queueName);
        const settings = applyQueueJson(current?.settings, queueBody, mask);
        const queue = current
          ? engine.updateQueue(queueName, settings)
          : engine.createQueue(requireQueueName(queueName), settings);
        return send(renderQueue(queue, ints));
      }
      throw unimplemented(method, url.pathname);
    }
    if (verb !== undefined || collection !== 'tasks') throw unimplemented(method, url.pathname);

    // .../queues/{q}/tasks
    if (taskSegment === undefined) {
      if (method === 'POST') {
        const body = await readJson(req);
        const { task, view: responseView } = parseCreateTask(body, queueName, nowMicros());
        const created = engine.createTask(queueName, task, generateId);
        return send(renderTask(created, responseView, ints));
      }
      if (method === 'GET') {
        const responseView = view();
        const { items, nextPageToken } = page(engine.taskList(queueName), url);
        return send({
          ...(items.length
            ? { tasks: items.map((task) => renderTask(task, responseView, ints)) }
            : {}),
          ...(nextPageToken ? { nextPageToken } : {}),
        });
      }
      throw unimplemented(method, url.pathname);
    }

    // .../queues/{q}/tasks/{t}
    const taskName = parseTaskName(`${queueName}/tasks/${taskSegment}`);
    if (!taskName) {
      throw invalid(`Task id must be made of [A-Za-z0-9_-], at most 500: ${taskSegment}`);
    }
    if (method === 'GET') {
      return send(renderTask(engine.task(taskName.name, queueName, taskName.id), view(), ints));
    }
    if (method === 'DELETE') {
      engine.deleteTask(taskName.name, queueName, taskName.id);
      return send({});
    }
    throw unimplemented(method, url.pathname);
  }

  return async (req, res, url) => {
    try {
      return await route(req, res, url);
    } catch (err) {
      if (!(err instanceof HttpError) || res.headersSent) throw err;
      sendGoogleError(res, err);
      return true;
    }
  };
}

/** Query enums arrive as numbers ("2") with enum-encoding=int. */
function numeric(value: string | null): string | number | undefined {
  if (value === null) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value;
}
