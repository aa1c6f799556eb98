// GitHub App installation tokens and user blocks.
import { GitHubError, notFound } from './errors';
import type { Route, RouteContext } from './router';
import { issueToken } from './tokens';

function accessToken(ctx: RouteContext) {
  const id = Number(ctx.params.id);
  return { status: 201, body: issueToken(ctx.state, id, ctx.body, ctx.now, ctx.api) };
}

/** DELETE /installation/token: the calling installation token stops working. */
function revoke(ctx: RouteContext) {
  if (ctx.caller.kind !== 'installation') {
    throw new GitHubError(403, 'Resource not accessible by personal access token');
  }
  ctx.state.issuedTokens.delete(ctx.caller.token);
  return { status: 204 };
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
  { method: 'DELETE', pattern: '/installation/token', handler: revoke },
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
