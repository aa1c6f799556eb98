// The local Compute stand-in, through the real @google-cloud/compute client:
// injected delete faults (and requestId replay of a failed delete), the call
// log, a guest powering itself off, VMs made straight through the API, and the
// adapter's deleteVm under delete faults.
import { randomUUID } from 'node:crypto';
import type { ComputeCall } from '../../infra/local/compute';
import { isProcessRunning } from '../../infra/local/compute/vm-process';
import { createComputeProvisioner } from '../../shared/compute/compute-engine';
import type { VmProvisioner } from '../../shared/compute/port';
import { classifyGcpError } from '../../shared/gcp/errors';
import {
  eventually,
  machineType,
  metadata,
  OTHER_ZONE,
  PROJECT,
  startCompute,
  thrown,
  ZONE,
  type ComputeHarness,
  type Operation,
} from './compute-setup';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What became of each delete of `name`, oldest first. */
const deleteOutcomes = (calls: ComputeCall[], name: string) =>
  calls.filter((c) => c.method === 'delete' && c.name === name).map((c) => c.outcome);

const faultsPending = async (h: ComputeHarness) =>
  ((await h.getJson('/_local/compute/faults')).body as { faults: unknown[] }).faults;

describe('delete faults (no boot)', () => {
  let h: ComputeHarness;
  beforeAll(async () => {
    h = await startCompute({ boot: false, operationDelayMs: 40, waitBudgetMs: 200 });
  });
  afterEach(async () => {
    await fetch(`${h.url}/_local/compute/faults`, { method: 'DELETE' });
  });
  afterAll(() => h.close());

  it.each([
    ['rateLimitExceeded', 7, 'RATE_LIMITED', true],
    ['RATE_LIMITED_429', 8, 'RATE_LIMITED', true],
    ['PERMISSION_DENIED', 7, 'PERMISSION_DENIED', false],
  ])(
    'an injected %s makes delete throw gRPC code %i (classified %s); the VM stays',
    async (code, grpcCode, classified, retriable) => {
      const name = `ds-${code.toLowerCase().replace(/_/g, '-')}`;
      await h.create({ name });
      expect(h.compute.injectFault({ code, operation: 'delete' })).toEqual({
        code,
        operation: 'delete',
        remaining: 1,
      });
      const err = await thrown(h.del(name));
      expect(err.code).toBe(grpcCode);
      expect(classifyGcpError(err)).toMatchObject({ code: classified, retriable });
      if (code === 'PERMISSION_DENIED') {
        expect(err.message).toBe(
          `Required 'compute.instances.delete' permission for 'projects/${PROJECT}/zones/${ZONE}/instances/${name}'`,
        );
      }
      expect((await h.get(name)).status).toBe('RUNNING');
      // Used up: the next delete deletes.
      expect((await h.waitDone(await h.del(name))).error).toBeFalsy();
      expect((await thrown(h.get(name))).code).toBe(5);
      expect(deleteOutcomes(h.compute.calls(), name)).toEqual(['error', 'new_operation']);
    },
  );

  it.each([
    ['RESOURCE_NOT_READY', 400, `instances/do-resource-not-ready' is not ready`],
    ['INTERNAL_ERROR', 500, 'Internal error. Please try again or contact Google Support.'],
    ['SOMETHING_NEW', 400, 'failed with SOMETHING_NEW'],
  ])(
    'an injected %s ends the delete operation DONE with that code; the VM stays; the same requestId answers the same failed operation',
    async (code, httpStatus, text) => {
      const name = `do-${code.toLowerCase().replace(/_/g, '-')}`;
      await h.create({ name });
      const injected = await h.post('/_local/compute/faults', { code, operation: 'delete' });
      expect(injected).toEqual({
        status: 200,
        body: { fault: { code, operation: 'delete', remaining: 1 } },
      });
      const requestId = randomUUID();
      const op = await h.del(name, { requestId });
      expect(op).toMatchObject({
        operationType: 'delete',
        targetLink: `https://www.googleapis.com/compute/v1/projects/${PROJECT}/zones/${ZONE}/instances/${name}`,
      });
      const done = await h.waitDone(op);
      expect(done.status).toBe('DONE');
      expect(done.httpErrorStatusCode).toBe(httpStatus);
      const entry = done.error?.errors?.[0];
      expect(entry?.code).toBe(code);
      expect(entry?.message).toContain(text);
      expect(classifyGcpError(done.error)).toMatchObject({ code, retriable: false });
      expect((await h.get(name)).status).toBe('RUNNING');

      // Retried with the same requestId: that failed operation again, and nothing done.
      const again = await h.del(name, { requestId });
      expect([again.name, again.id, again.status]).toEqual([op.name, op.id, 'DONE']);
      expect(again.error?.errors?.[0]).toMatchObject({ code, message: entry?.message });
      expect((await h.get(name)).status).toBe('RUNNING');
      expect(deleteOutcomes(h.compute.calls(), name)).toEqual(['new_operation', 'same_request']);

      // A new requestId is a new request: it deletes.
      expect((await h.waitDone(await h.del(name, { requestId: randomUUID() }))).error).toBeFalsy();
      expect((await thrown(h.get(name))).code).toBe(5);
    },
  );

  it('keeps delete and insert faults apart, and a delete fault to its zone', async () => {
    h.compute.injectFault({ code: 'QUOTA_EXCEEDED', operation: 'delete' });
    h.compute.injectFault({ code: 'INTERNAL_ERROR', operation: 'delete', zone: OTHER_ZONE });
    // Inserts go through while delete faults wait.
    expect((await h.create({ name: 'apart-1' })).error).toBeFalsy();
    expect((await h.create({ name: 'apart-2' }, { zone: OTHER_ZONE })).error).toBeFalsy();
    h.compute.injectFault({ code: 'rateLimitExceeded' });
    expect(await faultsPending(h)).toEqual([
      { code: 'QUOTA_EXCEEDED', operation: 'delete', remaining: 1 },
      { code: 'INTERNAL_ERROR', operation: 'delete', zone: OTHER_ZONE, remaining: 1 },
      { code: 'rateLimitExceeded', operation: 'insert', remaining: 1 },
    ]);

    // The delete in ZONE takes the any-zone fault, the one in OTHER_ZONE its own.
    const first = await h.waitDone(await h.del('apart-1'));
    expect(first.error?.errors?.[0]?.code).toBe('QUOTA_EXCEEDED');
    const second = await h.waitDone(await h.del('apart-2', { zone: OTHER_ZONE }), OTHER_ZONE);
    expect(second.error?.errors?.[0]?.code).toBe('INTERNAL_ERROR');
    expect(await faultsPending(h)).toEqual([
      { code: 'rateLimitExceeded', operation: 'insert', remaining: 1 },
    ]);
    expect((await thrown(h.insert({ name: 'apart-3' }))).code).toBe(7);
    expect(await faultsPending(h)).toEqual([]);

    // Both VMs are still there; with no fault left, they delete.
    expect((await h.get('apart-1')).status).toBe('RUNNING');
    expect((await h.get('apart-2', OTHER_ZONE)).status).toBe('RUNNING');
    expect((await h.waitDone(await h.del('apart-1'))).error).toBeFalsy();
    const last = await h.waitDone(await h.del('apart-2', { zone: OTHER_ZONE }), OTHER_ZONE);
    expect(last.error).toBeFalsy();
  });

  it('a delete of a missing VM is a 404: a synchronous fault is used up, a failed-operation one is not', async () => {
    h.compute.injectFault({ code: 'RESOURCE_NOT_READY', operation: 'delete' });
    expect((await thrown(h.del('nowhere'))).code).toBe(5);
    expect(await faultsPending(h)).toHaveLength(1);
    await fetch(`${h.url}/_local/compute/faults`, { method: 'DELETE' });

    h.compute.injectFault({ code: 'rateLimitExceeded', operation: 'delete' });
    expect((await thrown(h.del('nowhere'))).code).toBe(7);
    expect(await faultsPending(h)).toEqual([]);
  });

  it('a delete fault leaves a powered-off VM TERMINATED', async () => {
    await h.create({ name: 'off-fault' });
    await h.compute.powerOff('off-fault');
    h.compute.injectFault({ code: 'INTERNAL_ERROR', operation: 'delete' });
    const done = await h.waitDone(await h.del('off-fault'));
    expect(done.error?.errors?.[0]?.code).toBe('INTERNAL_ERROR');
    expect((await h.get('off-fault')).status).toBe('TERMINATED');
    expect((await h.waitDone(await h.del('off-fault'))).error).toBeFalsy();
  });

  it('SLOW_OPERATION keeps a delete operation RUNNING for delayMs', async () => {
    await h.create({ name: 'slow-del' });
    h.compute.injectFault({ code: 'SLOW_OPERATION', operation: 'delete', delayMs: 800 });
    const op = await h.del('slow-del');
    // The wait budget is 200 ms: wait answers before the operation is DONE.
    const [waited] = await h.operations.wait({ project: PROJECT, zone: ZONE, operation: op.name });
    expect(waited.status).not.toBe('DONE');
    expect((await h.waitDone(op)).error).toBeFalsy();
    expect((await thrown(h.get('slow-del'))).code).toBe(5);
  });

  it('refuses a bad operation, and NOT_FOUND_IMAGE for deletes', async () => {
    const bad = await h.post('/_local/compute/faults', {
      code: 'INTERNAL_ERROR',
      operation: 'stop',
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('operation must be one of insert, delete');
    const image = await h.post('/_local/compute/faults', {
      code: 'NOT_FOUND_IMAGE',
      operation: 'delete',
    });
    expect(image.status).toBe(400);
    expect(await faultsPending(h)).toEqual([]);
  });
});

describe('the call log', () => {
  let h: ComputeHarness;
  beforeAll(async () => {
    h = await startCompute({ boot: false, operationDelayMs: 20, waitBudgetMs: 200 });
  });
  afterAll(() => h.close());

  it('notes every insert and delete with its outcome, oldest first, also over HTTP', async () => {
    const insertId = randomUUID();
    await h.waitDone(await h.insert({ name: 'log-a' }, { requestId: insertId }));
    await h.insert({ name: 'log-a' }, { requestId: insertId }); // the same request
    await thrown(h.insert({ name: 'log-a' })); // 409: the name is taken
    await thrown(h.del('log-missing')); // 404
    h.compute.injectFault({ code: 'rateLimitExceeded', operation: 'delete' });
    await thrown(h.del('log-a')); // the injected 403
    const deleteId = randomUUID();
    const del = await h.waitDone(await h.del('log-a', { requestId: deleteId }));
    await h.del('log-a', { requestId: deleteId }); // the same request, after DONE
    await thrown(h.del('log-a')); // 404: gone

    const calls = h.compute.calls();
    expect(
      calls.map(({ method, name, requestId, outcome }) => [method, name, requestId, outcome]),
    ).toEqual([
      ['insert', 'log-a', insertId, 'new_operation'],
      ['insert', 'log-a', insertId, 'same_request'],
      ['insert', 'log-a', expect.any(String), 'error'],
      ['delete', 'log-missing', null, 'error'],
      ['delete', 'log-a', null, 'error'],
      ['delete', 'log-a', deleteId, 'new_operation'],
      ['delete', 'log-a', deleteId, 'same_request'],
      ['delete', 'log-a', null, 'error'],
    ]);
    expect(calls.every((c) => c.project === PROJECT && c.zone === ZONE)).toBe(true);
    expect(calls[2]?.error).toBe(
      `HTTP 409: The resource 'projects/${PROJECT}/zones/${ZONE}/instances/log-a' already exists`,
    );
    expect(calls[3]?.error).toMatch(/^HTTP 404: The resource .*log-missing' was not found$/);
    expect(calls[4]).toMatchObject({ fault: 'rateLimitExceeded', error: expect.any(String) });
    expect(calls[5]?.operation).toBe(del.name);
    expect(calls[6]?.operation).toBe(del.name);
    expect(calls.filter((c) => c.outcome !== 'error').every((c) => !('error' in c))).toBe(true);
    const times = calls.map((c) => c.at.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // "Deleted once": one delete that started an operation.
    const deletions = calls.filter(
      (c) => c.method === 'delete' && c.name === 'log-a' && c.outcome === 'new_operation',
    );
    expect(deletions).toHaveLength(1);

    // Copies: changing them changes nothing.
    calls.length = 0;
    expect(h.compute.calls()).toHaveLength(8);

    const listed = await h.getJson('/_local/compute/calls');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ calls: JSON.parse(JSON.stringify(h.compute.calls())) });
  });
});

describe('powering off (boot)', () => {
  let h: ComputeHarness;
  beforeAll(async () => {
    h = await startCompute({ operationDelayMs: 30, waitBudgetMs: 500, killGraceMs: 500 });
  });
  afterAll(() => h.close());

  it('stops the process tree; the VM is TERMINATED and listed until deleted', async () => {
    await h.create({
      name: 'guest-off',
      labels: { vmci: 'true' },
      metadata: metadata({ 'startup-script': 'sleep 300 &\necho "child=$!"\nwait' }),
    });
    await eventually(() => /child=\d+/.test(h.compute.consoleOutput('guest-off')));
    const pid = h.compute.instances().find((i) => i.name === 'guest-off')?.pid as number;
    const child = Number(/child=(\d+)/.exec(h.compute.consoleOutput('guest-off'))?.[1]);
    expect([pid, child].every(isProcessRunning)).toBe(true);

    await h.compute.powerOff('guest-off');
    expect([pid, child].filter(isProcessRunning)).toEqual([]);
    expect(await h.compute.whenTerminated('guest-off')).toEqual({
      status: 'TERMINATED',
      exitCode: null,
      signal: 'SIGTERM',
    });
    expect((await h.get('guest-off')).status).toBe('TERMINATED');
    expect(h.compute.instances().find((i) => i.name === 'guest-off')).toMatchObject({
      status: 'TERMINATED',
      pid: null,
    });
    const [listed] = await h.instances.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'labels.vmci = "true"',
    });
    expect(listed.map((i) => [i.name, i.status])).toEqual([['guest-off', 'TERMINATED']]);
    expect(h.compute.consoleOutput('guest-off')).toContain(
      'vmci-local: startup-script exited with signal SIGTERM',
    );

    await h.compute.powerOff('guest-off'); // already off: nothing to do
    expect((await h.waitDone(await h.del('guest-off'))).error).toBeFalsy();
    expect((await thrown(h.get('guest-off'))).code).toBe(5);
  });

  it('over HTTP: answers the instance once TERMINATED; 404 for none; 400 before RUNNING', async () => {
    await h.create({ name: 'http-off' }); // no startup-script: nothing runs
    const res = await h.post('/_local/compute/instances/http-off/power-off', {});
    expect(res).toMatchObject({
      status: 200,
      body: { instance: { name: 'http-off', status: 'TERMINATED', pid: null } },
    });
    expect((await h.get('http-off')).status).toBe('TERMINATED');
    expect((await h.post('/_local/compute/instances/no-such-vm/power-off', {})).status).toBe(404);
    await expect(h.compute.powerOff('no-such-vm')).rejects.toThrow(/no-such-vm/);

    h.compute.injectFault({ code: 'SLOW_OPERATION', delayMs: 1000 });
    const op = await h.insert({ name: 'not-yet' });
    expect((await h.post('/_local/compute/instances/not-yet/power-off', {})).status).toBe(400);
    await expect(h.compute.powerOff('not-yet')).rejects.toThrow(/PROVISIONING|STAGING/);
    await h.waitDone(op);
    await h.compute.powerOff('not-yet');
    expect((await h.get('not-yet')).status).toBe('TERMINATED');
  });

  it('a powered-off VM is not deleted later by its maxRunDuration', async () => {
    const scaled = await startCompute({ timeScale: 0.2, killGraceMs: 500 });
    try {
      await scaled.create({
        name: 'off-early',
        scheduling: { maxRunDuration: { seconds: 1 }, instanceTerminationAction: 'DELETE' },
      });
      await scaled.compute.powerOff('off-early');
      await sleep(500); // 200 ms of maxRunDuration at timeScale 0.2, and more
      expect((await scaled.get('off-early')).status).toBe('TERMINATED');
    } finally {
      await scaled.close();
    }
  });
});

