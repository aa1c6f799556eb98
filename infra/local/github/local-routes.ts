// /github/_local/...: the stand-in's own controls, outside the GitHub API
// (not authenticated, not recorded as calls). An artifact's download URL is
// signed instead, and expires.
import type { IncomingMessage } from 'node:http';
import { readJson } from '../http';
import { checkDownload } from './downloads';
import { GitHubError, notFound, type Reply } from './errors';
import { addFault } from './faults';
import type { GitHubState } from './state';
import type { FaultSpec } from './types';

function parseFault(input: unknown): FaultSpec {
  const f = (input ?? {}) as Record<string, unknown>;
  const optional = (name: string, type: string): void => {
    if (f[name] !== undefined && typeof f[name] !== type) {
      throw new GitHubError(422, `fault ${name} must be a ${type}`);
    }
  };
  optional('path', 'string');
  optional('method', 'string');
  optional('count', 'number');
  optional('retryAfter', 'number');
  optional('headers', 'object');
  return f as unknown as FaultSpec;
}

export function localRoutes(state: () => GitHubState, reset: () => void, now: () => number) {
  return async (req: IncomingMessage, url: URL, path: string): Promise<Reply> => {
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/_local/faults') {
      addFault(state(), parseFault(await readJson(req)));
      return { status: 201, body: { pending: state().faults.length } };
    }
    if (method === 'GET' && path === '/_local/calls') return { status: 200, body: state().calls };
    if (method === 'POST' && path === '/_local/reset') {
      reset();
      return { status: 204 };
    }
    const download = /^\/_local\/artifacts\/(\d+)\/download$/.exec(path);
    if (method === 'GET' && download) {
      const id = Number(download[1]);
      checkDownload(state(), id, url.searchParams, now());
      const artifact = state().artifacts.get(id);
      if (!artifact) throw notFound();
      return { status: 200, raw: { data: artifact.data, contentType: 'application/zip' } };
    }
    throw notFound();
  };
}
