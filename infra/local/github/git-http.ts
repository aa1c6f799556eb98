// Git's smart HTTP protocol for seeded repositories, as GitHub serves
// https://github.com/<owner>/<repo>.git: fetches and clones go through
// `git http-backend`, run as a CGI script with the request and the answer
// streamed; pushes are refused. A private repository wants HTTP Basic
// credentials whose password is the configured token, or an installation token
// for it with contents:read (the username is not checked; GitHub's is
// x-access-token). Without them: 401 with a Basic challenge, so git reports an
// authentication failure (it does not prompt with GIT_TERMINAL_PROMPT=0).
import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import { key, type GitHubState } from './state';
import { tokenCovers, tokenPermits, validToken } from './tokens';
import type { GitRepositorySeed, InstallationTokenRecord } from './types';

/** Paths after /github that are git's rather than the REST API's. */
export const GIT_PREFIX = '/git/';

const GIT_PATH =
  /^\/git\/([^/]+)\/([^/]+?)(?:\.git)?\/(info\/refs|git-upload-pack|git-receive-pack)$/;

/** The clone URL of `repo` ("owner/name"): `<apiUrl>/git/<owner>/<name>.git`. */
export function gitCloneUrl(apiUrl: string, repo: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/git/${repo}.git`;
}

/** The settings http-backend runs with, as `git -c` would give them. */
const BACKEND_CONFIG: [string, string][] = [
  // GitHub lets a client fetch any commit it has, not only branch tips.
  ['uploadpack.allowReachableSHA1InWant', 'true'],
  ['uploadpack.allowFilter', 'true'],
  ['http.receivepack', 'false'],
  // The seeded directories were named by the test or person that seeded them.
  ['safe.directory', '*'],
];

function text(res: ServerResponse, status: number, message: string, headers = {}): number {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(message ? `${message}\n` : '');
  return status;
}

function basicCredentials(header: string | undefined): { user: string; secret: string } | null {
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1] ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? decoded : decoded.slice(0, colon);
  const password = colon < 0 ? '' : decoded.slice(colon + 1);
  // GitHub also takes the token as the username with an empty password.
  return { user, secret: password || user };
}

/** Answers a request under /git/; resolves with the status it sent. */
export async function serveGit(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  path: string,
  state: GitHubState,
  configured: string | undefined,
  now: number,
): Promise<number> {
  const m = GIT_PATH.exec(path);
  if (!m) {
    req.resume();
    return text(res, 404, 'Not Found');
  }
  const [, owner = '', name = '', endpoint = ''] = m;
  const repo = `${owner}/${name}`;
  const refused = refusal(req, url, repo, endpoint, state, configured, now);
  if (refused) {
    req.resume();
    return text(res, refused.status, refused.message, refused.headers);
  }
  const seeded = state.gitRepos.get(key(repo))!;
  const credentials = basicCredentials(req.headers.authorization);
  return runBackend(req, res, url, seeded, endpoint, credentials?.user);
}

function refusal(
  req: IncomingMessage,
  url: URL,
  repo: string,
  endpoint: string,
  state: GitHubState,
  configured: string | undefined,
  now: number,
): { status: number; message: string; headers?: Record<string, string> } | undefined {
  const challenge = { 'www-authenticate': 'Basic realm="GitHub"' };
  const credentials = basicCredentials(req.headers.authorization);
  let caller: 'configured' | InstallationTokenRecord | undefined;
  if (credentials) {
    caller =
      configured !== undefined && credentials.secret === configured
        ? 'configured'
        : validToken(state, credentials.secret, now);
    if (!caller) {
      return {
        status: 401,
        message:
          'Invalid username or token. Password authentication is not supported for Git operations.',
        headers: challenge,
      };
    }
  }
  const seeded = state.gitRepos.get(key(repo));
  const covers = caller === 'configured' || (caller !== undefined && tokenCovers(caller, repo));
  // As on GitHub, a repository one may not see does not exist: anonymous callers are asked to log in.
  if (!seeded || (seeded.private && !covers)) {
    return caller
      ? { status: 404, message: 'Repository not found.' }
      : { status: 401, message: '', headers: challenge };
  }
  const service = endpoint === 'info/refs' ? url.searchParams.get('service') : endpoint;
  const denied = { status: 403, message: `Permission to ${repo}.git denied.` };
  if (service === 'git-receive-pack') return denied;
  if (service !== 'git-upload-pack') {
    return { status: 403, message: 'Please upgrade your git client. Dumb HTTP is not supported.' };
  }
  if (seeded.private && typeof caller === 'object' && !tokenPermits(caller, 'contents', 'read')) {
    return denied;
  }
  return undefined;
}

function backendEnv(
  req: IncomingMessage,
  url: URL,
  seeded: GitRepositorySeed,
  endpoint: string,
  user: string | undefined,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Nothing of this process's own git or CGI settings reaches the backend.
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(GIT_|HTTP_|CONTENT_|REMOTE_|PATH_INFO|PATH_TRANSLATED)/.test(name)) env[name] = value;
  }
  BACKEND_CONFIG.forEach(([name, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = name;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  env.GIT_CONFIG_COUNT = String(BACKEND_CONFIG.length);
  env.GIT_PROJECT_ROOT = dirname(seeded.path);
  env.PATH_INFO = `/${basename(seeded.path)}/${endpoint}`;
  env.GIT_HTTP_EXPORT_ALL = '1';
  env.REQUEST_METHOD = req.method ?? 'GET';
  env.QUERY_STRING = url.search.replace(/^\?/, '');
  env.CONTENT_TYPE = req.headers['content-type'] ?? '';
  env.REMOTE_ADDR = req.socket.remoteAddress ?? '';
  if (user) env.REMOTE_USER = user;
  const length = req.headers['content-length'];
  if (length !== undefined) env.CONTENT_LENGTH = length;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined) env.HTTP_CONTENT_ENCODING = encoding;
  // Protocol v2 is asked for with a Git-Protocol header.
  const protocol = req.headers['git-protocol'];
  if (typeof protocol === 'string' && /^[\w.=:-]+$/.test(protocol)) {
    env.HTTP_GIT_PROTOCOL = protocol;
    env.GIT_PROTOCOL = protocol;
  }
  return env;
}

/** Where the CGI headers end: after the first empty line. */
function headerEnd(head: Buffer): { at: number; length: number } | undefined {
  const crlf = head.indexOf('\r\n\r\n');
  const lf = head.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  return lf >= 0 ? { at: lf, length: 2 } : undefined;
}

function parseCgiHeaders(block: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { status, headers };
}

function runBackend(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  seeded: GitRepositorySeed,
  endpoint: string,
  user: string | undefined,
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('git', ['http-backend'], {
      env: backendEnv(req, url, seeded, endpoint, user),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let head: Buffer = Buffer.alloc(0);
    let status: number | undefined;
    let done = false;
    const stderr: Buffer[] = [];
    const finish = (failure?: string): void => {
      if (done) return;
      done = true;
      if (status === undefined) {
        status = text(res, 500, `git http-backend failed: ${failure ?? ''}`.trim());
      } else {
        res.end();
      }
      resolve(status);
    };
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // The backend may stop reading before the request ends (it answered already).
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);
    child.stdout.on('data', (chunk: Buffer) => {
      if (status !== undefined) {
        if (!res.write(chunk)) {
          child.stdout.pause();
          res.once('drain', () => child.stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (!end) return;
      const parsed = parseCgiHeaders(head.subarray(0, end.at).toString('latin1'));
      status = parsed.status;
      res.writeHead(parsed.status, parsed.headers);
      const rest = head.subarray(end.at + end.length);
      if (rest.length > 0) res.write(rest);
    });
    child.on('error', (err) => finish(err.message));
    child.on('close', (code) =>
      finish(`exit ${code ?? 'signal'}: ${Buffer.concat(stderr).toString('utf8').trim()}`),
    );
    // A client that goes away ends the backend too.
    res.on('close', () => {
      if (!done) child.kill();
    });
  });
}
