// Issue (and pull request) comments: create, update, get, list oldest first.
import { GitHubError, notFound } from './errors';
import { paginate } from './paginate';
import type { Route, RouteContext } from './router';
import { isoSeconds, nodeId, repoUrl, user } from './shapes';
import { key } from './state';
import type { CommentRecord } from './types';

const repoOf = (ctx: RouteContext): string => `${ctx.params.owner}/${ctx.params.repo}`;

function commentBody(api: string, c: CommentRecord) {
  const issueUrl = `${repoUrl(api, c.repo)}/issues/${c.issue_number}`;
  return {
    url: `${repoUrl(api, c.repo)}/issues/comments/${c.id}`,
    html_url: `https://github.com/${c.repo}/issues/${c.issue_number}#issuecomment-${c.id}`,
    issue_url: issueUrl,
    id: c.id,
    node_id: nodeId('IssueComment', c.id),
    user: user(api, c.user),
    created_at: c.created_at,
    updated_at: c.updated_at,
    author_association: 'NONE',
    body: c.body,
    reactions: {
      url: `${repoUrl(api, c.repo)}/issues/comments/${c.id}/reactions`,
      total_count: 0,
      '+1': 0,
      '-1': 0,
      laugh: 0,
      hooray: 0,
      confused: 0,
      heart: 0,
      rocket: 0,
      eyes: 0,
    },
    performed_via_github_app: null,
  };
}

function requireBody(ctx: RouteContext): string {
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (typeof body.body !== 'string') {
    throw new GitHubError(422, `Invalid request.\n\n"body" wasn't supplied.`, {
      documentation_url: 'https://docs.github.com/rest/issues/comments',
    });
  }
  return body.body;
}

function issueNumber(ctx: RouteContext): number {
  const n = Number(ctx.params.number);
  if (!Number.isInteger(n) || n <= 0) throw notFound();
  return n;
}

function findComment(ctx: RouteContext): CommentRecord {
  const comment = ctx.state.comments.get(Number(ctx.params.id));
  if (!comment || key(comment.repo) !== key(repoOf(ctx))) throw notFound();
  return comment;
}

export const issueRoutes: Route[] = [
  {
    method: 'POST',
    pattern: '/repos/:owner/:repo/issues/:number/comments',
    permission: 'issues',
    handler: (ctx) => {
      const now = isoSeconds();
      const comment: CommentRecord = {
        id: ++ctx.state.counters.comment,
        repo: repoOf(ctx),
        issue_number: issueNumber(ctx),
        body: requireBody(ctx),
        user: ctx.login,
        created_at: now,
        updated_at: now,
      };
      ctx.state.comments.set(comment.id, comment);
      return { status: 201, body: commentBody(ctx.api, comment) };
    },
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/issues/:number/comments',
    permission: 'issues',
    handler: (ctx) => {
      const n = issueNumber(ctx);
      const comments = [...ctx.state.comments.values()]
        .filter((c) => c.issue_number === n && key(c.repo) === key(repoOf(ctx)))
        .sort((a, b) => a.id - b.id)
        .map((c) => commentBody(ctx.api, c));
      return paginate(comments, ctx.query, `${repoUrl(ctx.api, repoOf(ctx))}/issues/${n}/comments`);
    },
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/issues/comments/:id',
    permission: 'issues',
    handler: (ctx) => ({ status: 200, body: commentBody(ctx.api, findComment(ctx)) }),
  },
  {
    method: 'PATCH',
    pattern: '/repos/:owner/:repo/issues/comments/:id',
    permission: 'issues',
    handler: (ctx) => {
      const comment = findComment(ctx);
      comment.body = requireBody(ctx);
      comment.updated_at = isoSeconds();
      return { status: 200, body: commentBody(ctx.api, comment) };
    },
  },
];
