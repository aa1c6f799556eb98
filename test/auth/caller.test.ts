import { OAuth2Client } from 'google-auth-library';
import {
  callerVerifierFor,
  createGoogleCallerVerifier,
  createLocalCallerVerifier,
  SIGNATURE_REMOVED,
  type CallerCheck,
  type CallerExpectation,
} from '../../shared/auth/caller';
import { mintLocalToken } from '../../shared/auth/local-token';
import { FixedKeysClient, makeSigningKey, signJwt } from './google-keys';

const AUDIENCE = 'https://europe-west1-vmci.cloudfunctions.net/runTest';
const TASKS_SA = 'vmci-tasks@vmci.iam.gserviceaccount.com';
const SCHEDULER_SA = 'vmci-scheduler@vmci.iam.gserviceaccount.com';
const expectation: CallerExpectation = { audience: AUDIENCE, emails: [TASKS_SA, SCHEDULER_SA] };

interface Case {
  info: string;
  authorization: string | undefined;
  expected: CallerCheck | { ok: false; status: 401 | 403; reason: string };
  expect?: CallerExpectation;
}

const ok = (email: string) => ({ ok: true, email }) as const;
const denied = (status: 401 | 403, reason: string) => ({ ok: false, status, reason }) as const;

// Google: an RS256 key the test client trusts, and one it does not (same kid).
const key = makeSigningKey('key-1');
const impostor = makeSigningKey('key-1');
const stranger = makeSigningKey('key-2');
const nowS = Math.floor(Date.now() / 1000);
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: 'https://accounts.google.com',
  aud: AUDIENCE,
  azp: '104857600000000000000',
  sub: '104857600000000000000',
  email: TASKS_SA,
  email_verified: true,
  iat: nowS - 10,
  exp: nowS + 3590,
  ...overrides,
});
const bearer = (token: string) => `Bearer ${token}`;
const validJwt = signJwt(key, claims());
const [jwtHeader, jwtPayload] = validJwt.split('.');

const googleCases: Case[] = [
  { info: 'valid token', authorization: bearer(validJwt), expected: ok(TASKS_SA) },
  {
    info: 'the other issuer spelling, one of several audiences, scheme in lower case',
    authorization: `bearer ${signJwt(key, claims({ iss: 'accounts.google.com', email: SCHEDULER_SA }))}`,
    expected: ok(SCHEDULER_SA),
    expect: { audience: ['https://elsewhere.example', AUDIENCE], emails: [SCHEDULER_SA] },
  },
  {
    info: 'missing header',
    authorization: undefined,
    expected: denied(401, 'no Authorization header'),
  },
  {
    info: 'not a Bearer header',
    authorization: `Basic ${validJwt}`,
    expected: denied(401, 'not a Bearer'),
  },
  {
    info: 'malformed (two segments)',
    authorization: bearer(`${jwtHeader}.${jwtPayload}`),
    expected: denied(401, 'malformed token'),
  },
  {
    info: 'malformed (unparseable payload)',
    authorization: bearer(`${jwtHeader}.bm90LWpzb24.${validJwt.split('.')[2]}`),
    expected: denied(401, 'malformed token'),
  },
  {
    info: 'signed by another key under the same kid',
    authorization: bearer(signJwt(impostor, claims())),
    expected: denied(401, 'bad signature'),
  },
  {
    info: 'signed by an unknown kid',
    authorization: bearer(signJwt(stranger, claims())),
    expected: denied(401, 'unknown key id'),
  },
  {
    info: 'expired an hour ago',
    authorization: bearer(signJwt(key, claims({ iat: nowS - 7200, exp: nowS - 3600 }))),
    expected: denied(401, 'expired'),
  },
  {
    info: 'expired within the library clock skew',
    authorization: bearer(signJwt(key, claims({ iat: nowS - 3660, exp: nowS - 60 }))),
    expected: denied(401, 'expired'),
  },
  {
    info: 'wrong issuer',
    authorization: bearer(signJwt(key, claims({ iss: 'https://evil.example' }))),
    expected: denied(401, 'wrong issuer'),
  },
  {
    info: 'wrong audience',
    authorization: bearer(signJwt(key, claims({ aud: 'https://elsewhere.example' }))),
    expected: denied(403, 'another audience'),
  },
  {
    info: 'service account not allowed',
    authorization: bearer(signJwt(key, claims({ email: 'intruder@vmci.iam.gserviceaccount.com' }))),
    expected: denied(403, 'not an allowed caller'),
  },
  {
    info: 'email not verified',
    authorization: bearer(signJwt(key, claims({ email_verified: false }))),
    expected: denied(403, 'not verified'),
  },
  {
    info: 'no email claim',
    authorization: bearer(signJwt(key, claims({ email: undefined }))),
    expected: denied(403, 'no email claim'),
  },
];

