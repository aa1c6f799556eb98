// A VM's files through the local cloud (DESIGN §6, §8): the progress function
// stores the log and result files a VM uploads with its token, in the Cloud
// Storage stand-in through the real client; a failed run's final line names
// its failing tests from the JUnit file; the status function lists the files,
// serves them as attachments and gives the log's last lines. Refusals (a wrong
// token, a canceled test, the caps) store nothing.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { deriveVmToken, hashVmToken } from '../../shared/auth/vm-token';
import { filesBucket } from '../../shared/config';
import type { TestRecord } from '../../shared/domain/test';
import { TEST_FILES_MAX_BYTES, UPLOAD_MAX_BYTES } from '../../shared/files/upload';
import { testRecord } from '../contracts/store/fixtures';
import { latestStatuses, REPO, useWebhookCloud } from './webhook-support';

const env = useWebhookCloud({ functions: ['progress', 'status'], fresh: 'each' });

const PYTEST = readFileSync(join(__dirname, '../fixtures/junit/pytest.xml'));
const SHA = 'f'.repeat(40);
const NAMED =
  '3 of 4 tests failed: test_parser.test_utf8, test_parser.TestLexer.test_eof, test_parser.test_query';

/** A running test on its VM, with the token that VM holds. */
async function runningTest(
  id: string,
  overrides: Partial<TestRecord> = {},
): Promise<{ test: TestRecord; token: string }> {
  const vm = `vmci-linux-${id}-1`;
  const token = deriveVmToken(env.cloud.tokenKey, id, vm);
  const test = testRecord({
    id,
    repo: REPO,
    repoPublic: true,
    sha: SHA,
    status: 'running',
    stage: 'testing',
    message: 'Running tests',
    attempts: 1,
    instance: { name: vm, zone: 'local-a', provisioning: 'STANDARD' },
    tokenHash: hashVmToken(token),
    ...overrides,
  });
  await env.store.createTests([test]);
  return { test, token };
}

