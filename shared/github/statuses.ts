// The commit status port (DESIGN §5) and its Octokit adapter. Posting retries
// transient failures within a time budget and reports every outcome as data:
// a status that could not be posted must never fail what caused it.
import type { GitHubState } from '../domain/github';
import { fitStatusLine } from '../domain/messages';
import { silentLogger, type Logger } from '../log';
import type { GitHubClients } from './client';
import { splitRepo } from './repo';
import { classifyGitHubError, type GitHubFailure } from './errors';
import { createRetryLoop, type RetryOptions, type TryResult } from './retry';

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
  const loop = createRetryLoop(options);

  const attempt = async (
    repo: string,
    sha: string,
    status: StatusToPost,
    timeoutMs: number,
  ): Promise<TryResult<null>> => {
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
      return { ok: true, value: null };
    } catch (err) {
      return { ok: false, failure: classifyGitHubError(err, loop.now()) };
    }
  };

  return {
    async post(repo, sha, status) {
      const result = await loop.run(
        (timeLeftMs) => attempt(repo, sha, status, timeLeftMs),
        ({ failure, delayMs, tries }) =>
          log.debug('commit status not posted; retrying', {
            repo,
            sha,
            context: status.context,
            httpStatus: failure.httpStatus,
            detail: failure.detail,
            delayMs,
            tries,
          }),
      );
      return result.ok ? { ok: true } : failed(result.failure, result.note);
    },
  };
}
