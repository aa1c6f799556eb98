// Shapes shared by the Compute stand-in's modules: resource URLs, timestamps,
// ids, and Compute's own error bodies. Compute answers errors in its legacy
// shape, `{error: {code, message, errors: [{message, domain, reason}]}}`,
// without the `status` field that `sendGoogleError` adds; some newer answers
// (429 from the API front end) do carry `status` and `details`.
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson } from '../http';

export const COMPUTE_BASE = 'https://www.googleapis.com/compute/v1';

export const zonePath = (project: string, zone: string) => `projects/${project}/zones/${zone}`;
export const zoneUrl = (project: string, zone: string) =>
  `${COMPUTE_BASE}/${zonePath(project, zone)}`;
export const instancePath = (project: string, zone: string, name: string) =>
  `${zonePath(project, zone)}/instances/${name}`;
export const instanceUrl = (project: string, zone: string, name: string) =>
  `${COMPUTE_BASE}/${instancePath(project, zone, name)}`;

/** The region of a zone: `us-central1-a` → `us-central1`. */
export const regionOf = (zone: string) => zone.replace(/-[a-z]$/, '');

/** A decimal uint64, as Compute writes ids (a JSON string). */
export function randomId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 1n).toString();
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/** RFC 3339 with the local UTC offset and milliseconds, as Compute writes times. */
export function rfc3339(date: Date = new Date()): string {
  const offsetMin = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMin * 60_000).toISOString().slice(0, -1);
  const sign = offsetMin >= 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${local}${sign}${hh}:${mm}`;
}

/** An error answered with Compute's exact JSON body. */
export class ComputeApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: { error: Record<string, unknown> },
  ) {
    super(String(body.error.message));
    this.name = 'ComputeApiError';
  }
}

/** `{error: {code, message, errors: [{message, domain, reason}]}}` */
export function legacyError(
  httpStatus: number,
  reason: string,
  message: string,
  domain = 'global',
): ComputeApiError {
  return new ComputeApiError(httpStatus, {
    error: { code: httpStatus, message, errors: [{ message, domain, reason }] },
  });
}

export const notFound = (resourcePath: string) =>
  legacyError(404, 'notFound', `The resource '${resourcePath}' was not found`);

export const alreadyExists = (resourcePath: string) =>
  legacyError(409, 'alreadyExists', `The resource '${resourcePath}' already exists`);

export const invalidField = (field: string, value: string, why: string) =>
  legacyError(400, 'invalid', `Invalid value for field '${field}': '${value}'. ${why}`);

export function sendComputeError(res: ServerResponse, err: ComputeApiError): void {
  sendJson(res, err.httpStatus, err.body);
}
