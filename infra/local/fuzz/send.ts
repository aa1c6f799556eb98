// Sends one fuzz request over plain HTTP and reads what came back: the status,
// whether the answer was JSON (or, worse, an HTML page), or no answer at all.
import { request, type Agent, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { FuzzRequest, StreamedBody } from './requests';

export interface FuzzAnswer {
  /** null: the connection ended without an answer. */
  status: number | null;
  contentType: string | null;
  json: boolean;
  html: boolean;
  error?: string;
  ms: number;
}

const ANSWER_TIMEOUT_MS = 30_000;
/** How much of an answer is read: refusals are one line. */
const READ_LIMIT = 64 * 1024;

function looksLikeHtml(contentType: string | null, body: string): boolean {
  return /text\/html/i.test(contentType ?? '') || /<\s*(!doctype|html|body|pre|head)\b/i.test(body);
}

function answerOf(
  status: number,
  contentType: string | null,
  body: string,
  started: number,
): FuzzAnswer {
  return {
    status,
    contentType,
    // A HEAD, a 204 or a 304 has no body to be JSON.
    json: body.length === 0 || /^application\/json\b/i.test(contentType ?? ''),
    html: looksLikeHtml(contentType, body),
    ms: Date.now() - started,
  };
}

function isStreamed(body: FuzzRequest['body']): body is StreamedBody {
  return body !== undefined && !Buffer.isBuffer(body);
}

export function sendFuzzRequest(
  target: { host: string; port: number; agent: Agent },
  fuzz: FuzzRequest,
): Promise<FuzzAnswer> {
  if (fuzz.declaredOnly !== undefined) return sendDeclaredOnly(target, fuzz, fuzz.declaredOnly);
  const started = Date.now();
  return new Promise<FuzzAnswer>((resolve) => {
    let settled = false;
    const settle = (answer: FuzzAnswer) => {
      if (settled) return;
      settled = true;
      resolve(answer);
    };
    const body = fuzz.body;
    const length = body === undefined ? 0 : isStreamed(body) ? body.bytes : body.length;
    const req = request({
      host: target.host,
      port: target.port,
      agent: target.agent,
      method: fuzz.method,
      path: `/${fuzz.fn}${fuzz.path}`,
      headers: { ...fuzz.headers, 'content-length': String(length) },
      timeout: ANSWER_TIMEOUT_MS,
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < READ_LIMIT) chunks.push(chunk);
        size += chunk.length;
      });
      const done = () =>
        settle(
          answerOf(
            res.statusCode ?? 0,
            (res.headers['content-type'] as string | undefined) ?? null,
            Buffer.concat(chunks).toString('utf8'),
            started,
          ),
        );
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A refused upload may break the write after the answer came: the answer counts.
      settle({
        status: null,
        contentType: null,
        json: false,
        html: false,
        error: error.code ?? error.message,
        ms: Date.now() - started,
      });
    });
    if (body === undefined) return void req.end();
    if (!isStreamed(body)) return void req.end(body);
    let sent = 0;
    const pump = () => {
      while (sent < body.bytes && !req.destroyed && !settled) {
        const chunk = body.chunk.subarray(0, Math.min(body.chunk.length, body.bytes - sent));
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      if (sent >= body.bytes) req.end();
    };
    pump();
  });
}

/** Headers with a Content-Length the body never reaches: the door must answer anyway. */
function sendDeclaredOnly(
  target: { host: string; port: number },
  fuzz: FuzzRequest,
  declared: number,
): Promise<FuzzAnswer> {
  const started = Date.now();
  return new Promise<FuzzAnswer>((resolve) => {
    const socket = connect(target.port, target.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const head = /^HTTP\/1\.1 (\d{3})[^\r\n]*\r\n([\s\S]*?)\r\n\r\n/.exec(text);
      if (!head) {
        resolve({
          status: null,
          contentType: null,
          json: false,
          html: false,
          error: 'no answer',
          ms: Date.now() - started,
        });
        return;
      }
      const contentType = /^content-type:\s*([^\r\n]+)/im.exec(head[2]!)?.[1] ?? null;
      resolve(answerOf(Number(head[1]), contentType, text.slice(head[0].length), started));
    };
    const timer = setTimeout(finish, ANSWER_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // The whole answer is in once its declared length has arrived.
      const text = Buffer.concat(chunks).toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      const length = /^content-length:\s*(\d+)/im.exec(text.slice(0, end))?.[1];
      if (end >= 0 && length !== undefined && text.length - end - 4 >= Number(length)) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
    const headers = Object.entries(fuzz.headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(
      `${fuzz.method} /${fuzz.fn}${fuzz.path} HTTP/1.1\r\nHost: ${target.host}\r\n${headers}` +
        `Content-Length: ${declared}\r\n\r\n{"`,
    );
  });
}