function upload(
  token: string,
  name: string,
  body: string | Buffer,
  contentType = 'text/plain; charset=utf-8',
): Promise<Response> {
  return fetch(`${env.cloud.url}/progress/files/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body,
  });
}

function report(token: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${env.cloud.url}/progress`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const status = (path: string) => fetch(`${env.cloud.url}/status${path}`);

/** The objects the storage stand-in holds in the files bucket, name → text. */
function stored(): Record<string, string> {
  const objects = env.cloud.storage.objects(filesBucket(env.cloud.config));
  return Object.fromEntries(objects.map((o) => [o.name, o.body.toString('utf8')]));
}

describe('a VM’s files, through progress and status', () => {
  it('upload, a failing result, then the named line, the files, the download and the log’s tail', async () => {
    const { test, token } = await runningTest('files-flow');
    const log = Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n') + '\n';

    const put = await upload(token, 'log.txt', log);
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({ name: 'log.txt', size: Buffer.byteLength(log) });
    // Percent-encoded segments, decoded once.
    const junit = await upload(token, 'results%2Fjunit%2Fpytest.xml', PYTEST, 'application/xml');
    expect(junit.status).toBe(201);
    expect((await upload(token, 'log.txt', log)).status).toBe(200);

    const ended = await report(token, {
      testId: test.id,
      stage: 'completed',
      result: { exitCode: 1, passed: 1, failed: 3, summary: '1 passed, 3 failed' },
    });
    expect(ended.status).toBe(200);

    const after = await env.store.getTest(test.id);
    expect(after).toMatchObject({ status: 'failed', message: NAMED });
    expect(after?.failures?.cases.map((c) => c.name)).toEqual([
      'test_utf8',
      'test_eof',
      'test_query',
    ]);
    expect(latestStatuses(env.cloud, SHA)['ci/linux']).toMatchObject({
      state: 'failure',
      description: NAMED,
    });

    const view = (await (await status(`/tests/${test.id}`)).json()) as Record<string, unknown>;
    expect(view).toMatchObject({
      message: NAMED,
      failures: { counts: { tests: 5, failures: 2, errors: 1, skipped: 1 } },
      files: {
        count: 2,
        log: `${env.cloud.url}/status/tests/${test.id}/files/log.txt`,
        list: `${env.cloud.url}/status/tests/${test.id}/files`,
      },
    });

    const listed = await status(`/tests/${test.id}/files`);
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({
      files: [
        expect.objectContaining({
          name: 'log.txt',
          size: Buffer.byteLength(log),
          contentType: 'text/plain; charset=utf-8',
        }),
        expect.objectContaining({
          name: 'results/junit/pytest.xml',
          size: PYTEST.length,
          contentType: 'application/xml',
          url: `${env.cloud.url}/status/tests/${test.id}/files/results/junit/pytest.xml`,
        }),
      ],
    });

    const download = await status(`/tests/${test.id}/files/results/junit/pytest.xml`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="pytest.xml"');
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(download.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(Buffer.from(await download.arrayBuffer())).toEqual(PYTEST);

    const tail = await status(`/tests/${test.id}/log?tail=3`);
    expect(await tail.json()).toEqual({
      lines: ['line 297', 'line 298', 'line 299'],
      truncated: true,
      size: Buffer.byteLength(log),
    });
  });

  it('a wrong token: 401 before the body, nothing stored', async () => {
    const { test } = await runningTest('files-401');
    const other = await runningTest('files-other');
    for (const token of [`${test.id}.${'A'.repeat(43)}`, other.token, 'nonsense']) {
      const res = await fetch(`${env.cloud.url}/progress/files/log.txt`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}` },
        body: 'forged',
      });
      // Another test's token uploads to that test: here, nothing reaches this one.
      if (token === other.token) expect(res.status).toBe(201);
      else {
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: 'Unknown test or wrong token.' });
      }
    }
    expect(Object.keys(stored())).toEqual([`tests/${other.test.id}/log.txt`]);
  });

  it('a wrong token is answered before the body: a declared 100 MiB upload is never sent', async () => {
    const { test } = await runningTest('files-unread');
    const socket = connect(env.cloud.port, '127.0.0.1');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const closed = once(socket, 'close');
    socket.write(
      'PUT /progress/files/log.txt HTTP/1.1\r\nHost: x\r\n' +
        `Authorization: Bearer ${test.id}.${'A'.repeat(43)}\r\n` +
        `Content-Length: ${100 * 1024 * 1024}\r\n\r\nthe start of it`,
    );
    await closed;
    expect(Buffer.concat(chunks).toString('utf8')).toMatch(/^HTTP\/1\.1 401 /);
    expect(stored()).toEqual({});
  });

  it('only PUT: 405 with Allow: PUT', async () => {
    const { token } = await runningTest('files-method');
    for (const method of ['POST', 'GET', 'DELETE']) {
      const res = await fetch(`${env.cloud.url}/progress/files/log.txt`, {
        method,
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('PUT');
    }
  });

  it('a canceled test: 409 with the reports’ text, nothing stored', async () => {
    const { token } = await runningTest('files-canceled', { status: 'canceled', stage: null });
    const res = await upload(token, 'log.txt', 'late');
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      error: 'The test was canceled: stop the tests and power off.',
      status: 'canceled',
    });
    expect(stored()).toEqual({});
  });

  it('a bad name: 400, nothing stored', async () => {
    const { token } = await runningTest('files-name');
    for (const name of ['other.txt', 'results/..%2Flog.txt', 'results/a%20b.xml']) {
      expect((await upload(token, name, 'x')).status).toBe(400);
    }
    expect(stored()).toEqual({});
  });

  // 80 MiB through the real client and the storage stand-in: slow on a busy 2-core machine.
  it('over the request cap: 413; over the test’s 64 MiB: 507; nothing of either stored', async () => {
    const { test, token } = await runningTest('files-caps');
    const big = Buffer.alloc(UPLOAD_MAX_BYTES + 1, 0x61);
    const over = await upload(token, 'results/big.bin', big, 'application/octet-stream');
    expect(over.status).toBe(413);
    expect(await over.json()).toEqual({ error: 'The body is over 16 MiB.' });

    // 64 MiB in all, in parts the client sends in one request each (a resumable upload is slower).
    const part = Buffer.alloc(TEST_FILES_MAX_BYTES / 8, 0x62);
    const parts = Array.from({ length: 8 }, (_, n) => `results/part${n}.bin`);
    for (const name of parts) {
      expect((await upload(token, name, part, 'application/octet-stream')).status).toBe(201);
    }
    const more = await upload(token, 'log.txt', 'one more byte');
    expect(more.status).toBe(507);
    expect(await more.json()).toEqual({ error: "The test's files would be over 64 MiB in all." });
    // A replacement counts its new size: a smaller last part leaves room for the log.
    expect((await upload(token, 'results/part7.bin', 'small')).status).toBe(200);
    expect((await upload(token, 'log.txt', 'fits now')).status).toBe(201);
    expect(Object.keys(stored()).sort()).toEqual(
      ['log.txt', ...parts].map((name) => `tests/${test.id}/${name}`),
    );
  }, 180_000);

  it('a log holding the VM’s token is stored redacted', async () => {
    const { test, token } = await runningTest('files-redact');
    const res = await upload(token, 'log.txt', `vmci: curl -H "Authorization: Bearer ${token}"\n`);
    expect(res.status).toBe(201);
    expect(stored()).toEqual({
      [`tests/${test.id}/log.txt`]: 'vmci: curl -H "Authorization: Bearer [redacted]"\n',
    });
    const served = await status(`/tests/${test.id}/files/log.txt`);
    expect(await served.text()).not.toContain(token);
  });
});
