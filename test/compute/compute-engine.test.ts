// What only the Compute Engine adapter shows, beyond the contract: the wait
// loop and its budget (with fake clients and a fake clock), how errors met on
// the way become results, list paging, what it logs, and (through the real
// client and the local stand-in) the instance body that reaches Compute.
import type { protos } from '@google-cloud/compute';
import { createComputeStandIn } from '../../infra/local/compute';
import { serve } from '../../infra/local/http';
import { createComputeClients } from '../../shared/compute/clients';
import {
  createComputeProvisioner,
  type ComputeCallOptions,
  type InstancesApi,
  type ZoneOperationsApi,
} from '../../shared/compute/compute-engine';
import { VM_SCOPES } from '../../shared/compute/instance-resource';
import type { VmSpec } from '../../shared/compute/port';
import { GCP_ERROR_CODES } from '../../shared/gcp/errors';
import { localClientOptions } from '../../shared/gcp/client-options';
import { createLogger } from '../../shared/log';
import { makeSpec } from '../contracts/vm-provisioner.contract';

type IOperation = protos.google.cloud.compute.v1.IOperation;
type IInstance = protos.google.cloud.compute.v1.IInstance;

const PROJECT = 'vmci-adapter-test';
const ZONE = 'us-central1-a';
const OP = 'operation-1760000000000-abc';

interface Call {
  method: 'insert' | 'get' | 'delete' | 'list' | 'wait';
  request: Record<string, unknown>;
  options?: ComputeCallOptions;
}

/** A GoogleError-like rejection, as the REST client throws it. */
const googleError = (code: number, httpStatusCode?: number, message = 'from the client') =>
  Object.assign(new Error(message), {
    code,
    ...(httpStatusCode ? { httpStatusCode } : {}),
  });

const op = (status: IOperation['status'], extra: IOperation = {}): IOperation => ({
  name: OP,
  status,
  ...extra,
});

type Handler<T> = (request: Record<string, unknown>, n: number) => Promise<T> | T;

interface FakeOptions {
  insert?: Handler<IOperation>;
  get?: Handler<IInstance>;
  delete?: Handler<IOperation>;
  list?: Handler<[IInstance[], { pageToken?: string } | null]>;
  wait?: Handler<IOperation>;
  budgetClock?: boolean;
}

/** Fake clients on a fake clock: `sleep` and each call advance `now` only. */
function fake(options: FakeOptions = {}) {
  let time = 1_000_000;
  const calls: Call[] = [];
  const count: Record<Call['method'], number> = { insert: 0, get: 0, delete: 0, list: 0, wait: 0 };
  const record = async <T>(
    method: Call['method'],
    request: object,
    callOptions: ComputeCallOptions | undefined,
    handler: Handler<T> | undefined,
  ): Promise<T> => {
    calls.push({ method, request: request as Record<string, unknown>, options: callOptions });
    count[method] += 1;
    if (!handler) throw new Error(`unexpected ${method}`);
    return handler(request as Record<string, unknown>, count[method]);
  };
  const instances: InstancesApi = {
    insert: async (request, o) => [
      { latestResponse: await record('insert', request, o, options.insert) },
    ],
    get: async (request, o) => [await record('get', request, o, options.get)],
    delete: async (request, o) => [
      { latestResponse: await record('delete', request, o, options.delete) },
    ],
    list: async (request, o) => {
      const [items, next] = await record('list', request, o, options.list);
      return [items, next];
    },
  };
  const operations: ZoneOperationsApi = {
    wait: async (request, o) => [await record('wait', request, o, options.wait)],
  };
  const lines: string[] = [];
  const provisioner = createComputeProvisioner({
    instances,
    operations,
    project: PROJECT,
    now: () => time,
    sleep: async (ms) => {
      time += ms;
    },
    callTimeoutMs: 20_000,
    deleteBudgetMs: 5_000,
    log: createLogger({ write: (line) => lines.push(line) }),
  });
  return {
    provisioner,
    calls,
    count,
    lines,
    advance: (ms: number) => {
      time += ms;
    },
    now: () => time,
  };
}

const spec = (): VmSpec => makeSpec(ZONE);

