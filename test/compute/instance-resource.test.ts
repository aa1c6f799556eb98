// buildVmSpec and toInstanceResource: pure, no Compute client.
import {
  BOOT_DISK_TYPE,
  MAX_RUN_MARGIN_SECONDS,
  STARTUP_SCRIPT_KEYS,
  VM_SCOPES,
  buildVmSpec,
  toInstanceResource,
  type BuildVmSpecInput,
} from '../../shared/compute/instance-resource';
import type { PlatformConfig } from '../../shared/config/schema';
import {
  VM_NAME_MAX,
  VM_NAME_PATTERN,
  testId,
  testLabel,
  vmLabels,
} from '../../shared/domain/naming';

const ZONE = 'us-central1-a';
const ID = testId({
  repo: 'CCExtractor/ccextractor',
  sha: '0123abcdef0123abcdef0123abcdef0123abcdef',
  platform: 'linux',
  trigger: 'pull_request',
  pr: 1234,
  run: 2,
});
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;

const LINUX: PlatformConfig = {
  os: 'linux',
  machineType: 'e2-standard-2',
  image: 'projects/debian-cloud/global/images/family/debian-12',
  diskSizeGb: 30,
  zones: [ZONE, 'us-central1-b'],
  spot: true,
  spotFallbackToStandard: true,
  maxConcurrent: 2,
  maxRunMinutes: 45,
  testCommand: 'make test',
  startupScript: 'infra/vm/linux/startup.sh',
  maintenance: false,
  network: 'global/networks/default',
  labels: { team: 'ci', cost: 'tests' },
};
const WINDOWS: PlatformConfig = {
  ...LINUX,
  os: 'windows',
  image: 'projects/windows-cloud/global/images/family/windows-2022',
  diskSizeGb: 50,
  startupScript: 'infra/vm/windows/startup.ps1',
};

const METADATA = {
  'vmci-callback-url': 'https://ci.example.test/progress',
  'vmci-token': 'secret-token-value',
  'vmci-repo': 'CCExtractor/ccextractor',
  'vmci-sha': '0123abcdef0123abcdef0123abcdef0123abcdef',
  'vmci-platform': 'linux',
};

function input(overrides: Partial<BuildVmSpecInput> = {}): BuildVmSpecInput {
  return {
    test: { id: ID, platform: 'linux', attempts: 1 },
    platform: LINUX,
    platformName: 'linux',
    zone: ZONE,
    provisioning: 'SPOT',
    metadata: METADATA,
    startupScript: '#!/bin/bash\necho hi\n',
    ...overrides,
  };
}

describe('buildVmSpec', () => {
  it('names the VM by RFC 1035, at most 63 characters, from platform, test and attempt', () => {
    const spec = buildVmSpec(input());
    expect(spec.name).toMatch(VM_NAME_PATTERN);
    expect(spec.name.length).toBeLessThanOrEqual(VM_NAME_MAX);
    expect(spec.name.startsWith('vmci-linux-')).toBe(true);
    expect(buildVmSpec(input()).name).toBe(spec.name);
    const next = buildVmSpec(input({ test: { id: ID, platform: 'linux', attempts: 2 } }));
    expect(next.name).not.toBe(spec.name);
    expect(next.name).toMatch(VM_NAME_PATTERN);
  });

  it('keeps the name across zones and models, but gives each a requestId of its own', () => {
    const spec = buildVmSpec(input());
    expect(spec.requestId).toMatch(UUID);
    expect(buildVmSpec(input()).requestId).toBe(spec.requestId);
    const others = [
      buildVmSpec(input({ zone: 'us-central1-b' })),
      buildVmSpec(input({ provisioning: 'STANDARD' })),
      buildVmSpec(input({ test: { id: ID, platform: 'linux', attempts: 2 } })),
    ];
    expect(new Set([spec.requestId, ...others.map((s) => s.requestId)]).size).toBe(4);
    expect(others[0]?.name).toBe(spec.name);
    expect(others[1]?.name).toBe(spec.name);
  });

  it('labels the VM as vm-ci owned, with its test and platform, plus the configured labels', () => {
    const spec = buildVmSpec(input());
    expect(spec.labels).toEqual({ team: 'ci', cost: 'tests', ...vmLabels('linux', ID) });
    expect(spec.labels['vmci-test']).toBe(testLabel(ID));
    for (const [key, value] of Object.entries(spec.labels)) {
      expect(key).toMatch(LABEL_KEY);
      expect(value).toMatch(LABEL_VALUE);
    }
  });

  it('puts the script under the key each OS runs, and always the test id', () => {
    const linux = buildVmSpec(input());
    expect(linux.metadata).toEqual({
      ...METADATA,
      'vmci-test-id': ID,
      [STARTUP_SCRIPT_KEYS.linux]: '#!/bin/bash\necho hi\n',
    });
    expect(linux.metadata).not.toHaveProperty('windows-startup-script-ps1');

    const windows = buildVmSpec(input({ platform: WINDOWS, startupScript: 'Write-Output hi' }));
    expect(windows.metadata['windows-startup-script-ps1']).toBe('Write-Output hi');
    expect(windows.metadata).not.toHaveProperty('startup-script');
    expect(windows.diskSizeGb).toBe(50);
  });

  it('copies the platform settings and adds the margin to the run limit', () => {
    const spec = buildVmSpec(
      input({
        platform: {
          ...LINUX,
          serviceAccount: 'vm@p.iam.gserviceaccount.com',
          subnetwork: 'regions/us-central1/subnetworks/ci',
        },
      }),
    );
    expect(spec).toMatchObject({
      zone: ZONE,
      provisioning: 'SPOT',
      testId: ID,
      machineType: 'e2-standard-2',
      image: LINUX.image,
      diskSizeGb: 30,
      network: 'global/networks/default',
      subnetwork: 'regions/us-central1/subnetworks/ci',
      serviceAccount: 'vm@p.iam.gserviceaccount.com',
      maxRunSeconds: 45 * 60 + MAX_RUN_MARGIN_SECONDS,
    });
    const plain = buildVmSpec(input());
    expect(plain).not.toHaveProperty('subnetwork');
    expect(plain).not.toHaveProperty('serviceAccount');
  });

  it('throws for inputs that only a bug produces', () => {
    expect(() => buildVmSpec(input({ platformName: 'windows' }))).toThrow(RangeError);
    expect(() => buildVmSpec(input({ metadata: { ...METADATA, 'startup-script': 'x' } }))).toThrow(
      /startup-script/,
    );
    expect(() =>
      buildVmSpec(input({ metadata: { ...METADATA, 'vmci-test-id': 'another-test' } })),
    ).toThrow(RangeError);
  });
});

