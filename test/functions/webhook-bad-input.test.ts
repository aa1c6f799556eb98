// What the webhook refuses (DESIGN §5), through the local cloud's real HTTP
// server: each bad delivery gets its documented status code and changes
// nothing — not one Firestore document, task or GitHub call.
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { MAX_BODY_BYTES } from '../../functions/webhook/handler';
import { COMPRESSED_BODY, SECURITY_HEADERS } from '../../shared/http/function-app';
import { changed } from '../config/fixtures';
import {
  idsOf,
  parseBody,
  pushPayload,
  send,
  shaOf,
  sign,
  snapshot,
  useWebhookCloud,
} from './webhook-support';

const env = useWebhookCloud({ fresh: 'once' });

/** A push that would create tests, were it accepted. */
const validBody = () => JSON.stringify(pushPayload(shaOf('bad-input/would-be-tested')));

interface RawRequest {
  method?: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

/** The headers GitHub sends with `body`, signed with `secret` unless told otherwise. */
async function githubHeaders(
  secret: string,
  body: string,
  overrides: Record<string, string | undefined> = {},
): Promise<Record<string, string>> {
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/local',
    'x-github-event': 'push',
    'x-github-delivery': 'bad-input-delivery-1',
    'x-hub-signature-256': await sign(secret, body),
    ...overrides,
  };
  return Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

async function signedRequest(
  secret: string,
  body: string,
  overrides: Record<string, string | undefined> = {},
): Promise<RawRequest> {
  return { headers: await githubHeaders(secret, body, overrides), body };
}

/** A valid push for a branch of the configured repository, padded to one byte over the limit. */
function oversizeBody(): string {
  const base = JSON.stringify({ ...pushPayload(shaOf('bad-input/oversize')), padding: '' });
  const padding = 'x'.repeat(MAX_BODY_BYTES + 1 - Buffer.byteLength(base));
  const body = base.replace('"padding":""', `"padding":"${padding}"`);
  expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES + 1);
  return body;
}

const SIGNATURE_MISMATCH =
  'Signature does not match: check that the webhook secret matches vm-ci’s.';
const NOT_READABLE = 'Not a webhook vm-ci can read.';
const NOT_JSON = 'The body is not a JSON webhook payload.';

/** The right signature of `body`, changed by `edit`: each must be refused. */
function signatureCase(name: string, edit: (signature: string) => string): Case {
  return {
    name,
    request: async (secret) => {
      const body = validBody();
      return signedRequest(secret, body, { 'x-hub-signature-256': edit(await sign(secret, body)) });
    },
    status: 401,
    body: { error: SIGNATURE_MISMATCH },
  };
}

/** Signed or not, a compressed body is never inflated: refused before its signature is checked. */
function compressedCase(name: string, encoding: string, signed: boolean): Case {
  return {
    name,
    request: async (secret) => {
      const body = gzipSync(validBody());
      const signature = `sha256=${createHmac('sha256', signed ? secret : 'x')
        .update(body)
        .digest('hex')}`;
      return {
        headers: await githubHeaders(secret, validBody(), {
          'content-encoding': encoding,
          'x-hub-signature-256': signature,
        }),
        body,
      };
    },
    status: 415,
    body: { error: COMPRESSED_BODY },
  };
}

