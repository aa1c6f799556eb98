// The local Cloud Storage stand-in, driven by the real @google-cloud/storage
// client (with the options the local cloud gives it) and, where the client
// hides the wire, by plain HTTP.
import '../files/storage-transport';
import { createHash, randomBytes } from 'node:crypto';
import { CRC32C, Storage } from '@google-cloud/storage';
import { serve } from '../../infra/local/http';
import {
  crc32c,
  crc32cBase64,
  createStorageStandIn,
  type StorageStandIn,
  type StorageStandInOptions,
} from '../../infra/local/storage';
import { filesBucket } from '../../shared/config';
import { createCloudStorageFileStore, storageOptions } from '../../shared/files/cloud-storage';
import { loadRuntime } from '../../shared/runtime/env';
import { testFileStore } from '../../shared/runtime/files';
import { useLocalCloud } from '../support/local-cloud';

const BUCKET = 'vmci-local-vmci-files';
const MiB = 1024 * 1024;

interface Harness {
  standIn: StorageStandIn;
  storage: Storage;
  url: string;
  close(): Promise<void>;
}

const open: Harness[] = [];
afterEach(async () => {
  for (const harness of open.splice(0)) await harness.close();
});

async function start(options: StorageStandInOptions = {}): Promise<Harness> {
  const standIn = createStorageStandIn({ buckets: [{ name: BUCKET }], ...options });
  const server = await serve([standIn]);
  const storage = new Storage({
    ...storageOptions({ project: 'vmci-local', local: { host: '127.0.0.1', port: server.port } }),
    // The caps' answers are final here; the adapter's retries would only slow the test.
    retryOptions: { autoRetry: false, maxRetries: 0 },
  });
  const harness = { standIn, storage, url: server.url, close: () => server.close() };
  open.push(harness);
  return harness;
}

const file = (h: Harness, name: string) => h.storage.bucket(BUCKET).file(name);
const md5 = (body: Buffer) => createHash('md5').update(body).digest('base64');

describe('checksums', () => {
  it('computes CRC32C as Google does (check value, the client’s own, base64 big-endian)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32cBase64(Buffer.from('data'))).toBe('rth90Q==');
    const bytes = randomBytes(100_003);
    const client = new CRC32C();
    client.update(bytes);
    expect(crc32cBase64(bytes)).toBe(client.toString());
  });
});

describe('buckets', () => {
  it('creates a bucket with lifecycle rules, keeps them and returns them', async () => {
    const h = await start();
    const lifecycle = { rule: [{ action: { type: 'Delete' as const }, condition: { age: 30 } }] };

    const [bucket] = await h.storage.createBucket('vmci-other-files', { lifecycle });
    const [metadata] = await h.storage.bucket('vmci-other-files').getMetadata();

    expect(bucket.metadata).toMatchObject({ name: 'vmci-other-files', lifecycle });
    expect(metadata).toMatchObject({ kind: 'storage#bucket', name: 'vmci-other-files', lifecycle });
    expect(h.standIn.buckets()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'vmci-other-files', project: 'vmci-local', lifecycle }),
      ]),
    );
  });

  it('answers 409 for a bucket that exists and 404 for one that does not, in Google’s shape', async () => {
    const h = await start();

    await expect(h.storage.createBucket(BUCKET)).rejects.toMatchObject({ code: 409 });
    await expect(h.storage.bucket('no-such-bucket').getMetadata()).rejects.toMatchObject({
      code: 404,
    });
    expect(await h.storage.bucket('no-such-bucket').exists()).toEqual([false]);
    const raw = await fetch(`${h.url}/storage/v1/b/no-such-bucket`);
    expect(raw.status).toBe(404);
    expect(await raw.json()).toMatchObject({
      error: {
        code: 404,
        message: 'The specified bucket does not exist.',
        errors: [{ reason: 'notFound', message: 'The specified bucket does not exist.' }],
      },
    });
  });

  it('refuses bucket names GCS refuses', async () => {
    const h = await start();
    for (const name of ['ab', 'Upper-case', '-leading', 'trailing-', 'a'.repeat(64)]) {
      await expect(h.storage.createBucket(name)).rejects.toMatchObject({ code: 400 });
    }
  });
});

