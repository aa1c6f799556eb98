// handleUpload on the in-memory file store: a live test's file is stored
// redacted (201, then 200 when replaced); a test that is not live, a body over
// the request cap or over the test's room, and storage failures are refused,
// storing nothing; the body is never read past the room.
import type { TestRecord } from '../../shared/domain/test';
import { createMemoryFileStore } from '../../shared/files/memory';
import type { TestFileStore } from '../../shared/files/port';
import { TEST_FILES_MAX_COUNT, UPLOAD_MAX_BYTES } from '../../shared/files/upload';
import type { BodyRead } from '../../shared/http/raw-body';
import { handleUpload, type UploadRequest } from '../../shared/progress/handle-upload';
import { testRecord } from '../contracts/store/fixtures';
import { captureLog } from '../support/capture-log';

const MiB = 1024 * 1024;
const TOKEN = `t1.${'k'.repeat(43)}`;

const running = (overrides: Partial<TestRecord> = {}) =>
  testRecord({ id: 't1', status: 'running', stage: 'testing', ...overrides });

/** An upload of `body`, read as readRawBody would: refused past the limit. */
function upload(
  name: string,
  body: Buffer,
  options: { declared?: boolean; contentType?: string } = {},
): UploadRequest & { limits: number[] } {
  const limits: number[] = [];
  return {
    name,
    contentType: options.contentType ?? 'text/plain',
    declaredBytes: options.declared === false ? undefined : body.length,
    limits,
    readBody: async (limit): Promise<BodyRead> => {
      limits.push(limit);
      if (body.length > limit) return { ok: false, status: 413, error: 'too big' };
      return { ok: true, bytes: body };
    },
  };
}

function setup(files: TestFileStore = createMemoryFileStore()) {
  const logs = captureLog();
  return { files, logs, deps: { files, log: logs.log } };
}

