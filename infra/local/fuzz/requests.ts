// What the fuzz suite sends: requests a stranger could make to each function's
// door. `refusal` requests are invalid (unsigned, wrongly signed, compressed,
// oversized, replayed, about another test…) and must change nothing; `accepted`
// ones are signed real payloads with odd content, which may create tests but
// must never break the door.
import { createHmac, randomUUID } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import examples from '@octokit/webhooks-examples';
import { mutatePayload } from './mutate';
import type { Random } from './random';

export const FUZZ_FUNCTIONS = [
  'webhook',
  'progress',
  'status',
  'runTest',
  'sweepPending',
  'sweepExpired',
] as const;
export type FuzzFunction = (typeof FUZZ_FUNCTIONS)[number];

/** A body streamed in chunks, never held whole by the sender. */
export interface StreamedBody {
  chunk: Buffer;
  bytes: number;
}

export interface FuzzRequest {
  /** What the request tries, for the report. */
  kind: string;
  fn: FuzzFunction;
  method: string;
  /** Below the function's URL; starts with '/'. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer | StreamedBody;
  /** Sent on a raw socket: headers only, with a Content-Length that never arrives. */
  declaredOnly?: number;
  /** Invalid: must change nothing. Otherwise it may change state (a signed payload). */
  refusal: boolean;
}

export interface Reporter {
  id: string;
  token: string;
}

export interface FuzzContext {
  secret: string;
  random: Random;
  /** Signed bodies the webhook accepted (2xx): sent again under new delivery ids. */
  accepted: { event: string; body: Buffer }[];
  /** Running tests (stage `testing`) and their VMs' tokens, for progress. */
  reporters: Reporter[];
  repo: string;
}

type Payload = Record<string, unknown>;
const ALL = examples as unknown as { name: string; examples: Payload[] }[];
const WITH_EXAMPLES = ALL.filter((e) => e.examples.length > 0);
/** Events vm-ci acts on; every other one is answered 202 and ignored. */
const HANDLED = ['push', 'pull_request', 'workflow_run'];

/** Paths whose deletion or retyping no reader of that event accepts (shared/webhook/events.ts). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  push: ['ref', 'after', 'deleted', 'repository', 'repository.full_name', 'sender.login'],
  pull_request: [
    'action',
    'number',
    'pull_request',
    'pull_request.head.sha',
    'pull_request.base',
    'pull_request.user.login',
    'pull_request.author_association',
    'pull_request.labels',
    'repository.full_name',
  ],
  workflow_run: ['action', 'repository.full_name', 'workflow_run.id', 'workflow_run.head_sha'],
};

function exampleOf(
  random: Random,
  events?: readonly string[],
): { event: string; payload: Payload } {
  const pool = events ? WITH_EXAMPLES.filter((e) => events.includes(e.name)) : WITH_EXAMPLES;
  const entry = random.pick(pool);
  return { event: entry.name, payload: structuredClone(random.pick(entry.examples)) };
}

function weighted<K extends string>(random: Random, choices: readonly (readonly [K, number])[]): K {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = random.next() * total;
  for (const [kind, weight] of choices) {
    roll -= weight;
    if (roll < 0) return kind;
  }
  return choices[choices.length - 1]![0];
}

function sign(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function githubHeaders(event: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/fuzz',
    'x-github-event': event,
    'x-github-delivery': randomUUID(),
    ...extra,
  };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

// A body that inflates 1000-fold, made once.
let bomb: Buffer | undefined;
const gzipBomb = () => (bomb ??= gzipSync(Buffer.alloc(50 * 1024 * 1024)));

/** Extra headers a stranger might add: odd types, forwarded-for, long values. */
function noise(random: Random): Record<string, string> {
  const out: Record<string, string> = {};
  if (random.chance(0.3)) {
    out['content-type'] = random.pick([
      'text/plain',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/cloudevents+json',
      '*/*',
    ]);
  }
  if (random.chance(0.2)) out['x-forwarded-for'] = `${random.int(256)}.0.0.${random.int(256)}`;
  if (random.chance(0.1)) out['x-vmci-noise'] = random.text(random.between(1, 4000));
  if (random.chance(0.1)) out['content-encoding'] = 'identity';
  return out;
}

/** A signature of the right body, altered so that it must not match. */
function alteredSignature(random: Random, right: string): string {
  const digest = right.slice('sha256='.length);
  return random.pick([
    'sha256=',
    right.slice(0, random.between(7, right.length - 1)),
    `${right.slice(0, -1)}${right.endsWith('0') ? '1' : '0'}`,
    `${right}0`,
    `sha256=${digest.toUpperCase()}`,
    digest,
    `sha1=${digest}`,
    `${right},${right}`,
    'sha256=' + '0'.repeat(64),
  ]);
}

// --- webhook -----------------------------------------------------------------------

