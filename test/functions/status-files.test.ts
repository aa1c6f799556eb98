// The status function's file paths, through the app it is served by, on the
// in-memory stores: a test's file list, one file's bytes (an attachment, never
// HTML), the log's last lines read from its end, the test view's short files
// summary, and a private repository's files shown to status viewers only.
import supertest from 'supertest';
import { makeStatusHandler } from '../../functions/status/handler';
import { createLocalCallerVerifier } from '../../shared/auth/caller';
import { mintLocalToken } from '../../shared/auth/local-token';
import { createMemoryFileStore, type MemoryFileStore } from '../../shared/files/memory';
import type { TestFileStore } from '../../shared/files/port';
import { TAIL_MAX_BYTES } from '../../shared/files/serve';
import { functionApp, SECURITY_HEADERS } from '../../shared/http/function-app';
import { createLogger } from '../../shared/log';
import { createMemoryStore } from '../../shared/store/memory';
import type { TestStore } from '../../shared/store/port';
import { testRecord } from '../contracts/store/fixtures';
import { captureLog } from '../tests/stores';

const PUBLIC = 'ccextractor/ccextractor';
const PRIVATE = 'acme/secret-sauce';
const VIEWER = 'ops@acme.example';
const SECRET = 'status-files-local-token-secret';
const STATUS_URL = 'https://ci.example.com/status';
const VM = { name: 'vmci-linux-t-1', zone: 'local-a', provisioning: 'STANDARD' as const };

const viewer = () =>
  `Bearer ${mintLocalToken(SECRET, { kind: 'oidc', email: VIEWER, aud: STATUS_URL })}`;

interface Harness {
  request: supertest.Agent;
  store: TestStore;
  files: MemoryFileStore;
  reads: { name: string; range: unknown }[];
  log: ReturnType<typeof captureLog>;
}

async function setup(wrap: (files: TestFileStore) => TestFileStore = (f) => f): Promise<Harness> {
  const store = createMemoryStore();
  const files = createMemoryFileStore();
  const reads: Harness['reads'] = [];
  const spied: TestFileStore = {
    ...files,
    read: (testId, name, range) => {
      reads.push({ name, range });
      return files.read(testId, name, range);
    },
  };
  await store.createTests([
    testRecord({ id: 'pub', repo: PUBLIC, status: 'failed', instance: VM }),
    testRecord({ id: 'priv', repo: PRIVATE, repoPublic: false, status: 'failed', instance: VM }),
    testRecord({ id: 'queued', repo: PUBLIC, status: 'queued' }),
  ]);
  const log = captureLog();
  const logger = createLogger({ write: log.write });
  const handler = makeStatusHandler({
    store,
    files: wrap(spied),
    log: logger,
    config: { public: { [PUBLIC]: true }, statusViewers: [VIEWER] },
    callers: createLocalCallerVerifier(SECRET),
    audience: STATUS_URL,
  });
  return { request: supertest(functionApp(handler, { log: logger })), store, files, reads, log };
}

async function put(files: TestFileStore, id: string, name: string, body: string | Buffer) {
  await files.put(id, name, Buffer.from(body), 'text/plain');
}

function expectStrictHeaders(res: supertest.Response): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers[name.toLowerCase()]).toBe(value);
  }
}

