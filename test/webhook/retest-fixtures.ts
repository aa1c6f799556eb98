// issue_comment payloads for /retest, from @octokit/webhooks-examples' real
// issue_comment examples. Those (7.6.1, api.github.com and GHES alike) are all
// comments on an issue, so a comment on a pull request is the real example
// with `issue.pull_request` added in the shape GitHub sends it (links to the
// PR, and merged_at), which is the one field that tells the two apart.
import type { WebhookEvent } from '../../shared/webhook/events';
import type { Change } from '../config/fixtures';
import { eventOf, example, REPO, type Payload } from './fixtures';

/** What GitHub puts in `issue.pull_request` of a comment on PR `number` of `repo`. */
export function pullRequestLinks(repo: string, number: number): Payload {
  return {
    url: `https://api.github.com/repos/${repo}/pulls/${number}`,
    html_url: `https://github.com/${repo}/pull/${number}`,
    diff_url: `https://github.com/${repo}/pull/${number}.diff`,
    patch_url: `https://github.com/${repo}/pull/${number}.patch`,
    merged_at: null,
  };
}

export interface CommentOptions {
  action?: 'created' | 'edited' | 'deleted';
  /** comment.user.login; default the example's (Codertocat) */
  login?: string;
  /** comment.author_association; default the example's (OWNER) */
  association?: string;
  userType?: 'User' | 'Bot';
  /** the number; default the PR's */
  number?: number;
  commentId?: number;
  /** false: a comment on an issue (the example as it is) */
  onPullRequest?: boolean;
  repo?: string;
}

/** The PR number the comment helpers use by default. */
export const COMMENT_PR = 2;
export const COMMENT_ID = 492700400; // the examples' comment id

/** The issue_comment example with `body`, on PR COMMENT_PR unless told otherwise. */
export function commentPayload(body: string, options: CommentOptions = {}): Payload {
  const action = options.action ?? 'created';
  const number = options.number ?? COMMENT_PR;
  const repo = options.repo ?? REPO;
  const changes: Change[] = [
    ['comment.body', body],
    ['issue.number', number],
  ];
  if (options.onPullRequest !== false) {
    changes.push(['issue.pull_request', pullRequestLinks(repo, number)]);
  }
  if (options.login !== undefined) changes.push(['comment.user.login', options.login]);
  if (options.association !== undefined) {
    changes.push(['comment.author_association', options.association]);
  }
  if (options.userType !== undefined) changes.push(['comment.user.type', options.userType]);
  if (options.commentId !== undefined) changes.push(['comment.id', options.commentId]);
  if (options.repo !== undefined) changes.push(['repository.full_name', options.repo]);
  return example('issue_comment', action, ...changes);
}

let deliveries = 0;

export function commentEvent(
  body: string,
  options: CommentOptions & { delivery?: string } = {},
): WebhookEvent {
  return eventOf(
    'issue_comment',
    commentPayload(body, options),
    options.delivery ?? `comment-delivery-${++deliveries}`,
  );
}