describe('handleUpload', () => {
  it('stores a running test’s file (201), then replaces it (200), with the content type given', async () => {
    const h = setup();
    const first = await handleUpload(
      h.deps,
      running(),
      TOKEN,
      upload('log.txt', Buffer.from('a\n')),
    );
    const again = await handleUpload(
      h.deps,
      running(),
      TOKEN,
      upload('log.txt', Buffer.from('a\nb\n'), { contentType: 'text/x-log' }),
    );

    expect(first).toEqual({ http: 201, name: 'log.txt', size: 2 });
    expect(again).toEqual({ http: 200, name: 'log.txt', size: 4 });
    expect(await h.files.list('t1')).toEqual([
      expect.objectContaining({ name: 'log.txt', size: 4, contentType: 'text/x-log' }),
    ]);
  });

  it('a starting test takes files too', async () => {
    const h = setup();
    const answer = await handleUpload(
      h.deps,
      running({ status: 'starting', stage: null }),
      TOKEN,
      upload('results/junit.xml', Buffer.from('<testsuite/>')),
    );
    expect(answer).toMatchObject({ http: 201 });
  });

  it('stores the log without the test’s token', async () => {
    const h = setup();
    const log = Buffer.from(`vmci: token ${TOKEN} leaked\n`);

    const answer = await handleUpload(h.deps, running(), TOKEN, upload('log.txt', log));

    const stored = await h.files.read('t1', 'log.txt');
    expect(stored?.body.toString()).toBe('vmci: token [redacted] leaked\n');
    expect(answer).toEqual({ http: 201, name: 'log.txt', size: stored?.body.length });
    expect(h.logs.entries.at(-1)).toMatchObject({
      message: 'File uploaded',
      fields: { redacted: true },
    });
  });

  it.each([
    ['canceled', 'canceled'],
    ['failed', 'ended'],
    ['timed_out', 'ended'],
    ['queued', 'not_running'],
  ] as const)('a %s test: 409 %s, the body unread, nothing stored', async (status, reason) => {
    const h = setup();
    const request = upload('log.txt', Buffer.from('x'));
    const answer = await handleUpload(h.deps, running({ status }), TOKEN, request);
    expect(answer).toEqual({ http: 409, reason });
    expect(request.limits).toEqual([]);
    expect(await h.files.list('t1')).toEqual([]);
  });

  it('over the request cap: 413 from the declared length, before reading', async () => {
    const h = setup();
    const request = upload('log.txt', Buffer.alloc(UPLOAD_MAX_BYTES + 1));
    expect(await handleUpload(h.deps, running(), TOKEN, request)).toEqual({ http: 413 });
    expect(request.limits).toEqual([]);
  });

  it('over the request cap without a declared length: 413 once the read passes it', async () => {
    const h = setup();
    const request = upload('log.txt', Buffer.alloc(UPLOAD_MAX_BYTES + 1), { declared: false });
    expect(await handleUpload(h.deps, running(), TOKEN, request)).toEqual({ http: 413 });
    expect(request.limits).toEqual([UPLOAD_MAX_BYTES]);
    expect(await h.files.list('t1')).toEqual([]);
  });

  it('over the test’s 64 MiB: 507, declared or found while reading only up to the room', async () => {
    const h = setup();
    for (const name of ['results/a', 'results/b', 'results/c', 'results/d']) {
      await h.files.put('t1', name, Buffer.alloc(15 * MiB), 'application/octet-stream');
    }
    const body = Buffer.alloc(4 * MiB + 1);

    expect(await handleUpload(h.deps, running(), TOKEN, upload('log.txt', body))).toEqual({
      http: 507,
      reason: 'bytes',
    });
    const chunked = upload('log.txt', body, { declared: false });
    expect(await handleUpload(h.deps, running(), TOKEN, chunked)).toEqual({
      http: 507,
      reason: 'bytes',
    });
    expect(chunked.limits).toEqual([4 * MiB]);
    // What fits still goes in.
    expect(
      await handleUpload(h.deps, running(), TOKEN, upload('log.txt', Buffer.alloc(4 * MiB))),
    ).toMatchObject({ http: 201 });
  });

  it('600 files: 507 for another one, a replacement still goes in', async () => {
    const h = setup();
    await Promise.all(
      Array.from({ length: TEST_FILES_MAX_COUNT }, (_, i) =>
        h.files.put('t1', `results/f${i}.xml`, Buffer.from('x'), 'text/xml'),
      ),
    );
    expect(
      await handleUpload(h.deps, running(), TOKEN, upload('log.txt', Buffer.from('x'))),
    ).toEqual({ http: 507, reason: 'count' });
    expect(
      await handleUpload(h.deps, running(), TOKEN, upload('results/f7.xml', Buffer.from('yy'))),
    ).toEqual({ http: 200, name: 'results/f7.xml', size: 2 });
  });

  it('a body not received whole: 400, nothing stored', async () => {
    const h = setup();
    const request: UploadRequest = {
      ...upload('log.txt', Buffer.from('x')),
      readBody: async () => ({
        ok: false,
        status: 400,
        error: 'The request body was not received whole.',
      }),
    };
    expect(await handleUpload(h.deps, running(), TOKEN, request)).toEqual({
      http: 400,
      error: 'The request body was not received whole.',
    });
    expect(await h.files.list('t1')).toEqual([]);
  });

  it.each(['list', 'put'] as const)('storage fails to %s: 503, logged', async (broken) => {
    const inner = createMemoryFileStore();
    const files: TestFileStore = {
      ...inner,
      [broken]: async () => {
        throw Object.assign(new Error('backend unavailable'), { code: 503 });
      },
    };
    const h = setup(files);
    expect(
      await handleUpload(h.deps, running(), TOKEN, upload('log.txt', Buffer.from('x'))),
    ).toEqual({ http: 503 });
    expect(h.logs.entries).toContainEqual(expect.objectContaining({ level: 'warn' }));
  });
});
