// Drives the real Cloud Storage client once through every call the file store
// makes (upload, list, whole and ranged reads, delete) against a local cloud's
// stand-in, leaving nothing behind.
//
// Why: a local cloud started inside jest.isolateModulesAsync (useWebhookCloud)
// loads the functions, and the storage client, in a module registry that ends
// when the callback returns. Some of the client's stream modules require others
// lazily, on first use (readable-stream's Writable requires its Duplex when the
// first stream is made); after the callback those requires reach the test
// file's registry instead, a second copy, and instanceof checks fail (a
// "Cannot read properties of undefined (reading 'objectMode')" in the middle of
// an upload). Called inside the callback, this makes those first uses there.
import type { LocalCloud } from '../../infra/local/cloud';
import { filesBucket } from '../../shared/config';
import { createCloudStorageFileStore, createStorage } from '../../shared/files/cloud-storage';

const WARM_TEST = 'vmci-storage-warm-up';

export async function warmStorageClient(cloud: LocalCloud): Promise<void> {
  const bucket = filesBucket(cloud.config);
  const storage = createStorage({
    project: cloud.config.project,
    local: { host: '127.0.0.1', port: cloud.port },
  });
  const store = createCloudStorageFileStore({ bucket, storage });
  await store.put(WARM_TEST, 'log.txt', Buffer.from('warm\n'), 'text/plain');
  await store.list(WARM_TEST);
  await store.read(WARM_TEST, 'log.txt');
  await store.read(WARM_TEST, 'log.txt', { start: 1 });
  await storage.bucket(bucket).file(`tests/${WARM_TEST}/log.txt`).delete();
}
