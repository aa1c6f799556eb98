// The TestFileStore contract: one suite every adapter must pass
// (test/files/file-store.test.ts runs it on the in-memory store and on Cloud
// Storage through the real client against the local stand-in).
import { randomBytes } from 'node:crypto';
import type { TestFileStore } from '../../shared/files/port';

export interface FileStoreUnderTest {
  store: TestFileStore;
  cleanup(): Promise<void>;
}

export type MakeFileStore = () => Promise<FileStoreUnderTest>;

const TEST = 'octo-org-hello-0123abc-linux-push-r1-3f9c0a1b2c3d4e5f';
const OTHER = 'octo-org-hello-0123abc-windows-push-r1-0011223344556677';

export function defineFileStoreContractTests(makeStore: MakeFileStore): void {
  let current: FileStoreUnderTest | undefined;
  beforeEach(async () => {
    current = await makeStore();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const store = (): TestFileStore => {
    if (!current) throw new Error('no store under test');
    return current.store;
  };

  describe('TestFileStore contract', () => {
    it('stores a file and lists it with its size, type and time', async () => {
      const before = Date.now();
      await store().put(TEST, 'log.txt', Buffer.from('hello\n'), 'text/plain; charset=utf-8');

      const files = await store().list(TEST);

      expect(files).toEqual([
        {
          name: 'log.txt',
          size: 6,
          contentType: 'text/plain; charset=utf-8',
          updated: expect.any(Date),
        },
      ]);
      // Whole seconds at least: some stores keep no finer time.
      expect(files[0]!.updated.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(files[0]!.updated.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    });

    it('replaces a file; the same bytes twice is fine', async () => {
      await store().put(TEST, 'log.txt', Buffer.from('first'), 'text/plain');
      await store().put(TEST, 'log.txt', Buffer.from('second, longer'), 'text/x-log');
      await store().put(TEST, 'log.txt', Buffer.from('second, longer'), 'text/x-log');

      expect(await store().list(TEST)).toEqual([
        expect.objectContaining({ name: 'log.txt', size: 14, contentType: 'text/x-log' }),
      ]);
      const read = await store().read(TEST, 'log.txt');
      expect(read?.body.toString()).toBe('second, longer');
    });

    it('lists files sorted by name, nested ones included', async () => {
      const names = [
        'results/z.xml',
        'log.txt',
        'results/a/b/c.txt',
        'results/A.xml',
        'results/summary.json',
        'results/a-b.txt',
      ];
      for (const name of names) await store().put(TEST, name, Buffer.from(name), 'text/plain');

      expect((await store().list(TEST)).map((file) => file.name)).toEqual([
        'log.txt',
        'results/A.xml',
        'results/a-b.txt',
        'results/a/b/c.txt',
        'results/summary.json',
        'results/z.xml',
      ]);
    });

    it('answers [] for a test without files', async () => {
      expect(await store().list(TEST)).toEqual([]);
    });

    it('reads a whole file with its description', async () => {
      await store().put(
        TEST,
        'results/summary.json',
        Buffer.from('{"passed":3}'),
        'application/json',
      );

      const read = await store().read(TEST, 'results/summary.json');

      expect(read).toEqual({
        body: Buffer.from('{"passed":3}'),
        file: {
          name: 'results/summary.json',
          size: 12,
          contentType: 'application/json',
          updated: expect.any(Date),
        },
      });
    });

    it('reads byte ranges: [start, end), clamped to the size', async () => {
      await store().put(TEST, 'log.txt', Buffer.from('0123456789'), 'text/plain');
      const text = async (range: { start: number; end?: number }) =>
        (await store().read(TEST, 'log.txt', range))?.body.toString();

      expect(await text({ start: 4 })).toBe('456789');
      expect(await text({ start: 2, end: 5 })).toBe('234');
      expect(await text({ start: 0, end: 10 })).toBe('0123456789');
      expect(await text({ start: 7, end: 1000 })).toBe('789');
      expect(await text({ start: 9 })).toBe('9');
      expect(await text({ start: 10 })).toBe('');
      expect(await text({ start: 50, end: 60 })).toBe('');
      expect(await text({ start: 5, end: 5 })).toBe('');
      expect(await text({ start: 6, end: 3 })).toBe('');
    });

    it('describes the whole file when it reads a range', async () => {
      await store().put(TEST, 'log.txt', Buffer.from('0123456789'), 'text/plain');

      const read = await store().read(TEST, 'log.txt', { start: 8 });

      expect(read?.file).toEqual(expect.objectContaining({ name: 'log.txt', size: 10 }));
    });

    it('reads an empty file, whole or by range', async () => {
      await store().put(TEST, 'results/empty.txt', Buffer.alloc(0), 'text/plain');

      expect(await store().read(TEST, 'results/empty.txt')).toEqual({
        body: Buffer.alloc(0),
        file: expect.objectContaining({ name: 'results/empty.txt', size: 0 }),
      });
      expect((await store().read(TEST, 'results/empty.txt', { start: 0 }))?.body).toEqual(
        Buffer.alloc(0),
      );
      expect((await store().read(TEST, 'results/empty.txt', { start: 3, end: 9 }))?.body).toEqual(
        Buffer.alloc(0),
      );
      expect(await store().list(TEST)).toEqual([
        expect.objectContaining({ name: 'results/empty.txt', size: 0 }),
      ]);
    });

    it('answers null for a missing file, also of a test that has others', async () => {
      expect(await store().read(TEST, 'log.txt')).toBeNull();
      expect(await store().read(TEST, 'log.txt', { start: 0, end: 10 })).toBeNull();
      await store().put(TEST, 'results/a.txt', Buffer.from('a'), 'text/plain');
      expect(await store().read(TEST, 'log.txt')).toBeNull();
    });

    it('keeps binary bytes as they are', async () => {
      const bytes = Buffer.concat([
        Buffer.from([0, 0xff, 0x0d, 0x0a, 0x80, 0]),
        randomBytes(70_000),
      ]);
      await store().put(TEST, 'results/core.bin', bytes, 'application/octet-stream');

      expect((await store().read(TEST, 'results/core.bin'))?.body.equals(bytes)).toBe(true);
      const tail = await store().read(TEST, 'results/core.bin', { start: 3, end: 69_000 });
      expect(tail?.body.equals(bytes.subarray(3, 69_000))).toBe(true);
    });

    it('does not let a caller change what it stored through its buffer', async () => {
      const body = Buffer.from('original');
      await store().put(TEST, 'log.txt', body, 'text/plain');
      body.write('CHANGED!');

      const read = await store().read(TEST, 'log.txt');
      read!.body.write('xx');

      expect((await store().read(TEST, 'log.txt'))?.body.toString()).toBe('original');
    });

    it('never mixes the files of different tests, one id a prefix of another', async () => {
      await store().put('t1', 'log.txt', Buffer.from('one'), 'text/plain');
      await store().put('t10', 'log.txt', Buffer.from('ten'), 'text/plain');
      await store().put('t10', 'results/r.xml', Buffer.from('<r/>'), 'application/xml');
      await store().put(OTHER, 'results/x.txt', Buffer.from('x'), 'text/plain');

      expect((await store().list('t1')).map((file) => file.name)).toEqual(['log.txt']);
      expect((await store().list('t10')).map((file) => file.name)).toEqual([
        'log.txt',
        'results/r.xml',
      ]);
      expect((await store().read('t1', 'log.txt'))?.body.toString()).toBe('one');
      expect((await store().read('t10', 'log.txt'))?.body.toString()).toBe('ten');
      expect(await store().read('t1', 'results/r.xml')).toBeNull();
      expect(await store().list(TEST)).toEqual([]);
    });

    it.each([
      ['empty', ''],
      ['outside results/', 'notes.txt'],
      ['log.txt as a folder', 'log.txt/'],
      ['results alone', 'results'],
      ['results/ alone', 'results/'],
      ['an empty segment', 'results//a'],
      ['a trailing slash', 'results/a/'],
      ['a . segment', 'results/./a'],
      ['a .. segment', 'results/../log.txt'],
      ['a space', 'results/a b'],
      ['a non-ASCII letter', 'results/ä'],
      ['a segment of 101 characters', `results/${'a'.repeat(101)}`],
      ['33 segments', `results/${Array.from({ length: 33 }, () => 'a').join('/')}`],
      [
        'more than 512 characters',
        `results/${Array.from({ length: 6 }, () => 'a'.repeat(100)).join('/')}`,
      ],
    ])('rejects a file name with %s in put, read and list', async (_label, name) => {
      await expect(store().put(TEST, name, Buffer.from('x'), 'text/plain')).rejects.toThrow();
      await expect(store().read(TEST, name)).rejects.toThrow();
      expect(await store().list(TEST)).toEqual([]);
    });

    it('rejects a test id that could reach into another test’s files', async () => {
      for (const id of ['', 'a/b', '..', 't1/log.txt']) {
        await expect(store().put(id, 'log.txt', Buffer.from('x'), 'text/plain')).rejects.toThrow();
        await expect(store().list(id)).rejects.toThrow();
        await expect(store().read(id, 'log.txt')).rejects.toThrow();
      }
    });

    it('rejects a negative or fractional range', async () => {
      await store().put(TEST, 'log.txt', Buffer.from('0123'), 'text/plain');
      await expect(store().read(TEST, 'log.txt', { start: -1 })).rejects.toThrow();
      await expect(store().read(TEST, 'log.txt', { start: 0, end: 1.5 })).rejects.toThrow();
    });

    it('accepts the longest names', async () => {
      const deep = `results/${Array.from({ length: 32 }, () => 'd').join('/')}`;
      const long = `results/${'a'.repeat(100)}/${'b'.repeat(100)}/${'c'.repeat(100)}/${'d'.repeat(100)}/${'e'.repeat(100)}`;
      expect(long.length).toBe(512);
      await store().put(TEST, deep, Buffer.from('deep'), 'text/plain');
      await store().put(TEST, long, Buffer.from('long'), 'text/plain');

      expect((await store().list(TEST)).map((file) => file.name).sort()).toEqual(
        [deep, long].sort(),
      );
      expect((await store().read(TEST, long))?.body.toString()).toBe('long');
    });
  });
}
