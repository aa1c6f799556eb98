// Issue (and pull request) comments: create, update, get, list oldest first;
// reactions to them: create (once per user and content, as GitHub: 201, then
// 200 with the same reaction) and list.
import { GitHubError, notFound } from './errors';
import { paginate } from './paginate';
import type { Route, RouteContext } from './router';
import { isoSeconds, nodeId, repoUrl, user } from './shapes';
import { key } from './state';
import {
  REACTION_CONTENTS,
  type CommentRecord,
  type ReactionContent,
  type ReactionRecord,
} from './types';

const repoOf = (ctx: RouteContext): string => `${ctx.params.owner}/${ctx.params.repo}`;

function reactionCounts(reactions: readonly ReactionRecord[]): Record<ReactionContent, number> {
  const counts = Object.fromEntries(REACTION_CONTENTS.map((c) => [c, 0])) as Record<
    ReactionContent,
    number
  >;
  for (const r of reactions) counts[r.content] += 1;
  return counts;
}

function reactionsOf(ctx: Pick<RouteContext, 'state'>, c: CommentRecord): ReactionRecord[] {
  return ctx.state.reactions.filter((r) => r.comment_id === c.id && key(r.repo) === key(c.repo));
}

function reactionBody(api: string, r: ReactionRecord) {
  return {
    id: r.id,
    node_id: nodeId('Reaction', r.id),
    user: user(api, r.user),
    content: r.content,
    created_at: r.created_at,
  };
}

function commentBody(api: string, c: CommentRecord, reactions: readonly ReactionRecord[]) {
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
      total_count: reactions.length,
      ...reactionCounts(reactions),
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

function requireContent(ctx: RouteContext): ReactionContent {
  const content = ((ctx.body ?? {}) as Record<string, unknown>).content;
  if (!REACTION_CONTENTS.includes(content as ReactionContent)) {
    throw new GitHubError(422, 'Validation Failed', {
      errors: [
        {
          resource: 'Reaction',
          code: 'custom',
          field: 'content',
          message: 'content is not included in the list',
        },
      ],
      documentation_url: 'https://docs.github.com/rest/reactions/reactions',
    });
  }
  return content as ReactionContent;
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
      return { status: 201, body: commentBody(ctx.api, comment, []) };
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
        .map((c) => commentBody(ctx.api, c, reactionsOf(ctx, c)));
      return paginate(comments, ctx.query, `${repoUrl(ctx.api, repoOf(ctx))}/issues/${n}/comments`);
    },
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/issues/comments/:id',
    permission: 'issues',
    handler: (ctx) => {
      const comment = findComment(ctx);
      return { status: 200, body: commentBody(ctx.api, comment, reactionsOf(ctx, comment)) };
    },
  },
  {
    method: 'PATCH',
    pattern: '/repos/:owner/:repo/issues/comments/:id',
    permission: 'issues',
    handler: (ctx) => {
      const comment = findComment(ctx);
      comment.body = requireBody(ctx);
      comment.updated_at = isoSeconds();
      return { status: 200, body: commentBody(ctx.api, comment, reactionsOf(ctx, comment)) };
    },
  },
  {
    method: 'POST',
    pattern: '/repos/:owner/:repo/issues/comments/:id/reactions',
    permission: 'issues',
    handler: (ctx) => {
      const comment = findComment(ctx);
      const content = requireContent(ctx);
      const mine = reactionsOf(ctx, comment).find(
        (r) => r.content === content && r.user.toLowerCase() === ctx.login.toLowerCase(),
      );
      if (mine) return { status: 200, body: reactionBody(ctx.api, mine) };
      const reaction: ReactionRecord = {
        id: ++ctx.state.counters.reaction,
        repo: comment.repo,
        comment_id: comment.id,
        content,
        user: ctx.login,
        created_at: isoSeconds(),
      };
      ctx.state.reactions.push(reaction);
      return { status: 201, body: reactionBody(ctx.api, reaction) };
    },
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/issues/comments/:id/reactions',
    permission: 'issues',
    handler: (ctx) => {
      const comment = findComment(ctx);
      const wanted = ctx.query.get('content');
      const reactions = reactionsOf(ctx, comment)
        .filter((r) => wanted === null || r.content === wanted)
        .map((r) => reactionBody(ctx.api, r));
      return paginate(
        reactions,
        ctx.query,
        `${repoUrl(ctx.api, repoOf(ctx))}/issues/comments/${comment.id}/reactions`,
      );
    },
  },
];
