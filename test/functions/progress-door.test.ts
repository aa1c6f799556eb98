// The progress function's door through the local cloud (DESIGN §3.6, §6): the
// token is checked before a byte of the body is read, the body is capped and
// never inflated, a report about another test than the token's is a 401, and
// every refusal is JSON with the strict headers and changes nothing.
import { once } from 'node:events';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { MAX_REPORT_BYTES } from '../../functions/progress/handler';
import { deriveVmToken, hashVmToken } from '../../shared/auth/vm-token';
import type { TestRecord } from '../../shared/domain/test';
import { COMPRESSED_BODY, SECURITY_HEADERS } from '../../shared/http/function-app';
import { testRecord } from '../contracts/store/fixtures';
import { REPO, snapshot, useWebhookCloud } from './webhook-support';

const env = useWebhookCloud({ functions: ['progress'], fresh: 'each' });

const UNAUTHORIZED = { error: 'Unknown test or wrong token.' };

/** A running test on its VM, with the token that VM holds. */
async function runningTest(id: string): Promise<{ test: TestRecord; token: string }> {
  const vm = `vmci-linux-${id}-1`;
  const token = deriveVmToken(env.cloud.tokenKey, id, vm);
  const test = testRecord({
    id,
    repo: REPO,
    status: 'running',
    stage: 'preparation',
    attempts: 1,
    instance: { name: vm, zone: 'local-a', provisioning: 'STANDARD' },
    tokenHash: hashVmToken(token),
    timeline: [{ at: new Date(), status: 'running', stage: 'preparation', message: 'VM started' }],
  });
  await env.store.createTests([test]);
  return { test, token };
}

function post(
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Response & { text(): Promise<string> }> {
  return fetch(`${env.cloud.url}/progress`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

async function expectRefusal(res: Response, status: number, body: unknown): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json\b/);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers.get(name)).toBe(value);
  }
  expect(await res.json()).toEqual(body);
}

describe('progress door', () => {
  it('answers 401 before reading the body: a declared 100 MiB body is never sent', async () => {
    const { test } = await runningTest('door-unread');
    const before = await snapshot(env);
    const socket = connect(env.cloud.port, '127.0.0.1');
    await once(socket, 'connect');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // The body never comes: the door answers, then drops the connection after its drain time.
    const closed = once(socket, 'close');
    socket.write(
      'POST /progress HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${test.id}.${'A'.repeat(43)}\r\n` +
        `Content-Length: ${100 * 1024 * 1024}\r\n\r\n{"testId":`,
    );
    await closed;
    const answer = Buffer.concat(chunks).toString('utf8');

    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer).toContain(JSON.stringify(UNAUTHORIZED));
    expect(await snapshot(env)).toEqual(before);
  });

  it.each([
    ['no Authorization', {}],
    ['a token that is not a VM token', { authorization: 'Bearer not-a-vm-token' }],
    ['a well-formed token of an unknown test', { authorization: `Bearer nope.${'A'.repeat(43)}` }],
    ['a Basic credential', { authorization: 'Basic dXNlcjpwYXNz' }],
  ])('%s: 401, the same answer, whatever the body', async (_name, headers) => {
    await runningTest('door-401');
    const before = await snapshot(env);
    const res = await post('{not json at all', headers as Record<string, string>);
    await expectRefusal(res, 401, UNAUTHORIZED);
    expect(await snapshot(env)).toEqual(before);
  });

  it('refuses a report about another test than its token’s, and leaves both tests as they were', async () => {
    const mine = await runningTest('door-mine');
    const theirs = await runningTest('door-theirs');
    const before = await snapshot(env);
    const res = await post(
      JSON.stringify({ testId: theirs.test.id, stage: 'failed', message: 'forged' }),
      { authorization: `Bearer ${mine.token}` },
    );
    await expectRefusal(res, 401, UNAUTHORIZED);
    expect(await snapshot(env)).toEqual(before);
    expect((await env.store.getTest(theirs.test.id))?.status).toBe('running');
  });

  it('with the right token: a compressed body 415, an oversized one 413, bad JSON 400', async () => {
    const { test, token } = await runningTest('door-bodies');
    const auth = { authorization: `Bearer ${token}` };
    const before = await snapshot(env);
    const report = JSON.stringify({ testId: test.id, stage: 'testing' });

    await expectRefusal(
      await post(gzipSync(report), { ...auth, 'content-encoding': 'gzip' }),
      415,
      { error: COMPRESSED_BODY },
    );
    await expectRefusal(
      await post(
        JSON.stringify({
          testId: test.id,
          stage: 'testing',
          message: 'x'.repeat(MAX_REPORT_BYTES),
        }),
        auth,
      ),
      413,
      { error: 'The body is over 64 KiB.' },
    );
    for (const bad of ['{"testId":', '[]', '', Buffer.from([0x7b, 0xff, 0x7d])]) {
      await expectRefusal(await post(bad, auth), 400, {
        error: 'Invalid report: the body is not a JSON object.',
      });
    }
    const proto = await post(`{"testId":"${test.id}","stage":"testing","__proto__":{"x":1}}`, auth);
    expect(proto.status).toBe(400);
    expect(await snapshot(env)).toEqual(before);

    // The same token and a good body still work: the refusals left the test as it was.
    const ok = await post(report, auth);
    expect(ok.status).toBe(200);
    expect((await env.store.getTest(test.id))?.stage).toBe('testing');
  });
});