describe('uploads', () => {
  it('takes a small file in one multipart request, with its content type', async () => {
    const h = await start();
    await file(h, 'a/small.txt').save('hello', { resumable: false, contentType: 'text/plain' });

    const [metadata] = await file(h, 'a/small.txt').getMetadata();
    expect(metadata).toMatchObject({
      kind: 'storage#object',
      name: 'a/small.txt',
      bucket: BUCKET,
      size: '5',
      contentType: 'text/plain',
      md5Hash: md5(Buffer.from('hello')),
      crc32c: crc32cBase64(Buffer.from('hello')),
      generation: expect.stringMatching(/^\d+$/),
      metageneration: '1',
    });
    expect(new Date(metadata.updated!).getTime()).not.toBeNaN();
    expect(new Date(metadata.timeCreated!).getTime()).not.toBeNaN();
  });

  it('takes a resumable upload of unknown length (the client’s default)', async () => {
    const h = await start();
    const body = randomBytes(300_000);
    await file(h, 'resumable').save(body);
    expect((await file(h, 'resumable').download())[0].equals(body)).toBe(true);
  });

  it('takes a resumable upload in chunks (Content-Range a-b/*, then the total)', async () => {
    const h = await start();
    const body = randomBytes(3 * 256 * 1024 + 1000);
    await file(h, 'chunked').save(body, { chunkSize: 256 * 1024 });
    expect((await file(h, 'chunked').download())[0].equals(body)).toBe(true);
  });

  it('takes a 50 MiB file through the adapter and reads it back', async () => {
    const h = await start();
    const store = createCloudStorageFileStore({ bucket: BUCKET, storage: h.storage });
    const body = randomBytes(50 * MiB);

    await store.put('t1', 'results/core.bin', body, 'application/octet-stream');
    const read = await store.read('t1', 'results/core.bin');

    expect(read?.file.size).toBe(50 * MiB);
    expect(read?.body.equals(body)).toBe(true);
  }, 60_000);

  it('replaces an object with a new generation', async () => {
    const h = await start();
    await file(h, 'x').save('one', { resumable: false });
    const [first] = await file(h, 'x').getMetadata();
    await file(h, 'x').save('two!', { resumable: false });
    const [second] = await file(h, 'x').getMetadata();

    expect(BigInt(second.generation!)).toBeGreaterThan(BigInt(first.generation!));
    expect(second.size).toBe('4');
    await expect(file(h, 'x').getMetadata({ generation: first.generation })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('speaks the resumable protocol on the wire: status, resent bytes, a finished session', async () => {
    const h = await start();
    const start_ = await fetch(
      `${h.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=wire.bin`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-upload-content-type': 'text/plain' },
        body: '{}',
      },
    );
    expect(start_.status).toBe(200);
    const session = start_.headers.get('location')!;
    expect(session).toContain('upload_id=');
    const put = (body: string, range: string) =>
      fetch(session, { method: 'PUT', headers: { 'content-range': range }, body });

    const empty = await put('', 'bytes */*');
    expect(empty.status).toBe(308);
    expect(empty.headers.get('range')).toBeNull();
    expect((await put('abcd', 'bytes 0-3/*')).headers.get('range')).toBe('bytes=0-3');
    // A chunk sent again after a lost reply: the bytes it already has are skipped.
    const again = await put('cdef', 'bytes 2-5/*');
    expect([again.status, again.headers.get('range')]).toEqual([308, 'bytes=0-5']);
    const gap = await put('zz', 'bytes 9-10/*');
    expect(gap.status).toBe(400);
    const last = await put('gh', 'bytes 6-7/8');
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({
      name: 'wire.bin',
      size: '8',
      contentType: 'text/plain',
    });
    const repeat = await put('gh', 'bytes 6-7/8');
    expect(repeat.status).toBe(200);
    expect((await file(h, 'wire.bin').download())[0].toString()).toBe('abcdefgh');
  });

  it('takes uploadType=media, and refuses bytes whose X-Goog-Hash does not match', async () => {
    const h = await start();
    const upload = (name: string, hash?: string) =>
      fetch(`${h.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(hash ? { 'x-goog-hash': hash } : {}) },
        body: '{"a":1}',
      });

    expect(
      (await upload('good.json', `crc32c=${crc32cBase64(Buffer.from('{"a":1}'))}`)).status,
    ).toBe(200);
    const bad = await upload('bad.json', 'crc32c=AAAAAA==');
    expect(bad.status).toBe(400);
    expect(h.standIn.objects(BUCKET).map((o) => o.name)).toEqual(['good.json']);
    expect(h.standIn.objects(BUCKET)[0]!.contentType).toBe('application/json');
  });
});

describe('downloads', () => {
  it('passes the client’s CRC32C and MD5 checks on a whole download', async () => {
    const h = await start();
    const body = randomBytes(200_000);
    await file(h, 'checked').save(body, { resumable: false });

    expect((await file(h, 'checked').download({ validation: 'crc32c' }))[0].equals(body)).toBe(
      true,
    );
    expect((await file(h, 'checked').download({ validation: 'md5' }))[0].equals(body)).toBe(true);
  });

  it('serves byte ranges (GCS end inclusive), and 416 past the end', async () => {
    const h = await start();
    await file(h, 'digits').save('0123456789', { resumable: false, contentType: 'text/plain' });

    expect((await file(h, 'digits').download({ start: 2, end: 4 }))[0].toString()).toBe('234');
    expect((await file(h, 'digits').download({ start: 7 }))[0].toString()).toBe('789');
    const media = `${h.url}/storage/v1/b/${BUCKET}/o/digits?alt=media`;
    const partial = await fetch(media, { headers: { range: 'bytes=8-100' } });
    expect([partial.status, partial.headers.get('content-range'), await partial.text()]).toEqual([
      206,
      'bytes 8-9/10',
      '89',
    ]);
    const suffix = await fetch(media, { headers: { range: 'bytes=-3' } });
    expect(await suffix.text()).toBe('789');
    const beyond = await fetch(media, { headers: { range: 'bytes=10-' } });
    expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, 'bytes */10']);
    const whole = await fetch(media);
    expect(whole.headers.get('x-goog-hash')).toBe(
      `crc32c=${crc32cBase64(Buffer.from('0123456789'))},md5=${md5(Buffer.from('0123456789'))}`,
    );
  });

  it('finds object names that need encoding, through the metadata and the media paths', async () => {
    const h = await start();
    const name = 'tests/t 1/results/a+b%c.txt';
    await file(h, name).save('odd', { resumable: false });

    expect((await file(h, name).getMetadata())[0].name).toBe(name);
    expect((await file(h, name).download())[0].toString()).toBe('odd');
  });

  it('answers 404 for a missing object: metadata, media and delete', async () => {
    const h = await start();
    await expect(file(h, 'missing').getMetadata()).rejects.toMatchObject({ code: 404 });
    await expect(file(h, 'missing').download()).rejects.toMatchObject({ code: 404 });
    await expect(file(h, 'missing').delete()).rejects.toMatchObject({ code: 404 });
    const raw = await fetch(`${h.url}/storage/v1/b/${BUCKET}/o/missing`);
    expect(await raw.json()).toMatchObject({
      error: { code: 404, errors: [{ reason: 'notFound' }] },
    });
  });
});

describe('listing and deleting', () => {
  it('lists by prefix, in name order, a page at a time', async () => {
    const h = await start();
    for (const name of ['p/c', 'p/a', 'p/b', 'p/e', 'p/d', 'q/a', 'p']) {
      await file(h, name).save(name, { resumable: false });
    }
    const bucket = h.storage.bucket(BUCKET);

    const [page1, next1] = await bucket.getFiles({
      prefix: 'p/',
      maxResults: 2,
      autoPaginate: false,
    });
    const [page2, next2] = await bucket.getFiles({ ...next1, autoPaginate: false });
    const [page3, next3] = await bucket.getFiles({ ...next2, autoPaginate: false });
    const [all] = await bucket.getFiles({ prefix: 'p/' });

    expect([page1, page2, page3].map((page) => page.map((f) => f.name))).toEqual([
      ['p/a', 'p/b'],
      ['p/c', 'p/d'],
      ['p/e'],
    ]);
    expect(next3).toBeNull();
    expect(all.map((f) => f.name)).toEqual(['p/a', 'p/b', 'p/c', 'p/d', 'p/e']);
    expect(all[0]!.metadata).toMatchObject({ size: '3', crc32c: crc32cBase64(Buffer.from('p/a')) });
    expect((await bucket.getFiles({ prefix: 'none/' }))[0]).toEqual([]);
  });

  it('deletes an object', async () => {
    const h = await start();
    await file(h, 'gone').save('x', { resumable: false });
    await file(h, 'gone').delete();
    expect(await file(h, 'gone').exists()).toEqual([false]);
    expect(h.standIn.bytesHeld()).toBe(0);
  });
});

describe('caps', () => {
  it('answers 413 for an object over the size cap, however it is uploaded', async () => {
    const h = await start({ maxObjectBytes: 64 * 1024 });
    const body = randomBytes(64 * 1024 + 1);

    await expect(file(h, 'big').save(body, { resumable: false })).rejects.toMatchObject({
      code: 413,
    });
    // Resumable uploads reject with the JSON error itself, not an Error.
    await expect(file(h, 'big').save(body)).rejects.toMatchObject({ code: 413 });
    await expect(file(h, 'big').save(body, { chunkSize: 256 * 1024 })).rejects.toMatchObject({
      code: 413,
    });
    await file(h, 'fits').save(body.subarray(1), { resumable: false });
    expect(h.standIn.objects(BUCKET).map((o) => o.name)).toEqual(['fits']);
    expect(h.standIn.bytesHeld()).toBe(64 * 1024);
  });

  it('answers 429 once the stand-in holds its total; replacing or deleting frees room', async () => {
    const h = await start({ maxObjectBytes: 1000, maxTotalBytes: 2500 });
    const kb = randomBytes(1000);
    await file(h, 'one').save(kb, { resumable: false });
    await file(h, 'two').save(kb, { resumable: false });

    await expect(file(h, 'three').save(kb, { resumable: false })).rejects.toMatchObject({
      code: 429,
    });
    await file(h, 'two').save(kb, { resumable: false }); // a replacement fits
    await file(h, 'two').delete();
    await file(h, 'three').save(kb, { resumable: false });
    expect(h.standIn.bytesHeld()).toBe(2000);
  });

  it('counts unfinished resumable uploads toward the total', async () => {
    const h = await start({ maxObjectBytes: 1000, maxTotalBytes: 1500 });
    const session = await fetch(
      `${h.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=resumable&name=slow`,
      { method: 'POST' },
    );
    const uri = session.headers.get('location')!;
    const chunk = await fetch(uri, {
      method: 'PUT',
      headers: { 'content-range': 'bytes 0-899/*' },
      body: randomBytes(900),
    });
    expect(chunk.status).toBe(308);
    expect(h.standIn.bytesHeld()).toBe(900);

    await expect(
      file(h, 'other').save(randomBytes(700), { resumable: false }),
    ).rejects.toMatchObject({ code: 429 });
  });
});

describe('paths', () => {
  it('leaves other paths to other services, and answers 501 for unsupported calls of its own', async () => {
    const h = await start();
    const standIn = createStorageStandIn();
    const url = new URL('http://127.0.0.1/v2/projects/p/locations/l/queues');
    expect(await standIn.handle({} as never, {} as never, url)).toBe(false);
    expect((await fetch(`${h.url}/storage/v1/b/${BUCKET}`, { method: 'DELETE' })).status).toBe(501);
    expect((await fetch(`${h.url}/storage/v1/b/${BUCKET}/o?delimiter=/`)).status).toBe(501);
  });
});

describe('in the local cloud', () => {
  const handle = useLocalCloud({ functions: [] });

  it('has the configured bucket, with its retention as a lifecycle rule', () => {
    const { config, storage } = handle.cloud;
    expect(storage.buckets()).toEqual([
      expect.objectContaining({
        name: filesBucket(config),
        project: config.project,
        lifecycle: {
          rule: [{ action: { type: 'Delete' }, condition: { age: config.files.retentionDays } }],
        },
      }),
    ]);
  });

  it('is where a function’s runtime puts the tests’ files; reset empties it', async () => {
    const store = testFileStore(loadRuntime('status', []));
    await store.put('t1', 'log.txt', Buffer.from('from a function'), 'text/plain');

    expect(handle.cloud.storage.objects(filesBucket(handle.cloud.config))).toEqual([
      expect.objectContaining({ name: 'tests/t1/log.txt', size: 15 }),
    ]);
    expect((await store.read('t1', 'log.txt'))?.body.toString()).toBe('from a function');
    await handle.cloud.reset();
    expect(await store.list('t1')).toEqual([]);
    expect(handle.cloud.storage.buckets()).toHaveLength(1);
  });
});
