// Who may call the internal functions (runTest, sweepPending, sweepExpired):
// only OIDC-authenticated calls from the queue's and the scheduler's service
// accounts (DESIGN §1). Production checks Google-signed ID tokens; local mode
// checks the local cloud's stand-in tokens (./local-token.ts). A token that
// does not prove who sent it is a 401; a proven caller that is not allowed is a 403.
import { OAuth2Client } from 'google-auth-library';
import { bearerToken } from './bearer';
import { verifyLocalToken, LocalTokenError } from './local-token';

export interface CallerExpectation {
  /** The audience (or audiences) the token must be minted for. */
  audience: string | string[];
  /** The service accounts allowed to call. */
  emails: string[];
}

export type CallerCheck =
  | { ok: true; email: string }
  | {
      ok: false;
      status: 401 | 403;
      /** Which check failed, for the logs. Never holds the token. */
      reason: string;
      /** One friendly line for the response body. */
      userMessage: string;
    };

export interface CallerVerifier {
  /**
   * Checks an `Authorization` header value. Rejects only when the check itself
   * cannot run (Google's signing keys unreachable): answer 5xx so the caller retries.
   */
  verify(authorization: string | undefined, expect: CallerExpectation): Promise<CallerCheck>;
}

/** Google's issuers for ID tokens, both spellings it uses. */
const GOOGLE_ISSUERS: readonly string[] = ['accounts.google.com', 'https://accounts.google.com'];

const UNAUTHENTICATED =
  "Unauthenticated: this endpoint accepts only signed calls from vm-ci's task queue and scheduler.";
const FORBIDDEN = 'Forbidden: this caller may not call this endpoint.';

const unauthenticated = (reason: string): CallerCheck => ({
  ok: false,
  status: 401,
  reason,
  userMessage: UNAUTHENTICATED,
});
const forbidden = (reason: string): CallerCheck => ({
  ok: false,
  status: 403,
  reason,
  userMessage: FORBIDDEN,
});

function bearerOrRefusal(authorization: string | undefined): string | CallerCheck {
  if (!authorization) return unauthenticated('no Authorization header');
  return bearerToken(authorization) ?? unauthenticated('Authorization is not a Bearer token');
}

/** The checks made once the token is proven genuine: all failures are 403. */
function allowedCaller(
  claims: { aud?: unknown; email?: unknown; emailVerified: boolean },
  expect: CallerExpectation,
): CallerCheck {
  const audiences = [expect.audience].flat();
  if (typeof claims.aud !== 'string' || !audiences.includes(claims.aud)) {
    return forbidden(`token minted for another audience (${String(claims.aud)})`);
  }
  if (typeof claims.email !== 'string') return forbidden('token has no email claim');
  if (!claims.emailVerified) return forbidden(`email ${claims.email} is not verified`);
  if (!expect.emails.includes(claims.email)) {
    return forbidden(`service account ${claims.email} is not an allowed caller`);
  }
  return { ok: true, email: claims.email };
}

