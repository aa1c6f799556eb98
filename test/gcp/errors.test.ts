import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { GCP_MESSAGES, STATUS_LINE_MAX } from '../../shared/domain/messages';
import {
  GCP_ERROR_ACTIONS,
  GCP_ERROR_CODES,
  OPERATION_TIMEOUT,
  OperationTimeoutError,
  classifyGcpError,
  operationTimeoutError,
  type GcpErrorClass,
} from '../../shared/gcp/errors';

// The DESIGN §4 texts, spelled out here so a drift in messages.ts shows up.
const ZONE_EXHAUSTED =
  'GCP resources temporarily unavailable in the configured zone. The test will be retried automatically when resources become available.';
const QUOTA =
  'GCP quota limit reached. The test will be retried automatically when resources become available.';
const TIMED_OUT = 'GCP operation timed out. The test will be retried automatically.';
const NOT_FOUND = 'Required GCP resource not found. Please contact the administrator.';
const PERMISSION = 'GCP permission denied. Please contact the administrator.';
const FAILED = 'VM creation failed. Please contact the administrator.';
const failedWith = (code: string) =>
  `VM creation failed (${code}). Please contact the administrator.`;

const STOCKOUT = {
  code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
  retriable: true,
  action: 'next_zone',
  userMessage: ZONE_EXHAUSTED,
} as const;
const QUOTA_EXCEEDED = {
  code: 'QUOTA_EXCEEDED',
  retriable: true,
  action: 'retry_later',
  userMessage: QUOTA,
} as const;
const RATE_LIMITED = {
  code: 'RATE_LIMITED',
  retriable: true,
  action: 'retry_later',
  userMessage: GCP_MESSAGES.rateLimited,
} as const;
const TIMEOUT = {
  code: 'TIMEOUT',
  retriable: true,
  action: 'retry_later',
  userMessage: TIMED_OUT,
} as const;
const ALREADY_EXISTS = {
  code: 'ALREADY_EXISTS',
  retriable: false,
  action: 'adopt',
  userMessage: failedWith('ALREADY_EXISTS'),
} as const;
const RESOURCE_NOT_FOUND = {
  code: 'NOT_FOUND',
  retriable: false,
  action: 'fail',
  userMessage: NOT_FOUND,
} as const;
const PERMISSION_DENIED = {
  code: 'PERMISSION_DENIED',
  retriable: false,
  action: 'fail',
  userMessage: PERMISSION,
} as const;
const NOT_AN_ERROR = {
  code: 'UNKNOWN',
  retriable: false,
  action: 'fail',
  userMessage: FAILED,
} as const;
const unknownCode = (code: string) =>
  ({ code, retriable: false, action: 'fail', userMessage: failedWith(code) }) as const;

