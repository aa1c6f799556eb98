// The local stand-in for the OIDC (and OAuth) tokens that Cloud Tasks and Cloud
// Scheduler attach to their calls. The local stand-ins mint them; the task and
// sweep handlers verify them in local mode, as they verify Google's in production.
//
// A task (or job) with an `oidcToken` is dispatched with
//   Authorization: Bearer local-oidc.<payload>.<signature>
// where <payload> is base64url(JSON {iss, email, sub, aud, iat, exp}) — `email`
// and `sub` are the oidcToken's serviceAccountEmail, `aud` its audience, or the
// task's URL when it has none (as Cloud Tasks does) — and <signature> is
// base64url(HMAC-SHA256(localToken, "local-oidc.<payload>")). An `oauthToken`
// gives `local-oauth.…` with `scope` instead of `aud`. `localToken` is the
// stand-in's secret (the factory option, or a random one; read it from
// `standIn.localToken`). A local handler checks a request with
// `verifyLocalToken(header, localToken, {audience, email})`.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const LOCAL_TOKEN_ISSUER = 'vmci-local';
const LIFETIME_SECONDS = 3600;

export type LocalTokenKind = 'oidc' | 'oauth';

export interface LocalTokenClaims {
  iss: typeof LOCAL_TOKEN_ISSUER;
  kind: LocalTokenKind;
  email: string;
  sub: string;
  /** OIDC: the audience. */
  aud?: string;
  /** OAuth: the scope. */
  scope?: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

export class LocalTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalTokenError';
  }
}

function sign(secret: string, signed: string): string {
  return createHmac('sha256', secret).update(signed).digest('base64url');
}

export function mintLocalToken(
  secret: string,
  grant: { kind: LocalTokenKind; email: string; aud?: string; scope?: string },
  nowMs = Date.now(),
): string {
  const iat = Math.floor(nowMs / 1000);
  const claims: LocalTokenClaims = {
    iss: LOCAL_TOKEN_ISSUER,
    kind: grant.kind,
    email: grant.email,
    sub: grant.email,
    ...(grant.aud === undefined ? {} : { aud: grant.aud }),
    ...(grant.scope === undefined ? {} : { scope: grant.scope }),
    iat,
    exp: iat + LIFETIME_SECONDS,
  };
  const signed = `local-${grant.kind}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${signed}.${sign(secret, signed)}`;
}

/**
 * Checks a local token (or an `Authorization` header value "Bearer …"): its
 * signature under `secret`, its expiry, and, when given, its kind (default
 * 'oidc'), audience and email. Returns the claims; throws LocalTokenError.
 */
export function verifyLocalToken(
  token: string,
  secret: string,
  expect: {
    audience?: string | string[];
    email?: string | string[];
    kind?: LocalTokenKind;
    nowMs?: number;
  } = {},
): LocalTokenClaims {
  const text = token.replace(/^Bearer\s+/i, '').trim();
  const kind = expect.kind ?? 'oidc';
  const parts = text.split('.');
  if (parts.length !== 3 || parts[0] !== `local-${kind}`) {
    throw new LocalTokenError(`not a local-${kind} token`);
  }
  const signed = `${parts[0]}.${parts[1]}`;
  const given = Buffer.from(parts[2]!, 'base64url');
  const wanted = Buffer.from(sign(secret, signed), 'base64url');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new LocalTokenError('bad signature');
  }
  let claims: LocalTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as LocalTokenClaims;
  } catch {
    throw new LocalTokenError('unreadable claims');
  }
  if (claims.iss !== LOCAL_TOKEN_ISSUER || claims.kind !== kind) {
    throw new LocalTokenError('wrong issuer or kind');
  }
  if (claims.exp * 1000 <= (expect.nowMs ?? Date.now())) throw new LocalTokenError('expired');
  const oneOf = (value: string | undefined, allowed: string | string[] | undefined): boolean =>
    allowed === undefined || (value !== undefined && [allowed].flat().includes(value));
  if (!oneOf(claims.aud, expect.audience))
    throw new LocalTokenError(`wrong audience ${claims.aud}`);
  if (!oneOf(claims.email, expect.email)) throw new LocalTokenError(`wrong email ${claims.email}`);
  return claims;
}
