// The in-memory double of the commit status port. It behaves like the Octokit
// adapter seen from outside: descriptions are fitted to one status line, a
// malformed sha is GitHub's 422, and a retriable failure is retried up to
// `attempts` tries per post (without waiting).
import { fitStatusLine } from '../domain/messages';
import { splitRepo } from './repo';
import type { CommitStatusPort, PostResult, StatusToPost } from './statuses';

export interface MemoryStatusPost extends StatusToPost {
  repo: string;
  sha: string;
}

export interface InjectedFailure {
  retriable: boolean;
  httpStatus?: number;
  detail?: string;
}

export interface MemoryStatusPort extends CommitStatusPort {
  /** Every status posted, oldest first. */
  posts(): MemoryStatusPost[];
  /** A commit's statuses, newest first (as GitHub lists them). */
  statuses(repo: string, sha: string): MemoryStatusPost[];
  /** Tries made, failed ones included. */
  tries(): number;
  /** The next `count` tries fail with `failure`. */
  failNext(count: number, failure: InjectedFailure): void;
}

const SHA = /^[0-9a-f]{40}$/i;

export function createMemoryStatusPort(options: { attempts?: number } = {}): MemoryStatusPort {
  const attempts = options.attempts ?? 3;
  const posted: MemoryStatusPost[] = [];
  const faults: InjectedFailure[] = [];
  let tries = 0;

  const tryOnce = (repo: string, sha: string, status: StatusToPost): PostResult => {
    tries += 1;
    const fault = faults.shift();
    if (fault) {
      const { retriable, httpStatus, detail = 'injected failure' } = fault;
      return { ok: false, retriable, ...(httpStatus === undefined ? {} : { httpStatus }), detail };
    }
    if (!SHA.test(sha)) {
      return {
        ok: false,
        retriable: false,
        httpStatus: 422,
        detail: `No commit found for SHA: ${sha}`,
      };
    }
    posted.push({ ...status, description: fitStatusLine(status.description), repo, sha });
    return { ok: true };
  };

  return {
    async post(repo, sha, status) {
      try {
        splitRepo(repo);
      } catch (err) {
        return { ok: false, retriable: false, detail: (err as Error).message };
      }
      let result = tryOnce(repo, sha, status);
      for (let n = 1; !result.ok && result.retriable && n < attempts; n += 1) {
        result = tryOnce(repo, sha, status);
      }
      return result;
    },
    posts: () => posted.map((p) => ({ ...p })),
    statuses: (repo, sha) =>
      posted
        .filter(
          (p) =>
            p.repo.toLowerCase() === repo.toLowerCase() &&
            p.sha.toLowerCase() === sha.toLowerCase(),
        )
        .reverse()
        .map((p) => ({ ...p })),
    tries: () => tries,
    failNext(count, failure) {
      for (let i = 0; i < count; i += 1) faults.push({ ...failure });
    },
  };
}