describe('VMs made straight through the API (boot)', () => {
  let h: ComputeHarness;
  beforeAll(async () => {
    h = await startCompute({ operationDelayMs: 20, waitBudgetMs: 500, killGraceMs: 500 });
  });
  afterAll(() => h.close());

  const stray = (name: string, extra: Record<string, unknown> = {}) => ({
    project: PROJECT,
    zone: ZONE,
    // No requestId, no vmci-test-id: as someone might make one by hand.
    instanceResource: {
      name,
      machineType: machineType(),
      labels: { vmci: 'true' },
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: { sourceImage: 'projects/debian-cloud/global/images/family/debian-12' },
        },
      ],
      networkInterfaces: [{ network: 'global/networks/default' }],
      ...extra,
    },
  });

  it('a vmci VM with no test id and no startup-script runs nothing, stays RUNNING, and is dated and listed', async () => {
    const before = Date.now();
    const [lro] = await h.instances.insert(stray('stray-1'));
    expect((await h.waitDone(lro.latestResponse as Operation)).error).toBeFalsy();
    await sleep(150);
    const vm = await h.get('stray-1');
    expect(vm.status).toBe('RUNNING');
    expect(vm.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
    const created = new Date(vm.creationTimestamp ?? '').getTime();
    expect(created).toBeGreaterThanOrEqual(before - 5);
    expect(created).toBeLessThanOrEqual(Date.now());
    expect(h.compute.consoleOutput('stray-1')).toBe('');
    expect(h.compute.instances().find((i) => i.name === 'stray-1')).toMatchObject({
      status: 'RUNNING',
      pid: null,
      labels: { vmci: 'true' },
      metadata: {},
    });

    const [listed] = await h.instances.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'labels.vmci = "true"',
    });
    expect(listed.map((i) => i.name)).toContain('stray-1');
    const aggregated: string[] = [];
    for await (const [zone, scoped] of h.instances.aggregatedListAsync(
      { project: PROJECT, filter: 'labels.vmci = "true"' },
      { autoPaginate: false },
    )) {
      for (const i of scoped.instances ?? []) aggregated.push(`${zone}/${i.name}`);
    }
    expect(aggregated).toContain(`zones/${ZONE}/stray-1`);

    // What the sweeps read of it: no test id, and its age from creationTimestamp.
    const vms = createComputeProvisioner({
      instances: h.instances,
      operations: h.operations,
      project: PROJECT,
    });
    const found = await vms.listVms({ zones: [ZONE], limit: 10 });
    expect(found.ok && found.vms.find((v) => v.name === 'stray-1')).toEqual({
      name: 'stray-1',
      zone: ZONE,
      status: 'RUNNING',
      labels: { vmci: 'true' },
      createdAt: new Date(created),
    });
  });

  it('a vmci VM whose script is not vm-ci’s powers off when it exits, still listed', async () => {
    const [lro] = await h.instances.insert(
      stray('stray-2', { metadata: metadata({ 'startup-script': 'echo not vm-ci' }) }),
    );
    await h.waitDone(lro.latestResponse as Operation);
    expect(await h.compute.whenTerminated('stray-2')).toMatchObject({
      status: 'TERMINATED',
      exitCode: 0,
    });
    expect(h.compute.consoleOutput('stray-2')).toContain('not vm-ci\n');
    const [listed] = await h.instances.list({
      project: PROJECT,
      zone: ZONE,
      filter: 'labels.vmci = "true"',
    });
    expect(listed.find((i) => i.name === 'stray-2')?.status).toBe('TERMINATED');
  });
});