describe('toInstanceResource', () => {
  it('builds a Spot VM that Compute deletes at its run limit', () => {
    const spec = buildVmSpec(input());
    const body = toInstanceResource(spec, 'my-ci-project');
    expect(body).toEqual({
      name: spec.name,
      machineType: `zones/${ZONE}/machineTypes/e2-standard-2`,
      labels: spec.labels,
      metadata: {
        items: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
      },
      disks: [
        {
          boot: true,
          autoDelete: true,
          initializeParams: {
            sourceImage: LINUX.image,
            diskSizeGb: 30,
            diskType: `zones/${ZONE}/diskTypes/${BOOT_DISK_TYPE}`,
          },
        },
      ],
      networkInterfaces: [
        {
          network: 'projects/my-ci-project/global/networks/default',
          accessConfigs: [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }],
        },
      ],
      scheduling: {
        provisioningModel: 'SPOT',
        instanceTerminationAction: 'DELETE',
        maxRunDuration: { seconds: spec.maxRunSeconds },
        automaticRestart: false,
        onHostMaintenance: 'TERMINATE',
      },
    });
  });

  it('builds a standard VM that may migrate, with the same run limit and action', () => {
    const body = toInstanceResource(buildVmSpec(input({ provisioning: 'STANDARD' })), 'p-1234');
    expect(body.scheduling).toEqual({
      provisioningModel: 'STANDARD',
      instanceTerminationAction: 'DELETE',
      maxRunDuration: { seconds: 45 * 60 + MAX_RUN_MARGIN_SECONDS },
      automaticRestart: false,
      onHostMaintenance: 'MIGRATE',
    });
  });

  it.each([
    { network: 'global/networks/default', externalIp: undefined, external: true },
    {
      network: 'projects/host-1234/global/networks/default',
      externalIp: undefined,
      external: true,
    },
    { network: 'global/networks/vmci-vms', externalIp: undefined, external: false },
    { network: 'global/networks/vmci-vms', externalIp: true, external: true },
    { network: 'global/networks/default', externalIp: false, external: false },
  ])('$network, externalIp $externalIp: an external address $external', (c) => {
    const platform = {
      ...LINUX,
      network: c.network,
      ...(c.externalIp === undefined ? {} : { externalIp: c.externalIp }),
    };
    const [nic] = toInstanceResource(buildVmSpec(input({ platform })), 'p-1234').networkInterfaces;
    expect(nic!.accessConfigs).toEqual(
      c.external ? [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] : [],
    );
  });

  it('adds the service account with the minimal scope and the subnetwork only when configured', () => {
    const withSubnet = (network: string, subnetwork: string) =>
      toInstanceResource(
        buildVmSpec(
          input({
            platform: {
              ...LINUX,
              serviceAccount: 'vm@p.iam.gserviceaccount.com',
              network,
              subnetwork,
            },
          }),
        ),
        'my-ci-project',
      );
    const own = withSubnet('global/networks/ci', 'regions/us-central1/subnetworks/ci');
    expect(own.serviceAccounts).toEqual([
      { email: 'vm@p.iam.gserviceaccount.com', scopes: [...VM_SCOPES] },
    ]);
    // Not the default network: no external address unless asked (out through Cloud NAT).
    expect(own.networkInterfaces).toEqual([
      {
        network: 'projects/my-ci-project/global/networks/ci',
        subnetwork: 'projects/my-ci-project/regions/us-central1/subnetworks/ci',
        accessConfigs: [],
      },
    ]);
    // A shared VPC's paths name the host project and are kept as they are.
    const shared = withSubnet(
      'projects/vpc-host-1234/global/networks/ci',
      'projects/vpc-host-1234/regions/us-central1/subnetworks/ci',
    );
    expect(shared.networkInterfaces[0]).toMatchObject({
      network: 'projects/vpc-host-1234/global/networks/ci',
      subnetwork: 'projects/vpc-host-1234/regions/us-central1/subnetworks/ci',
    });
    expect(toInstanceResource(buildVmSpec(input()), 'p')).not.toHaveProperty('serviceAccounts');
  });
});
