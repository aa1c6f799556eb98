// GitHub App installation tokens and user blocks.
import { randomBytes } from 'node:crypto';
import { notFound } from './errors';
import type { Route, RouteContext } from './router';
import { isoSeconds } from './shapes';

const TOKEN_LIFETIME_MS = 60 * 60 * 1000;

function accessToken(ctx: RouteContext) {
  const id = Number(ctx.params.id);
  if (!Number.isInteger(id) || id <= 0) throw notFound();
  // ghs_ + 36 base62-ish characters, like a real installation token.
  const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
  ctx.state.issuedTokens.add(token);
  const requested = (ctx.body ?? {}) as { permissions?: Record<string, string> };
  return {
    status: 201,
    body: {
      token,
      expires_at: isoSeconds(new Date(Date.now() + TOKEN_LIFETIME_MS)),
      permissions: requested.permissions ?? {
        actions: 'read',
        issues: 'write',
        metadata: 'read',
        pull_requests: 'read',
        statuses: 'write',
      },
      repository_selection: 'all',
    },
  };
}

function blocked(set: Set<string>, entry: string) {
  if (!set.has(entry.toLowerCase())) throw notFound();
  return { status: 204 };
}

export const appRoutes: Route[] = [
  {
    method: 'POST',
    pattern: '/app/installations/:id/access_tokens',
    app: true,
    handler: accessToken,
  },
  {
    method: 'GET',
    pattern: '/orgs/:org/blocks/:username',
    handler: (ctx) => blocked(ctx.state.orgBlocks, `${ctx.params.org}/${ctx.params.username}`),
  },
  {
    method: 'GET',
    pattern: '/user/blocks/:username',
    handler: (ctx) => blocked(ctx.state.userBlocks, ctx.params.username ?? ''),
  },
];
