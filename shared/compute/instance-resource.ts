// From a test and its platform's configuration to the VM spec, and from the
// spec to the Compute REST Instance body. Pure: nothing is loaded from
// @google-cloud/compute, so both are unit-tested without it.
import { hasExternalIp, type OsType, type PlatformConfig } from '../config/schema';
import { VM_TEST_ID_METADATA_KEY, labelValue, requestId, vmLabels, vmName } from '../domain/naming';
import type { ProvisioningModel, TestRecord } from '../domain/test';
import type { VmSpec } from './port';

/** The metadata key Compute's guest environment runs at boot, per OS. */
export const STARTUP_SCRIPT_KEYS: Readonly<Record<OsType, string>> = {
  linux: 'startup-script',
  // Windows only runs PowerShell under this key (`windows-startup-script-ps1`).
  windows: 'windows-startup-script-ps1',
};

/**
 * Added to the platform's maxRunMinutes for Compute's maxRunDuration. The test's
 * own deadline is enforced by sweepExpired (every 5 minutes), which records
 * `timed_out` with a friendly line and deletes the VM; Compute's deletion is
 * the silent last resort, so it must come after the sweep had two chances.
 */
export const MAX_RUN_MARGIN_SECONDS = 10 * 60;

/** Balanced persistent disk: available to the E2/N1/N2/N2D/C2 series a CI platform uses. */
export const BOOT_DISK_TYPE = 'pd-balanced';

/**
 * The VM's service account (when configured) gets only this scope: the
 * startup script talks to GitHub and to the callback URL with its per-test
 * token and needs no Google API; writing logs lets the guest's logging agent
 * ship the console. Anything more is granted by IAM roles plus a wider scope.
 */
export const VM_SCOPES: readonly string[] = ['https://www.googleapis.com/auth/logging.write'];

export interface BuildVmSpecInput {
  /** `attempts` is the attempt the caller has claimed; names and requestId derive from it. */
  test: Pick<TestRecord, 'id' | 'platform' | 'attempts'>;
  platform: PlatformConfig;
  platformName: string;
  zone: string;
  provisioning: ProvisioningModel;
  /** DESIGN §6 values (vmci-callback-url, vmci-token, ...), built by the caller. */
  metadata: Record<string, string>;
  /** The startup script's content (not its path). */
  startupScript: string;
  /** The `vmci-deployment` label (deploymentLabel of the public URL). */
  deployment?: string;
}

export function buildVmSpec(input: BuildVmSpecInput): VmSpec {
  const { test, platform, platformName, zone, provisioning } = input;
  if (test.platform !== platformName) {
    throw new RangeError(`test ${test.id} is for ${test.platform}, not ${platformName}`);
  }
  const scriptKey = STARTUP_SCRIPT_KEYS[platform.os];
  if (Object.hasOwn(input.metadata, scriptKey)) {
    throw new RangeError(`metadata must not hold ${scriptKey}: it comes from startupScript`);
  }
  const givenId = input.metadata[VM_TEST_ID_METADATA_KEY];
  if (givenId !== undefined && givenId !== test.id) {
    throw new RangeError(`metadata ${VM_TEST_ID_METADATA_KEY} is not the test's id`);
  }
  return {
    name: vmName(platformName, test.id, test.attempts),
    zone,
    provisioning,
    requestId: requestId(test.id, test.attempts, zone, provisioning),
    testId: test.id,
    machineType: platform.machineType,
    image: platform.image,
    diskSizeGb: platform.diskSizeGb,
    network: platform.network,
    ...(platform.subnetwork ? { subnetwork: platform.subnetwork } : {}),
    externalIp: hasExternalIp(platform),
    ...(platform.serviceAccount ? { serviceAccount: platform.serviceAccount } : {}),
    // vm-ci's own labels last: orphan detection relies on them (the schema
    // already refuses configured keys under the `vmci` prefix).
    labels: { ...platform.labels, ...vmLabels(platformName, test.id, input.deployment) },
    // The test id is always there: getVm and the orphan sweep read it.
    metadata: {
      ...input.metadata,
      [VM_TEST_ID_METADATA_KEY]: test.id,
      [scriptKey]: input.startupScript,
    },
    maxRunSeconds: platform.maxRunMinutes * 60 + MAX_RUN_MARGIN_SECONDS,
  };
}

/** The fields of Compute's Instance that vm-ci sets (REST names). */
export interface InstanceResource {
  name: string;
  machineType: string;
  labels: Record<string, string>;
  metadata: { items: Array<{ key: string; value: string }> };
  disks: Array<{
    boot: true;
    autoDelete: true;
    initializeParams: { sourceImage: string; diskSizeGb: number; diskType: string };
  }>;
  networkInterfaces: Array<{
    network: string;
    subnetwork?: string;
    accessConfigs: Array<{ name: string; type: 'ONE_TO_ONE_NAT' }>;
  }>;
  serviceAccounts?: Array<{ email: string; scopes: string[] }>;
  scheduling: {
    provisioningModel: ProvisioningModel;
    instanceTerminationAction: 'DELETE';
    maxRunDuration: { seconds: number };
    automaticRestart: false;
    onHostMaintenance: 'TERMINATE' | 'MIGRATE';
  };
}

/** A project-relative path (`global/networks/x`) made absolute in `project`. */
function inProject(path: string, project: string): string {
  return path.startsWith('projects/') ? path : `projects/${project}/${path}`;
}

export function toInstanceResource(spec: VmSpec, project: string): InstanceResource {
  const spot = spec.provisioning === 'SPOT';
  return {
    name: spec.name,
    machineType: `zones/${spec.zone}/machineTypes/${spec.machineType}`,
    labels: { ...spec.labels },
    metadata: {
      items: Object.entries(spec.metadata).map(([key, value]) => ({ key, value })),
    },
    disks: [
      {
        boot: true,
        autoDelete: true,
        initializeParams: {
          sourceImage: spec.image,
          diskSizeGb: spec.diskSizeGb,
          diskType: `zones/${spec.zone}/diskTypes/${BOOT_DISK_TYPE}`,
        },
      },
    ],
    networkInterfaces: [
      {
        network: inProject(spec.network, project),
        ...(spec.subnetwork ? { subnetwork: inProject(spec.subnetwork, project) } : {}),
        // No external address unless asked (hasExternalIp): untrusted code is
        // then reachable from nowhere, and goes out through Cloud NAT.
        accessConfigs: spec.externalIp ? [{ name: 'External NAT', type: 'ONE_TO_ONE_NAT' }] : [],
      },
    ],
    ...(spec.serviceAccount
      ? { serviceAccounts: [{ email: spec.serviceAccount, scopes: [...VM_SCOPES] }] }
      : {}),
    // maxRunDuration needs an instanceTerminationAction. Both models take it;
    // Spot also requires TERMINATE on host maintenance and no automatic
    // restart. A test VM is never restarted: a restart would rerun the
    // startup script against a half-done test.
    scheduling: {
      provisioningModel: spec.provisioning,
      instanceTerminationAction: 'DELETE',
      maxRunDuration: { seconds: spec.maxRunSeconds },
      automaticRestart: false,
      onHostMaintenance: spot ? 'TERMINATE' : 'MIGRATE',
    },
  };
}

/** The platform label value listVms filters on. */
export function platformLabel(platform: string): string {
  return labelValue(platform);
}