interface Case {
  name: string;
  request: (secret: string) => Promise<RawRequest>;
  status: number;
  /** The JSON body, when the webhook function (not the framework) answered. */
  body?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    name: 'no signature',
    request: async (secret) =>
      signedRequest(secret, validBody(), { 'x-hub-signature-256': undefined }),
    status: 401,
    body: { error: 'Missing X-Hub-Signature-256: set a secret in the webhook settings.' },
  },
  {
    name: 'signed with another secret',
    request: async () => signedRequest('not-the-webhook-secret', validBody()),
    status: 401,
    body: { error: SIGNATURE_MISMATCH },
  },
  {
    name: 'the signature of another body',
    request: async (secret) => {
      const other = JSON.stringify(pushPayload(shaOf('bad-input/other-body')));
      return {
        headers: await githubHeaders(secret, validBody(), {
          'x-hub-signature-256': await sign(secret, other),
        }),
        body: validBody(),
      };
    },
    status: 401,
    body: { error: SIGNATURE_MISMATCH },
  },
  {
    name: 'only a SHA-1 signature (X-Hub-Signature)',
    request: async (secret) => {
      const body = validBody();
      const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
      return signedRequest(secret, body, {
        'x-hub-signature-256': undefined,
        'x-hub-signature': sha1,
      });
    },
    status: 401,
    body: { error: 'SHA-1 signatures are not accepted: vm-ci checks X-Hub-Signature-256.' },
  },
  {
    name: 'an empty body, signed',
    request: async (secret) => signedRequest(secret, ''),
    status: 400,
    body: { error: NOT_JSON },
  },
  {
    name: 'invalid JSON sent as text/plain, signed',
    request: async (secret) =>
      signedRequest(secret, '{"ref": "refs/heads/master",', { 'content-type': 'text/plain' }),
    status: 400,
    body: { error: 'The body is not a JSON webhook payload.' },
  },
  {
    // The signature covers the bytes as sent, not the bytes re-encoded from a string.
    name: 'bytes that are not UTF-8, signed over those bytes',
    request: async (secret) => {
      const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      return {
        headers: await githubHeaders(secret, validBody(), {
          'content-type': 'application/octet-stream',
          'x-hub-signature-256': signature,
        }),
        body,
      };
    },
    status: 400,
    body: { error: 'The body is not a JSON webhook payload.' },
  },
  {
    name: 'invalid JSON sent as application/json, signed',
    request: async (secret) => signedRequest(secret, '{"ref": "refs/heads/master",'),
    status: 400,
    body: { error: NOT_JSON },
  },
  {
    // Nothing unsigned is parsed: the signature is checked first.
    name: 'invalid JSON, unsigned',
    request: async (secret) =>
      signedRequest(secret, '{"ref": "refs/heads/master",', { 'x-hub-signature-256': undefined }),
    status: 401,
    body: { error: 'Missing X-Hub-Signature-256: set a secret in the webhook settings.' },
  },
  {
    name: 'a JSON array, signed',
    request: async (secret) => signedRequest(secret, '[1, 2, 3]'),
    status: 400,
    body: { error: NOT_JSON },
  },
  {
    name: 'a charset nobody parses (utf-16), signed with another secret',
    request: async () =>
      signedRequest('not-the-webhook-secret', validBody(), {
        'content-type': 'application/json; charset=utf-16',
      }),
    status: 401,
    body: { error: SIGNATURE_MISMATCH },
  },
  {
    name: 'a form body without its payload field, signed',
    request: async (secret) =>
      signedRequest(secret, 'other=1', { 'content-type': 'application/x-www-form-urlencoded' }),
    status: 400,
    body: { error: NOT_JSON },
  },
  compressedCase('a gzip body, unsigned', 'gzip', false),
  compressedCase('a gzip body, signed over the compressed bytes', 'gzip', true),
  compressedCase('a deflate body', 'deflate', false),
  compressedCase('a br body', 'br', false),
  compressedCase('an unknown Content-Encoding', 'x-vmci', false),
  signatureCase('an empty sha256= signature', () => 'sha256='),
  signatureCase('the signature cut to its first 10 digits', (sig) => sig.slice(0, 17)),
  signatureCase('the signature without its last digit', (sig) => sig.slice(0, -1)),
  signatureCase('the signature with its last digit changed', (sig) =>
    sig.slice(0, -1).concat(sig.endsWith('0') ? '1' : '0'),
  ),
  signatureCase('the signature with a digit appended', (sig) => `${sig}0`),
  signatureCase('the signature in upper case', (sig) => `sha256=${sig.slice(7).toUpperCase()}`),
  signatureCase('the digest without its sha256= prefix', (sig) => sig.slice(7)),
  signatureCase('the digest under a sha1= prefix', (sig) => `sha1=${sig.slice(7)}`),
  signatureCase('the signature twice, joined by a comma', (sig) => `${sig},${sig}`),
  {
    name: 'no X-GitHub-Event',
    request: async (secret) => signedRequest(secret, validBody(), { 'x-github-event': undefined }),
    status: 400,
    body: { error: NOT_READABLE, problems: ['x-github-event: required'] },
  },
  {
    name: 'no X-GitHub-Delivery',
    request: async (secret) =>
      signedRequest(secret, validBody(), { 'x-github-delivery': undefined }),
    status: 400,
    body: { error: NOT_READABLE, problems: ['x-github-delivery: required'] },
  },
  {
    name: 'GET instead of POST',
    request: async (secret) => ({
      method: 'GET',
      headers: await githubHeaders(secret, validBody()),
    }),
    status: 405,
    body: { error: 'Webhooks are delivered with POST.' },
  },
  {
    name: 'a body over 25 MiB, signed',
    request: async (secret) => signedRequest(secret, oversizeBody()),
    status: 413,
    body: { error: 'The body is over 25 MiB.' },
  },
  {
    name: 'a signed push for a repository that is not configured',
    request: async (secret) =>
      signedRequest(
        secret,
        JSON.stringify(
          changed(pushPayload(shaOf('bad-input/elsewhere')), [
            'repository.full_name',
            'someone/else',
          ]),
        ),
      ),
    status: 403,
    body: {
      delivery: 'bad-input-delivery-1',
      error: 'repository "someone/else" is not configured',
    },
  },
  {
    name: 'a malformed sha (after: "abc")',
    request: async (secret) => signedRequest(secret, JSON.stringify(pushPayload('abc'))),
    status: 400,
    body: { error: NOT_READABLE, problems: ['after: expected a 40-character commit sha'] },
  },
  {
    name: 'a push without its repository',
    request: async (secret) =>
      signedRequest(
        secret,
        JSON.stringify(
          changed(pushPayload(shaOf('bad-input/no-repository')), ['repository', undefined]),
        ),
      ),
    status: 400,
    body: { error: NOT_READABLE, problems: ['repository: required'] },
  },
];

