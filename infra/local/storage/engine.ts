// The stand-in's state: buckets, their objects, and resumable upload sessions,
// all in memory. Two caps keep a runaway test from filling the developer's
// memory: one object's size (413, as GCS answers a too large upload) and all
// bytes held, finished objects and unfinished sessions alike (429).
import { randomBytes } from 'node:crypto';
import { crc32cBase64, md5Base64 } from './hashes';
import {
  gcsError,
  invalid,
  isBucketName,
  isObjectName,
  noSuchBucket,
  noSuchObject,
  type BucketRecord,
  type LifecycleRule,
  type ObjectRecord,
} from './resources';
import type { HttpError } from '../http';

export interface Limits {
  maxObjectBytes: number;
  maxTotalBytes: number;
}

export interface NewObject {
  contentType?: string;
  metadata?: Record<string, string>;
}

export interface UploadSession {
  id: string;
  bucket: string;
  name: string;
  object: NewObject;
  /** The total size the client announced (X-Upload-Content-Length or a Content-Range total). */
  total?: number;
  chunks: Buffer[];
  received: number;
  /** Set once the upload is finished (without the bytes): later PUTs answer with it. */
  done?: ObjectRecord;
  touchedMs: number;
}

/** Unfinished sessions idle this long are dropped (GCS keeps them a week; this is memory). */
const SESSION_IDLE_MS = 60 * 60 * 1000;

export class StorageEngine {
  private readonly buckets = new Map<string, BucketRecord>();
  private readonly sessions = new Map<string, UploadSession>();
  private lastGeneration = 0;

  constructor(
    readonly limits: Limits,
    private readonly now: () => Date,
  ) {}