describe('createVm: the wait loop and its budget', () => {
  it('waits past answers that are not DONE, each wait bounded by what is left of the budget', async () => {
    const f = fake({
      insert: () => op('PENDING'),
      wait: (_r, n) => {
        f.advance(300); // quicker than a real wait: the loop pauses before the next
        return op(n < 3 ? 'RUNNING' : 'DONE');
      },
    });
    const result = await f.provisioner.createVm(spec(), { budgetMs: 10_000 });
    expect(result).toMatchObject({ ok: true, adopted: false });

    const [insert, ...waits] = f.calls;
    expect(insert).toMatchObject({
      method: 'insert',
      request: { project: PROJECT, zone: ZONE, requestId: spec().requestId },
      options: { timeout: 10_000 },
    });
    expect(waits.map((c) => c.request)).toEqual(
      Array(3).fill({ project: PROJECT, zone: ZONE, operation: OP }),
    );
    // 300 ms per wait plus a 500 ms pause after each early answer.
    expect(waits.map((c) => c.options?.timeout)).toEqual([10_000, 9_200, 8_400]);
  });

  it('caps the insert call by the call timeout, and a wait by the budget alone', async () => {
    const f = fake({ insert: () => op('PENDING'), wait: () => op('DONE') });
    await f.provisioner.createVm(spec(), { budgetMs: 100_000 });
    expect(f.calls.map((c) => [c.method, c.options?.timeout])).toEqual([
      ['insert', 20_000],
      ['wait', 100_000],
    ]);
  });

  it('gives up when the budget is spent: TIMEOUT, retriable, naming the operation', async () => {
    const f = fake({
      insert: () => op('PENDING'),
      wait: () => {
        f.advance(1_000);
        return op('RUNNING');
      },
    });
    const started = f.now();
    const result = await f.provisioner.createVm(spec(), { budgetMs: 3_000 });
    expect(result).toMatchObject({
      ok: false,
      error: { code: GCP_ERROR_CODES.timeout, retriable: true, action: 'retry_later' },
    });
    expect(result.ok === false && result.error.detail).toContain(OP);
    expect(f.count.wait).toBe(3);
    expect(f.now() - started).toBe(3_000);
  });

  it('makes no call at all when there is no budget', async () => {
    const f = fake();
    const result = await f.provisioner.createVm(spec(), { budgetMs: 0 });
    expect(result).toMatchObject({ ok: false, error: { code: GCP_ERROR_CODES.timeout } });
    expect(f.calls).toEqual([]);
  });

  it('retries a wait that failed transiently, and stops on one that retrying cannot fix', async () => {
    const transient = fake({
      insert: () => op('PENDING'),
      wait: (_r, n) => {
        if (n === 1) throw googleError(14, undefined, 'connect ECONNRESET');
        return op('DONE');
      },
    });
    expect(await transient.provisioner.createVm(spec(), { budgetMs: 10_000 })).toMatchObject({
      ok: true,
    });
    expect(transient.count.wait).toBe(2);

    const denied = fake({
      insert: () => op('PENDING'),
      wait: () => {
        throw googleError(7, 403, "Required 'compute.zoneOperations.get' permission");
      },
    });
    expect(await denied.provisioner.createVm(spec(), { budgetMs: 10_000 })).toMatchObject({
      ok: false,
      error: { code: GCP_ERROR_CODES.permissionDenied, action: 'fail' },
    });
    expect(denied.count.wait).toBe(1);
  });

  it('reads an insert that is DONE at once without waiting, and classifies its error', async () => {
    const f = fake({
      insert: () =>
        op('DONE', {
          error: { errors: [{ code: 'ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS', message: 'no' }] },
        }),
    });
    const result = await f.provisioner.createVm(spec(), { budgetMs: 10_000 });
    expect(result).toMatchObject({ ok: false, error: { action: 'next_zone' } });
    expect(f.count.wait).toBe(0);
  });
});

