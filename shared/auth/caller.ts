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

/**
 * Verifies Google-signed ID tokens (Cloud Tasks' and Cloud Scheduler's OIDC
 * tokens). Create one per function instance: the client caches Google's keys.
 */
export function createGoogleCallerVerifier(
  options: { client?: GoogleKeysClient; now?: () => number } = {},
): CallerVerifier {
  const client = options.client ?? new OAuth2Client();
  const now = options.now ?? Date.now;
  return {
    async verify(authorization, expect) {
      const token = bearerOrRefusal(authorization);
      if (typeof token !== 'string') return token;
      // No key fetch for what cannot be a JWT.
      if (token.split('.').length !== 3) return unauthenticated('Google ID token: malformed token');
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
      if (!GOOGLE_ISSUERS.includes(payload.iss)) {
        return unauthenticated(`Google ID token: wrong issuer (${payload.iss})`);
      }
      // The library allows five minutes past `exp` for clock skew; a token
      // past its expiry is refused here, as local tokens are.
      if (payload.exp * 1000 <= now()) return unauthenticated('Google ID token: expired');
      return allowedCaller(
        { aud: payload.aud, email: payload.email, emailVerified: payload.email_verified === true },
        expect,
      );
    },
  };
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

/** Local mode (a local token secret is set) checks local tokens; otherwise Google's. */
export function callerVerifierFor(runtime: { localTokenSecret?: string }): CallerVerifier {
  return runtime.localTokenSecret
    ? createLocalCallerVerifier(runtime.localTokenSecret)
    : createGoogleCallerVerifier();
}
