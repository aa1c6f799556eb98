// The HTTP routes of the Compute stand-in: the paths the real
// @google-cloud/compute client (REST, fallback mode) sends, plus the local
// control paths of DESIGN §8.
//
//   POST   /compute/v1/projects/{p}/zones/{z}/instances?requestId=   instances.insert
//   GET    /compute/v1/projects/{p}/zones/{z}/instances?filter=&maxResults=&pageToken=&orderBy=
//   GET    /compute/v1/projects/{p}/zones/{z}/instances/{name}
//   DELETE /compute/v1/projects/{p}/zones/{z}/instances/{name}?requestId=
//   GET    /compute/v1/projects/{p}/zones/{z}/instances/{name}/serialPort?port=&start=
//   GET    /compute/v1/projects/{p}/aggregated/instances?filter=&maxResults=&pageToken=
//   GET    /compute/v1/projects/{p}/zones/{z}/operations/{op}
//   POST   /compute/v1/projects/{p}/zones/{z}/operations/{op}/wait
//   POST   /_local/compute/faults   {code, zone?, count?, operation?, zonesAvailable?, delayMs?}
//                                   (operation: 'insert' (default) or 'delete'; see faults.ts)
//   GET    /_local/compute/faults   the pending faults;  DELETE: drop them all
//   GET    /_local/compute/instances   the live local VMs
//   POST   /_local/compute/instances/{name}/power-off   the guest shuts down: TERMINATED
//                                   ({instance}, once TERMINATED; 404 no such VM, 400 not RUNNING)
//   GET    /_local/compute/calls    {calls: [...]}: every insert and delete call, oldest first
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readJson, sendJson } from '../http';
import { ComputeApiError, sendComputeError } from './api';
import type { ComputeState } from './instances';

type Handler = (params: string[], req: IncomingMessage, url: URL) => unknown | Promise<unknown>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

const ZONE = '^/compute/v1/projects/([^/]+)/zones/([^/]+)';

export function computeRoutes(state: ComputeState): Route[] {
  const p = (params: string[], i: number) => params[i] as string;
  return [
    {
      method: 'POST',
      pattern: new RegExp(`${ZONE}/instances$`),
      handler: async (m, req, url) =>
        state.insert(p(m, 0), p(m, 1), url.searchParams.get('requestId'), await readJson(req)),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${ZONE}/instances$`),
      handler: (m, _req, url) => state.list(p(m, 0), p(m, 1), url.searchParams),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${ZONE}/instances/([^/]+)$`),
      handler: (m) => state.get(p(m, 0), p(m, 1), p(m, 2)),
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`${ZONE}/instances/([^/]+)$`),
      handler: (m, _req, url) =>
        state.delete(p(m, 0), p(m, 1), p(m, 2), url.searchParams.get('requestId')),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${ZONE}/instances/([^/]+)/serialPort$`),
      handler: (m, _req, url) => state.serialPort(p(m, 0), p(m, 1), p(m, 2), url.searchParams),
    },
    {
      method: 'GET',
      pattern: /^\/compute\/v1\/projects\/([^/]+)\/aggregated\/instances$/,
      handler: (m, _req, url) => state.aggregatedList(p(m, 0), url.searchParams),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${ZONE}/operations/([^/]+)$`),
      handler: (m) => state.getOperation(p(m, 0), p(m, 1), p(m, 2)),
    },
    {
      method: 'POST',
      pattern: new RegExp(`${ZONE}/operations/([^/]+)/wait$`),
      handler: (m) => state.waitOperation(p(m, 0), p(m, 1), p(m, 2)),
    },
    {
      method: 'POST',
      pattern: /^\/_local\/compute\/faults$/,
      handler: async (_m, req) => ({ fault: state.faults.add(await readJson(req)) }),
    },
    {
      method: 'GET',
      pattern: /^\/_local\/compute\/faults$/,
      handler: () => ({ faults: state.faults.list() }),
    },
    {
      method: 'DELETE',
      pattern: /^\/_local\/compute\/faults$/,
      handler: () => {
        state.faults.clear();
        return { faults: [] };
      },
    },
    {
      method: 'GET',
      pattern: /^\/_local\/compute\/instances$/,
      handler: () => state.summaries(),
    },
    {
      method: 'POST',
      pattern: /^\/_local\/compute\/instances\/([^/]+)\/power-off$/,
      handler: async (m) => ({ instance: await state.powerOff(p(m, 0)) }),
    },
    {
      method: 'GET',
      pattern: /^\/_local\/compute\/calls$/,
      handler: () => ({ calls: state.calls() }),
    },
  ];
}

/** Answers a request for one of the routes; false when none matches. */
export async function handleCompute(
  routes: Route[],
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<boolean> {
  for (const route of routes) {
    if (route.method !== req.method) continue;
    const match = route.pattern.exec(url.pathname);
    if (!match) continue;
    const params = match.slice(1).map((s) => decodeURIComponent(s));
    try {
      const body = await route.handler(params, req, url);
      req.resume(); // a body no handler read (wait's empty one)
      sendJson(res, 200, body);
    } catch (err) {
      if (!(err instanceof ComputeApiError)) throw err;
      req.resume();
      sendComputeError(res, err);
    }
    return true;
  }
  return false;
}
