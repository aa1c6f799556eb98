// The VmProvisioner contract: one suite every adapter must pass
// (test/compute/vm-provisioner.test.ts runs it on the in-memory double and on
// the Compute Engine adapter, through the real clients, against the local
// Compute stand-in). Specs come from buildVmSpec, so the stand-in also checks
// the instance body the adapter sends.
import { buildVmSpec } from '../../shared/compute/instance-resource';
import type { VmProvisioner, VmSpec } from '../../shared/compute/port';
import type { PlatformConfig } from '../../shared/config/schema';
import { GCP_MESSAGES } from '../../shared/domain/messages';
import { VM_LABEL_KEYS, testId } from '../../shared/domain/naming';
import type { ProvisioningModel } from '../../shared/domain/test';
import { GCP_ERROR_CODES } from '../../shared/gcp/errors';

/** A fault as the local stand-in takes it (infra/local/compute/faults.ts). */
export interface FaultSpec {
  code: string;
  zone?: string;
  count?: number;
  zonesAvailable?: string[];
  delayMs?: number;
}

export interface BackendVm {
  name: string;
  zone: string;
  status: string;
  labels: Record<string, string>;
}

export interface ProvisionerUnderTest {
  provisioner: VmProvisioner;
  /** Two zones the backend serves. */
  zones: readonly [string, string];
  injectFault(spec: FaultSpec): Promise<void>;
  /** The live VMs as the backend sees them (not through the port). */
  backendVms(): Promise<BackendVm[]>;
  /** A VM's full metadata, read from the backend. */
  backendMetadata(name: string, zone: string): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
}

export type MakeProvisioner = () => Promise<ProvisionerUnderTest>;

const BUDGET_MS = 5_000;
const TOKEN = 'tok-0123456789abcdef0123456789abcdef';
const SCRIPT = '#!/bin/bash\necho vm-ci\n';

const platform = (os: 'linux' | 'windows'): PlatformConfig => ({
  os,
  machineType: 'e2-small',
  image:
    os === 'linux'
      ? 'projects/debian-cloud/global/images/family/debian-12'
      : 'projects/windows-cloud/global/images/family/windows-2022',
  diskSizeGb: os === 'linux' ? 20 : 50,
  zones: ['us-central1-a', 'us-central1-b'],
  spot: true,
  spotFallbackToStandard: true,
  maxConcurrent: 2,
  maxRunMinutes: 30,
  testCommand: 'make test',
  startupScript: os === 'linux' ? 'infra/vm/linux/startup.sh' : 'infra/vm/windows/startup.ps1',
  maintenance: false,
  network: 'global/networks/default',
  labels: { team: 'ci' },
});

export interface SpecOptions {
  sha?: string;
  platform?: 'linux' | 'windows';
  zone?: string;
  provisioning?: ProvisioningModel;
  attempt?: number;
}

/** A spec for one test, as runTest builds it. */
export function makeSpec(zone: string, options: SpecOptions = {}): VmSpec {
  const name = options.platform ?? 'linux';
  const id = testId({
    repo: 'ccextractor/ccextractor',
    sha: options.sha ?? '0123abcdef0123abcdef0123abcdef0123abcdef',
    platform: name,
    trigger: 'push',
    run: 1,
  });
  return buildVmSpec({
    test: { id, platform: name, attempts: options.attempt ?? 1 },
    platform: platform(name),
    platformName: name,
    zone: options.zone ?? zone,
    provisioning: options.provisioning ?? 'SPOT',
    metadata: {
      'vmci-callback-url': 'https://ci.example.test/progress',
      'vmci-token': TOKEN,
      'vmci-repo': 'ccextractor/ccextractor',
      'vmci-sha': options.sha ?? '0123abcdef0123abcdef0123abcdef0123abcdef',
      'vmci-platform': name,
    },
    startupScript: SCRIPT,
  });
}

