// The local GitHub REST API (DESIGN §8): a LocalService under /github, for
// Octokit's baseUrl. It keeps what is posted, answers what was seeded, records
// every call and can be told to fail the next calls. Seeded git repositories
// are served for fetch under /github/git/<owner>/<repo>.git (git-http.ts).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, type LocalService } from '../http';
import { authorize, BOT_LOGIN, identify, parseAuthorization, repoAccess } from './auth';
import { GitHubError, notFound, type Reply } from './errors';
import { addFault, takeFault } from './faults';
import { GIT_PREFIX, gitCloneUrl, serveGit } from './git-http';
import { localRoutes } from './local-routes';
import { createRouter } from './router';
import { actionRoutes } from './routes-actions';
import { appRoutes } from './routes-apps';
import { issueRoutes } from './routes-issues';
import { repoRoutes } from './routes-repos';
import { statusRoutes } from './routes-statuses';
import { createSeeds, type Seeds } from './seeds';
import { emptyState, key, type GitHubState } from './state';
import type {
  CallRecord,
  CommentRecord,
  FaultSpec,
  ReactionRecord,
  GitHubStandInOptions,
  InstallationTokenRecord,
  StatusRecord,
} from './types';

export * from './types';
export { INSTALLATION_PERMISSIONS, TOKEN_LIFETIME_MS } from './tokens';
export { DOWNLOAD_URL_LIFETIME_MS } from './downloads';
export { gitCloneUrl } from './git-http';

export const GITHUB_PREFIX = '/github';

export interface GitHubStandIn extends LocalService, Seeds {
  /** every call to the API and to git (not to /github/_local), oldest first */
  calls(): CallRecord[];
  /**
   * Where git fetches a seeded repository: `<apiUrl>/git/<owner>/<name>.git`,
   * apiUrl being the API base as callers reach it (config.githubApiUrl, …/github).
   */
  cloneUrl(repo: string, apiUrl: string): string;
  /** what an installation token the stand-in issued may do (undefined if unknown or revoked) */
  tokenRecord(token: string): InstallationTokenRecord | undefined;
  /** the comments on issue or PR `number`, oldest first */
  issueComments(repo: string, number: number): CommentRecord[];
  /** the reactions to comment `commentId`, oldest first */
  reactions(repo: string, commentId: number): ReactionRecord[];
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
  const now = options.now ?? Date.now;
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
    const at = now();
    const denied = authorize(
      options.token,
      state.issuedTokens,
      req.headers.authorization,
      found?.route.app ?? false,
      method,
      at,
    );
    if (denied) return denied.reply();
    const caller = identify(options.token, state.issuedTokens, req.headers.authorization, at);
    const { owner, repo } = found?.params ?? {};
    if (found && !found.route.app && owner !== undefined && repo !== undefined) {
      const fullName = `${owner}/${repo}`;
      const privateRepo = state.gitRepos.get(key(fullName))?.private ?? false;
      const refused = repoAccess(caller, fullName, found.route.permission, method, privateRepo);
      if (refused) return refused.reply();
    }
    const fault = takeFault(state, method, path);
    if (fault) return fault;
    if (!found) return notFound().reply();
    return found.route.handler({
      params: found.params,
      query: url.searchParams,
      body,
      api: `http://${req.headers.host ?? '127.0.0.1'}${GITHUB_PREFIX}`,
      login: BOT_LOGIN,
      caller,
      now: at,
      state,
    });
  }

  const reset = (): void => {
    state = emptyState();
  };
  const local = localRoutes(getState, reset, now);

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
      const record = (s: GitHubState, status: number, body?: unknown): void => {
        s.calls.push({
          method,
          path,
          query: Object.fromEntries(url.searchParams),
          body,
          headers: headersWithoutAuth(req),
          auth: parseAuthorization(req.headers.authorization).scheme,
          status,
          time: new Date().toISOString(),
        });
        log(`github ${method} ${path} -> ${status}`);
      };
      if (path.startsWith(GIT_PREFIX)) {
        const s = state;
        const fault = takeFault(s, method, path);
        if (fault) send(res, fault);
        const status = fault
          ? fault.status
          : await serveGit(req, res, url, path, s, options.token, now());
        record(s, status);
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
      record(state, reply.status, body);
      send(res, reply);
      return true;
    },
    close: async () => {},
    calls: () => structuredClone(state.calls),
    cloneUrl: (repo, apiUrl) => gitCloneUrl(apiUrl, repo),
    tokenRecord: (token) => structuredClone(state.issuedTokens.get(token)),
    issueComments: (repo, number) =>
      structuredClone(
        [...state.comments.values()]
          .filter((c) => c.issue_number === number && key(c.repo) === key(repo))
          .sort((a, b) => a.id - b.id),
      ),
    reactions: (repo, commentId) =>
      structuredClone(
        state.reactions.filter((r) => r.comment_id === commentId && key(r.repo) === key(repo)),
      ),
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
