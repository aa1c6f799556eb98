// The tests' files (DESIGN §6), as progress and status see them: Cloud
// Storage, or the local cloud's stand-in when the runtime points the Google
// clients there (VMCI_LOCAL_ENDPOINT). The bucket is not made here: the local
// cloud creates it when it starts, and in production it must exist already.
// Only progress and status import this module (see cloud-storage.ts).
import { filesBucket } from '../config';
import { createCloudStorageFileStore, createStorage } from '../files/cloud-storage';
import type { TestFileStore } from '../files/port';
import type { Runtime } from './env';

/** Builds a client each call: call it once, at cold start. */
export function testFileStore(
  runtime: Pick<Runtime, 'config' | 'googleClientOptions'>,
): TestFileStore {
  const options = runtime.googleClientOptions();
  const local =
    'apiEndpoint' in options ? { host: options.apiEndpoint, port: options.port } : undefined;
  return createCloudStorageFileStore({
    bucket: filesBucket(runtime.config),
    storage: createStorage({ project: runtime.config.project, ...(local ? { local } : {}) }),
  });
}