export function defineVmProvisionerContractTests(name: string, make: MakeProvisioner): void {
  describe(`VmProvisioner contract (${name})`, () => {
    let t: ProvisionerUnderTest;
    let zone: string;
    let otherZone: string;
    beforeEach(async () => {
      t = await make();
      [zone, otherZone] = t.zones;
    });
    afterEach(() => t.cleanup());

    const create = (spec: VmSpec, budgetMs = BUDGET_MS) =>
      t.provisioner.createVm(spec, { budgetMs });

    it('creates a RUNNING VM with its labels and metadata', async () => {
      const spec = makeSpec(zone);
      const result = await create(spec);
      expect(result).toEqual({
        ok: true,
        adopted: false,
        vm: { name: spec.name, zone, provisioning: 'SPOT' },
      });

      const got = await t.provisioner.getVm(spec.name, zone);
      expect(got).toMatchObject({
        found: true,
        vm: {
          name: spec.name,
          zone,
          status: 'RUNNING',
          testId: spec.testId,
          provisioning: 'SPOT',
          labels: { ...spec.labels, team: 'ci', [VM_LABEL_KEYS.managed]: 'true' },
        },
      });
      const backend = await t.backendVms();
      expect(backend).toEqual([expect.objectContaining({ name: spec.name, zone })]);
      expect(await t.backendMetadata(spec.name, zone)).toMatchObject({
        'vmci-test-id': spec.testId,
        'vmci-token': TOKEN,
        'startup-script': SCRIPT,
      });
    });

    it('makes one VM of the same spec twice (same requestId)', async () => {
      const spec = makeSpec(zone);
      const first = await create(spec);
      const second = await create(spec);
      expect(first).toMatchObject({ ok: true, adopted: false });
      // Deduplicated by the requestId, or adopted: either way the same VM.
      expect(second).toMatchObject({ ok: true, vm: { name: spec.name, zone } });
      expect(await t.backendVms()).toHaveLength(1);
    });

    it('adopts the VM when the same name comes with another requestId', async () => {
      const spec = makeSpec(zone);
      await create(spec);
      const again = await create({ ...spec, requestId: '6f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f' });
      expect(again).toEqual({
        ok: true,
        adopted: true,
        vm: { name: spec.name, zone, provisioning: 'SPOT' },
      });
      expect(await t.backendVms()).toHaveLength(1);
    });

    it('reports a stockout as next_zone, with the zones Compute named', async () => {
      await t.injectFault({ code: 'ZONE_RESOURCE_POOL_EXHAUSTED', zone });
      const plain = await create(makeSpec(zone));
      expect(plain).toMatchObject({
        ok: false,
        error: {
          code: GCP_ERROR_CODES.zoneExhausted,
          retriable: true,
          action: 'next_zone',
          userMessage: GCP_MESSAGES.zoneExhausted,
        },
      });
      expect(plain.ok === false && plain.error).not.toHaveProperty('zonesAvailable');

      await t.injectFault({
        code: 'ZONE_RESOURCE_POOL_EXHAUSTED',
        zone,
        zonesAvailable: [otherZone],
      });
      const spec = makeSpec(zone, { sha: 'fedcba9876543210fedcba9876543210fedcba98' });
      const detailed = await create(spec);
      expect(detailed).toMatchObject({
        ok: false,
        error: { action: 'next_zone', zonesAvailable: [otherZone] },
      });
      expect(await t.backendVms()).toEqual([]);

      // The same requestId replays the failed operation: a retry needs a new one.
      expect(await create(spec)).toMatchObject({ ok: false, error: { action: 'next_zone' } });
      // The next zone is a new request, and the fault was only for the first zone.
      const moved = await create(
        makeSpec(otherZone, { sha: 'fedcba9876543210fedcba9876543210fedcba98' }),
      );
      expect(moved).toMatchObject({ ok: true, vm: { zone: otherZone } });
      expect(await t.backendVms()).toEqual([expect.objectContaining({ zone: otherZone })]);
    });

    it.each([
      {
        fault: 'QUOTA_EXCEEDED',
        code: GCP_ERROR_CODES.quotaExceeded,
        message: GCP_MESSAGES.quotaExceeded,
      },
      {
        fault: 'rateLimitExceeded',
        code: GCP_ERROR_CODES.rateLimited,
        message: GCP_MESSAGES.rateLimited,
      },
    ])('reports $fault as retry_later ($code)', async ({ fault, code, message }) => {
      await t.injectFault({ code: fault });
      const result = await create(makeSpec(zone));
      expect(result).toMatchObject({
        ok: false,
        error: { code, retriable: true, action: 'retry_later', userMessage: message },
      });
      expect(await t.backendVms()).toEqual([]);
    });

    it.each([
      {
        fault: 'NOT_FOUND_IMAGE',
        code: GCP_ERROR_CODES.notFound,
        message: GCP_MESSAGES.notFound,
      },
      {
        fault: 'PERMISSION_DENIED',
        code: GCP_ERROR_CODES.permissionDenied,
        message: GCP_MESSAGES.permissionDenied,
      },
    ])('reports $fault as a failure ($code)', async ({ fault, code, message }) => {
      await t.injectFault({ code: fault, zone });
      const result = await create(makeSpec(zone));
      expect(result).toMatchObject({
        ok: false,
        error: { code, retriable: false, action: 'fail', userMessage: message },
      });
      expect(await t.backendVms()).toEqual([]);
    });

    it('times out a slow operation within the budget, and the same spec later finds the VM', async () => {
      await t.injectFault({ code: 'SLOW_OPERATION', zone, delayMs: 800 });
      const spec = makeSpec(zone);
      const started = Date.now();
      const slow = await create(spec, 150);
      const elapsed = Date.now() - started;
      expect(slow).toMatchObject({
        ok: false,
        error: {
          code: GCP_ERROR_CODES.timeout,
          retriable: true,
          action: 'retry_later',
          userMessage: GCP_MESSAGES.timedOut,
        },
      });
      // Slack for a shared, busy machine; the operation alone takes 800 ms.
      expect(elapsed).toBeLessThan(150 + 600);
      // The VM is on its way: the next attempt must not make a second one.
      expect(await t.backendVms()).toHaveLength(1);

      const later = await create(spec);
      expect(later).toMatchObject({ ok: true, vm: { name: spec.name, zone } });
      expect(await t.backendVms()).toEqual([
        expect.objectContaining({ name: spec.name, status: 'RUNNING' }),
      ]);
    });

    it('gets a VM, and answers found: false for another name or zone', async () => {
      const spec = makeSpec(zone);
      await create(spec);
      expect(await t.provisioner.getVm(spec.name, zone)).toMatchObject({ found: true });
      expect(await t.provisioner.getVm('vmci-linux-no-such-vm', zone)).toEqual({ found: false });
      expect(await t.provisioner.getVm(spec.name, otherZone)).toEqual({ found: false });
    });

    it('deletes a VM; deleting it again is done too (gone)', async () => {
      const spec = makeSpec(zone);
      await create(spec);
      expect(await t.provisioner.deleteVm(spec.name, zone)).toEqual({ ok: true, gone: true });
      expect(await t.backendVms()).toEqual([]);
      expect(await t.provisioner.getVm(spec.name, zone)).toEqual({ found: false });
      expect(await t.provisioner.deleteVm(spec.name, zone)).toEqual({ ok: true, gone: true });
    });

    it('lists the VMs labelled vmci=true, by zone and platform, up to the limit', async () => {
      const linuxA = makeSpec(zone);
      const linuxB = makeSpec(otherZone, { sha: '1111111111111111111111111111111111111111' });
      const windowsA = makeSpec(zone, { platform: 'windows' });
      const unmanaged = {
        ...makeSpec(zone, { sha: '2222222222222222222222222222222222222222' }),
        labels: { team: 'ci' },
      };
      for (const spec of [linuxA, linuxB, windowsA, unmanaged]) {
        expect(await create(spec)).toMatchObject({ ok: true });
      }
      const names = async (options: Parameters<VmProvisioner['listVms']>[0]) => {
        const listed = await t.provisioner.listVms(options);
        if (!listed.ok) throw new Error(`listVms failed: ${listed.error.detail}`);
        return listed.vms.map((vm) => vm.name).sort();
      };
      const zones = [zone, otherZone];
      expect(await names({ zones, limit: 10 })).toEqual(
        [linuxA.name, linuxB.name, windowsA.name].sort(),
      );
      expect(await names({ zones, platform: 'linux', limit: 10 })).toEqual(
        [linuxA.name, linuxB.name].sort(),
      );
      expect(await names({ zones: [zone], limit: 10 })).toEqual(
        [linuxA.name, windowsA.name].sort(),
      );
      expect(await names({ zones: [otherZone], platform: 'windows', limit: 10 })).toEqual([]);
      expect(await names({ zones, limit: 2 })).toHaveLength(2);

      const listed = await t.provisioner.listVms({ zones: [otherZone], limit: 10 });
      expect(listed).toEqual({
        ok: true,
        vms: [
          expect.objectContaining({
            name: linuxB.name,
            zone: otherZone,
            status: 'RUNNING',
            testId: linuxB.testId,
            createdAt: expect.any(Date),
          }),
        ],
      });
    });
  });
}
