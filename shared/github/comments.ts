// The PR comment port (issue 14, item 6): vm-ci's one comment on a pull
// request, found by a marker it starts with, created once and then edited;
// and a reaction to someone's comment (a /retest taken or refused).
// Like the other GitHub ports, transient failures are retried within the
// time budget and every outcome comes back as data.
import { silentLogger, type Logger } from '../log';
import type { GitHubClients } from './client';
import type { LookupResult } from './lookups';
import { createRepoCall } from './repo-call';
import { createRetryLoop, type RetryLoopOptions } from './retry';

export interface PrComment {
  id: number;
  body: string;
}

/** GitHub's reaction contents. */
export type ReactionContent =
  '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes';

export interface Reaction {
  id: number;
  content: ReactionContent;
  /** false: vm-ci had already reacted so to that comment (GitHub answers 200, not 201). */
  created: boolean;
}

export interface PrCommentPort {
  /** The PR's comments that start with `marker`, oldest first (at most the first 1,000 comments). Never rejects. */
  findMarked(repo: string, pr: number, marker: string): Promise<LookupResult<PrComment[]>>;
  create(repo: string, pr: number, body: string): Promise<LookupResult<PrComment>>;
  /** A 403 or 404 (not ours, or gone) is a non-retriable failure with its httpStatus. */
  update(repo: string, id: number, body: string): Promise<LookupResult<PrComment>>;
  /**
   * Reacts to issue or PR comment `commentId` (POST …/issues/comments/{id}/reactions).
   * GitHub keeps one reaction per user and content, so a retry never adds a
   * second one. A comment that is gone is a non-retriable 404. Never rejects.
   */
  react(repo: string, commentId: number, content: ReactionContent): Promise<LookupResult<Reaction>>;
}

const MAX_PAGES = 10;

export function createGitHubCommentPort(
  options: RetryLoopOptions & { clients: GitHubClients; log?: Logger },
): PrCommentPort {
  const { clients } = options;
  const log = options.log ?? silentLogger;
  const loop = createRetryLoop(options);

  const call = createRepoCall(clients, loop, log);

  return {
    findMarked(repo, pr, marker) {
      return call('PR comments', repo, async (octokit, { owner, name }, signal) => {
        const found: PrComment[] = [];
        for (let page = 1; page <= MAX_PAGES; page++) {
          const { data } = await octokit.rest.issues.listComments({
            owner,
            repo: name,
            issue_number: pr,
            per_page: 100,
            page,
            request: { signal },
          });
          for (const c of data) {
            if (c.body?.startsWith(marker)) found.push({ id: c.id, body: c.body });
          }
          if (data.length < 100) break;
        }
        return found;
      });
    },
    create(repo, pr, body) {
      return call(
        'PR comment',
        repo,
        async (octokit, { owner, name }, signal) => {
          const { data } = await octokit.rest.issues.createComment({
            owner,
            repo: name,
            issue_number: pr,
            body,
            request: { signal },
          });
          return { id: data.id, body: data.body ?? body };
          // A lost answer to a create may hide a comment that exists: trying
          // again could post a second one. The next update finds it by its marker.
        },
        { retry: false },
      );
    },
    react(repo, commentId, content) {
      return call(
        'comment reaction',
        repo,
        async (octokit, { owner, name }, signal) => {
          const { status, data } = await octokit.rest.reactions.createForIssueComment({
            owner,
            repo: name,
            comment_id: commentId,
            content,
            request: { signal },
          });
          return { id: data.id, content: data.content as ReactionContent, created: status === 201 };
        },
        { fields: { commentId, content } },
      );
    },
    update(repo, id, body) {
      return call('PR comment', repo, async (octokit, { owner, name }, signal) => {
        const { data } = await octokit.rest.issues.updateComment({
          owner,
          repo: name,
          comment_id: id,
          body,
          request: { signal },
        });
        return { id: data.id, body: data.body ?? body };
      });
    },
  };
}
