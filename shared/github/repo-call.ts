// One GitHub call about a repository, as the lookup and comment ports make
// it: the repository's client, a signal that ends with the time budget,
// transient failures retried (or, for a call that must not run twice, one
// try), and every outcome as data.
import type { Logger } from '../log';
import type { GitHubClients } from './client';
import { classifyGitHubError } from './errors';
import { splitRepo } from './repo';
import type { createRetryLoop, TryResult } from './retry';

export type LookupResult<T> =
  { ok: true; value: T } | { ok: false; retriable: boolean; httpStatus?: number; detail: string };

export type RepoCallBody<T> = (
  octokit: Awaited<ReturnType<GitHubClients['forRepo']>>,
  where: { owner: string; name: string },
  signal: AbortSignal,
) => Promise<T>;

export interface RepoCallOptions<T> {
  /** Log fields that say what was asked. */
  fields?: Record<string, unknown>;
  /** The value of a 404, when GitHub's "not found" is an answer. */
  notFound?: T;
  /** Try once only: a lost answer to a create may hide what it made. Default true. */
  retry?: boolean;
}

export function createRepoCall(
  clients: GitHubClients,
  loop: ReturnType<typeof createRetryLoop>,
  log: Logger,
) {
  return async <T>(
    what: string,
    repo: string,
    body: RepoCallBody<T>,
    options: RepoCallOptions<T> = {},
  ): Promise<LookupResult<T>> => {
    const { notFound } = options;
    const tryOnce = async (timeLeftMs: number): Promise<TryResult<T>> => {
      try {
        const where = splitRepo(repo);
        const octokit = await clients.forRepo(repo);
        // A hung request must not outlast the budget.
        const value = await body(octokit, where, AbortSignal.timeout(Math.max(1, timeLeftMs)));
        return { ok: true, value };
      } catch (err) {
        const failure = classifyGitHubError(err, loop.now());
        if (failure.httpStatus === 404 && notFound !== undefined) {
          return { ok: true, value: notFound };
        }
        return { ok: false, failure };
      }
    };
    if (options.retry === false) {
      const once = await tryOnce(loop.policy.budgetMs);
      if (once.ok) return once;
      const { failure } = once;
      return {
        ok: false,
        retriable: failure.retriable,
        ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
        detail: failure.detail,
      };
    }
    const result = await loop.run(tryOnce, ({ failure, delayMs, tries }) =>
      log.debug(`${what}: no answer from GitHub; retrying`, {
        repo,
        ...options.fields,
        httpStatus: failure.httpStatus,
        detail: failure.detail,
        delayMs,
        tries,
      }),
    );
    if (result.ok) return result;
    const { failure, note } = result;
    return {
      ok: false,
      retriable: failure.retriable,
      ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
      detail: `${failure.detail} (${note})`,
    };
  };
}