describe('the adapter: deleteVm under delete faults', () => {
  let h: ComputeHarness;
  let vms: VmProvisioner;
  beforeAll(async () => {
    h = await startCompute({ boot: false, operationDelayMs: 30, waitBudgetMs: 200 });
    vms = createComputeProvisioner({
      instances: h.instances,
      operations: h.operations,
      project: PROJECT,
      deleteBudgetMs: 10_000,
    });
  });
  afterAll(() => h.close());

  it('a synchronous rateLimitExceeded: not ok, retriable, the VM stays; the next deleteVm deletes it', async () => {
    await h.create({ name: 'ad-rate' });
    h.compute.injectFault({ code: 'rateLimitExceeded', operation: 'delete' });
    expect(await vms.deleteVm('ad-rate', ZONE)).toMatchObject({
      ok: false,
      error: { code: 'RATE_LIMITED', retriable: true, action: 'retry_later' },
    });
    expect(await vms.getVm('ad-rate', ZONE)).toMatchObject({
      found: true,
      vm: { status: 'RUNNING' },
    });
    expect(await vms.deleteVm('ad-rate', ZONE)).toEqual({ ok: true, gone: true });
    expect(await vms.getVm('ad-rate', ZONE)).toEqual({ found: false });
    expect(deleteOutcomes(h.compute.calls(), 'ad-rate')).toEqual(['error', 'new_operation']);
  });

  it('a failed operation (INTERNAL_ERROR): not ok, the VM stays; without a requestId the next call is a new one', async () => {
    await h.create({ name: 'ad-internal' });
    h.compute.injectFault({ code: 'INTERNAL_ERROR', operation: 'delete' });
    expect(await vms.deleteVm('ad-internal', ZONE)).toMatchObject({
      ok: false,
      error: { code: 'INTERNAL_ERROR', retriable: false, action: 'fail' },
    });
    expect(await vms.getVm('ad-internal', ZONE)).toMatchObject({ found: true });
    expect(await vms.deleteVm('ad-internal', ZONE)).toEqual({ ok: true, gone: true });
    const calls = h.compute
      .calls()
      .filter((c) => c.name === 'ad-internal' && c.method === 'delete');
    expect(calls.map((c) => [c.requestId, c.outcome, c.fault])).toEqual([
      [null, 'new_operation', 'INTERNAL_ERROR'],
      [null, 'new_operation', undefined],
    ]);
  });

  it('retried with the same requestId after a failed operation: the same failure, nothing done', async () => {
    await h.create({ name: 'ad-same' });
    h.compute.injectFault({ code: 'RESOURCE_NOT_READY', operation: 'delete' });
    const requestId = randomUUID();
    const first = await vms.deleteVm('ad-same', ZONE, { requestId });
    expect(first).toMatchObject({ ok: false, error: { code: 'RESOURCE_NOT_READY' } });
    expect(await vms.deleteVm('ad-same', ZONE, { requestId })).toEqual(first);
    expect(await vms.getVm('ad-same', ZONE)).toMatchObject({ found: true });
    expect(deleteOutcomes(h.compute.calls(), 'ad-same')).toEqual(['new_operation', 'same_request']);
    expect(await vms.deleteVm('ad-same', ZONE, { requestId: randomUUID() })).toEqual({
      ok: true,
      gone: true,
    });
  });

  it('a VM already gone counts as deleted', async () => {
    expect(await vms.deleteVm('ad-never', ZONE)).toEqual({ ok: true, gone: true });
    expect(deleteOutcomes(h.compute.calls(), 'ad-never')).toEqual(['error']);
  });
});
