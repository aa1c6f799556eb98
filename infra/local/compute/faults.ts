// Injected insert and delete faults, shaped like the errors Compute really
// returns (shared/fixtures/gcp-errors/). `POST /_local/compute/faults` or
// `injectFault()` with `{code, zone?, count?, operation?, zonesAvailable?, delayMs?}`
// makes the next `count` (default 1) calls of `operation` (default 'insert')
// in `zone` (or in any zone) fail. An insert fault is never used up by a
// delete, nor a delete fault by an insert.
//
// Accepted codes:
//   Failed operation (the call answers 200 with an operation; the operation ends
//   DONE with `error.errors[0].code` = the code):
//     ZONE_RESOURCE_POOL_EXHAUSTED              stockout (help + localizedMessage;
//                                               + ErrorInfo when zonesAvailable is given)
//     ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS stockout with ErrorInfo
//                                               {reason: resource_availability, metadatas: {zone, vmType, zonesAvailable?}}
//     QUOTA_EXCEEDED                            "Quota 'CPUS' exceeded", with quotaInfo
//     RESOURCE_NOT_READY                        "The resource '…/instances/{name}' is not ready" (400)
//     INTERNAL_ERROR                            "Internal error. Please try again …" (500)
//     any other code (e.g. RESOURCE_OPERATION_RATE_EXCEEDED)
//                                               that code, a generic message (400)
//   Synchronous HTTP error (the call itself throws):
//     rateLimitExceeded   403 reason rateLimitExceeded (domain usageLimits)
//     quotaExceeded       403 reason quotaExceeded (domain usageLimits)
//     RATE_LIMITED_429    429 RESOURCE_EXHAUSTED, reason rateLimitExceeded + ErrorInfo RATE_LIMIT_EXCEEDED
//     STOCKOUT_503        503 UNAVAILABLE, reason resourceNotAvailable; with zonesAvailable also
//                         ErrorInfo resource_availability {zone, vmType, zonesAvailable}
//     NOT_FOUND_IMAGE     404 reason notFound, for the request's boot image (inserts only)
//     PERMISSION_DENIED   403 reason forbidden, "Required 'compute.instances.create' permission"
//                         ('compute.instances.delete' for a delete)
//   Slow operation (no error):
//     SLOW_OPERATION      the call succeeds, but its operation stays RUNNING for
//                         `delayMs` (default 5000) before the VM comes up (insert)
//                         or is gone (delete)
//
// Delete faults (`operation: 'delete'`): the VM stays as it was (RUNNING or
// TERMINATED). A synchronous one is checked before the VM is looked up, as the
// API front end would (so it is used up even by a delete of a missing VM); a
// failed-operation one only by a delete of a VM that exists (otherwise: 404).
// A delete repeated with the requestId of a failed one answers that same failed
// operation and does nothing, as Compute does.
import { ComputeApiError, instancePath, legacyError, randomId, regionOf, zonePath } from './api';
import type { OperationFailure } from './operations';

export type FaultOperation = 'insert' | 'delete';
export const FAULT_OPERATIONS: readonly FaultOperation[] = ['insert', 'delete'];

export interface FaultSpec {
  code: string;
  zone?: string;
  count?: number;
  /** Which call the fault fails. Default 'insert'. */
  operation?: FaultOperation;
  /** Zones named as having capacity, in a stockout's ErrorInfo. */
  zonesAvailable?: string[] | string;
  /** For SLOW_OPERATION: how long the operation stays RUNNING. */
  delayMs?: number;
}

export interface Fault {
  code: string;
  operation: FaultOperation;
  zone?: string;
  remaining: number;
  zonesAvailable?: string[];
  delayMs?: number;
}

/** What a fault's payload may mention about the call it fails. */
export interface FaultContext {
  method: FaultOperation;
  project: string;
  projectNumber: string;
  zone: string;
  name: string;
  machineType: string;
  image: string;
}

export const SLOW_OPERATION = 'SLOW_OPERATION';
const DEFAULT_SLOW_MS = 5000;

type SyncFault = (fault: Fault, ctx: FaultContext) => ComputeApiError;

const stockoutMessage = (ctx: FaultContext) =>
  `The zone '${zonePath(ctx.project, ctx.zone)}' does not have enough resources available to fulfill the request.  Try a different zone, or try again later.`;