// google-auth-library's messages quote the token or its payload, so only a
// label chosen here reaches the logs.
const LIBRARY_REJECTIONS: [RegExp, string][] = [
  [/^Invalid token signature/, 'bad signature'],
  [/^No pem found/, 'signed with an unknown key id'],
  [/^Token used too late/, 'expired'],
  [/^Token used too early/, 'not valid yet'],
  [/^Expiration time too far/, 'lifetime longer than allowed'],
  [
    /^(Wrong number of segments|Can't parse|No issue time|No expiration time|iat field|exp field)/,
    'malformed token',
  ],
];

function libraryRejection(error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const label = LIBRARY_REJECTIONS.find(([pattern]) => pattern.test(message))?.[1];
  return `Google ID token: ${label ?? 'rejected by google-auth-library'}`;
}

type GoogleKeysClient = Pick<
  OAuth2Client,
  'getFederatedSignonCertsAsync' | 'verifySignedJwtWithCertsAsync'
>;

/** What Cloud Run puts in place of a token's signature once its IAM check has verified it. */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE';

export interface GoogleCallerOptions {
  client?: GoogleKeysClient;
  now?: () => number;
  /**
   * This function is deployed IAM-only on Cloud Run, which verifies the ID
   * token before the request arrives and forwards it with its signature
   * replaced by SIGNATURE_REMOVED: such a token is then accepted unsigned,
   * its other claims still checked. Never for a public function: anyone could
   * send an unsigned token to it.
   */
  signatureCheckedByCloudRun?: boolean;
}

/**
 * Verifies Google-signed ID tokens (Cloud Tasks' and Cloud Scheduler's OIDC
 * tokens). Create one per function instance: the client caches Google's keys.
 */
export function createGoogleCallerVerifier(options: GoogleCallerOptions = {}): CallerVerifier {
  const client = options.client ?? new OAuth2Client();
  const now = options.now ?? Date.now;
  return {
    async verify(authorization, expect) {
      const token = bearerOrRefusal(authorization);
      if (typeof token !== 'string') return token;
      // No key fetch for what cannot be a JWT.
      const segments = token.split('.');
      if (segments.length !== 3) return unauthenticated('Google ID token: malformed token');
      if (segments[2] === SIGNATURE_REMOVED) {
        if (!options.signatureCheckedByCloudRun) {
          return unauthenticated('Google ID token: signature removed, and no Cloud Run IAM here');
        }
        const payload = unsignedPayload(segments[1]!);
        if (!payload) return unauthenticated('Google ID token: malformed token');
        return checkClaims(payload, expect, now());
      }
      // verifyIdToken's two steps, taken apart: a failure to fetch the keys
      // must not read as a bad token, and the audience check is made below,
      // where its failure is a 403 rather than a library error.
      const { certs } = await client.getFederatedSignonCertsAsync();
      let payload;
      try {
        payload = (await client.verifySignedJwtWithCertsAsync(token, certs)).getPayload();
      } catch (error) {
        return unauthenticated(libraryRejection(error));
      }
      if (!payload) return unauthenticated('Google ID token: no payload');
      return checkClaims(payload, expect, now());
    },
  };
}

interface GoogleClaims {
  iss?: unknown;
  exp?: unknown;
  aud?: unknown;
  email?: unknown;
  email_verified?: unknown;
}

/** Issuer and expiry (401), then audience and email (403): a token's claims once its signature is known good. */
function checkClaims(payload: GoogleClaims, expect: CallerExpectation, nowMs: number): CallerCheck {
  if (typeof payload.iss !== 'string' || !GOOGLE_ISSUERS.includes(payload.iss)) {
    return unauthenticated(`Google ID token: wrong issuer (${String(payload.iss)})`);
  }
  // The library allows five minutes past `exp` for clock skew; a token
  // past its expiry is refused here, as local tokens are.
  if (typeof payload.exp !== 'number' || payload.exp * 1000 <= nowMs) {
    return unauthenticated('Google ID token: expired');
  }
  return allowedCaller(
    { aud: payload.aud, email: payload.email, emailVerified: payload.email_verified === true },
    expect,
  );
}

/** The claims of a token whose signature Cloud Run checked, or undefined when unreadable. */
function unsignedPayload(segment: string): GoogleClaims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as GoogleClaims)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies the local cloud's stand-in OIDC tokens, signed with `secret`. */
export function createLocalCallerVerifier(secret: string): CallerVerifier {
  return {
    async verify(authorization, expect) {
      const token = bearerOrRefusal(authorization);
      if (typeof token !== 'string') return token;
      let claims;
      try {
        // Signature, issuer, kind and expiry only: audience and email are
        // checked by allowedCaller, so their failures are 403s.
        claims = verifyLocalToken(token, secret);
      } catch (error) {
        const label = error instanceof LocalTokenError ? error.message : 'unreadable claims';
        return unauthenticated(`local token: ${label}`);
      }
      return allowedCaller({ aud: claims.aud, email: claims.email, emailVerified: true }, expect);
    },
  };
}

/**
 * Local mode (a local token secret is set) checks local tokens; otherwise
 * Google's. `iamOnly`: the function is deployed behind Cloud Run's IAM
 * (runTest, the sweeps), so on Cloud Run (K_SERVICE is set) a token whose
 * signature Cloud Run removed is accepted; anywhere else it is a 401.
 */
export function callerVerifierFor(
  runtime: { localTokenSecret?: string },
  {
    iamOnly,
    env = process.env,
  }: { iamOnly: boolean; env?: Readonly<Record<string, string | undefined>> },
): CallerVerifier {
  if (runtime.localTokenSecret) return createLocalCallerVerifier(runtime.localTokenSecret);
  return createGoogleCallerVerifier({
    signatureCheckedByCloudRun: iamOnly && Boolean(env.K_SERVICE),
  });
}