describe('createVm: adoption', () => {
  it('adopts when the finished operation says the name exists, keeping the VM model', async () => {
    const s = spec();
    const f = fake({
      insert: () => op('PENDING'),
      wait: () =>
        op('DONE', { error: { errors: [{ code: 'RESOURCE_ALREADY_EXISTS', message: 'exists' }] } }),
      get: () => ({
        name: s.name,
        status: 'STAGING',
        zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}`,
        scheduling: { provisioningModel: 'STANDARD' },
      }),
    });
    expect(await f.provisioner.createVm(s, { budgetMs: 10_000 })).toEqual({
      ok: true,
      adopted: true,
      vm: { name: s.name, zone: ZONE, provisioning: 'STANDARD' },
    });
    expect(f.calls.at(-1)).toMatchObject({
      method: 'get',
      request: { project: PROJECT, zone: ZONE, instance: s.name },
    });
  });

  it('does not adopt a name that exists but is gone when read back', async () => {
    const f = fake({
      insert: () => {
        throw googleError(10, 409, 'The resource already exists');
      },
      get: () => {
        throw googleError(5, 404, 'The resource was not found');
      },
    });
    expect(await f.provisioner.createVm(spec(), { budgetMs: 10_000 })).toMatchObject({
      ok: false,
      error: { code: GCP_ERROR_CODES.alreadyExists, action: 'adopt' },
    });
  });

  it('reports why the VM could not be read when the read fails', async () => {
    const f = fake({
      insert: () => {
        throw googleError(6, 409);
      },
      get: () => {
        throw googleError(7, 403, 'forbidden');
      },
    });
    expect(await f.provisioner.createVm(spec(), { budgetMs: 10_000 })).toMatchObject({
      ok: false,
      error: { code: GCP_ERROR_CODES.permissionDenied },
    });
  });
});

describe('getVm and deleteVm', () => {
  it('returns an error that is not NOT_FOUND as data, bounded by the call timeout', async () => {
    const f = fake({
      get: () => {
        throw googleError(4, undefined, 'Total timeout of API exceeded');
      },
    });
    expect(await f.provisioner.getVm('vm-a', ZONE)).toEqual({
      error: expect.objectContaining({ code: GCP_ERROR_CODES.timeout, retriable: true }),
    });
    expect(f.calls[0]?.options).toEqual({ timeout: 20_000 });
  });

  it('counts NOT_FOUND as gone, at the call or in the operation', async () => {
    const sync = fake({
      delete: () => {
        throw googleError(5, 404);
      },
    });
    expect(await sync.provisioner.deleteVm('vm-a', ZONE)).toEqual({ ok: true, gone: true });

    const inOperation = fake({
      delete: () => op('PENDING'),
      wait: () =>
        op('DONE', { error: { errors: [{ code: 'RESOURCE_NOT_FOUND', message: 'gone' }] } }),
    });
    expect(await inOperation.provisioner.deleteVm('vm-a', ZONE)).toEqual({
      ok: true,
      gone: true,
    });
  });

  it('passes the requestId, and answers gone: false when the operation outlasts the budget', async () => {
    const f = fake({
      delete: () => op('RUNNING'),
      wait: () => {
        f.advance(2_000);
        return op('RUNNING');
      },
    });
    const requestId = '0b8f5c3a-1d2e-4f60-8a9b-0c1d2e3f4a5b';
    expect(await f.provisioner.deleteVm('vm-a', ZONE, { requestId, budgetMs: 3_000 })).toEqual({
      ok: true,
      gone: false,
    });
    expect(f.calls[0]).toMatchObject({
      method: 'delete',
      request: { project: PROJECT, zone: ZONE, instance: 'vm-a', requestId },
      options: { timeout: 3_000 },
    });
    expect(f.count.wait).toBe(2);
  });

  it('reports a refused deletion as an error', async () => {
    const f = fake({
      delete: () => {
        throw googleError(7, 403, 'forbidden');
      },
    });
    expect(await f.provisioner.deleteVm('vm-a', ZONE)).toMatchObject({
      ok: false,
      error: { code: GCP_ERROR_CODES.permissionDenied },
    });
  });
});

describe('listVms', () => {
  const vm = (name: string, labels: Record<string, string>): IInstance => ({
    name,
    status: 'RUNNING',
    labels,
    zone: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}`,
    creationTimestamp: '2026-11-02T10:00:00.000-07:00',
    metadata: {
      items: [
        { key: 'vmci-test-id', value: `test-${name}` },
        { key: 'vmci-token', value: 'x' },
      ],
    },
  });
  const linux = { vmci: 'true', 'vmci-platform': 'linux' };
  const windows = { vmci: 'true', 'vmci-platform': 'windows' };

  it('follows pages per zone, filters by label, keeps the platform, stops at the limit', async () => {
    const f = fake({
      list: (request) =>
        request.pageToken === undefined
          ? [[vm('a', linux), vm('b', windows), vm('c', { vmci: 'false' })], { pageToken: 'p2' }]
          : [[vm('d', linux)], null],
    });
    const result = await f.provisioner.listVms({ zones: [ZONE], platform: 'linux', limit: 10 });
    expect(result).toEqual({
      ok: true,
      vms: [
        {
          name: 'a',
          zone: ZONE,
          status: 'RUNNING',
          labels: linux,
          testId: 'test-a',
          createdAt: new Date('2026-11-02T17:00:00.000Z'),
        },
        expect.objectContaining({ name: 'd', testId: 'test-d' }),
      ],
    });
    expect(f.calls.map((c) => [c.request, c.options])).toEqual([
      [
        { project: PROJECT, zone: ZONE, filter: 'labels.vmci = "true"', maxResults: 10 },
        { autoPaginate: false, timeout: 20_000 },
      ],
      [
        {
          project: PROJECT,
          zone: ZONE,
          filter: 'labels.vmci = "true"',
          maxResults: 9,
          pageToken: 'p2',
        },
        { autoPaginate: false, timeout: 20_000 },
      ],
    ]);
  });

  it('asks no further once the limit is reached, and bounds the pages of a zone', async () => {
    const f = fake({ list: () => [[vm('a', linux), vm('b', linux)], { pageToken: 'more' }] });
    const limited = await f.provisioner.listVms({ zones: [ZONE, 'us-central1-b'], limit: 1 });
    expect(limited.ok && limited.vms.map((v) => v.name)).toEqual(['a']);
    expect(f.count.list).toBe(1);

    const endless = fake({ list: () => [[vm('w', windows)], { pageToken: 'more' }] });
    const none = await endless.provisioner.listVms({ zones: [ZONE], platform: 'linux', limit: 5 });
    expect(none).toEqual({ ok: true, vms: [] });
    expect(endless.count.list).toBe(5);
  });

  it('returns a failed list as an error', async () => {
    const f = fake({
      list: () => {
        throw googleError(7, 403, 'forbidden');
      },
    });
    expect(await f.provisioner.listVms({ zones: [ZONE], limit: 5 })).toMatchObject({
      ok: false,
      error: { code: GCP_ERROR_CODES.permissionDenied },
    });
  });
});

describe('logs', () => {
  it('label the test and VM, carry the error code, and never a metadata value', async () => {
    const s = spec();
    const f = fake({
      insert: () => op('PENDING'),
      wait: () => op('DONE', { error: { errors: [{ code: 'QUOTA_EXCEEDED', message: 'CPUS' }] } }),
    });
    await f.provisioner.createVm(s, { budgetMs: 10_000 });
    const entries = f.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.find((e) => e.severity === 'WARNING')).toMatchObject({
      message: 'VM creation failed',
      code: GCP_ERROR_CODES.quotaExceeded,
      zone: ZONE,
      'logging.googleapis.com/labels': { testId: s.testId, instance: s.name },
    });
    const text = f.lines.join('\n');
    for (const [key, value] of Object.entries(s.metadata)) {
      if (key === 'vmci-test-id' || key === 'vmci-platform') continue; // also labels
      expect(text).not.toContain(value);
    }
  });
});

describe('the instance body, through the real client, as the stand-in stores it', () => {
  it('carries the scheduling, disk, network, service account and metadata', async () => {
    const standIn = createComputeStandIn({ project: PROJECT, boot: false, timeScale: 0.01 });
    const server = await serve([standIn]);
    const clients = createComputeClients(() =>
      localClientOptions({ host: '127.0.0.1', port: server.port }),
    );
    try {
      const provisioner = createComputeProvisioner({
        instances: clients.instances,
        operations: clients.operations,
        project: PROJECT,
      });
      const s: VmSpec = {
        ...makeSpec(ZONE, { provisioning: 'STANDARD' }),
        serviceAccount: 'vm-runner@vmci-adapter-test.iam.gserviceaccount.com',
        subnetwork: 'regions/us-central1/subnetworks/ci',
      };
      expect(await provisioner.createVm(s, { budgetMs: 5_000 })).toMatchObject({ ok: true });
      const [vm] = await clients.instances.get({ project: PROJECT, zone: ZONE, instance: s.name });

      expect(vm.scheduling).toMatchObject({
        provisioningModel: 'STANDARD',
        instanceTerminationAction: 'DELETE',
        automaticRestart: false,
        onHostMaintenance: 'MIGRATE',
      });
      expect(Number(vm.scheduling?.maxRunDuration?.seconds)).toBe(s.maxRunSeconds);
      expect(vm.disks?.[0]).toMatchObject({
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: s.image,
          diskType: `zones/${ZONE}/diskTypes/pd-balanced`,
        },
      });
      expect(Number(vm.disks?.[0]?.initializeParams?.diskSizeGb)).toBe(s.diskSizeGb);
      expect(vm.networkInterfaces?.[0]).toMatchObject({
        network: `projects/${PROJECT}/global/networks/default`,
        subnetwork: `projects/${PROJECT}/regions/us-central1/subnetworks/ci`,
        accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
      });
      // toMatchObject: the decoded proto adds its oneof markers (`_email`).
      expect(vm.serviceAccounts).toHaveLength(1);
      expect(vm.serviceAccounts?.[0]).toMatchObject({
        email: s.serviceAccount,
        scopes: [...VM_SCOPES],
      });
      expect(vm.labels).toEqual(s.labels);

      const got = await provisioner.getVm(s.name, ZONE);
      expect(got).toMatchObject({
        found: true,
        vm: { provisioning: 'STANDARD', testId: s.testId },
      });
    } finally {
      await clients.close();
      await server.close();
    }
  });
});