const SYNC_FAULTS: Record<string, SyncFault> = {
  rateLimitExceeded: () =>
    legacyError(403, 'rateLimitExceeded', 'Rate Limit Exceeded', 'usageLimits'),
  quotaExceeded: (_f, ctx) =>
    legacyError(
      403,
      'quotaExceeded',
      `Quota 'CPUS' exceeded.  Limit: 24.0 in region ${regionOf(ctx.zone)}.`,
      'usageLimits',
    ),
  RATE_LIMITED_429: (_f, ctx) => {
    const message = `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' for consumer 'project_number:${ctx.projectNumber}'.`;
    return new ComputeApiError(429, {
      error: {
        code: 429,
        message,
        errors: [{ message, domain: 'usageLimits', reason: 'rateLimitExceeded' }],
        status: 'RESOURCE_EXHAUSTED',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'RATE_LIMIT_EXCEEDED',
            domain: 'googleapis.com',
            metadata: {
              service: 'compute.googleapis.com',
              quota_metric: 'compute.googleapis.com/default',
              quota_limit: 'defaultPerMinutePerProject',
              quota_limit_value: '1500',
              consumer: `projects/${ctx.projectNumber}`,
            },
          },
        ],
      },
    });
  },
  // The ErrorInfo only when the fault names zonesAvailable: the client spends
  // seconds decoding google.rpc details, and a plain 503 reads as a stockout too.
  STOCKOUT_503: (fault, ctx) => {
    const message = stockoutMessage(ctx);
    return new ComputeApiError(503, {
      error: {
        code: 503,
        message,
        errors: [{ message, domain: 'global', reason: 'resourceNotAvailable' }],
        status: 'UNAVAILABLE',
        ...(fault.zonesAvailable?.length
          ? {
              details: [
                {
                  '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                  reason: 'resource_availability',
                  domain: 'compute.googleapis.com',
                  metadata: stockoutMetadata(fault, ctx),
                },
              ],
            }
          : {}),
      },
    });
  },
  NOT_FOUND_IMAGE: (_f, ctx) =>
    legacyError(404, 'notFound', `The resource '${ctx.image}' was not found`),
  PERMISSION_DENIED: (_f, ctx) =>
    legacyError(
      403,
      'forbidden',
      `Required 'compute.instances.${ctx.method === 'delete' ? 'delete' : 'create'}' permission for '${instancePath(ctx.project, ctx.zone, ctx.name)}'`,
    ),
};

export const SYNC_FAULT_CODES = Object.keys(SYNC_FAULTS);

export function isSyncFault(fault: Fault): boolean {
  return Object.hasOwn(SYNC_FAULTS, fault.code);
}

export function syncFaultError(fault: Fault, ctx: FaultContext): ComputeApiError {
  const make = SYNC_FAULTS[fault.code];
  if (!make) throw new Error(`not a synchronous fault: ${fault.code}`);
  return make(fault, ctx);
}

function stockoutMetadata(fault: Fault, ctx: FaultContext): Record<string, string> {
  return {
    zone: ctx.zone,
    vmType: ctx.machineType,
    ...(fault.zonesAvailable?.length ? { zonesAvailable: fault.zonesAvailable.join(',') } : {}),
  };
}

const HELP_STOCKOUT = {
  help: {
    links: [
      {
        description: 'Troubleshooting documentation',
        url: 'https://cloud.google.com/compute/docs/resource-error',
      },
    ],
  },
};

function stockoutLocalized(fault: Fault, ctx: FaultContext) {
  const where = fault.zonesAvailable?.length
    ? `Consider trying your request in the ${fault.zonesAvailable.join(',')} zone(s), which currently has capacity to accommodate your request.`
    : 'Alternatively, you can try your request again with a different VM hardware configuration or at a later time. For more information, see the troubleshooting documentation.';
  return {
    localizedMessage: {
      locale: 'en-US',
      message: `A ${ctx.machineType} VM instance is currently unavailable in the ${ctx.zone} zone. ${where}`,
    },
  };
}

