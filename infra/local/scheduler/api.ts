// The Cloud Scheduler v1 REST API, as the @google-cloud/scheduler client calls
// it in fallback (REST) mode:
//   POST   /v1/projects/{p}/locations/{l}/jobs             createJob
//   GET    /v1/projects/{p}/locations/{l}/jobs             listJobs (?pageSize, ?pageToken)
//   GET    /v1/projects/{p}/locations/{l}/jobs/{id}        getJob
//   PATCH  /v1/projects/{p}/locations/{l}/jobs/{id}        updateJob (?updateMask=a,b)
//   DELETE /v1/projects/{p}/locations/{l}/jobs/{id}        deleteJob
//   POST   /v1/projects/{p}/locations/{l}/jobs/{id}:run    runJob (and :pause, :resume)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readJson, sendJson } from '../http';
import type { SchedulerCore } from './core';
import { checkJobName, invalid, newJobId, normalizeJob } from './job';
import { patchedInput } from './patch';

const COLLECTION = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+)\/jobs$/;
const ITEM = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/:]+)(?::(run|pause|resume))?$/;
const MAX_PAGE = 500;

async function bodyObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

function list(core: SchedulerCore, parent: string, query: URLSearchParams) {
  const size = Number(query.get('pageSize') || MAX_PAGE);
  if (!Number.isInteger(size) || size < 1) throw invalid('pageSize must be a positive integer');
  const token = query.get('pageToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw invalid('Invalid pageToken');
  const jobs = core.list(`${parent}/jobs/`);
  const page = jobs.slice(start, start + Math.min(size, MAX_PAGE));
  const end = start + page.length;
  return {
    jobs: page,
    ...(end < jobs.length ? { nextPageToken: Buffer.from(String(end)).toString('base64url') } : {}),
  };
}

async function create(core: SchedulerCore, parent: string, req: IncomingMessage) {
  const input = await bodyObject(req);
  const name =
    typeof input.name === 'string' && input.name ? input.name : `${parent}/jobs/${newJobId()}`;
  if (!checkJobName(name).startsWith(`${parent}/jobs/`))
    throw invalid(`Job name ${name} is not under ${parent}`);
  if (core.has(name)) throw new HttpError(409, 'ALREADY_EXISTS', `Job ${name} already exists.`);
  return core.put(normalizeJob(input, name));
}

async function update(
  core: SchedulerCore,
  name: string,
  req: IncomingMessage,
  query: URLSearchParams,
) {
  const existing = core.get(name);
  const mask = query.get('updateMask')?.split(',').filter(Boolean);
  const input = patchedInput(existing, await bodyObject(req), mask);
  return core.put(normalizeJob(input, name, existing));
}

export function createApi(core: SchedulerCore) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    // Only its own paths: another service's path may not even decode.
    if (!url.pathname.startsWith('/v1/')) return false;
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      throw new HttpError(400, 'INVALID_ARGUMENT', 'malformed path');
    }
    const method = req.method ?? 'GET';
    const collection = COLLECTION.exec(path);
    const item = collection ? null : ITEM.exec(path);
    if (!collection && !item) return false;
    const answer = (body: unknown): boolean => {
      sendJson(res, 200, body);
      return true;
    };
    if (collection) {
      const parent = collection[1] ?? '';
      if (method === 'GET') return answer(list(core, parent, url.searchParams));
      if (method === 'POST') return answer(await create(core, parent, req));
    } else if (item) {
      const name = item[1] ?? '';
      const verb = item[2];
      if (verb && method === 'POST') {
        await readJson(req);
        if (verb === 'pause') return answer(core.setState(name, 'PAUSED'));
        if (verb === 'resume') return answer(core.setState(name, 'ENABLED'));
        const job = core.get(name);
        void core.run(name);
        return answer(job);
      }
      if (!verb && method === 'GET') return answer(core.get(name));
      if (!verb && method === 'PATCH')
        return answer(await update(core, name, req, url.searchParams));
      if (!verb && method === 'DELETE') {
        core.delete(name);
        return answer({});
      }
    }
    throw new HttpError(404, 'NOT_FOUND', `${method} ${path} is not a Cloud Scheduler method`);
  };
}
