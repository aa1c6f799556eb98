// The commit status port (DESIGN §5) and its Octokit adapter. Posting retries
// transient failures within a time budget and reports every outcome as data:
// a status that could not be posted must never fail what caused it.
import type { GitHubState } from '../domain/github';
import { fitStatusLine } from '../domain/messages';
import { silentLogger, type Logger } from '../log';
import type { GitHubClients } from './client';
import { splitRepo } from './repo';
import { classifyGitHubError, type GitHubFailure } from './errors';
import { backoffDelay, realSleep, retryPolicy, type RetryOptions } from './retry';

export interface StatusToPost {
  state: GitHubState;
  context: string;
  /** Sent as one line of at most 140 characters. */
  description: string;
  targetUrl: string;
}

export type PostResult =
  { ok: true } | { ok: false; retriable: boolean; httpStatus?: number; detail: string };

export interface CommitStatusPort {
  /** Never rejects: failures come back as `ok: false`. */
  post(repo: string, sha: string, status: StatusToPost): Promise<PostResult>;
}

export interface GitHubStatusPortOptions {
  clients: GitHubClients;
  log?: Logger;
  retry?: Partial<RetryOptions>;
  sleep?: (ms: number) => Promise<void>;
  /** Milliseconds clock for the budget; default Date.now. */
  now?: () => number;
  random?: () => number;
}

function failed(failure: GitHubFailure, note: string): PostResult {
  return {
    ok: false,
    retriable: failure.retriable,
    ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
    detail: `${failure.detail} (${note})`,
  };
}

export function createGitHubStatusPort(options: GitHubStatusPortOptions): CommitStatusPort {
  const { clients } = options;
  const log = options.log ?? silentLogger;
  const policy = retryPolicy(options.retry);
  const sleep = options.sleep ?? realSleep;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;

  const attempt = async (
    repo: string,
    sha: string,
    status: StatusToPost,
    timeoutMs: number,
  ): Promise<GitHubFailure | null> => {
    try {
      const { owner, name } = splitRepo(repo);
      const octokit = await clients.forRepo(repo);
      await octokit.rest.repos.createCommitStatus({
        owner,
        repo: name,
        sha,
        state: status.state,
        context: status.context,
        description: fitStatusLine(status.description),
        target_url: status.targetUrl,
        // A hung request must not outlast the budget.
        request: { signal: AbortSignal.timeout(Math.max(1, timeoutMs)) },
      });
      return null;
    } catch (err) {
      return classifyGitHubError(err, now());
    }
  };

  return {
    async post(repo, sha, status) {
      const started = now();
      const elapsed = () => now() - started;
      for (let tries = 1; ; tries += 1) {
        const failure = await attempt(repo, sha, status, policy.budgetMs - elapsed());
        if (failure === null) return { ok: true };
        const tried = tries === 1 ? '1 try' : `${tries} tries`;
        if (!failure.retriable || tries >= policy.attempts) return failed(failure, tried);
        const delay = failure.waitMs ?? backoffDelay(tries, policy, random);
        if (elapsed() + delay > policy.budgetMs) {
          return failed(failure, `${tried}; a ${delay} ms wait would pass the time budget`);
        }
        log.debug('commit status not posted; retrying', {
          repo,
          sha,
          context: status.context,
          httpStatus: failure.httpStatus,
          detail: failure.detail,
          delayMs: delay,
          tries,
        });
        await sleep(delay);
      }
    },
  };
}