const SECRET = 'local-secret-0123456789';
const localToken = (
  grant: { email?: string; aud?: string } = {},
  nowMs?: number,
  secret = SECRET,
) => mintLocalToken(secret, { kind: 'oidc', email: TASKS_SA, aud: AUDIENCE, ...grant }, nowMs);
const validLocal = localToken();

const localCases: Case[] = [
  { info: 'valid token', authorization: bearer(validLocal), expected: ok(TASKS_SA) },
  {
    info: 'missing header',
    authorization: undefined,
    expected: denied(401, 'no Authorization header'),
  },
  {
    info: 'token without the Bearer scheme',
    authorization: validLocal,
    expected: denied(401, 'not a Bearer'),
  },
  {
    info: 'malformed',
    authorization: bearer(validLocal.split('.').slice(0, 2).join('.')),
    expected: denied(401, 'not a local-oidc token'),
  },
  {
    info: 'signed with another secret',
    authorization: bearer(localToken({}, undefined, 'another-secret-0123456789')),
    expected: denied(401, 'bad signature'),
  },
  {
    info: 'expired',
    authorization: bearer(localToken({}, Date.now() - 2 * 3600 * 1000)),
    expected: denied(401, 'expired'),
  },
  {
    info: 'an OAuth token, not OIDC',
    authorization: bearer(mintLocalToken(SECRET, { kind: 'oauth', email: TASKS_SA, scope: 'x' })),
    expected: denied(401, 'not a local-oidc token'),
  },
  {
    info: 'wrong audience',
    authorization: bearer(localToken({ aud: 'https://elsewhere.example' })),
    expected: denied(403, 'another audience'),
  },
  {
    info: 'service account not allowed',
    authorization: bearer(localToken({ email: 'intruder@vmci.iam.gserviceaccount.com' })),
    expected: denied(403, 'not an allowed caller'),
  },
];

const google = createGoogleCallerVerifier({ client: new FixedKeysClient([key]) });
const local = createLocalCallerVerifier(SECRET);

function expected(c: Case) {
  return c.expected.ok
    ? c.expected
    : {
        ok: false,
        status: c.expected.status,
        reason: expect.stringContaining(c.expected.reason),
        userMessage: expect.stringMatching(/^.{10,140}$/),
      };
}

describe.each([
  { verifierName: 'Google', verifier: google, cases: googleCases },
  { verifierName: 'local', verifier: local, cases: localCases },
])('$verifierName caller verifier', ({ verifier, cases }) => {
  it.each(cases)('$info', async (c) => {
    const check = await verifier.verify(c.authorization, c.expect ?? expectation);
    expect(check).toEqual(expected(c));
  });

  it.each(cases.filter((c) => c.authorization !== undefined && !c.expected.ok))(
    'never echoes the token: $info',
    async (c) => {
      const check = await verifier.verify(c.authorization, c.expect ?? expectation);
      const token = c.authorization!.replace(/^bearer /i, '');
      const text = JSON.stringify(check);
      // Every segment long enough to be token material, not a fixed prefix such as "local-oidc".
      expect(check.ok).toBe(false);
      for (const part of [token, ...token.split('.').filter((s) => s.length >= 16)]) {
        expect(text).not.toContain(part);
      }
    },
  );
});

describe('Google caller verifier', () => {
  it('refuses a token the injected clock says has expired', async () => {
    const verifier = createGoogleCallerVerifier({
      client: new FixedKeysClient([key]),
      now: () => (nowS + 3590) * 1000,
    });
    expect(await verifier.verify(bearer(validJwt), expectation)).toMatchObject({
      ok: false,
      status: 401,
      reason: expect.stringContaining('expired'),
    });
  });

  it('keeps the library message, which quotes the token, out of the reason', async () => {
    const forged = signJwt(impostor, claims());
    // The library's own message would leak the token if it were passed on.
    await expect(
      new FixedKeysClient([key]).verifySignedJwtWithCertsAsync(forged, {
        [key.kid]: key.publicPem,
      }),
    ).rejects.toThrow(forged);
    const check = await google.verify(bearer(forged), expectation);
    expect(JSON.stringify(check)).not.toContain(forged.split('.')[2]);
  });

  it('rejects, rather than answering 401, when Google keys cannot be fetched', async () => {
    class Offline extends OAuth2Client {
      override async getFederatedSignonCertsAsync(): Promise<never> {
        throw new Error('Failed to retrieve verification certificates: ENETUNREACH');
      }
    }
    const verifier = createGoogleCallerVerifier({ client: new Offline() });
    await expect(verifier.verify(bearer(validJwt), expectation)).rejects.toThrow('ENETUNREACH');
  });
});

