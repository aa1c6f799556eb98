// Commit statuses: create, list (newest first) and the combined status.
import { GitHubError, validationFailed } from './errors';
import { paginate } from './paginate';
import type { Route, RouteContext } from './router';
import { isoSeconds, nodeId, repository, repoUrl, user } from './shapes';
import { key } from './state';
import { COMMIT_STATES, type CommitState, type StatusRecord } from './types';

const DOCS_CREATE = 'https://docs.github.com/rest/commits/statuses#create-a-commit-status';
const MAX_PER_CONTEXT = 1000;

const repoOf = (ctx: RouteContext): string => `${ctx.params.owner}/${ctx.params.repo}`;

function statusBody(ctx: RouteContext, sha: string, s: StatusRecord, withCreator = true) {
  const creator = user(ctx.api, s.creator);
  return {
    url: `${repoUrl(ctx.api, repoOf(ctx))}/statuses/${sha}`,
    avatar_url: creator.avatar_url,
    id: s.id,
    node_id: nodeId('StatusContext', s.id),
    state: s.state,
    description: s.description,
    target_url: s.target_url,
    context: s.context,
    created_at: s.created_at,
    updated_at: s.created_at,
    ...(withCreator ? { creator } : {}),
  };
}

function optionalString(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    throw validationFailed([{ resource: 'Status', field, code: 'invalid' }], DOCS_CREATE);
  }
  return value;
}

function create(ctx: RouteContext) {
  const sha = (ctx.params.sha ?? '').toLowerCase();
  if (!/^[0-9a-f]{40}$/.test(sha)) {
    throw new GitHubError(422, `No commit found for SHA: ${ctx.params.sha}`, {
      documentation_url: DOCS_CREATE,
    });
  }
  const body = (ctx.body ?? {}) as Record<string, unknown>;
  if (!COMMIT_STATES.includes(body.state as CommitState)) {
    throw validationFailed(
      [
        {
          resource: 'Status',
          code: 'custom',
          field: 'state',
          message: 'state is not included in the list',
        },
      ],
      DOCS_CREATE,
    );
  }
  const description = optionalString(body, 'description');
  if (description !== null && [...description].length > 140) {
    throw validationFailed(
      [
        {
          resource: 'Status',
          code: 'custom',
          field: 'description',
          message: 'description is too long (maximum is 140 characters)',
        },
      ],
      DOCS_CREATE,
    );
  }
  const context = optionalString(body, 'context') ?? 'default';
  const list = ctx.state.statuses.get(key(repoOf(ctx), sha)) ?? [];
  if (list.filter((s) => s.context === context).length >= MAX_PER_CONTEXT) {
    throw new GitHubError(422, 'This SHA and context has reached the maximum number of statuses.', {
      documentation_url: DOCS_CREATE,
    });
  }
  const record: StatusRecord = {
    id: ++ctx.state.counters.status,
    state: body.state as CommitState,
    description,
    target_url: optionalString(body, 'target_url'),
    context,
    created_at: isoSeconds(),
    creator: ctx.login,
  };
  ctx.state.statuses.set(key(repoOf(ctx), sha), [...list, record]);
  return { status: 201, body: statusBody(ctx, sha, record) };
}

function newestFirst(ctx: RouteContext, ref: string): StatusRecord[] {
  return [...(ctx.state.statuses.get(key(repoOf(ctx), ref)) ?? [])].reverse();
}

function list(ctx: RouteContext) {
  const ref = (ctx.params.ref ?? '').toLowerCase();
  const self = `${repoUrl(ctx.api, repoOf(ctx))}/commits/${ref}/statuses`;
  const items = newestFirst(ctx, ref).map((s) => statusBody(ctx, ref, s));
  return paginate(items, ctx.query, self);
}

export function combinedState(latest: { state: CommitState }[]): CommitState {
  if (latest.some((s) => s.state === 'error' || s.state === 'failure')) return 'failure';
  if (latest.length === 0 || latest.some((s) => s.state === 'pending')) return 'pending';
  return 'success';
}

function combined(ctx: RouteContext) {
  const ref = (ctx.params.ref ?? '').toLowerCase();
  const seen = new Set<string>();
  const latest = newestFirst(ctx, ref).filter((s) => !seen.has(s.context) && seen.add(s.context));
  const repo = repoUrl(ctx.api, repoOf(ctx));
  return {
    status: 200,
    body: {
      state: combinedState(latest),
      statuses: latest.map((s) => statusBody(ctx, ref, s, false)),
      sha: ref,
      total_count: latest.length,
      repository: repository(ctx.api, repoOf(ctx)),
      commit_url: `${repo}/commits/${ref}`,
      url: `${repo}/commits/${ref}/status`,
    },
  };
}

const permission = 'statuses';

export const statusRoutes: Route[] = [
  { method: 'POST', pattern: '/repos/:owner/:repo/statuses/:sha', permission, handler: create },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/commits/:ref/statuses',
    permission,
    handler: list,
  },
  { method: 'GET', pattern: '/repos/:owner/:repo/statuses/:ref', permission, handler: list },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/commits/:ref/status',
    permission,
    handler: combined,
  },
];