  createBucket(
    name: string,
    project: string,
    fields: { location?: string; storageClass?: string; lifecycle?: { rule: LifecycleRule[] } },
  ): BucketRecord {
    if (!isBucketName(name)) throw invalid(`Invalid bucket name: '${name}'`);
    if (this.buckets.has(name)) {
      throw gcsError(
        409,
        'conflict',
        'Your previous request to create the named bucket succeeded and you already own it.',
      );
    }
    const bucket: BucketRecord = {
      name,
      project,
      location: (fields.location ?? 'US').toUpperCase(),
      storageClass: fields.storageClass ?? 'STANDARD',
      ...(fields.lifecycle ? { lifecycle: fields.lifecycle } : {}),
      timeCreated: this.now(),
      objects: new Map(),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  bucket(name: string): BucketRecord {
    const bucket = this.buckets.get(name);
    if (!bucket) throw noSuchBucket();
    return bucket;
  }

  bucketList(): BucketRecord[] {
    return [...this.buckets.values()];
  }

  object(bucketName: string, name: string, generation?: string): ObjectRecord {
    const object = this.bucket(bucketName).objects.get(name);
    // Only the live generation is kept (no versioning).
    if (!object || (generation !== undefined && generation !== object.generation)) {
      throw noSuchObject(bucketName, name);
    }
    return object;
  }

  /** Objects whose names start with `prefix`, in name order (UTF-8 byte order, as GCS lists). */
  list(bucketName: string, prefix: string): ObjectRecord[] {
    return [...this.bucket(bucketName).objects.values()]
      .filter((object) => object.name.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  deleteObject(bucketName: string, name: string): void {
    this.object(bucketName, name);
    this.bucket(bucketName).objects.delete(name);
  }

  /** Every byte held: objects, and what unfinished sessions have received. */
  bytesHeld(): number {
    let total = 0;
    for (const bucket of this.buckets.values()) {
      for (const object of bucket.objects.values()) total += object.body.length;
    }
    for (const session of this.sessions.values()) if (!session.done) total += session.received;
    return total;
  }

  /**
   * The error for a body of `size` bytes that would replace `replacing` bytes,
   * or undefined when it fits: a too large object first, then a full store.
   */
  overLimit(size: number, replacing = 0): HttpError | undefined {
    if (size > this.limits.maxObjectBytes) return this.tooLarge();
    if (this.bytesHeld() - replacing + size > this.limits.maxTotalBytes) return this.full();
    return undefined;
  }

  tooLarge(): HttpError {
    return gcsError(
      413,
      'uploadTooLarge',
      `Objects are at most ${this.limits.maxObjectBytes} bytes in the local stand-in.`,
    );
  }

  full(): HttpError {
    return gcsError(
      429,
      'rateLimitExceeded',
      `The local stand-in holds at most ${this.limits.maxTotalBytes} bytes; delete some or restart it.`,
    );
  }

  /** Bytes a new object may have now, and what replacing `name` would free. */
  room(bucketName: string, name: string): { object: number; free: number } {
    const replacing = this.bucket(bucketName).objects.get(name)?.body.length ?? 0;
    return {
      object: this.limits.maxObjectBytes,
      free: this.limits.maxTotalBytes - this.bytesHeld() + replacing,
    };
  }

  /** Writes (or replaces) an object: a new generation each time. */
  write(bucketName: string, name: string, body: Buffer, fields: NewObject): ObjectRecord {
    if (!isObjectName(name)) throw invalid(`Invalid object name: ${JSON.stringify(name)}`);
    const bucket = this.bucket(bucketName);
    const error = this.overLimit(body.length, bucket.objects.get(name)?.body.length);
    if (error) throw error;
    const object: ObjectRecord = {
      bucket: bucketName,
      name,
      body,
      size: body.length,
      contentType: fields.contentType || 'application/octet-stream',
      ...(fields.metadata ? { metadata: { ...fields.metadata } } : {}),
      generation: this.nextGeneration(),
      timeCreated: this.now(),
      md5Hash: md5Base64(body),
      crc32c: crc32cBase64(body),
    };
    bucket.objects.set(name, object);
    return object;
  }

  startSession(bucketName: string, name: string, object: NewObject, total?: number): UploadSession {
    if (!isObjectName(name)) throw invalid(`Invalid object name: ${JSON.stringify(name)}`);
    this.bucket(bucketName);
    const error = total === undefined ? undefined : this.overLimit(total, 0);
    if (error && error.httpStatus === 413) throw error;
    this.dropIdleSessions();
    const session: UploadSession = {
      id: randomBytes(16).toString('base64url'),
      bucket: bucketName,
      name,
      object,
      ...(total === undefined ? {} : { total }),
      chunks: [],
      received: 0,
      touchedMs: this.now().getTime(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  session(id: string): UploadSession {
    const session = this.sessions.get(id);
    if (!session) throw gcsError(404, 'notFound', 'No such upload session.');
    session.touchedMs = this.now().getTime();
    return session;
  }

  /** Bytes a session may still take in its next chunk. */
  sessionRoom(session: UploadSession): { object: number; free: number } {
    return {
      object: this.limits.maxObjectBytes - session.received,
      free: this.limits.maxTotalBytes - this.bytesHeld(),
    };
  }

  append(session: UploadSession, chunk: Buffer): void {
    session.chunks.push(chunk);
    session.received += chunk.length;
  }

  /** Writes the session's object; `check` (the client's checksums) may refuse the bytes, which ends the session. */
  finish(session: UploadSession, check: (body: Buffer) => void = () => {}): ObjectRecord {
    const body = Buffer.concat(session.chunks);
    session.chunks = [];
    session.received = 0; // its bytes now count as the object's
    let object: ObjectRecord;
    try {
      check(body);
      object = this.write(session.bucket, session.name, body, session.object);
    } catch (err) {
      this.sessions.delete(session.id);
      throw err;
    }
    // The session answers later PUTs with the metadata; it must not keep the bytes alive.
    session.done = { ...object, body: Buffer.alloc(0) };
    return object;
  }

  cancel(id: string): void {
    this.sessions.delete(id);
  }

  clear(): void {
    this.buckets.clear();
    this.sessions.clear();
  }

  private dropIdleSessions(): void {
    const cutoff = this.now().getTime() - SESSION_IDLE_MS;
    for (const [id, session] of this.sessions)
      if (session.touchedMs < cutoff) this.sessions.delete(id);
  }

  /** Microseconds since the epoch, strictly increasing, as GCS's generations. */
  private nextGeneration(): string {
    this.lastGeneration = Math.max(this.now().getTime() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }
}
