// What the real @google-cloud/compute client (REST transport) throws or returns
// for Compute's error answers, and how classifyGcpError reads it. A local
// node:http server plays Compute with canned responses shaped like Google's.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GCP_MESSAGES } from '../../shared/domain/messages';
import { classifyGcpError } from '../../shared/gcp/errors';
import { createLocalComputeClients, type LocalComputeClients } from '../support/compute-client';

const PROJECT = 'vmci-secret-project';
const ZONE = 'us-central1-a';
const VM = 'vmci-abc123-linux-1';
const REQUEST_ID = '7f1d5a4e-0b7c-4c1e-9a55-2d0f3b9e8c11';
const INSERT_PATH = `/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances`;

interface Canned {
  status: number;
  body: unknown;
}
interface Seen {
  method: string;
  url: string;
  body: string;
}

interface GoogleErrorBody {
  code: number;
  message: string;
  reason: string;
  domain?: string;
  status?: string;
  details?: unknown[];
}

/** Google's JSON error model, with the legacy `errors[]` Compute still sends. */
function googleErrorBody(e: GoogleErrorBody): Canned {
  return {
    status: e.code,
    body: {
      error: {
        code: e.code,
        message: e.message,
        errors: [{ message: e.message, domain: e.domain ?? 'global', reason: e.reason }],
        ...(e.status === undefined ? {} : { status: e.status }),
        ...(e.details === undefined ? {} : { details: e.details }),
      },
    },
  };
}

function errorInfo(reason: string, metadata: Record<string, string>): unknown {
  return {
    '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
    reason,
    domain: 'compute.googleapis.com',
    metadata,
  };
}

function operation(status: 'RUNNING' | 'DONE', error?: unknown): Record<string, unknown> {
  return {
    kind: 'compute#operation',
    id: '4561237890123',
    name: 'operation-1760000000000-63f0a1b2c3d4e-5f6a7b8c-9d0e1f2a',
    zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}`,
    operationType: 'insert',
    targetLink: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/${VM}`,
    status,
    progress: status === 'DONE' ? 100 : 0,
    insertTime: '2026-11-02T10:00:00.000-07:00',
    ...(error === undefined
      ? {}
      : { error, httpErrorStatusCode: 503, httpErrorMessage: 'SERVICE UNAVAILABLE' }),
  };
}