describe('webhook: bad input changes nothing', () => {
  // Something to leave untouched: the tests, the delivery records and the tasks of one push
  // (its statuses come from runTest's claim; the queue is paused, so GitHub has heard nothing).
  const seedSha = shaOf('bad-input/seed');
  beforeAll(async () => {
    const seeded = await send(env.cloud, 'push', pushPayload(seedSha));
    expect(seeded.status).toBe(202);
    expect(seeded.body.tests).toEqual(idsOf(seedSha));
  });

  it('starts from a cloud that holds the seeded push', async () => {
    const state = await snapshot(env);
    // One delivery record under the delivery id, one under the signed body's digest.
    expect(state.counts).toEqual({ tests: 2, deliveries: 2 });
    expect(state.tasks).toHaveLength(2);
    expect(state.githubCalls).toBe(0);
  });

  it.each(cases)('$name → $status', async ({ request, status, body }) => {
    const { cloud } = env;
    const before = await snapshot(env);
    const logsBefore = env.logs().length;
    const req = await request(cloud.webhookSecret);

    const res = await fetch(`${cloud.url}/webhook`, {
      method: req.method ?? 'POST',
      headers: req.headers,
      ...(req.body === undefined ? {} : { body: req.body }),
    });
    const text = await res.text();

    expect(res.status).toBe(status);
    // Every refusal is JSON with the strict headers, never the framework's HTML page.
    expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
      expect(res.headers.get(name)).toBe(value);
    }
    expect(text).not.toMatch(/<html|<!DOCTYPE|stack|at [A-Za-z]+ \(/i);
    if (body) expect(parseBody(text)).toEqual(body);
    expect(await snapshot(env)).toEqual(before);
    expect(text).not.toContain(cloud.webhookSecret);
    // Nothing the function logs carries the secret; refusals at the door are logged.
    const logged = env.logs().slice(logsBefore);
    expect(logged.join('')).not.toContain(cloud.webhookSecret);
    if ([401, 405, 413].includes(status)) {
      const rejected = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(rejected).toContainEqual(
        expect.objectContaining({ message: 'Webhook rejected', status, severity: 'WARNING' }),
      );
    }
  });

  it.each(cases.filter((c) => c.status === 401))(
    '401 for $name: one friendly line, never the secret',
    async ({ request }) => {
      const { cloud } = env;
      const req = await request(cloud.webhookSecret);
      const res = await fetch(`${cloud.url}/webhook`, {
        method: 'POST',
        headers: req.headers,
        ...(req.body === undefined ? {} : { body: req.body }),
      });
      const text = await res.text();
      const body = parseBody(text);

      expect(res.status).toBe(401);
      expect(Object.keys(body)).toEqual(['error']);
      const error = body.error as string;
      expect(error).toMatch(/^[^\n\r]{1,140}$/);
      expect(error).toMatch(/\.$/);
      expect(text).not.toContain(cloud.webhookSecret);
      expect(text).not.toContain(req.headers['x-hub-signature-256'] ?? '\u0000');
    },
  );
});
