// How every function is served (shared/http/function-app.ts, raw-body.ts),
// through a real HTTP server: no body is read before the door asks, none over
// its cap is buffered, nothing compressed is inflated, and every answer —
// refusals and crashes included — is JSON with the strict headers and no stack.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import {
  COMPRESSED_BODY,
  DRAIN_MS,
  functionApp,
  SECURITY_HEADERS,
  serveFunction,
  type Door,
} from '../../shared/http/function-app';
import {
  BODY_NOT_RECEIVED,
  parseJsonObject,
  readRawBody,
  utf8Text,
  type BodyRead,
} from '../../shared/http/raw-body';
import { createLogger } from '../../shared/log';
import { captureLog } from '../support/capture-log';

const CAP = 1024;

interface Served {
  url: string;
  port: number;
  /** What the door's readRawBody returned, per request. */
  reads: BodyRead[];
  calls: number;
  logs: ReturnType<typeof captureLog>;
  close(): Promise<void>;
}

async function serveDoor(door?: Door): Promise<Served> {
  const logs = captureLog();
  const served = { reads: [] as BodyRead[], calls: 0 };
  const readingDoor: Door = async (req, res) => {
    served.calls += 1;
    const read = await readRawBody(req, CAP);
    served.reads.push(read);
    if (!read.ok) {
      res.status(read.status).json({ error: read.error });
      return;
    }
    res.status(200).json({ bytes: read.bytes.length });
  };
  const app = functionApp(door ?? readingDoor, { log: logs.log });
  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get reads() {
      return served.reads;
    },
    get calls() {
      return served.calls;
    },
    logs,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface RawAnswer {
  /** Everything the server sent until the answer was whole. */
  text: string;
  /** When the whole answer had arrived, in ms since the request began. */
  answeredMs: number;
  /** Resolves with ms since the request began once the server closed the connection. */
  closed: Promise<number>;
}

/**
 * Writes `head` (and `body`) on a raw socket and resolves once a whole answer
 * (head and Content-Length bytes) has arrived, or the connection closed.
 */
async function rawRequest(
  port: number,
  head: string,
  body?: (write: (chunk: string | Buffer) => boolean) => Promise<void>,
): Promise<RawAnswer> {
  const started = Date.now();
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('error', () => {}); // the server may reset a connection it refused
  const closed = once(socket, 'close').then(() => Date.now() - started);
  const answered = new Promise<number>((resolve) => {
    const whole = () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /^content-length:\s*(\d+)/im.exec(text.slice(0, Math.max(end, 0)))?.[1];
      return end >= 0 && length !== undefined && text.length - end - 4 >= Number(length);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (whole()) resolve(Date.now() - started);
    });
    void closed.then(resolve);
  });
  socket.write(head);
  if (body) await body((chunk) => !socket.destroyed && socket.write(chunk));
  const answeredMs = await answered;
  return { text: Buffer.concat(chunks).toString('utf8'), answeredMs, closed };
}

function expectStrictJson(res: Response): void {
  expect(res.headers.get('content-type')).toMatch(/^application\/json; charset=utf-8$/);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    expect(res.headers.get(name)).toBe(value);
  }
  expect(res.headers.get('x-powered-by')).toBeNull();
}

