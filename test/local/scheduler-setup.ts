// A scheduler stand-in behind a real port, the real CloudSchedulerClient, and
// a target server that records what the scheduler sends it.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { localClientOptions } from '../../shared/gcp/client-options';
import { serve } from '../../infra/local/http';
import {
  createSchedulerStandIn,
  type SchedulerStandIn,
  type SchedulerStandInOptions,
} from '../../infra/local/scheduler';

export const PROJECT = 'vmci-test';
export const LOCATION = 'europe-west1';
export const PARENT = `projects/${PROJECT}/locations/${LOCATION}`;

export interface SchedulerHarness {
  scheduler: SchedulerStandIn;
  client: CloudSchedulerClient;
  close(): Promise<void>;
}

export async function startScheduler(
  options: SchedulerStandInOptions = {},
): Promise<SchedulerHarness> {
  const scheduler = createSchedulerStandIn({ project: PROJECT, location: LOCATION, ...options });
  const server = await serve([scheduler]);
  // spread: LocalClientOptions is an interface, which lacks ClientOptions' index signature
  const client = new CloudSchedulerClient({
    ...localClientOptions({ host: '127.0.0.1', port: server.port }),
  });
  return {
    scheduler,
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

export interface Hit {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Target {
  url: string;
  hits: Hit[];
  /** statuses to answer, in order; 200 once they run out */
  answers: number[];
  waitFor(count: number, timeoutMs?: number): Promise<Hit[]>;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const hits: Hit[] = [];
  const answers: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      hits.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(answers.shift() ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    answers,
    async waitFor(count, timeoutMs = 10_000) {
      await eventually(
        () => hits.length >= count,
        timeoutMs,
        () => `target got ${hits.length} calls, wanted ${count}`,
      );
      return hits.slice(0, count);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls until `done()` holds; loose timeouts, the machine is shared. */
export async function eventually(
  done: () => boolean,
  timeoutMs = 10_000,
  what = () => 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