/** The `error` of the DONE operation that a non-synchronous fault produces. */
export function operationFailure(fault: Fault, ctx: FaultContext): OperationFailure {
  const errorInfo = {
    errorInfo: {
      reason: 'resource_availability',
      domain: 'compute.googleapis.com',
      metadatas: stockoutMetadata(fault, ctx),
    },
  };
  switch (fault.code) {
    case 'ZONE_RESOURCE_POOL_EXHAUSTED':
      return {
        errors: [
          {
            code: fault.code,
            message: stockoutMessage(ctx),
            errorDetails: [
              ...(fault.zonesAvailable?.length ? [errorInfo] : []),
              HELP_STOCKOUT,
              stockoutLocalized(fault, ctx),
            ],
          },
        ],
        httpErrorStatusCode: 503,
        httpErrorMessage: 'SERVICE UNAVAILABLE',
      };
    case 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS':
      return {
        errors: [
          {
            code: fault.code,
            message: `The zone '${zonePath(ctx.project, ctx.zone)}' does not have enough resources available to fulfill the request. '(resource type:compute)'.`,
            errorDetails: [errorInfo, HELP_STOCKOUT, stockoutLocalized(fault, ctx)],
          },
        ],
        httpErrorStatusCode: 503,
        httpErrorMessage: 'SERVICE UNAVAILABLE',
      };
    case 'QUOTA_EXCEEDED': {
      const region = regionOf(ctx.zone);
      return {
        errors: [
          {
            code: fault.code,
            message: `Quota 'CPUS' exceeded.  Limit: 24.0 in region ${region}.`,
            errorDetails: [
              {
                quotaInfo: {
                  metricName: 'compute.googleapis.com/cpus',
                  limitName: 'CPUS-per-project-region',
                  dimensions: { region },
                  limit: 24,
                },
              },
              {
                help: {
                  links: [
                    {
                      description: 'Increase quota',
                      url: 'https://cloud.google.com/compute/quotas#requesting_additional_quota',
                    },
                  ],
                },
              },
            ],
          },
        ],
        httpErrorStatusCode: 403,
        httpErrorMessage: 'FORBIDDEN',
      };
    }
    case 'RESOURCE_NOT_READY':
      return {
        errors: [
          {
            code: fault.code,
            message: `The resource '${instancePath(ctx.project, ctx.zone, ctx.name)}' is not ready`,
          },
        ],
        httpErrorStatusCode: 400,
        httpErrorMessage: 'BAD REQUEST',
      };
    case 'INTERNAL_ERROR':
      return {
        errors: [
          {
            code: fault.code,
            message: `Internal error. Please try again or contact Google Support. (Code: '-${randomId()}')`,
          },
        ],
        httpErrorStatusCode: 500,
        httpErrorMessage: 'INTERNAL SERVER ERROR',
      };
    default:
      return {
        errors: [
          {
            code: fault.code,
            message: `Operation on '${instancePath(ctx.project, ctx.zone, ctx.name)}' failed with ${fault.code} (injected by the local Compute stand-in).`,
          },
        ],
        httpErrorStatusCode: 400,
        httpErrorMessage: 'BAD REQUEST',
      };
  }
}

/** Validates a fault request body; throws a 400 for a bad one. */
export function parseFaultSpec(body: unknown): FaultSpec {
  const bad = (why: string) => legacyError(400, 'invalid', `Invalid fault: ${why}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('the body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  if (typeof b.code !== 'string' || !/^[A-Za-z0-9_]+$/.test(b.code)) {
    throw bad('code must be a word such as ZONE_RESOURCE_POOL_EXHAUSTED');
  }
  if (b.zone !== undefined && (typeof b.zone !== 'string' || b.zone === '')) {
    throw bad('zone must be a zone name');
  }
  if (b.count !== undefined && !(Number.isSafeInteger(b.count) && (b.count as number) >= 1)) {
    throw bad('count must be a positive integer');
  }
  const za = b.zonesAvailable;
  if (
    za !== undefined &&
    typeof za !== 'string' &&
    !(Array.isArray(za) && za.every((z) => typeof z === 'string'))
  ) {
    throw bad('zonesAvailable must be a string or a list of strings');
  }
  if (b.delayMs !== undefined && !(typeof b.delayMs === 'number' && b.delayMs >= 0)) {
    throw bad('delayMs must be a non-negative number');
  }
  if (b.operation !== undefined && !FAULT_OPERATIONS.includes(b.operation as FaultOperation)) {
    throw bad(`operation must be one of ${FAULT_OPERATIONS.join(', ')}`);
  }
  if (b.operation === 'delete' && b.code === 'NOT_FOUND_IMAGE') {
    throw bad('NOT_FOUND_IMAGE fails inserts only');
  }
  return b as unknown as FaultSpec;
}

/** The pending faults, first in first out. */
export class FaultQueue {
  private faults: Fault[] = [];

  /** Validates and queues a fault (a 400 ComputeApiError for a bad one). */
  add(spec: unknown): Fault {
    const { code, zone, count, operation, zonesAvailable, delayMs } = parseFaultSpec(spec);
    const fault: Fault = {
      code,
      operation: operation ?? 'insert',
      remaining: count ?? 1,
      ...(zone ? { zone } : {}),
      ...(zonesAvailable !== undefined
        ? {
            zonesAvailable: (typeof zonesAvailable === 'string'
              ? zonesAvailable.split(',')
              : zonesAvailable
            )
              .map((z) => z.trim())
              .filter(Boolean),
          }
        : {}),
      ...(code === SLOW_OPERATION ? { delayMs: delayMs ?? DEFAULT_SLOW_MS } : {}),
    };
    this.faults.push(fault);
    return { ...fault };
  }

  /** The first pending fault that applies to an `operation` call in `zone`, not yet used up. */
  peek(operation: FaultOperation, zone: string): Fault | undefined {
    return this.faults.find(
      (f) => f.operation === operation && (f.zone === undefined || f.zone === zone),
    );
  }

  consume(fault: Fault): void {
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults = this.faults.filter((f) => f !== fault);
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }
}