describe('functionApp', () => {
  let served: Served;
  afterEach(async () => served?.close());

  it('gives the door the raw bytes, exactly, and sends the strict headers', async () => {
    served = await serveDoor();
    const body = Buffer.from([0x7b, 0xff, 0x00, 0x7d]);
    const res = await fetch(served.url, { method: 'POST', body });

    expect(res.status).toBe(200);
    expectStrictJson(res);
    expect(await res.json()).toEqual({ bytes: 4 });
    expect(served.reads[0]).toEqual({ ok: true, bytes: body });
  });

  it('takes a body of exactly the cap', async () => {
    served = await serveDoor();
    const res = await fetch(served.url, { method: 'POST', body: 'x'.repeat(CAP) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bytes: CAP });
  });

  it.each(['gzip', 'deflate', 'br', 'GZIP', 'gzip, identity', 'x-unknown'])(
    'refuses Content-Encoding %s with a JSON 415 before the door runs',
    async (encoding) => {
      served = await serveDoor();
      const res = await fetch(served.url, {
        method: 'POST',
        headers: { 'content-encoding': encoding },
        body: 'x'.repeat(CAP * 4),
      });
      expect(res.status).toBe(415);
      expectStrictJson(res);
      expect(await res.json()).toEqual({ error: COMPRESSED_BODY });
      expect(served.calls).toBe(0);
    },
  );

  it('lets Content-Encoding: identity through', async () => {
    served = await serveDoor();
    const res = await fetch(served.url, {
      method: 'POST',
      headers: { 'content-encoding': 'identity' },
      body: 'abc',
    });
    expect(res.status).toBe(200);
  });

  it('refuses a declared length over the cap before a byte of it is sent', async () => {
    served = await serveDoor();
    // 200 MiB declared, nothing sent: the answer comes anyway.
    const answer = await rawRequest(
      served.port,
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${200 * 1024 * 1024}\r\n\r\n`,
    );
    expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.text).toContain('{"error":"The body is over 1 KiB."}');
    expect(answer.answeredMs).toBeLessThan(DRAIN_MS);
    // The body never comes: the connection is dropped after the drain time, not kept.
    expect(await answer.closed).toBeGreaterThanOrEqual(DRAIN_MS);
  });

  it('stops keeping a chunked body as soon as it passes the cap, and still answers', async () => {
    served = await serveDoor();
    let sent = 0;
    const answer = await rawRequest(
      served.port,
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      async (write) => {
        // Far more than the cap, a chunk at a time, then the end of the body.
        for (let i = 0; i < 200; i++) {
          const chunk = 'y'.repeat(512);
          if (!write(`${(512).toString(16)}\r\n${chunk}\r\n`)) break;
          sent += 512;
          await new Promise((resolve) => setImmediate(resolve));
        }
        write('0\r\n\r\n');
      },
    );
    expect(answer.text).toMatch(/^HTTP\/1\.1 413 /);
    expect(served.reads).toEqual([{ ok: false, status: 413, error: 'The body is over 1 KiB.' }]);
    expect(sent).toBe(200 * 512);
  });

  it('reads and drops the rest of a refused upload, so the client gets the answer whole', async () => {
    served = await serveDoor();
    // 40 times the cap, streamed by fetch: the 413 comes whole, no reset.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(CAP).fill(0x61));
        controller.close();
      },
    });
    const res = await fetch(served.url, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({ error: 'The body is over 1 KiB.' });
  });

  it('answers a body cut short with a 400 refusal, not a crash', async () => {
    served = await serveDoor();
    const socket = connect(served.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\nonly this much');
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    for (let i = 0; i < 100 && served.reads.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(served.reads).toEqual([{ ok: false, status: 400, error: BODY_NOT_RECEIVED }]);
    // The server still serves.
    expect((await fetch(served.url, { method: 'POST', body: '{}' })).status).toBe(200);
  });

  it.each([undefined, 'development', 'production'])(
    'answers a door that throws with one JSON line and no stack (NODE_ENV %s)',
    async (nodeEnv) => {
      const saved = process.env.NODE_ENV;
      if (nodeEnv === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = nodeEnv;
      try {
        served = await serveDoor(async () => {
          throw new Error('secret internals at /srv/app.js:12');
        });
        const res = await fetch(`${served.url}/x`, { method: 'POST', body: '{' });
        const text = await res.text();
        expect(res.status).toBe(500);
        expectStrictJson(res);
        expect(JSON.parse(text)).toEqual({ error: 'vm-ci could not answer this request.' });
        expect(text).not.toMatch(/internals|stack|\.js/);
        // The details are in the log, for Error Reporting.
        expect(served.logs.entries).toContainEqual(
          expect.objectContaining({ level: 'error', message: 'Request failed' }),
        );
      } finally {
        process.env.NODE_ENV = saved;
      }
    },
  );

  it('escapes markup in JSON answers', async () => {
    served = await serveDoor(async (_req, res) => {
      res.json({ value: '<img src=x onerror=alert(1)></script>&' });
    });
    const text = await (await fetch(served.url)).text();
    expect(text).not.toMatch(/[<>&]/);
    expect(JSON.parse(text)).toEqual({ value: '<img src=x onerror=alert(1)></script>&' });
  });
});

describe('serveFunction', () => {
  it('answers a request that does not parse with JSON, not a bare 400', async () => {
    const app = functionApp(async (_req, res) => void res.json({ ok: true }), {
      log: createLogger({ write: () => {} }),
    });
    const server = serveFunction(app, 0);
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const { text: answer } = await rawRequest(port, 'NOT A REQUEST\r\n\r\n');
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toMatch(/Content-Type: application\/json/);
      expect(answer.slice(answer.indexOf('\r\n\r\n') + 4)).toBe(
        '{"error":"The request could not be read."}',
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('body helpers', () => {
  it('utf8Text refuses bytes that are not UTF-8', () => {
    expect(utf8Text(Buffer.from('héllo'))).toBe('héllo');
    expect(utf8Text(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toBeUndefined();
    expect(utf8Text(Buffer.from([0xed, 0xa0, 0x80]))).toBeUndefined(); // a lone surrogate
  });

  it('parseJsonObject takes only JSON objects', () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 });
    for (const text of ['', '[]', '1', '"x"', 'null', '{', '{"a":1}x']) {
      expect(parseJsonObject(text)).toBeUndefined();
    }
    // __proto__ stays an own key: nothing reaches Object.prototype.
    const parsed = parseJsonObject('{"__proto__": {"polluted": true}}')!;
    expect(Object.keys(parsed)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