describe('callerVerifierFor', () => {
  it('checks local tokens when the runtime has a local token secret', async () => {
    const verifier = callerVerifierFor({ localTokenSecret: SECRET }, { iamOnly: true });
    expect(await verifier.verify(bearer(validLocal), expectation)).toEqual(ok(TASKS_SA));
    expect(await verifier.verify(bearer('opaque-token'), expectation)).toMatchObject({
      status: 401,
      reason: expect.stringMatching(/^local token/),
    });
  });

  it.each([{ runtime: {} }, { runtime: { localTokenSecret: '' } }])(
    'checks Google tokens otherwise ($runtime)',
    async ({ runtime }) => {
      // Not a JWT: the Google verifier refuses it before fetching keys.
      const check = await callerVerifierFor(runtime, { iamOnly: false }).verify(
        bearer('opaque-token'),
        expectation,
      );
      expect(check).toMatchObject({
        ok: false,
        status: 401,
        reason: expect.stringMatching(/^Google/),
      });
    },
  );
});

// Cloud Run's IAM checks the token of a call to an IAM-only function, then
// forwards it with the signature replaced (its troubleshooting page, "signature removed").
describe('a token whose signature Cloud Run removed', () => {
  const unsigned = (overrides: Record<string, unknown> = {}) => {
    const [header, payload] = signJwt(key, claims(overrides)).split('.');
    return bearer(`${header}.${payload}.${SIGNATURE_REMOVED}`);
  };
  // No keys at all: the token is never checked against Google's keys on this path.
  const behindIam = createGoogleCallerVerifier({
    client: new FixedKeysClient([]),
    signatureCheckedByCloudRun: true,
  });

  it.each<Case>([
    { info: 'its claims right', authorization: unsigned(), expected: ok(TASKS_SA) },
    {
      info: 'wrong issuer',
      authorization: unsigned({ iss: 'https://evil.example' }),
      expected: denied(401, 'wrong issuer'),
    },
    {
      info: 'expired',
      authorization: unsigned({ exp: nowS - 1 }),
      expected: denied(401, 'expired'),
    },
    {
      info: 'no expiry',
      authorization: unsigned({ exp: undefined }),
      expected: denied(401, 'expired'),
    },
    {
      info: 'another audience',
      authorization: unsigned({ aud: 'https://elsewhere.example' }),
      expected: denied(403, 'another audience'),
    },
    {
      info: 'an account not allowed',
      authorization: unsigned({ email: 'intruder@vmci.iam.gserviceaccount.com' }),
      expected: denied(403, 'not an allowed caller'),
    },
    {
      info: 'an email not verified',
      authorization: unsigned({ email_verified: false }),
      expected: denied(403, 'not verified'),
    },
    {
      info: 'a payload that is not JSON',
      authorization: bearer(`${jwtHeader}.bm90LWpzb24.${SIGNATURE_REMOVED}`),
      expected: denied(401, 'malformed token'),
    },
  ])('behind Cloud Run IAM, $info', async (c) => {
    expect(await behindIam.verify(c.authorization, expectation)).toEqual(expected(c));
  });

  it('anywhere else is a 401, however right its claims', async () => {
    const check = await google.verify(unsigned(), expectation);
    expect(check).toEqual(
      expected({ info: '', authorization: '', expected: denied(401, 'signature removed') }),
    );
  });

  it.each([
    { iamOnly: true, env: { K_SERVICE: 'runtest' }, accepted: true },
    { iamOnly: true, env: {}, accepted: false },
    // A public function (status) never trusts it: anyone can send one there.
    { iamOnly: false, env: { K_SERVICE: 'status' }, accepted: false },
  ])('callerVerifierFor, iamOnly $iamOnly, env $env: accepted $accepted', async (c) => {
    const check = await callerVerifierFor({}, { iamOnly: c.iamOnly, env: c.env }).verify(
      unsigned(),
      expectation,
    );
    expect(check.ok).toBe(c.accepted);
    if (!check.ok)
      expect(check).toMatchObject({
        status: 401,
        reason: expect.stringContaining('signature removed'),
      });
  });
});
