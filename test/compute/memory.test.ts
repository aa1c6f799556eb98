// The in-memory provisioner's own controls, beyond the contract: fault
// counts and zones, failures of the other calls, and the inspection API that
// runTest's and the sweeps' tests drive it with.
import { createMemoryProvisioner } from '../../shared/compute/memory';
import { GCP_ERROR_CODES, classifyGcpError } from '../../shared/gcp/errors';
import { makeSpec } from '../contracts/vm-provisioner.contract';

const A = 'us-central1-a';
const B = 'us-central1-b';
const OPTIONS = { budgetMs: 1_000 };

describe('the memory provisioner', () => {
  it('fails the next `count` inserts of the fault zone only, then creates again', async () => {
    const p = createMemoryProvisioner();
    p.injectFault({ code: 'QUOTA_EXCEEDED', zone: A, count: 2 });
    const first = await p.createVm(makeSpec(A, { attempt: 1 }), OPTIONS);
    const other = await p.createVm(makeSpec(B, { attempt: 1 }), OPTIONS);
    const second = await p.createVm(makeSpec(A, { attempt: 2 }), OPTIONS);
    const third = await p.createVm(makeSpec(A, { attempt: 3 }), OPTIONS);
    expect([first, other, second, third].map((r) => r.ok)).toEqual([false, true, false, true]);
    expect(p.vms().map((vm) => vm.zone)).toEqual([B, A]);
    expect(p.insertCalls()).toBe(4);
  });

  it('keeps an operation fault for the next insert when the name already exists', async () => {
    const p = createMemoryProvisioner();
    const spec = makeSpec(A);
    await p.createVm(spec, OPTIONS);
    p.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED' });
    const adopted = await p.createVm(
      { ...spec, requestId: '3c1f0a2b-4d5e-4f60-9a7b-8c9d0e1f2a3b' },
      OPTIONS,
    );
    expect(adopted).toMatchObject({ ok: true, adopted: true });
    const next = await p.createVm(makeSpec(B), OPTIONS);
    expect(next).toMatchObject({ ok: false, error: { action: 'next_zone' } });
  });

  it('refuses a name Compute would refuse', async () => {
    const p = createMemoryProvisioner();
    const result = await p.createVm({ ...makeSpec(A), name: 'Not_A_Name' }, OPTIONS);
    expect(result).toMatchObject({ ok: false, error: { code: 'INVALID', action: 'fail' } });
    expect(p.vms()).toEqual([]);
  });

  it('fails the next get, delete or list with the given error', async () => {
    const p = createMemoryProvisioner();
    const spec = makeSpec(A);
    await p.createVm(spec, OPTIONS);
    const quota = classifyGcpError({ errors: [{ code: 'QUOTA_EXCEEDED' }] });
    p.failNext('getVm', quota);
    p.failNext('listVms', quota, 2);
    p.failNext('deleteVm', quota);
    expect(await p.getVm(spec.name, A)).toEqual({ error: quota });
    expect(await p.getVm(spec.name, A)).toMatchObject({ found: true });
    expect(await p.listVms({ zones: [A], limit: 5 })).toEqual({ ok: false, error: quota });
    expect(await p.listVms({ zones: [A], limit: 5 })).toEqual({ ok: false, error: quota });
    expect(await p.listVms({ zones: [A], limit: 5 })).toMatchObject({ ok: true });
    expect(await p.deleteVm(spec.name, A)).toEqual({ ok: false, error: quota });
    expect(p.vms()).toHaveLength(1);
    expect(await p.deleteVm(spec.name, A)).toEqual({ ok: true, gone: true });
    expect(p.vms()).toEqual([]);
  });

  it('lets a test power a VM off or make it vanish', async () => {
    const p = createMemoryProvisioner();
    const spec = makeSpec(A);
    await p.createVm(spec, OPTIONS);
    expect(p.setStatus(spec.name, A, 'TERMINATED')).toBe(true);
    expect(await p.getVm(spec.name, A)).toMatchObject({
      found: true,
      vm: { status: 'TERMINATED' },
    });
    expect(p.remove(spec.name, A)).toBe(true);
    expect(await p.getVm(spec.name, A)).toEqual({ found: false });
    expect(p.setStatus(spec.name, A, 'RUNNING')).toBe(false);
  });

  it('shows a slow VM as PROVISIONING until its operation is done, on its clock', async () => {
    let time = 0;
    const p = createMemoryProvisioner({
      now: () => time,
      sleep: async (ms) => {
        time += ms;
      },
    });
    p.injectFault({ code: 'SLOW_OPERATION', delayMs: 10_000 });
    const spec = makeSpec(A);
    const slow = await p.createVm(spec, { budgetMs: 2_000 });
    expect(slow).toMatchObject({ ok: false, error: { code: GCP_ERROR_CODES.timeout } });
    expect(time).toBe(2_000);
    expect(p.vms()).toEqual([expect.objectContaining({ status: 'PROVISIONING' })]);
    time = 10_000;
    expect(p.vms()).toEqual([expect.objectContaining({ status: 'RUNNING' })]);
  });

  it('copies what it shows: changing a listed VM changes nothing inside', async () => {
    const p = createMemoryProvisioner();
    await p.createVm(makeSpec(A), OPTIONS);
    const [vm] = p.vms();
    if (vm) vm.labels.vmci = 'false';
    expect(p.vms()[0]?.labels.vmci).toBe('true');
    expect(() => p.injectFault({ code: 'QUOTA_EXCEEDED', count: 0 })).toThrow(RangeError);
  });
});