describe('status: a test’s files', () => {
  it('GET /tests/{id}/files lists them with their links', async () => {
    const h = await setup();
    await put(h.files, 'pub', 'log.txt', 'hello\n');
    await h.files.put('pub', 'results/junit.xml', Buffer.from('<testsuite/>'), 'application/xml');

    const res = await h.request.get('/tests/pub/files');

    expect(res.status).toBe(200);
    expectStrictHeaders(res);
    expect(res.body).toEqual({
      files: [
        {
          name: 'log.txt',
          size: 6,
          contentType: 'text/plain',
          updated: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          url: `${STATUS_URL}/tests/pub/files/log.txt`,
        },
        expect.objectContaining({
          name: 'results/junit.xml',
          contentType: 'application/xml',
          url: `${STATUS_URL}/tests/pub/files/results/junit.xml`,
        }),
      ],
    });
  });

  it('GET /tests/{id}/files/{name}: the bytes, as an attachment, text only as plain text', async () => {
    const h = await setup();
    await put(h.files, 'pub', 'log.txt', '<script>alert(1)</script>\n');
    await put(h.files, 'pub', 'results/report.html', '<html><script>x</script></html>');
    await put(h.files, 'pub', 'results/a/junit.xml', '<testsuite/>');

    const log = await h.request.get('/tests/pub/files/log.txt').buffer(true);
    expect(log.status).toBe(200);
    expectStrictHeaders(log);
    expect(log.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(log.headers['content-disposition']).toBe('attachment; filename="log.txt"');
    expect(log.headers['content-length']).toBe('26');
    expect(log.text).toBe('<script>alert(1)</script>\n');

    const html = await h.request.get('/tests/pub/files/results/report.html').buffer(true);
    expect(html.headers['content-type']).toBe('application/octet-stream');
    expect(html.headers['content-disposition']).toBe('attachment; filename="report.html"');
    expect(html.headers['x-content-type-options']).toBe('nosniff');

    // Segments may come percent-encoded; they are decoded once.
    const xml = await h.request.get('/tests/pub/files/results%2Fa%2Fjunit.xml');
    expect(xml.status).toBe(200);
    expect(xml.text).toBe('<testsuite/>');
  });

  it('HEAD of a file: its headers, no body', async () => {
    const h = await setup();
    await put(h.files, 'pub', 'log.txt', 'abc');
    const res = await h.request.head('/tests/pub/files/log.txt');
    expect(res.status).toBe(200);
    expect(res.headers['content-disposition']).toBe('attachment; filename="log.txt"');
    expect(res.text ?? '').toBe('');
  });

  it.each([
    ['/tests/pub/files/results/nope.xml', 'File not found'],
    ['/tests/pub/files/..%2Flog.txt', 'File not found'],
    ['/tests/pub/files/results%252Fa.xml', 'File not found'],
    ['/tests/pub/files/other.txt', 'File not found'],
    ['/tests/nope/files', 'Test not found'],
    ['/tests/nope/files/log.txt', 'Test not found'],
    ['/tests/nope/log', 'Test not found'],
    ['/tests/pub/log', 'No log for this test'],
  ])('GET %s: 404 %s', async (path, error) => {
    const h = await setup();
    await put(h.files, 'pub', 'results/a.xml', 'x');
    const res = await h.request.get(path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json\b/);
    expect(res.body).toEqual({ error });
  });

  it('GET /tests/{id}/log?tail=N: the last N lines, the size, and whether earlier lines exist', async () => {
    const h = await setup();
    await put(h.files, 'pub', 'log.txt', 'one\ntwo\nthree\nfour\n');

    expect((await h.request.get('/tests/pub/log?tail=2')).body).toEqual({
      lines: ['three', 'four'],
      truncated: true,
      size: 19,
    });
    expect((await h.request.get('/tests/pub/log')).body).toEqual({
      lines: ['one', 'two', 'three', 'four'],
      truncated: false,
      size: 19,
    });
    for (const bad of ['0', 'x', '-3']) {
      const res = await h.request.get(`/tests/pub/log?tail=${bad}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'tail: expected a number of lines from 1 (at most 2000)',
      });
    }
  });

  it('a long log: only its last 256 KiB are read', async () => {
    const h = await setup();
    const line = (i: number) => `line ${String(i).padStart(6, '0')} ${'x'.repeat(100)}`;
    const text = `${Array.from({ length: 5000 }, (_, i) => line(i)).join('\n')}\n`;
    await put(h.files, 'pub', 'log.txt', text);

    const res = await h.request.get('/tests/pub/log?tail=3');

    expect(res.body).toEqual({
      lines: [line(4997), line(4998), line(4999)],
      truncated: true,
      size: Buffer.byteLength(text),
    });
    expect(h.reads).toEqual([
      { name: 'log.txt', range: { start: 0, end: 0 } },
      { name: 'log.txt', range: { start: Buffer.byteLength(text) - TAIL_MAX_BYTES } },
    ]);
  });

  describe('the test view', () => {
    it('counts the files and links the log', async () => {
      const h = await setup();
      await put(h.files, 'pub', 'log.txt', 'x');
      await put(h.files, 'pub', 'results/junit.xml', 'x');
      const res = await h.request.get('/tests/pub');
      expect(res.body.files).toEqual({
        count: 2,
        log: `${STATUS_URL}/tests/pub/files/log.txt`,
        list: `${STATUS_URL}/tests/pub/files`,
      });
      expect(res.body.failures).toBeNull();
    });

    it('a test whose VM was never made: no files, and storage is not asked', async () => {
      let listed = 0;
      const h = await setup((files) => ({
        ...files,
        list: (id) => {
          listed += 1;
          return files.list(id);
        },
      }));
      const res = await h.request.get('/tests/queued');
      expect(res.body.files).toEqual({
        count: 0,
        log: null,
        list: `${STATUS_URL}/tests/queued/files`,
      });
      expect(listed).toBe(0);
    });

    it('files that cannot be listed: the view still answers, files null, the error logged', async () => {
      const h = await setup((files) => ({
        ...files,
        list: async () => {
          throw new Error('storage unavailable');
        },
      }));
      const res = await h.request.get('/tests/pub');
      expect(res.status).toBe(200);
      expect(res.body.files).toBeNull();
      expect(h.log.lines).toContainEqual(
        expect.objectContaining({ severity: 'WARNING', message: 'Test files not listed' }),
      );
    });

    it('lists carry no files summary', async () => {
      const h = await setup();
      const res = await h.request.get(`/tests?repo=${PUBLIC}&sha=${'a'.repeat(40)}`);
      expect(res.body.tests.map((t: { files: unknown }) => t.files)).toEqual([null, null]);
    });
  });

  describe('a private repository', () => {
    it.each(['/tests/priv/files', '/tests/priv/files/log.txt', '/tests/priv/log'])(
      'GET %s: 403 for a stranger, nothing read',
      async (path) => {
        const h = await setup();
        await put(h.files, 'priv', 'log.txt', 'private output');
        const res = await h.request.get(path);
        expect(res.status).toBe(403);
        expect(res.body).toEqual({
          error:
            "This test's files are hidden: its repository is private. Status viewers see them with an ID token.",
        });
        expect(res.text).not.toContain('private output');
        expect(h.reads).toEqual([]);
      },
    );

    it('a status viewer gets them', async () => {
      const h = await setup();
      await put(h.files, 'priv', 'log.txt', 'private output');
      const log = await h.request.get('/tests/priv/files/log.txt').set('authorization', viewer());
      expect(log.status).toBe(200);
      expect(log.text).toBe('private output');
      const view = await h.request.get('/tests/priv').set('authorization', viewer());
      expect(view.body.files).toMatchObject({ count: 1 });
    });

    it('the view hides the files from a stranger', async () => {
      const h = await setup();
      await put(h.files, 'priv', 'log.txt', 'x');
      expect((await h.request.get('/tests/priv')).body).toMatchObject({
        detailsHidden: true,
        files: null,
        failures: null,
      });
    });
  });

  it('storage failing a download: the generic 500, details only in the log', async () => {
    const h = await setup((files) => ({
      ...files,
      read: async () => {
        throw new Error('gs://secret-bucket unavailable');
      },
    }));
    const res = await h.request.get('/tests/pub/files/log.txt');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      error: 'The test status could not be read right now. Please try again later.',
    });
    expect(res.text).not.toContain('secret-bucket');
  });
});
