// Runs the TestFileStore contract on the in-memory store and on the Cloud
// Storage adapter, which drives the real @google-cloud/storage client against
// the local stand-in; then what only the Cloud Storage adapter can show: the
// object names, the upload kinds, and that it sends no credentials.
import './storage-transport';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '../../infra/local/http';
import { createStorageStandIn, type StorageStandIn } from '../../infra/local/storage';
import {
  createCloudStorageFileStore,
  createStorage,
  RESUMABLE_ABOVE_BYTES,
  storageOptions,
} from '../../shared/files/cloud-storage';
import { createMemoryFileStore } from '../../shared/files/memory';
import type { TestFileStore } from '../../shared/files/port';
import { defineFileStoreContractTests, type MakeFileStore } from '../contracts/file-store.contract';

const BUCKET = 'vmci-local-vmci-files';

const makeMemoryStore: MakeFileStore = async () => ({
  store: createMemoryFileStore(),
  cleanup: async () => {},
});

interface CloudHarness {
  standIn: StorageStandIn;
  store: TestFileStore;
  url: string;
  port: number;
  cleanup(): Promise<void>;
}

async function cloudHarness(options: { maxPageSize?: number } = {}): Promise<CloudHarness> {
  const standIn = createStorageStandIn({ buckets: [{ name: BUCKET }], ...options });
  const server = await serve([standIn]);
  const storage = createStorage({
    project: 'vmci-local',
    local: { host: '127.0.0.1', port: server.port },
  });
  return {
    standIn,
    store: createCloudStorageFileStore({ bucket: BUCKET, storage }),
    url: server.url,
    port: server.port,
    cleanup: () => server.close(),
  };
}

const makeCloudStore: MakeFileStore = async () => {
  const harness = await cloudHarness();
  return { store: harness.store, cleanup: harness.cleanup };
};

describe.each([
  ['memory', makeMemoryStore],
  ['Cloud Storage (local stand-in)', makeCloudStore],
])('%s', (_name, make) => {
  defineFileStoreContractTests(make);
});

describe('Cloud Storage file store', () => {
  let harness: CloudHarness;
  beforeEach(async () => {
    harness = await cloudHarness();
  });
  afterEach(() => harness.cleanup());

  it('names objects tests/<testId>/<name>', async () => {
    await harness.store.put('t1', 'log.txt', Buffer.from('a'), 'text/plain');
    await harness.store.put('t1', 'results/junit/a.xml', Buffer.from('<a/>'), 'application/xml');

    expect(harness.standIn.objects(BUCKET).map((object) => object.name)).toEqual([
      'tests/t1/log.txt',
      'tests/t1/results/junit/a.xml',
    ]);
    expect(harness.standIn.objects(BUCKET)[1]).toMatchObject({ contentType: 'application/xml' });
  });

  it('uploads a large file (resumable) and reads it back whole and by range', async () => {
    const size = RESUMABLE_ABOVE_BYTES + 1_234_567;
    const body = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) body.writeUInt32BE(i, i);

    await harness.store.put('t1', 'results/big.bin', body, 'application/octet-stream');

    const whole = await harness.store.read('t1', 'results/big.bin');
    expect(whole?.body.equals(body)).toBe(true);
    const part = await harness.store.read('t1', 'results/big.bin', { start: size - 10 });
    expect(part?.body.equals(body.subarray(size - 10))).toBe(true);
  });

  it('lists every page of a test’s files', async () => {
    const paged = await cloudHarness({ maxPageSize: 2 });
    try {
      for (const n of [5, 1, 4, 2, 3]) {
        await paged.store.put('t1', `results/${n}.txt`, Buffer.from(`${n}`), 'text/plain');
      }
      await paged.store.put('t10', 'results/0.txt', Buffer.from('0'), 'text/plain');

      expect((await paged.store.list('t1')).map((file) => file.name)).toEqual(
        [1, 2, 3, 4, 5].map((n) => `results/${n}.txt`),
      );
    } finally {
      await paged.cleanup();
    }
  });

  it('rejects with an Error carrying the code when an upload fails', async () => {
    const capped = createStorageStandIn({ buckets: [{ name: BUCKET }], maxObjectBytes: 10 });
    const server = await serve([capped]);
    try {
      const store = createCloudStorageFileStore({
        bucket: BUCKET,
        storage: createStorage({
          project: 'vmci-local',
          local: { host: '127.0.0.1', port: server.port },
        }),
      });
      const tooBig = Buffer.alloc(RESUMABLE_ABOVE_BYTES + 1);
      await expect(store.put('t1', 'results/big', tooBig, 'text/plain')).rejects.toMatchObject({
        code: 413,
      });
      await expect(store.put('t1', 'results/big', tooBig, 'text/plain')).rejects.toThrow(
        /at most 10 bytes/,
      );
      await expect(store.put('t1', 'log.txt', Buffer.alloc(11), 'text/plain')).rejects.toThrow(
        /at most 10 bytes/,
      );
    } finally {
      await server.close();
    }
  });

  it('skips objects under the test’s prefix whose names the port does not allow', async () => {
    await harness.store.put('t1', 'log.txt', Buffer.from('a'), 'text/plain');
    const upload = await fetch(
      `${harness.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=tests/t1/stray`,
      { method: 'POST', body: 'x' },
    );
    expect(upload.status).toBe(200);

    expect((await harness.store.list('t1')).map((file) => file.name)).toEqual(['log.txt']);
  });

  it('throws when the bucket does not exist, rather than answering "no files"', async () => {
    const storage = createStorage({
      project: 'vmci-local',
      local: { host: '127.0.0.1', port: harness.port },
    });
    const store = createCloudStorageFileStore({ bucket: 'no-such-bucket', storage });

    await expect(store.list('t1')).rejects.toMatchObject({ code: 404 });
    await expect(store.put('t1', 'log.txt', Buffer.from('a'), 'text/plain')).rejects.toThrow();
  });
});