function webhookRefusal(ctx: FuzzContext): FuzzRequest {
  const { random, secret } = ctx;
  const { event, payload } = exampleOf(random);
  const body = json(payload);
  const base = { fn: 'webhook' as const, method: 'POST', path: '/', refusal: true };
  // The bodies of 25 MiB and more are rare: each costs the server 25 MiB of reading.
  const kind = weighted(random, [
    ['unsigned', 10],
    ['wrong secret', 10],
    ['altered signature', 10],
    ['sha-1 only', 4],
    ['compressed', 6],
    ['gzip bomb', 3],
    ['invalid utf-8', 4],
    ['deeply nested, unsigned', 3],
    ['random bytes', 6],
    ['signed, ignored event mutated', 10],
    ['signed, required field broken', 10],
    ['replayed under a new delivery', 8],
    ['wrong method', 4],
    ['odd path', 4],
    ['over 25 MiB', 0.15],
    ['declared over 25 MiB', 3],
  ] as const);
  const headers = { ...githubHeaders(event), ...noise(random) };
  switch (kind) {
    case 'unsigned':
      return { ...base, kind, headers, body };
    case 'wrong secret':
      return {
        ...base,
        kind,
        headers: { ...headers, 'x-hub-signature-256': sign('other', body) },
        body,
      };
    case 'altered signature':
      return {
        ...base,
        kind,
        headers: {
          ...headers,
          'x-hub-signature-256': alteredSignature(random, sign(secret, body)),
        },
        body,
      };
    case 'sha-1 only': {
      const sha1 = `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;
      return { ...base, kind, headers: { ...headers, 'x-hub-signature': sha1 }, body };
    }
    case 'compressed': {
      const [encoding, compress] = random.pick([
        ['gzip', gzipSync],
        ['deflate', deflateSync],
        ['br', brotliCompressSync],
      ] as const);
      const packed = compress(body);
      const signature = sign(random.chance(0.5) ? secret : 'other', packed);
      return {
        ...base,
        kind,
        headers: { ...headers, 'content-encoding': encoding, 'x-hub-signature-256': signature },
        body: packed,
      };
    }
    case 'gzip bomb':
      return {
        ...base,
        kind,
        headers: { ...headers, 'content-encoding': 'gzip' },
        body: gzipBomb(),
      };
    case 'invalid utf-8': {
      const bytes = Buffer.concat([
        Buffer.from('{"ref":"'),
        Buffer.from([0xff, 0xfe, 0xc0]),
        Buffer.from('"}'),
      ]);
      const signature = random.chance(0.5) ? sign(secret, bytes) : sign('other', bytes);
      return {
        ...base,
        kind,
        headers: { ...headers, 'x-hub-signature-256': signature },
        body: bytes,
      };
    }
    case 'deeply nested, unsigned': {
      const depth = random.between(1_000, 200_000);
      return { ...base, kind, headers, body: Buffer.from('['.repeat(depth) + ']'.repeat(depth)) };
    }
    case 'random bytes': {
      const bytes = random.bytes(random.between(0, 4096));
      const signature = random.chance(0.5)
        ? sign(secret, bytes)
        : alteredSignature(random, sign(secret, bytes));
      return {
        ...base,
        kind,
        headers: { ...headers, 'x-hub-signature-256': signature },
        body: bytes,
      };
    }
    case 'signed, ignored event mutated': {
      const other = exampleOf(
        random,
        WITH_EXAMPLES.map((e) => e.name).filter((n) => !HANDLED.includes(n)),
      );
      const { body: mutated } = mutatePayload(other.payload, random);
      return {
        ...base,
        kind,
        headers: { ...githubHeaders(other.event), 'x-hub-signature-256': sign(secret, mutated) },
        body: mutated,
      };
    }
    case 'signed, required field broken': {
      const handled = exampleOf(random, HANDLED);
      const broken = breakRequired(handled.event, handled.payload, random);
      return {
        ...base,
        kind,
        headers: { ...githubHeaders(handled.event), 'x-hub-signature-256': sign(secret, broken) },
        body: broken,
      };
    }
    case 'replayed under a new delivery': {
      if (ctx.accepted.length === 0) return { ...base, kind: 'unsigned', headers, body };
      const earlier = random.pick(ctx.accepted);
      return {
        ...base,
        kind,
        headers: {
          ...githubHeaders(earlier.event),
          'x-hub-signature-256': sign(secret, earlier.body),
        },
        body: earlier.body,
      };
    }
    case 'wrong method':
      return {
        ...base,
        kind,
        method: random.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND']),
        headers: { ...headers, 'x-hub-signature-256': sign(secret, body) },
        body,
      };
    case 'odd path':
      return { ...base, kind, path: oddPath(random), headers, body };
    case 'over 25 MiB':
      return {
        ...base,
        kind,
        headers,
        body: {
          chunk: Buffer.alloc(64 * 1024, 0x20),
          bytes: 25 * 1024 * 1024 + random.between(1, 4 * 1024 * 1024),
        },
      };
    default:
      return {
        ...base,
        kind,
        headers,
        declaredOnly: random.pick([25 * 1024 * 1024 + 1, 2 ** 31, 2 ** 40]),
      };
  }
}

/** A handled event, signed, with an odd value somewhere: it may well be accepted. */
function webhookAccepted(ctx: FuzzContext): FuzzRequest {
  const { random, secret } = ctx;
  const { event, payload } = exampleOf(random, HANDLED);
  if (event === 'push' && random.chance(0.5)) {
    // A fresh commit, otherwise as the example: tests are created, and later replayed.
    payload.after = random.text(40, '0123456789abcdef');
  }
  const { body, mutation } = random.chance(0.7)
    ? mutatePayload(payload, random)
    : { body: json(payload), mutation: 'none' };
  return {
    kind: `signed ${event}, ${mutation}`,
    fn: 'webhook',
    method: 'POST',
    path: '/',
    headers: { ...githubHeaders(event), 'x-hub-signature-256': sign(secret, body) },
    body,
    refusal: false,
  };
}

/** The payload with one field vm-ci must read deleted or retyped. */
function breakRequired(event: string, payload: Payload, random: Random): Buffer {
  const path = random.pick(REQUIRED[event]!).split('.');
  let node = payload as Record<string, unknown>;
  for (const step of path.slice(0, -1)) {
    const next = node[step];
    if (typeof next !== 'object' || next === null) return json({ ...payload, [path[0]!]: 7 });
    node = next as Record<string, unknown>;
  }
  const key = path[path.length - 1]!;
  const current = node[key];
  if (random.chance(0.5)) delete node[key];
  else
    node[key] =
      typeof current === 'string'
        ? 12345
        : typeof current === 'number'
          ? '12'
          : Array.isArray(current)
            ? { x: 1 }
            : typeof current === 'boolean'
              ? 'yes'
              : [];
  return json(payload);
}

function oddPath(random: Random): string {
  return random.pick([
    '/..',
    '/../runTest',
    '/%2e%2e/%2e%2e',
    '/%E0%A4%A',
    '/%00',
    `/${'a'.repeat(random.between(1, 6000))}`,
    '/tests/../../',
    '//',
    '/?x=%zz&&&=',
    `/?${'a=1&'.repeat(random.between(1, 500))}`,
    '/__proto__',
    '/constructor/prototype',
  ]);
}

// --- progress ----------------------------------------------------------------------

function progressRefusal(ctx: FuzzContext): FuzzRequest {
  const { random } = ctx;
  const reporter = random.pick(ctx.reporters);
  const other = random.pick(ctx.reporters);
  const report = { testId: reporter.id, stage: 'testing' };
  const base = { fn: 'progress' as const, method: 'POST', path: '/', refusal: true };
  const auth = (token: string) => ({
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
  });
  const kind = random.pick([
    'no token',
    'random token',
    'token of an unknown test',
    "another test's token",
    'stage regression',
    'report mutated',
    'not JSON',
    'compressed',
    'over 64 KiB',
    'invalid utf-8',
    '__proto__ in the report',
    'wrong method',
    'odd path',
    'declared 100 MiB',
  ]);
  switch (kind) {
    case 'no token':
      return {
        ...base,
        kind,
        headers: { 'content-type': 'application/json', ...noise(random) },
        body: json(report),
      };
    case 'random token':
      return {
        ...base,
        kind,
        headers: auth(random.text(random.between(1, 300), 'abcdefXYZ0123456789-._~+/')),
        body: json(report),
      };
    case 'token of an unknown test':
      return {
        ...base,
        kind,
        headers: auth(`${random.text(20, 'abc123-')}.${'A'.repeat(43)}`),
        body: json({ ...report, testId: 'unknown' }),
      };
    case "another test's token":
      return {
        ...base,
        kind,
        headers: auth(other.token),
        body: json({
          testId: reporter.id === other.id ? `${reporter.id}-x` : reporter.id,
          stage: 'failed',
          message: 'forged',
        }),
      };
    case 'stage regression':
      return {
        ...base,
        kind,
        headers: auth(reporter.token),
        body: json({ testId: reporter.id, stage: 'preparation' }),
      };
    case 'report mutated': {
      const { body } = mutatePayload({ ...report, stage: 'completed' }, random);
      return { ...base, kind, headers: auth(reporter.token), body };
    }
    case 'not JSON':
      return {
        ...base,
        kind,
        headers: auth(reporter.token),
        body: Buffer.from(random.pick(['', '[]', '{', 'null', '"x"', random.text(50)])),
      };
    case 'compressed':
      return {
        ...base,
        kind,
        headers: {
          ...auth(reporter.token),
          'content-encoding': random.pick(['gzip', 'br', 'deflate']),
        },
        body: gzipSync(json({ testId: reporter.id, stage: 'failed', message: 'x' })),
      };
    case 'over 64 KiB':
      return {
        ...base,
        kind,
        headers: auth(reporter.token),
        body: json({
          testId: reporter.id,
          stage: 'failed',
          message: 'x'.repeat(random.between(65 * 1024, 2 * 1024 * 1024)),
        }),
      };
    case 'invalid utf-8':
      return {
        ...base,
        kind,
        headers: auth(reporter.token),
        body: Buffer.concat([
          Buffer.from('{"testId":"'),
          Buffer.from([0xff, 0xfe]),
          Buffer.from('"}'),
        ]),
      };
    case '__proto__ in the report':
      return {
        ...base,
        kind,
        headers: auth(reporter.token),
        body: Buffer.from(
          `{"testId":${JSON.stringify(reporter.id)},"stage":"failed","message":"m","__proto__":{"isAdmin":true}}`,
        ),
      };
    case 'wrong method':
      return {
        ...base,
        kind,
        method: random.pick(['GET', 'PUT', 'DELETE', 'HEAD']),
        headers: auth(reporter.token),
        body: json(report),
      };
    case 'odd path':
      return {
        ...base,
        kind,
        path: oddPath(random),
        headers: { 'content-type': 'application/json' },
        body: json(report),
      };
    default:
      return {
        ...base,
        kind,
        headers: { 'content-type': 'application/json' },
        declaredOnly: 100 * 1024 * 1024,
      };
  }
}

// --- status, runTest, the sweeps ------------------------------------------------------

function statusRefusal(ctx: FuzzContext): FuzzRequest {
  const { random } = ctx;
  const path = random.pick([
    '/',
    '/tests',
    `/tests?repo=${encodeURIComponent(ctx.repo)}&sha=${random.text(40, '0123456789abcdef')}`,
    `/tests?repo=${encodeURIComponent(ctx.repo)}&pr=${random.pick(['1', '-1', 'x', '1e99', '99999999999999999999'])}`,
    `/tests?repo=${encodeURIComponent(random.text(random.between(0, 300)))}&sha=x`,
    '/tests?repo=a&repo=b&sha=c&sha=d',
    `/tests/${random.pick(ctx.reporters).id}`,
    `/tests/${encodeURIComponent(random.text(random.between(1, 400)))}`,
    '/tests/..',
    '/tests/__name__',
    oddPath(random),
  ]);
  return {
    kind: 'status read',
    fn: 'status',
    method: random.pick(['GET', 'GET', 'GET', 'HEAD', 'POST', 'DELETE']),
    path,
    headers: noise(random),
    ...(random.chance(0.1) ? { body: random.bytes(random.between(1, 2048)) } : {}),
    refusal: true,
  };
}

function internalRefusal(
  ctx: FuzzContext,
  fn: 'runTest' | 'sweepPending' | 'sweepExpired',
): FuzzRequest {
  const { random } = ctx;
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const forged = `${b64({ alg: random.pick(['RS256', 'none', 'HS256']), typ: 'JWT' })}.${b64({
    iss: 'https://accounts.google.com',
    aud: 'x',
    email: 'vmci-tasks@vmci-local.iam.gserviceaccount.com',
    exp: 9_999_999_999,
  })}.${random.text(40, 'abcdefgh')}`;
  const authorization = random.pick([
    undefined,
    'Bearer ',
    `Bearer ${forged}`,
    `Bearer ${random.text(64, 'abc.')}`,
    'Basic eDp5',
  ]);
  return {
    kind: `${fn} without a valid caller`,
    fn,
    method: random.pick(['POST', 'POST', 'GET']),
    path: '/',
    headers: {
      'content-type': 'application/json',
      ...(authorization === undefined ? {} : { authorization }),
      ...(fn === 'runTest' ? { 'x-cloudtasks-taskname': random.text(20, 'abc-') } : {}),
    },
    body: json({ testId: random.pick(ctx.reporters).id }),
    refusal: true,
  };
}

/** One request: mostly refusals, spread over the functions; some signed payloads. */
export function nextRequest(ctx: FuzzContext, acceptedShare: number): FuzzRequest {
  const { random } = ctx;
  if (random.chance(acceptedShare)) return webhookAccepted(ctx);
  const roll = random.next();
  if (roll < 0.55) return webhookRefusal(ctx);
  if (roll < 0.8) return progressRefusal(ctx);
  if (roll < 0.92) return statusRefusal(ctx);
  return internalRefusal(ctx, random.pick(['runTest', 'sweepPending', 'sweepExpired'] as const));
}

export { webhookAccepted };
