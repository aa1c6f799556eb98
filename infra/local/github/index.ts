// The local GitHub REST API (DESIGN §8): a LocalService under /github, for
// Octokit's baseUrl. It keeps what is posted, answers what was seeded, records
// every call and can be told to fail the next calls.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, type LocalService } from '../http';
import { authorize, BOT_LOGIN, parseAuthorization } from './auth';
import { GitHubError, notFound, type Reply } from './errors';
import { addFault, takeFault } from './faults';
import { localRoutes } from './local-routes';
import { createRouter } from './router';
import { actionRoutes } from './routes-actions';
import { appRoutes } from './routes-apps';
import { issueRoutes } from './routes-issues';
import { repoRoutes } from './routes-repos';
import { statusRoutes } from './routes-statuses';
import { createSeeds, type Seeds } from './seeds';
import { emptyState, key, type GitHubState } from './state';
import type { CallRecord, FaultSpec, GitHubStandInOptions, StatusRecord } from './types';

export * from './types';

export const GITHUB_PREFIX = '/github';

export interface GitHubStandIn extends LocalService, Seeds {
  /** every call to the API (not to /github/_local), oldest first */
  calls(): CallRecord[];
  /** statuses posted for a commit, newest first, as the list endpoint answers */
  statuses(repo: string, sha: string): StatusRecord[];
  injectFault(fault: FaultSpec): void;
  /** forgets everything: seeds, statuses, comments, calls, faults, issued tokens */
  reset(): void;
}

const router = createRouter([
  ...statusRoutes,
  ...repoRoutes,
  ...issueRoutes,
  ...actionRoutes,
  ...appRoutes,
]);

async function readGitHubJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new GitHubError(400, 'Problems parsing JSON');
  }
}

function send(res: ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = {
    'x-github-request-id': randomUUID().toUpperCase(),
    'x-github-api-version-selected': '2022-11-28',
    ...reply.headers,
  };
  if (reply.raw) {
    res.writeHead(reply.status, { ...headers, 'content-type': reply.raw.contentType });
    res.end(reply.raw.data);
  } else if (reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
  } else {
    res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(reply.body));
  }
}

function headersWithoutAuth(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization' || value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export function createGitHubStandIn(options: GitHubStandInOptions = {}): GitHubStandIn {
  const log = options.log ?? (() => {});
  let state: GitHubState = emptyState();
  const getState = (): GitHubState => state;

  async function answer(
    req: IncomingMessage,
    url: URL,
    path: string,
    body: unknown,
  ): Promise<Reply> {
    const method = req.method ?? 'GET';
    const found = router.match(method, path);
    const denied = authorize(
      options.token,
      state.issuedTokens,
      req.headers.authorization,
      found?.route.app ?? false,
      method,
    );
    if (denied) return denied.reply();
    const fault = takeFault(state, method, path);
    if (fault) return fault;
    if (!found) return notFound().reply();
    return found.route.handler({
      params: found.params,
      query: url.searchParams,
      body,
      api: `http://${req.headers.host ?? '127.0.0.1'}${GITHUB_PREFIX}`,
      login: BOT_LOGIN,
      state,
    });
  }

  const reset = (): void => {
    state = emptyState();
  };
  const local = localRoutes(getState, reset);

  return {
    ...createSeeds(getState),
    async handle(req, res, url) {
      const { pathname } = url;
      if (pathname !== GITHUB_PREFIX && !pathname.startsWith(`${GITHUB_PREFIX}/`)) return false;
      const path = pathname.slice(GITHUB_PREFIX.length) || '/';
      const method = req.method ?? 'GET';
      if (path.startsWith('/_local/')) {
        send(res, await local(req, url, path).catch(asReply));
        return true;
      }
      let body: unknown;
      let reply: Reply;
      try {
        body = await readGitHubJson(req);
        reply = await answer(req, url, path, body);
      } catch (err) {
        reply = asReply(err);
      }
      state.calls.push({
        method,
        path,
        query: Object.fromEntries(url.searchParams),
        body,
        headers: headersWithoutAuth(req),
        auth: parseAuthorization(req.headers.authorization).scheme,
        status: reply.status,
        time: new Date().toISOString(),
      });
      log(`github ${method} ${path} -> ${reply.status}`);
      send(res, reply);
      return true;
    },
    close: async () => {},
    calls: () => structuredClone(state.calls),
    statuses: (repo, sha) => [...(state.statuses.get(key(repo, sha)) ?? [])].reverse(),
    injectFault: (fault) => addFault(state, fault),
    reset,
  };
}

function asReply(err: unknown): Reply {
  if (err instanceof GitHubError) return err.reply();
  if (err instanceof HttpError) return new GitHubError(err.httpStatus, err.message).reply();
  const message = err instanceof Error ? err.message : String(err);
  return new GitHubError(500, message).reply();
}