describe('Cloud Storage client options', () => {
  it('use Google’s endpoint and default credentials in production', () => {
    const options = storageOptions({ project: 'my-ci-project' });
    expect(options).toMatchObject({ projectId: 'my-ci-project' });
    expect(options).not.toHaveProperty('apiEndpoint');
    expect(options).not.toHaveProperty('authClient');
  });

  it('are a fresh object each call', () => {
    const target = { project: 'p', local: { host: '127.0.0.1', port: 1 } };
    expect(storageOptions(target)).not.toBe(storageOptions(target));
    expect(storageOptions(target).retryOptions).not.toBe(storageOptions(target).retryOptions);
  });
});

describe('Cloud Storage client options for the local cloud', () => {
  it('send no credentials and never ask the metadata server', async () => {
    const metadataHits: string[] = [];
    const metadata = createServer((req, res) => {
      metadataHits.push(req.url ?? '');
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => metadata.listen(0, '127.0.0.1', resolve));
    const saved = process.env.GCE_METADATA_HOST;
    process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadata.address() as AddressInfo).port}`;
    const authorization: (string | undefined)[] = [];
    const standIn = createStorageStandIn({ buckets: [{ name: BUCKET }] });
    const server = await serve([
      {
        handle: async (req) => {
          authorization.push(req.headers.authorization);
          return false;
        },
        close: async () => {},
      },
      standIn,
    ]);
    try {
      const store = createCloudStorageFileStore({
        bucket: BUCKET,
        storage: createStorage({
          project: 'vmci-local',
          local: { host: '127.0.0.1', port: server.port },
        }),
      });
      await store.put('t1', 'log.txt', Buffer.from('small'), 'text/plain');
      await store.put('t1', 'results/big', Buffer.alloc(RESUMABLE_ABOVE_BYTES + 1), 'text/plain');
      await store.list('t1');
      await store.read('t1', 'log.txt');

      expect(authorization.length).toBeGreaterThanOrEqual(5);
      expect(authorization.every((value) => value === undefined)).toBe(true);
      expect(metadataHits).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.GCE_METADATA_HOST;
      else process.env.GCE_METADATA_HOST = saved;
      await server.close();
      await new Promise((resolve) => metadata.close(resolve));
    }
  });
});