function fixture<T>(name: string): T {
  const file = join(__dirname, '..', 'fixtures', 'gcp-errors', name);
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

interface TextFixture {
  text: string;
}
interface OperationFixture {
  operation: { status: string; error: unknown };
}
interface QuotaFixture {
  errors: Array<{ code: string; message: string }>;
}

/** Things from the raw payloads that must never reach a person. */
const RAW_PARTS = [
  'projects/',
  'us-central1',
  'us-west1',
  'cirrus-ci-community',
  'python-docs-samples',
  "'CPUS'",
];

function expectNoRawText(cls: GcpErrorClass): void {
  for (const part of RAW_PARTS) expect(cls.userMessage).not.toContain(part);
}

describe('classifyGcpError on the real payloads in test/fixtures/gcp-errors', () => {
  it('a finished insert whose operation failed with ZONE_RESOURCE_POOL_EXHAUSTED: next zone', () => {
    const { operation } = fixture<OperationFixture>('zone-exhausted-operation.json');
    expect(operation.status).toBe('DONE');

    const cls = classifyGcpError(operation.error);

    expect(cls).toMatchObject(STOCKOUT);
    // That payload has no ErrorInfo, so Compute named no other zone.
    expect(cls.zonesAvailable).toBeUndefined();
    expect(cls.detail).toContain('ZONE_RESOURCE_POOL_EXHAUSTED');
    expect(cls.detail).toContain('does not have enough resources available');
    expectNoRawText(cls);
  });

  it('reads the whole operation as well as its error', () => {
    const { operation } = fixture<OperationFixture>('zone-exhausted-operation.json');
    expect(classifyGcpError(operation)).toMatchObject(STOCKOUT);
  });

  it('a QUOTA_EXCEEDED operation error entry: retry later', () => {
    const quota = fixture<QuotaFixture>('quota-exceeded-operation-error.json');

    const cls = classifyGcpError({ errors: quota.errors });

    expect(cls).toMatchObject(QUOTA_EXCEEDED);
    expect(cls.detail).toContain("Quota 'CPUS' exceeded.");
    expectNoRawText(cls);
    expect(classifyGcpError(quota)).toMatchObject(QUOTA_EXCEEDED);
    expect(classifyGcpError(quota.errors[0])).toMatchObject(QUOTA_EXCEEDED);
  });

  it.each([
    ['an Error message', (text: string): unknown => new Error(text)],
    ['a plain string', (text: string): unknown => text],
  ])('the disk stockout text as %s: next zone', (_label, wrap) => {
    const { text } = fixture<TextFixture>('disk-stockout-text.json');

    const cls = classifyGcpError(wrap(text));

    expect(cls).toMatchObject(STOCKOUT);
    expect(cls.detail).toContain('cirrus-ci-community');
    expectNoRawText(cls);
  });

  it.each([
    ['an Error message', (text: string): unknown => new Error(text)],
    ['a plain string', (text: string): unknown => text],
  ])('the HTTP 409 name conflict text as %s: adopt', (_label, wrap) => {
    const { text } = fixture<TextFixture>('name-conflict-409-text.json');

    const cls = classifyGcpError(wrap(text));

    expect(cls).toMatchObject(ALREADY_EXISTS);
    expect(cls.detail).toContain('already exists');
    expectNoRawText(cls);
  });
});

describe('classifyGcpError on operation errors', () => {
  const stockoutOperationError = (
    zonesAvailable: string,
    code = 'ZONE_RESOURCE_POOL_EXHAUSTED',
  ) => ({
    errors: [
      {
        code,
        message:
          "The zone 'projects/p-123/zones/us-central1-b' does not have enough resources available to fulfill the request.",
        errorDetails: [
          {
            help: {
              links: [{ description: 'Troubleshooting documentation', url: 'https://x' }],
            },
          },
          { localizedMessage: { locale: 'en-US', message: 'A n1-standard-4 VM instance ...' } },
          {
            errorInfo: {
              domain: 'compute.googleapis.com',
              reason: 'resource_availability',
              metadatas: { vmType: 'n1-standard-4', zone: 'us-central1-b', zonesAvailable },
            },
          },
        ],
      },
    ],
  });

  it('parses zonesAvailable from the ErrorInfo detail', () => {
    const cls = classifyGcpError(stockoutOperationError('us-central1-a,us-central1-f'));
    expect(cls).toMatchObject(STOCKOUT);
    expect(cls.zonesAvailable).toEqual(['us-central1-a', 'us-central1-f']);
  });

  it('trims, de-duplicates and drops what is not a zone name', () => {
    const cls = classifyGcpError(
      stockoutOperationError(
        ' us-east1-b , us-east1-b,,NOT A ZONE,europe-west4-c ',
        'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
      ),
    );
    expect(cls).toMatchObject(STOCKOUT);
    expect(cls.zonesAvailable).toEqual(['us-east1-b', 'europe-west4-c']);
  });

  it('leaves zonesAvailable out when Compute named none (an empty string)', () => {
    const cls = classifyGcpError(stockoutOperationError(''));
    expect(cls).toMatchObject(STOCKOUT);
    expect(cls).not.toHaveProperty('zonesAvailable');
  });

  it('a stockout seen only through its ErrorInfo reason is still a stockout', () => {
    const cls = classifyGcpError(stockoutOperationError('us-central1-c', 'SOME_NEW_CODE'));
    expect(cls).toMatchObject(STOCKOUT);
    expect(cls.zonesAvailable).toEqual(['us-central1-c']);
  });

  it('reports an unknown code of a whole operation, not its status DONE', () => {
    const operation = {
      kind: 'compute#operation',
      status: 'DONE',
      httpErrorStatusCode: 503,
      error: { errors: [{ code: 'SOMETHING_ELSE', message: 'm' }] },
    };
    expect(classifyGcpError(operation)).toMatchObject(unknownCode('SOMETHING_ELSE'));
  });

  it('prefers a specific unknown reason to the gRPC status name of a body', () => {
    const body = {
      error: { code: 400, status: 'INVALID_ARGUMENT', errors: [{ reason: 'invalid' }] },
    };
    expect(classifyGcpError(body)).toMatchObject(unknownCode('INVALID'));
    const statusFirst = {
      error: { status: 'INVALID_ARGUMENT', errors: [{ message: 'Bad request' }] },
    };
    expect(classifyGcpError(statusFirst)).toMatchObject(unknownCode('INVALID_ARGUMENT'));
  });

  it('uses the first error entry that it knows', () => {
    const cls = classifyGcpError({
      errors: [
        { code: 'SOMETHING_ELSE', message: 'x' },
        { code: 'QUOTA_EXCEEDED', message: "Quota 'CPUS' exceeded." },
      ],
    });
    expect(cls).toMatchObject(QUOTA_EXCEEDED);
  });

  it.each([
    ['RESOURCE_ALREADY_EXISTS', ALREADY_EXISTS],
    ['RESOURCE_NOT_FOUND', RESOURCE_NOT_FOUND],
    ['RESOURCE_OPERATION_RATE_EXCEEDED', RATE_LIMITED],
    ['ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', STOCKOUT],
    ['QUOTA_EXCEEDED', QUOTA_EXCEEDED],
    ['PERMISSION_DENIED', PERMISSION_DENIED],
  ])('operation code %s', (code, expected) => {
    const cls = classifyGcpError({ errors: [{ code, message: 'The resource projects/p-1 ...' }] });
    expect(cls).toMatchObject(expected);
    expect(cls.userMessage).not.toContain('projects/');
  });
});

describe('classifyGcpError: table of synthetic shapes', () => {
  // A GoogleError-like value, as the REST transport builds it (duck-typed).
  const googleError = (fields: Record<PropertyKey, unknown>, message = 'm'): Error =>
    Object.assign(new Error(message), fields);

  it.each<[string, unknown, object]>([
    ['gRPC DEADLINE_EXCEEDED (4)', googleError({ code: 4 }, 'Deadline exceeded'), TIMEOUT],
    ['gRPC UNAVAILABLE (14), no HTTP response', googleError({ code: 14 }, 'fetch failed'), TIMEOUT],
    ['a bare { code: 4 }', { code: 4 }, TIMEOUT],
    ['a bare { code: 14 }', { code: 14 }, TIMEOUT],
    ['grpc-js text "14 UNAVAILABLE: ..."', '14 UNAVAILABLE: No connection established', TIMEOUT],
    ['grpc-js text "4 DEADLINE_EXCEEDED: ..."', '4 DEADLINE_EXCEEDED: Deadline exceeded', TIMEOUT],
    ['operationTimeoutError()', operationTimeoutError('operation-123'), TIMEOUT],
    ['a bare { code: OPERATION_TIMEOUT }', { code: OPERATION_TIMEOUT }, TIMEOUT],
    [
      'a Node network error (ECONNRESET)',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      TIMEOUT,
    ],
    [
      'gRPC UNAVAILABLE (14) from an HTTP 503: a stockout',
      googleError({ code: 14, httpStatusCode: 503 }, 'Service Unavailable'),
      STOCKOUT,
    ],
    [
      'HTTP 503 whatever its reason',
      googleError({ code: 14, httpStatusCode: 503, reason: 'backendError' }),
      STOCKOUT,
    ],
    ['HTTP 429 without a reason', googleError({ code: 8, httpStatusCode: 429 }), RATE_LIMITED],
    ['gRPC RESOURCE_EXHAUSTED (8) alone', { code: 8 }, RATE_LIMITED],
    [
      'op code RESOURCE_OPERATION_RATE_EXCEEDED',
      { errors: [{ code: 'RESOURCE_OPERATION_RATE_EXCEEDED' }] },
      RATE_LIMITED,
    ],
    [
      'legacy reason rateLimitExceeded on a 403',
      googleError({ code: 7, httpStatusCode: 403, errors: [{ reason: 'rateLimitExceeded' }] }),
      RATE_LIMITED,
    ],
    [
      'legacy reason userRateLimitExceeded',
      { errors: [{ reason: 'userRateLimitExceeded' }] },
      RATE_LIMITED,
    ],
    [
      'op code ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
      { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS' }] },
      STOCKOUT,
    ],
    [
      'text "Failed to start: UNKNOWN: ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS ..."',
      "Failed to start: UNKNOWN: ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS The zone 'projects/x/zones/y' ...",
      STOCKOUT,
    ],
    [
      'ErrorInfo reason QUOTA_EXCEEDED on a 403',
      googleError({
        code: 7,
        httpStatusCode: 403,
        reason: 'QUOTA_EXCEEDED',
        domain: 'compute.googleapis.com',
      }),
      QUOTA_EXCEEDED,
    ],
    [
      'a 403 whose only clue is the text',
      googleError(
        { code: 7, httpStatusCode: 403 },
        "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-west1.",
      ),
      QUOTA_EXCEEDED,
    ],
    [
      'legacy reason alreadyExists',
      { error: { code: 409, errors: [{ reason: 'alreadyExists' }] } },
      ALREADY_EXISTS,
    ],
    [
      'HTTP 409 (gRPC ABORTED) alone',
      googleError({ code: 10, httpStatusCode: 409 }),
      ALREADY_EXISTS,
    ],
    ['gRPC ALREADY_EXISTS (6)', googleError({ code: 6 }), ALREADY_EXISTS],
    ['HTTP 404', googleError({ code: 5, httpStatusCode: 404 }), RESOURCE_NOT_FOUND],
    [
      'text "... was not found"',
      new Error("The resource 'projects/p/global/images/x' was not found"),
      RESOURCE_NOT_FOUND,
    ],
    ['HTTP 403 alone', googleError({ code: 7, httpStatusCode: 403 }), PERMISSION_DENIED],
    [
      'legacy reason forbidden',
      {
        errors: [
          { reason: 'forbidden', message: "Required 'compute.instances.create' permission" },
        ],
      },
      PERMISSION_DENIED,
    ],
    ['gRPC UNAUTHENTICATED (16)', { code: 16 }, PERMISSION_DENIED],
    [
      'a GaxiosError-like 403 (HTTP status in code and status)',
      { code: 403, status: 403, message: 'Forbidden' },
      PERMISSION_DENIED,
    ],
    [
      'unknown op code SOMETHING_ELSE',
      { errors: [{ code: 'SOMETHING_ELSE', message: 'secret text about projects/p-9' }] },
      unknownCode('SOMETHING_ELSE'),
    ],
    [
      'unknown code opening a text',
      new Error('SOMETHING_ELSE: the disk projects/p/disks/d is broken'),
      unknownCode('SOMETHING_ELSE'),
    ],
    [
      'an unknown legacy reason on a 403 (camelCase normalized)',
      googleError({ code: 7, httpStatusCode: 403, errors: [{ reason: 'accessNotConfigured' }] }),
      unknownCode('ACCESS_NOT_CONFIGURED'),
    ],
    [
      'an unknown reason on a 500',
      { error: { code: 500, message: 'Internal error', errors: [{ reason: 'backendError' }] } },
      unknownCode('BACKEND_ERROR'),
    ],
    ['gRPC INTERNAL (13) alone', googleError({ code: 13 }), unknownCode('INTERNAL')],
    ['HTTP 500 alone', { response: { status: 500 } }, unknownCode('HTTP_500')],
    [
      'a code that is not an identifier',
      { errors: [{ code: 'projects/p-1 is bad' }] },
      NOT_AN_ERROR,
    ],
    ['undefined', undefined, NOT_AN_ERROR],
    ['null', null, NOT_AN_ERROR],
    ['a string', 'something went wrong', NOT_AN_ERROR],
    ['an empty string', '', NOT_AN_ERROR],
    ['a number', 42, NOT_AN_ERROR],
    ['NaN', Number.NaN, NOT_AN_ERROR],
    ['{}', {}, NOT_AN_ERROR],
    ['[]', [], NOT_AN_ERROR],
    ['true', true, NOT_AN_ERROR],
    ['a symbol', Symbol('x'), NOT_AN_ERROR],
    ['a bigint', 10n, NOT_AN_ERROR],
    ['a function', () => 1, NOT_AN_ERROR],
    ['a plain Error', new Error('boom'), NOT_AN_ERROR],
    ['gRPC OK (0)', { code: 0 }, NOT_AN_ERROR],
  ])('%s', (_label, input, expected) => {
    const cls = classifyGcpError(input);
    expect(cls).toMatchObject(expected);
    expect(cls.userMessage).not.toMatch(/projects\/|us-west1|secret/);
  });

  it('truncates a long unknown code to 64 characters', () => {
    const code = `X_${'A'.repeat(100)}`;
    const cls = classifyGcpError({ errors: [{ code }] });
    expect(cls.code).toBe(code.slice(0, 64));
    expect(cls.userMessage).toBe(failedWith(code.slice(0, 64)));
    expect(cls.userMessage.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
  });
});

describe('operationTimeoutError', () => {
  it('is an Error that names the operation, for the logs only', () => {
    const err = operationTimeoutError('operation-1700000000000-abc', 120_000);

    expect(err).toBeInstanceOf(OperationTimeoutError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('OperationTimeoutError');
    expect(err.code).toBe(OPERATION_TIMEOUT);
    expect(err.operation).toBe('operation-1700000000000-abc');
    expect(err.message).toBe(
      'Operation operation-1700000000000-abc was not DONE within its wait budget (waited 120000 ms)',
    );

    const cls = classifyGcpError(err);
    expect(cls).toMatchObject(TIMEOUT);
    expect(cls.detail).toContain('operation-1700000000000-abc');
    expect(cls.userMessage).not.toContain('operation-1700000000000-abc');
  });
});

describe('classifyGcpError reads the GoogleError carriers of the raw body', () => {
  const body = (reason: string) =>
    JSON.stringify({
      error: {
        code: 403,
        message: 'Forbidden',
        errors: [{ message: 'x', domain: 'usageLimits', reason }],
      },
    });

  it('the raw payload gax attaches under Symbol.for("google-gax.rawHttpResponsePayload")', () => {
    const err = Object.assign(new Error('Forbidden'), { code: 7, httpStatusCode: 403 });
    Object.defineProperty(err, Symbol.for('google-gax.rawHttpResponsePayload'), {
      value: body('quotaExceeded'),
      enumerable: false,
    });
    expect(classifyGcpError(err)).toMatchObject(QUOTA_EXCEEDED);
  });

  it('the GaxiosError in `cause`, whose message is the body', () => {
    const err = Object.assign(new Error('Forbidden'), {
      code: 7,
      httpStatusCode: 403,
      cause: Object.assign(new Error(body('rateLimitExceeded')), { status: 403 }),
    });
    expect(classifyGcpError(err)).toMatchObject(RATE_LIMITED);
  });

  it('`response.data`, as an object or as text', () => {
    const data = JSON.parse(body('quotaExceeded')) as unknown;
    expect(classifyGcpError({ response: { status: 403, data } })).toMatchObject(QUOTA_EXCEEDED);
    expect(
      classifyGcpError({ response: { status: 403, data: body('quotaExceeded') } }),
    ).toMatchObject(QUOTA_EXCEEDED);
  });

  it('ErrorInfo details of a JSON body, with zonesAvailable', () => {
    const cls = classifyGcpError({
      error: {
        code: 503,
        status: 'UNAVAILABLE',
        message: 'm',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'resource_availability',
            domain: 'compute.googleapis.com',
            metadata: { zonesAvailable: 'us-central1-b' },
          },
        ],
      },
    });
    expect(cls).toMatchObject(STOCKOUT);
    expect(cls.zonesAvailable).toEqual(['us-central1-b']);
  });

  it('small numeric codes in the cause chain are not gRPC codes', () => {
    // A DOMException NOT_FOUND_ERR (8) under an error with nothing else to say.
    const err = Object.assign(new Error('aborted'), { cause: { name: 'NotFoundError', code: 8 } });
    expect(classifyGcpError(err)).toMatchObject(NOT_AN_ERROR);
    expect(classifyGcpError({ code: 8 })).toMatchObject(RATE_LIMITED);
  });

  it('a code deep in the cause chain does not beat the error itself', () => {
    // What gax throws on a client-side deadline: DEADLINE_EXCEEDED over a GaxiosError 'AbortError'.
    const err = Object.assign(
      new Error('Deadline exceeded: insert did not respond within 300 milliseconds.'),
      {
        code: 4,
        cause: Object.assign(new Error('This operation was aborted'), { code: 'AbortError' }),
      },
    );
    expect(classifyGcpError(err)).toMatchObject(TIMEOUT);
  });
});

describe('classifyGcpError never throws', () => {
  const allowedMessages = new Set<string>([...Object.values(GCP_MESSAGES), FAILED]);
  const withCode =
    /^VM creation failed \(([A-Z0-9_]{1,64})\)\. Please contact the administrator\.$/;

  function expectValid(cls: GcpErrorClass): void {
    expect(cls.code).toMatch(/^[A-Z0-9_]{1,64}$/);
    expect(GCP_ERROR_ACTIONS).toContain(cls.action);
    expect(cls.retriable).toBe(cls.action === 'next_zone' || cls.action === 'retry_later');
    expect(cls.userMessage.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
    if (!allowedMessages.has(cls.userMessage)) {
      expect(cls.userMessage).toMatch(withCode);
      expect(withCode.exec(cls.userMessage)?.[1]).toBe(cls.code);
    }
    expect(typeof cls.detail).toBe('string');
    expect(cls.detail.length).toBeLessThanOrEqual(1000);
    if (cls.zonesAvailable !== undefined) {
      expect(cls.zonesAvailable.length).toBeGreaterThan(0);
      for (const z of cls.zonesAvailable) expect(z).toMatch(/^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$/);
    }
  }

  it('on hostile values: throwing getters, revoked proxies, cycles, deep causes', () => {
    const throwing = Object.defineProperty({}, 'errors', {
      get() {
        throw new Error('boom');
      },
    });
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const cyclic: Record<string, unknown> = { code: 'QUOTA_EXCEEDED' };
    cyclic.cause = cyclic;
    cyclic.error = cyclic;
    let deep: Record<string, unknown> = { code: 4 };
    for (let i = 0; i < 10_000; i++) deep = { cause: deep };
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        has() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    const hostileString = Object.assign(new Error('x'), {
      message: {
        toString: () => {
          throw new Error('no');
        },
      },
    });

    for (const input of [throwing, revocable.proxy, cyclic, deep, trap, hostileString]) {
      let cls: GcpErrorClass | undefined;
      expect(() => {
        cls = classifyGcpError(input);
      }).not.toThrow();
      expectValid(cls as GcpErrorClass);
    }
    expect(classifyGcpError(cyclic)).toMatchObject(QUOTA_EXCEEDED);
    // Too deep to reach: nothing known, so the generic line, not a crash.
    expect(classifyGcpError(deep)).toMatchObject(NOT_AN_ERROR);
  });

  it('property: anything in, a valid class out', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withMap: true, withSet: true, withDate: true }),
        (input) => {
          expectValid(classifyGcpError(input));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: error-shaped values in, a valid class out, and no raw text in userMessage', () => {
    const small = fc.anything({ maxDepth: 2, maxKeys: 3 });
    const secret = fc.constantFrom('projects/acme-secret-42/zones/us-central1-a', 'acme-secret-42');
    const text = fc.oneof(
      fc.string(),
      secret.map((s) => `The resource '${s}' ...`),
    );
    const token = fc.oneof(
      fc.constantFrom(
        'ZONE_RESOURCE_POOL_EXHAUSTED',
        'QUOTA_EXCEEDED',
        'quotaExceeded',
        'rateLimitExceeded',
        'alreadyExists',
        'RESOURCE_NOT_FOUND',
        'UNAVAILABLE',
        'resource_availability',
        'SOMETHING_ELSE',
      ),
      fc.string(),
      secret,
    );
    const errorInfo = fc.record(
      {
        reason: token,
        metadatas: fc.record({
          zonesAvailable: fc.oneof(fc.string(), secret, fc.constant('us-east1-b,x y')),
        }),
      },
      { requiredKeys: [] },
    );
    const entry = fc.record(
      {
        code: token,
        reason: token,
        message: text,
        errorDetails: fc.array(fc.oneof(fc.record({ errorInfo }), small), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    );
    // At most three levels of error / cause / response.data nesting.
    const nested = (tie: (key: 'node') => fc.Arbitrary<unknown>) =>
      fc.oneof({ maxDepth: 3, depthIdentifier: 'error-like' }, small, tie('node'));
    const errorLike = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.record(
        {
          code: fc.oneof(fc.integer({ min: -5, max: 700 }), token),
          status: fc.oneof(fc.integer({ min: 0, max: 700 }), token),
          httpStatusCode: fc.integer({ min: 0, max: 700 }),
          reason: token,
          message: fc.oneof(text, fc.json({ maxDepth: 2 })),
          errors: fc.array(fc.oneof(entry, small), { maxLength: 3 }),
          errorInfoMetadata: fc.record({ zonesAvailable: fc.oneof(fc.string(), secret) }),
          statusDetails: fc.array(fc.oneof(errorInfo, small), { maxLength: 2 }),
          error: nested(tie),
          cause: nested(tie),
          response: fc.record({
            status: fc.integer({ min: 0, max: 700 }),
            data: fc.oneof(fc.json({ maxDepth: 2 }), nested(tie)),
          }),
        },
        { requiredKeys: [] },
      ),
    }));

    fc.assert(
      fc.property(errorLike.node, fc.boolean(), (input, asError) => {
        const value =
          asError && typeof input === 'object' && input !== null
            ? Object.assign(new Error('e'), input)
            : input;
        const cls = classifyGcpError(value);
        expectValid(cls);
        expect(cls.userMessage).not.toMatch(/acme|secret|projects\//i);
      }),
      { numRuns: 500 },
    );
  });
});

describe('GCP_ERROR_CODES', () => {
  it('lists the codes the classes carry', () => {
    expect(Object.values(GCP_ERROR_CODES).sort()).toEqual(
      [
        'ALREADY_EXISTS',
        'NOT_FOUND',
        'PERMISSION_DENIED',
        'QUOTA_EXCEEDED',
        'RATE_LIMITED',
        'TIMEOUT',
        'UNKNOWN',
        'ZONE_RESOURCE_POOL_EXHAUSTED',
      ].sort(),
    );
  });
});
