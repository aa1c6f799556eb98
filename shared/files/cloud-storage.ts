// The TestFileStore on Cloud Storage: one object per file, `tests/<testId>/<name>`.
// Only progress and status import this module: @google-cloud/storage takes
// about 100 ms to load, which the webhook must not pay.
import { IdempotencyStrategy, Storage, type StorageOptions } from '@google-cloud/storage';
import type { FileMetadata } from '@google-cloud/storage';
import { PassThroughClient } from 'google-auth-library';
import type { LocalEndpoint } from '../gcp/client-options';
import {
  assertFileName,
  assertRange,
  clampRange,
  isValidFileName,
  objectName,
  testPrefix,
  type StoredFile,
  type TestFileStore,
} from './port';

/** Larger files go up in a resumable upload (Google's advice); smaller ones in one multipart request. */
export const RESUMABLE_ABOVE_BYTES = 8 * 1024 * 1024;
/** A file replaced between reading its metadata and its bytes is read again, this many times at most. */
const READ_ATTEMPTS = 3;

export interface CloudStorageFileStoreOptions {
  bucket: string;
  storage: Storage;
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 404;
}

/**
 * Resumable uploads reject with the JSON error object itself ({code, message,
 * errors}), not an Error: callers get an Error with the same code.
 */
function asError(err: unknown): unknown {
  if (err instanceof Error || typeof err !== 'object' || err === null) return err;
  const { code, message } = err as { code?: unknown; message?: unknown };
  return Object.assign(new Error(typeof message === 'string' ? message : 'Cloud Storage error'), {
    code,
    cause: err,
  });
}

function storedFile(name: string, metadata: FileMetadata): StoredFile {
  return {
    name,
    size: Number(metadata.size ?? 0),
    contentType: metadata.contentType ?? 'application/octet-stream',
    updated: new Date(metadata.updated ?? 0),
  };
}

export function createCloudStorageFileStore(options: CloudStorageFileStoreOptions): TestFileStore {
  const bucket = options.storage.bucket(options.bucket);

  return {
    async put(testId, name, body, contentType) {
      const resumable = body.length > RESUMABLE_ABOVE_BYTES;
      const file = bucket.file(objectName(testId, name));
      await file
        .save(body, {
          resumable,
          contentType,
          // Known up front, so the resumable session states the total (Content-Range: bytes 0-*/N).
          metadata: resumable ? { contentType, contentLength: body.length } : { contentType },
        })
        .catch((err: unknown) => {
          throw asError(err);
        });
    },

    async list(testId) {
      const prefix = testPrefix(testId);
      const [files] = await bucket.getFiles({ prefix, autoPaginate: true });
      return (
        files
          .map((file) => storedFile(file.name.slice(prefix.length), file.metadata))
          // Objects put there by other means cannot be read through this port.
          .filter((file) => isValidFileName(file.name))
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      );
    },

    async read(testId, name, range) {
      assertFileName(name);
      assertRange(range);
      const object = objectName(testId, name);
      for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
        let metadata: FileMetadata;
        try {
          [metadata] = await bucket.file(object).getMetadata();
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
        const file = storedFile(name, metadata);
        const { start, end } = clampRange(file.size, range);
        // Nothing to fetch; a Range of `bytes=0--1` would mean something else.
        if (start === end) return { body: Buffer.alloc(0), file };
        // The generation read above: a file replaced meanwhile answers 404 and is read again.
        const generation =
          metadata.generation === undefined ? {} : { generation: Number(metadata.generation) };
        try {
          const [body] = await bucket
            .file(object, generation)
            // A whole file is checked against its CRC32C; GCS's `end` is inclusive.
            .download(range === undefined ? {} : { start, end: end - 1 });
          return { body, file };
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return null;
    },
  };
}

/** Where the client goes: Google (default credentials), or the local cloud's stand-in. */
export interface StorageTarget {
  project: string;
  /** The local cloud's host:port (VMCI_LOCAL_ENDPOINT); absent in production. */
  local?: LocalEndpoint;
}

/**
 * Puts are idempotent (the same name and bytes), so every call may be retried;
 * a few quick tries, as the callers are HTTP functions with their own deadline.
 */
const RETRY = {
  autoRetry: true,
  maxRetries: 3,
  totalTimeout: 60,
  maxRetryDelay: 8,
  idempotencyStrategy: IdempotencyStrategy.RetryAlways,
};

type Interceptor = NonNullable<StorageOptions['interceptors_']>[number];
// The interceptors' options are also the resumable upload's gaxios options.
const withGlobalFetch = ((reqOpts) => ({
  ...reqOpts,
  fetchImplementation: globalThis.fetch,
})) as Interceptor['request'];

/**
 * A fresh options object each call. For the local stand-in: a custom endpoint
 * makes the client send no credentials (useAuthWithCustomEndpoint is false),
 * and the PassThroughClient keeps the auth library from ever probing the
 * metadata server. Resumable uploads go through gaxios, whose dynamic import
 * of node-fetch fails under Jest; the interceptor hands it the global fetch.
 */
export function storageOptions(target: StorageTarget): StorageOptions {
  if (!target.local) return { projectId: target.project, retryOptions: { ...RETRY } };
  const { host, port } = target.local;
  return {
    projectId: target.project,
    apiEndpoint: `http://${host}:${port}`,
    useAuthWithCustomEndpoint: false,
    authClient: new PassThroughClient({
      transporterOptions: { fetchImplementation: globalThis.fetch },
    }),
    interceptors_: [{ request: withGlobalFetch }],
    retryOptions: { ...RETRY },
  };
}

export function createStorage(target: StorageTarget): Storage {
  return new Storage(storageOptions(target));
}
