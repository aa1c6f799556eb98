// The local Cloud Storage stand-in: the GCS JSON API as the real
// @google-cloud/storage client speaks it (point the client at it with
// storageOptions in shared/files/cloud-storage.ts), in memory. Only what
// vm-ci's test files need: buckets (with lifecycle rules kept, not applied),
// uploads of every kind, metadata, ranged downloads, listing and deleting.
import type { LocalService } from '../http';
import { StorageEngine } from './engine';
import { parseLifecycle, type LifecycleRule } from './resources';
import { createRoutes } from './routes';

export type { LifecycleRule } from './resources';
export { crc32c, crc32cBase64, md5Base64 } from './hashes';

export const DEFAULT_MAX_OBJECT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_TOTAL_BYTES = 512 * 1024 * 1024;

export interface BucketConfig {
  name: string;
  lifecycle?: { rule: LifecycleRule[] };
}

export interface StorageStandInOptions {
  /** The project buckets made by `createBucket` belong to (default "vmci-local"). */
  project?: string;
  /** Buckets that exist from the start. */
  buckets?: BucketConfig[];
  /** One object's cap: larger uploads answer 413 (default 64 MiB). */
  maxObjectBytes?: number;
  /** All bytes held, objects and unfinished uploads: beyond it uploads answer 429 (default 512 MiB). */
  maxTotalBytes?: number;
  /** The most objects one list page holds (GCS: 1000); tests make it small to see paging. */
  maxPageSize?: number;
  now?: () => Date;
}

export interface BucketSnapshot {
  name: string;
  project: string;
  lifecycle?: { rule: LifecycleRule[] };
  objects: number;
  bytes: number;
}

export interface ObjectSnapshot {
  name: string;
  size: number;
  contentType: string;
  generation: string;
  body: Buffer;
  updated: Date;
}

export interface StorageStandIn extends LocalService {
  readonly project: string;
  /** Creates a bucket as `POST /storage/v1/b` does; one that exists already is left as it is. */
  ensureBucket(bucket: BucketConfig): void;
  buckets(): BucketSnapshot[];
  /** A bucket's objects (whose names start with `prefix`), by name, with copies of their bytes. */
  objects(bucket: string, prefix?: string): ObjectSnapshot[];
  /** Bytes held: objects and unfinished resumable uploads. */
  bytesHeld(): number;
}

export function createStorageStandIn(options: StorageStandInOptions = {}): StorageStandIn {
  const project = options.project ?? 'vmci-local';
  const engine = new StorageEngine(
    {
      maxObjectBytes: options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES,
      maxTotalBytes: options.maxTotalBytes ?? DEFAULT_MAX_TOTAL_BYTES,
    },
    options.now ?? (() => new Date()),
  );
  const ensureBucket = (bucket: BucketConfig) => {
    if (engine.bucketList().some((b) => b.name === bucket.name)) return;
    const lifecycle = parseLifecycle(bucket.lifecycle);
    engine.createBucket(bucket.name, project, lifecycle ? { lifecycle } : {});
  };
  for (const bucket of options.buckets ?? []) ensureBucket(bucket);

  return {
    project,
    handle: createRoutes(engine, options.maxPageSize ?? 1000),
    close: () => {
      engine.clear();
      return Promise.resolve();
    },
    ensureBucket,
    buckets: () =>
      engine.bucketList().map((bucket) => ({
        name: bucket.name,
        project: bucket.project,
        ...(bucket.lifecycle ? { lifecycle: structuredClone(bucket.lifecycle) } : {}),
        objects: bucket.objects.size,
        bytes: [...bucket.objects.values()].reduce((sum, object) => sum + object.size, 0),
      })),
    objects: (bucket, prefix = '') =>
      engine.list(bucket, prefix).map((object) => ({
        name: object.name,
        size: object.size,
        contentType: object.contentType,
        generation: object.generation,
        body: Buffer.from(object.body),
        updated: new Date(object.timeCreated),
      })),
    bytesHeld: () => engine.bytesHeld(),
  };
}
