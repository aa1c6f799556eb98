// Buckets and objects as the GCS JSON API renders them, and its errors:
// {error: {code, message, errors: [{domain, reason, message}]}}. Numbers that
// are int64 in the API (size, generation) are strings, as Google sends them.
import { HttpError } from '../http';

export interface LifecycleRule {
  action: { type: string; storageClass?: string };
  condition: Record<string, unknown>;
}

export interface BucketRecord {
  name: string;
  project: string;
  location: string;
  storageClass: string;
  lifecycle?: { rule: LifecycleRule[] };
  timeCreated: Date;
  objects: Map<string, ObjectRecord>;
}

export interface ObjectRecord {
  bucket: string;
  name: string;
  body: Buffer;
  /** body.length, kept apart so a finished upload session can keep the metadata without the bytes. */
  size: number;
  contentType: string;
  metadata?: Record<string, string>;
  generation: string;
  timeCreated: Date;
  md5Hash: string;
  crc32c: string;
}

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  413: 'OUT_OF_RANGE',
  416: 'OUT_OF_RANGE',
  429: 'RESOURCE_EXHAUSTED',
  501: 'UNIMPLEMENTED',
};

export function gcsError(code: number, reason: string, message: string): HttpError {
  return new HttpError(code, STATUS_NAMES[code] ?? 'UNKNOWN', message, {
    errors: [{ domain: 'global', reason, message }],
  });
}

export const invalid = (message: string) => gcsError(400, 'invalid', message);
export const noSuchBucket = () => gcsError(404, 'notFound', 'The specified bucket does not exist.');
export const noSuchObject = (bucket: string, name: string) =>
  gcsError(404, 'notFound', `No such object: ${bucket}/${name}`);

// GCS's naming rules (the short form: no 222-character dotted names).
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.startsWith('goog') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}

/** Object names: 1–1024 bytes of UTF-8, no carriage return or line feed, not `.` or `..`. */
export function isObjectName(name: string): boolean {
  const bytes = Buffer.byteLength(name, 'utf8');
  return bytes >= 1 && bytes <= 1024 && !/[\r\n]/.test(name) && name !== '.' && name !== '..';
}

export function parseLifecycle(value: unknown): { rule: LifecycleRule[] } | undefined {
  if (value === undefined) return undefined;
  const rules = (value as { rule?: unknown } | null)?.rule;
  if (!Array.isArray(rules)) throw invalid('lifecycle must be {rule: [...]}');
  for (const rule of rules as unknown[]) {
    const r = rule as Partial<LifecycleRule> | null;
    if (typeof r?.action?.type !== 'string' || typeof r.condition !== 'object' || !r.condition) {
      throw invalid('each lifecycle rule needs action.type and a condition');
    }
  }
  return { rule: structuredClone(rules as LifecycleRule[]) };
}

export function renderBucket(bucket: BucketRecord, baseUrl: string): Record<string, unknown> {
  const time = bucket.timeCreated.toISOString();
  return {
    kind: 'storage#bucket',
    selfLink: `${baseUrl}/storage/v1/b/${bucket.name}`,
    id: bucket.name,
    name: bucket.name,
    projectNumber: '0',
    metageneration: '1',
    location: bucket.location,
    locationType: 'multi-region',
    storageClass: bucket.storageClass,
    etag: 'CAE=',
    timeCreated: time,
    updated: time,
    ...(bucket.lifecycle ? { lifecycle: structuredClone(bucket.lifecycle) } : {}),
  };
}

export function renderObject(object: ObjectRecord, baseUrl: string): Record<string, unknown> {
  const time = object.timeCreated.toISOString();
  const path = `b/${object.bucket}/o/${encodeURIComponent(object.name)}`;
  return {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    selfLink: `${baseUrl}/storage/v1/${path}`,
    mediaLink: `${baseUrl}/download/storage/v1/${path}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket: object.bucket,
    generation: object.generation,
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.size),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    etag: etag(object),
    timeCreated: time,
    updated: time,
    timeStorageClassUpdated: time,
    ...(object.metadata ? { metadata: { ...object.metadata } } : {}),
  };
}

export function etag(object: ObjectRecord): string {
  return Buffer.from(`${object.generation}/1`).toString('base64');
}
