// The small HTTP plumbing the local stand-ins share. Each stand-in is a
// `LocalService`: it answers the requests it owns and passes on the rest, so
// all of them can sit behind one port (DESIGN §8) or run alone in a test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalService {
  /** Answers the request and resolves true, or resolves false without touching it. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** Stops timers and child processes. */
  close(): Promise<void>;
}

export async function readBody(
  req: IncomingMessage,
  limitBytes = 32 * 1024 * 1024,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw new HttpError(413, 'INVALID_ARGUMENT', 'request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'INVALID_ARGUMENT', 'request body is not JSON');
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

/** An error answered in Google's JSON error shape: {error: {code, message, status, errors?, details?}}. */
export class HttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
    readonly extra: { errors?: unknown[]; details?: unknown[] } = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendGoogleError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.httpStatus, {
    error: { code: err.httpStatus, message: err.message, status: err.status, ...err.extra },
  });
}

/** Serves the services on one port, first match wins; unknown paths get 404. */
export async function serve(
  services: LocalService[],
  options: { port?: number; host?: string } = {},
): Promise<{ server: Server; port: number; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      try {
        for (const service of services) {
          if (await service.handle(req, res, url)) return;
        }
        sendGoogleError(
          res,
          new HttpError(404, 'NOT_FOUND', `no local service at ${url.pathname}`),
        );
      } catch (err) {
        if (res.headersSent) return res.destroy();
        if (err instanceof HttpError) return sendGoogleError(res, err);
        sendGoogleError(
          res,
          new HttpError(500, 'INTERNAL', err instanceof Error ? err.message : String(err)),
        );
      }
    })();
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host}:${port}`,
    close: async () => {
      await Promise.all(services.map((s) => s.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
