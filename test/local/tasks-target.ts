// An HTTP server for the Cloud Tasks stand-in's tests to dispatch to: it
// records every request, answers as the test says (optionally after a delay),
// and tracks how many requests it holds at once.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Epoch ms when the request's body had arrived. */
  at: number;
  /** True when the caller hung up before the answer was sent. */
  aborted: boolean;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface Target {
  /** http://127.0.0.1:PORT */
  url: string;
  received: ReceivedRequest[];
  /** The most requests held at once. */
  maxConcurrent(): number;
  close(): Promise<void>;
}

export async function startTarget(
  reply: (request: ReceivedRequest, index: number) => Reply = () => ({ status: 200 }),
): Promise<Target> {
  const received: ReceivedRequest[] = [];
  let current = 0;
  let max = 0;
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    current += 1;
    max = Math.max(max, current);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        current -= 1;
      }
    };
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
        aborted: false,
      };
      received.push(request);
      const answer = reply(request, received.length - 1);
      const timer = setTimeout(() => {
        timers.delete(timer);
        finish();
        if (res.destroyed) return;
        res.writeHead(answer.status, answer.headers ?? {});
        res.end('answer');
      }, answer.delayMs ?? 0);
      timers.add(timer);
      res.on('close', () => {
        if (!res.writableFinished) {
          request.aborted = true;
          clearTimeout(timer);
          finish();
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    maxConcurrent: () => max,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