describe('classifyGcpError on what the real Compute client gives back', () => {
  let server: Server;
  let port: number;
  let compute: LocalComputeClients;
  let respond: (seen: Seen) => Canned | null = () => ({ status: 500, body: {} });
  const seen: Seen[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', body };
        seen.push(request);
        const canned = respond(request);
        if (canned === null) return; // never answer: a hung Compute
        res.writeHead(canned.status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(typeof canned.body === 'string' ? canned.body : JSON.stringify(canned.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    compute = createLocalComputeClients(port);
  });

  afterAll(async () => {
    await compute.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    seen.length = 0;
  });

  function insert(options?: { timeout: number }) {
    return compute.instances.insert(
      {
        project: PROJECT,
        zone: ZONE,
        requestId: REQUEST_ID,
        instanceResource: { name: VM, machineType: `zones/${ZONE}/machineTypes/e2-standard-2` },
      },
      options,
    );
  }

  /** The error the real client rejects an insert with, after exactly one request. */
  async function insertError(canned: Canned | null, options?: { timeout: number }) {
    respond = () => canned;
    let thrown: unknown;
    try {
      await insert(options);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: `${INSERT_PATH}?requestId=${REQUEST_ID}`,
    });
    return thrown as Error & Record<string, unknown>;
  }

  function expectNoRawText(userMessage: string): void {
    expect(userMessage).not.toMatch(/vmci-secret-project|us-central1|projects\//);
    expect(userMessage.length).toBeLessThanOrEqual(140);
  }

  it('503 stockout with an ErrorInfo detail: GoogleError 14 with reason and zonesAvailable → next zone', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 503,
        status: 'UNAVAILABLE',
        reason: 'resourcePoolExhausted',
        message: `The zone 'projects/${PROJECT}/zones/${ZONE}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
        details: [
          errorInfo('resource_availability', {
            zone: ZONE,
            vmType: 'e2-standard-2',
            zonesAvailable: 'us-central1-b,us-central1-f',
          }),
        ],
      }),
    );

    // What the client gives: gRPC code, HTTP status, the ErrorInfo promoted.
    expect(err).toMatchObject({
      code: 14,
      httpStatusCode: 503,
      reason: 'resource_availability',
      domain: 'compute.googleapis.com',
      errorInfoMetadata: expect.objectContaining({ zonesAvailable: 'us-central1-b,us-central1-f' }),
    });
    expect(err.cause).toBeUndefined();

    const cls = classifyGcpError(err);
    expect(cls).toMatchObject({
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      retriable: true,
      action: 'next_zone',
      userMessage: GCP_MESSAGES.zoneExhausted,
      zonesAvailable: ['us-central1-b', 'us-central1-f'],
    });
    expect(cls.detail).toContain(`projects/${PROJECT}/zones/${ZONE}`);
    expectNoRawText(cls.userMessage);
  });

  it('503 without details: only the gRPC code 14 and the HTTP status → next zone', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 503,
        reason: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS',
        message: `The zone 'projects/${PROJECT}/zones/${ZONE}' does not have enough resources available to fulfill the request. '(resource type:compute)'.`,
      }),
    );

    expect(err).toMatchObject({ code: 14, httpStatusCode: 503, reason: undefined });
    const cls = classifyGcpError(err);
    expect(cls).toMatchObject({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', action: 'next_zone' });
    expect(cls).not.toHaveProperty('zonesAvailable');
    expectNoRawText(cls.userMessage);
  });

  it('503 with an HTML body (a front end, not Compute) is still a 503 → next zone', async () => {
    const err = await insertError({
      status: 503,
      body: '<html><body>Service Unavailable</body></html>',
    });

    expect(err).toMatchObject({ code: 14, httpStatusCode: 503 });
    expect(classifyGcpError(err)).toMatchObject({
      code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
      action: 'next_zone',
    });
  });

  it('403 quotaExceeded, legacy errors[] only: no reason on the GoogleError, the body in cause → retry later', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 403,
        domain: 'usageLimits',
        reason: 'quotaExceeded',
        message: "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.",
      }),
    );

    expect(err).toMatchObject({
      code: 7,
      httpStatusCode: 403,
      reason: undefined,
      message: "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.",
    });
    // The legacy reason survives only as text: the GaxiosError's message is the body.
    expect(String((err.cause as Error).message)).toContain('"reason":"quotaExceeded"');

    const cls = classifyGcpError(err);
    expect(cls).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      retriable: true,
      action: 'retry_later',
      userMessage: GCP_MESSAGES.quotaExceeded,
    });
    expectNoRawText(cls.userMessage);
  });

  // The message says nothing here: only the legacy reason, in the raw body, tells them apart.
  it.each([
    ['quotaExceeded', 'QUOTA_EXCEEDED', 'retry_later'],
    ['rateLimitExceeded', 'RATE_LIMITED', 'retry_later'],
    ['forbidden', 'PERMISSION_DENIED', 'fail'],
    ['accessNotConfigured', 'ACCESS_NOT_CONFIGURED', 'fail'],
  ])('403 whose only clue is the legacy reason %s → %s', async (reason, code, action) => {
    const err = await insertError(
      googleErrorBody({ code: 403, reason, message: 'The request was refused.' }),
    );

    expect(err).toMatchObject({ code: 7, httpStatusCode: 403, reason: undefined });
    expect(classifyGcpError(err)).toMatchObject({ code, action });
  });

  it('403 with an ErrorInfo QUOTA_EXCEEDED detail: reason promoted onto the GoogleError → retry later', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 403,
        status: 'PERMISSION_DENIED',
        domain: 'usageLimits',
        reason: 'quotaExceeded',
        message: "Quota 'N2_CPUS' exceeded.  Limit: 8.0 in region us-central1.",
        details: [errorInfo('QUOTA_EXCEEDED', { quota_limit: 'N2-CPUS-per-project-region' })],
      }),
    );

    expect(err).toMatchObject({
      code: 7,
      httpStatusCode: 403,
      reason: 'QUOTA_EXCEEDED',
      domain: 'compute.googleapis.com',
    });
    expect(classifyGcpError(err)).toMatchObject({ code: 'QUOTA_EXCEEDED', action: 'retry_later' });
  });

  it('403 rateLimitExceeded → rate limited, retry later', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 403,
        domain: 'usageLimits',
        reason: 'rateLimitExceeded',
        message: 'Rate Limit Exceeded',
      }),
    );

    expect(err).toMatchObject({ code: 7, httpStatusCode: 403, reason: undefined });
    expect(classifyGcpError(err)).toMatchObject({
      code: 'RATE_LIMITED',
      retriable: true,
      action: 'retry_later',
      userMessage: GCP_MESSAGES.rateLimited,
    });
  });

  it('429 → gRPC 8 (RESOURCE_EXHAUSTED), rate limited', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 429,
        status: 'RESOURCE_EXHAUSTED',
        domain: 'usageLimits',
        reason: 'rateLimitExceeded',
        message: `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' for consumer 'project_number:123'.`,
      }),
    );

    expect(err).toMatchObject({ code: 8, httpStatusCode: 429, reason: undefined });
    expect(err.cause).toBeUndefined();
    expect(classifyGcpError(err)).toMatchObject({ code: 'RATE_LIMITED', action: 'retry_later' });
  });

  it('409 alreadyExists (no status in the body) → gRPC 10 ABORTED with HTTP 409 → adopt', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 409,
        reason: 'alreadyExists',
        message: `The resource 'projects/${PROJECT}/zones/${ZONE}/instances/${VM}' already exists`,
      }),
    );

    expect(err).toMatchObject({ code: 10, httpStatusCode: 409 });
    const cls = classifyGcpError(err);
    expect(cls).toMatchObject({ code: 'ALREADY_EXISTS', retriable: false, action: 'adopt' });
    expectNoRawText(cls.userMessage);
  });

  it('409 with status ALREADY_EXISTS → gRPC 6 → adopt', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 409,
        status: 'ALREADY_EXISTS',
        reason: 'alreadyExists',
        message: 'already exists',
      }),
    );

    expect(err).toMatchObject({ code: 6, httpStatusCode: 409 });
    expect(classifyGcpError(err)).toMatchObject({ code: 'ALREADY_EXISTS', action: 'adopt' });
  });

  it('404 notFound (the image) → gRPC 5, not retriable', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 404,
        reason: 'notFound',
        message: `The resource 'projects/${PROJECT}/global/images/vmci-linux-missing' was not found`,
      }),
    );

    expect(err).toMatchObject({ code: 5, httpStatusCode: 404 });
    const cls = classifyGcpError(err);
    expect(cls).toMatchObject({
      code: 'NOT_FOUND',
      retriable: false,
      action: 'fail',
      userMessage: 'Required GCP resource not found. Please contact the administrator.',
    });
    expectNoRawText(cls.userMessage);
  });

  it('403 forbidden (missing permission) → gRPC 7, not retriable', async () => {
    const err = await insertError(
      googleErrorBody({
        code: 403,
        reason: 'forbidden',
        message: `Required 'compute.instances.create' permission for 'projects/${PROJECT}/zones/${ZONE}/instances/${VM}'`,
      }),
    );

    expect(err).toMatchObject({ code: 7, httpStatusCode: 403, reason: undefined });
    const cls = classifyGcpError(err);
    expect(cls).toMatchObject({
      code: 'PERMISSION_DENIED',
      retriable: false,
      action: 'fail',
      userMessage: 'GCP permission denied. Please contact the administrator.',
    });
    expectNoRawText(cls.userMessage);
  });

  it('500 backendError → gRPC 13, not retriable, the reason as the code', async () => {
    const err = await insertError(
      googleErrorBody({ code: 500, reason: 'backendError', message: 'Internal error.' }),
    );

    expect(err).toMatchObject({ code: 13, httpStatusCode: 500 });
    expect(classifyGcpError(err)).toMatchObject({
      code: 'BACKEND_ERROR',
      retriable: false,
      action: 'fail',
      userMessage: 'VM creation failed (BACKEND_ERROR). Please contact the administrator.',
    });
  });

  it('no answer within the call timeout → gRPC 4 DEADLINE_EXCEEDED, no HTTP status → timeout', async () => {
    const err = await insertError(null, { timeout: 200 });

    expect(err).toMatchObject({ code: 4, httpStatusCode: undefined });
    expect(classifyGcpError(err)).toMatchObject({
      code: 'TIMEOUT',
      retriable: true,
      action: 'retry_later',
      userMessage: GCP_MESSAGES.timedOut,
    });
  });

  it('connection refused → gRPC 14 without an HTTP status → timeout, not a stockout', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dead = createLocalComputeClients(deadPort);
    let thrown: unknown;
    try {
      await dead.instances.insert({ project: PROJECT, zone: ZONE, instanceResource: { name: VM } });
    } catch (err) {
      thrown = err;
    } finally {
      await dead.close();
    }

    // GoogleError 14 ← GaxiosError ← TypeError 'fetch failed' ← Error ECONNREFUSED. (Under
    // Jest the message reads 'Unexpected Gaxios Error': fetch's errors come from another realm.)
    expect(thrown).toMatchObject({ code: 14, httpStatusCode: undefined });
    const cls = classifyGcpError(thrown);
    expect(cls).toMatchObject({ code: 'TIMEOUT', retriable: true, action: 'retry_later' });
    // A refused connection, not the Jest-only failure to import node-fetch (also code 14).
    expect(cls.detail).toContain('ECONNREFUSED');
  });

  describe('insert → RUNNING operation → wait → DONE with an error', () => {
    async function insertThenWait(error: unknown) {
      respond = ({ url }) =>
        url.includes('/operations/')
          ? { status: 200, body: operation('DONE', error) }
          : { status: 200, body: operation('RUNNING') };
      const [lro] = await insert();
      const started = lro.latestResponse as { name?: string | null; status?: unknown };
      expect(started.status).toBe('RUNNING');
      expect(started.name).toBeTruthy();

      const [done] = await compute.zoneOperations.wait({
        project: PROJECT,
        zone: ZONE,
        operation: String(started.name),
      });
      expect(seen.map((s) => `${s.method} ${s.url.replace(/\?$/, '')}`)).toEqual([
        `POST ${INSERT_PATH}?requestId=${REQUEST_ID}`,
        `POST /compute/v1/projects/${PROJECT}/zones/${ZONE}/operations/${String(started.name)}/wait`,
      ]);
      expect(done.status).toBe('DONE');
      return done;
    }

    it('ZONE_RESOURCE_POOL_EXHAUSTED with an errorInfo carrying zonesAvailable → next zone, those zones', async () => {
      const done = await insertThenWait({
        errors: [
          {
            code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
            message: `The zone 'projects/${PROJECT}/zones/${ZONE}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`,
            errorDetails: [
              {
                help: {
                  links: [
                    {
                      description: 'Troubleshooting documentation',
                      url: 'https://cloud.google.com/compute/docs/resource-error',
                    },
                  ],
                },
              },
              {
                localizedMessage: {
                  locale: 'en-US',
                  message: `A e2-standard-2 VM instance is currently unavailable in the ${ZONE} zone.`,
                },
              },
              {
                errorInfo: {
                  domain: 'compute.googleapis.com',
                  reason: 'resource_availability',
                  metadatas: {
                    vmType: 'e2-standard-2',
                    zone: ZONE,
                    zonesAvailable: 'us-central1-c,us-central1-f',
                  },
                },
              },
            ],
          },
        ],
      });

      // The client decodes the operation through its protos: `metadatas` survives.
      expect(done.error?.errors?.[0]?.code).toBe('ZONE_RESOURCE_POOL_EXHAUSTED');
      expect(done.error?.errors?.[0]?.errorDetails?.[2]?.errorInfo?.metadatas).toEqual({
        vmType: 'e2-standard-2',
        zone: ZONE,
        zonesAvailable: 'us-central1-c,us-central1-f',
      });

      for (const input of [done.error, done]) {
        const cls = classifyGcpError(input);
        expect(cls).toMatchObject({
          code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
          retriable: true,
          action: 'next_zone',
          userMessage: GCP_MESSAGES.zoneExhausted,
          zonesAvailable: ['us-central1-c', 'us-central1-f'],
        });
        expectNoRawText(cls.userMessage);
      }
    });

    it('QUOTA_EXCEEDED with a quotaInfo detail → retry later', async () => {
      const done = await insertThenWait({
        errors: [
          {
            code: 'QUOTA_EXCEEDED',
            message: "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.",
            errorDetails: [
              {
                quotaInfo: {
                  metricName: 'compute.googleapis.com/cpus',
                  limitName: 'CPUS-per-project-region',
                  dimensions: { region: 'us-central1' },
                  limit: 24,
                },
              },
            ],
          },
        ],
      });

      expect(done.error?.errors?.[0]?.code).toBe('QUOTA_EXCEEDED');
      const cls = classifyGcpError(done.error);
      expect(cls).toMatchObject({
        code: 'QUOTA_EXCEEDED',
        retriable: true,
        action: 'retry_later',
        userMessage: GCP_MESSAGES.quotaExceeded,
      });
      expect(cls).not.toHaveProperty('zonesAvailable');
      expectNoRawText(cls.userMessage);
    });
  });
});
