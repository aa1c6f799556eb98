// A Compute stand-in on its own port, with real @google-cloud/compute clients
// pointed at it, for the tests in test/local/compute*.test.ts.
import { randomUUID } from 'node:crypto';
import { InstancesClient, ZoneOperationsClient, type protos } from '@google-cloud/compute';
import { serve } from '../../infra/local/http';
import {
  createComputeStandIn,
  type ComputeStandIn,
  type ComputeStandInOptions,
} from '../../infra/local/compute';
import { localClientOptions } from '../../shared/gcp/client-options';

export type Operation = protos.google.cloud.compute.v1.IOperation;
export type InstanceResource = protos.google.cloud.compute.v1.IInstance;

export const PROJECT = 'vmci-local-test';
export const ZONE = 'us-central1-a';
export const OTHER_ZONE = 'us-central1-b';

export interface ComputeHarness {
  compute: ComputeStandIn;
  url: string;
  instances: InstancesClient;
  operations: ZoneOperationsClient;
  /** instances.insert through the real client; resolves to the operation it answered. */
  insert(
    resource: InstanceResource,
    options?: { zone?: string; requestId?: string },
  ): Promise<Operation>;
  /** zoneOperations.wait until DONE (each call answers after at most the wait budget). */
  waitDone(op: Operation, zone?: string): Promise<Operation>;
  /** insert, then wait until DONE. */
  create(resource: InstanceResource, options?: { zone?: string }): Promise<Operation>;
  /** instances.delete through the real client (no requestId unless given); its operation. */
  del(name: string, options?: { zone?: string; requestId?: string }): Promise<Operation>;
  get(name: string, zone?: string): Promise<InstanceResource>;
  /** POST a JSON body to a path of the local port. */
  post(path: string, body: unknown): Promise<{ status: number; body: unknown }>;
  /** GET a path of the local port as JSON. */
  getJson(path: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export function machineType(zone = ZONE): string {
  return `zones/${zone}/machineTypes/e2-small`;
}

export async function startCompute(options: ComputeStandInOptions = {}): Promise<ComputeHarness> {
  const compute = createComputeStandIn({ project: PROJECT, ...options });
  const server = await serve([compute]);
  const endpoint = { host: '127.0.0.1', port: server.port };
  // Spread: LocalClientOptions is an interface, which TypeScript does not let
  // stand in for ClientOptions' index signature; a fresh object is needed anyway.
  const instances = new InstancesClient(localClientOptions(endpoint));
  const operations = new ZoneOperationsClient(localClientOptions(endpoint));

  const insert: ComputeHarness['insert'] = async (resource, opts = {}) => {
    const zone = opts.zone ?? ZONE;
    const [lro] = await instances.insert({
      project: PROJECT,
      zone,
      requestId: opts.requestId ?? randomUUID(),
      instanceResource: { machineType: machineType(zone), ...resource },
    });
    return lro.latestResponse as Operation;
  };
  const waitDone: ComputeHarness['waitDone'] = async (op, zone = ZONE) => {
    let current = op;
    for (let i = 0; current.status !== 'DONE'; i++) {
      if (i > 100) throw new Error(`operation ${op.name} not DONE after ${i} waits`);
      [current] = await operations.wait({ project: PROJECT, zone, operation: op.name ?? '' });
    }
    return current;
  };
  return {
    compute,
    url: server.url,
    instances,
    operations,
    insert,
    waitDone,
    create: async (resource, opts = {}) => waitDone(await insert(resource, opts), opts.zone),
    del: async (name, opts = {}) => {
      const [lro] = await instances.delete({
        project: PROJECT,
        zone: opts.zone ?? ZONE,
        instance: name,
        ...(opts.requestId ? { requestId: opts.requestId } : {}),
      });
      return lro.latestResponse as Operation;
    },
    get: async (name, zone = ZONE) =>
      (await instances.get({ project: PROJECT, zone, instance: name }))[0],
    post: async (path, body) => {
      const res = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as unknown };
    },
    getJson: async (path) => {
      const res = await fetch(`${server.url}${path}`);
      return { status: res.status, body: (await res.json()) as unknown };
    },
    close: async () => {
      await Promise.all([instances.close(), operations.close()]);
      await server.close();
    },
  };
}

/** What the real client threw, or a failure if it did not throw. */
export async function thrown(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to throw');
}

/** Polls until `check()` is true (loose: the machine is shared). */
export async function eventually(check: () => boolean, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Instance metadata in the REST shape, from a plain map. */
export const metadata = (items: Record<string, string>) => ({
  items: Object.entries(items).map(([key, value]) => ({ key, value })),
});
