// How every vm-ci function is served, locally and deployed (DESIGN §1, §3.6):
// an Express app with no body parser at all. The Functions Framework parses
// and inflates every body (up to 1 GiB) before a function's first line runs, and
// answers what it refuses with HTML; here each door reads its own raw bytes
// (./raw-body.ts) when its checks allow, and every answer is JSON with the
// same strict headers, whatever NODE_ENV says.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../log';

export type { Request, Response } from 'express';

/** A function's door: it answers every request it is given. */
export type Door = (req: Request, res: Response) => Promise<void>;

/** Sent with every answer: nothing is sniffed as HTML, framed, loaded, cached or referred. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy':
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

export const COMPRESSED_BODY =
  'Compressed bodies are not accepted: send the body without Content-Encoding.';
const INTERNAL = 'vm-ci could not answer this request.';
const BAD_REQUEST = 'The request could not be read.';

export function functionApp(door: Door, { log }: { log: Logger }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // `<`, `>` and `&` in JSON answers as \u escapes: no browser can take them for markup.
  app.set('json escape', true);
  app.set('query parser', 'simple');

  app.use((req: Request, res: Response, next: NextFunction) => {
    res.set(SECURITY_HEADERS);
    drainUnreadBody(req, res);
    // GitHub sends none; an encoded body is never inflated, so it cannot be read.
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      log.warn('Request refused: compressed body', { encoding: encoding.slice(0, 40) });
      res.status(415).json({ error: COMPRESSED_BODY });
      return;
    }
    next();
  });
  app.use((req: Request, res: Response, next: NextFunction) => {
    door(req, res).catch(next);
  });
  // Only what the door did not expect gets here: one generic JSON line, the details logged.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = clientErrorStatus(error);
    if (status === undefined) log.error('Request failed', { error, path: req.path });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(status ?? 500).json({ error: status ? BAD_REQUEST : INTERNAL });
  });
  return app;
}

/** A 4xx that Express or Node raised about the request itself (a malformed URL, say). */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { status, statusCode } = error as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && code >= 400 && code < 500 ? code : undefined;
}

function declaresBody(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  return req.headers['transfer-encoding'] !== undefined || length > 0;
}

/** How long the rest of a refused body is read (and dropped) after the answer. */
export const DRAIN_MS = 2_000;

/**
 * A door that answers without reading the whole body (a refusal) leaves the
 * rest to be read and dropped, for a short while: closing at once would make
 * the kernel reset a connection the client is still writing to, and the
 * client could lose the answer. Nothing of it is kept, and a body that does
 * not end within DRAIN_MS loses its connection.
 */
function drainUnreadBody(req: IncomingMessage, res: ServerResponse): void {
  if (!declaresBody(req)) return;
  res.once('finish', () => {
    if (req.readableEnded) return;
    const timer = setTimeout(() => req.socket.destroy(), DRAIN_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    req.resume();
  });
}

/**
 * Serves one function as its own process (`node index.js`, deployed): on
 * $PORT, answering requests that do not even parse with JSON, and stopping
 * cleanly on SIGTERM (Cloud Run's notice before it stops an instance).
 */
export function serveFunction(app: Express, port = Number(process.env.PORT ?? 8080)): Server {
  const server = createServer(app);
  server.on('clientError', (_error: Error, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const body = JSON.stringify({ error: BAD_REQUEST });
    socket.end(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  server.listen(port);
  // Cloud Run kills the instance 10 s after SIGTERM: finish what is in flight, then exit.
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 8_000).unref();
  });
  return server;
}
