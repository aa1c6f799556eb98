// The VM provisioner port (DESIGN §1, §3.2, §3.4, §4): create, read, delete and
// list the Compute Engine VMs that run tests. Failures come back as data,
// classified by classifyGcpError, so runTest and the sweeps decide from a
// GcpErrorClass what to do; only programming errors throw.
// This file loads nothing from @google-cloud/compute: the webhook may import it.
import type { ProvisioningModel } from '../domain/test';
import type { GcpErrorClass } from '../gcp/errors';

/** One VM to create, fully decided by buildVmSpec (instance-resource.ts). */
export interface VmSpec {
  /** The VM name: vmName(platform, testId, attempt). */
  name: string;
  zone: string;
  provisioning: ProvisioningModel;
  /** The Compute requestId: the same (test, attempt, zone, model) gives the same UUID. */
  requestId: string;
  /** The test the VM runs (for logs and doubles; also in metadata `vmci-test-id`). */
  testId: string;
  /** Short name, e.g. `e2-small`. */
  machineType: string;
  /** `projects/{p}/global/images/{image}` or `.../images/family/{family}`. */
  image: string;
  diskSizeGb: number;
  /** `global/networks/{n}`, optionally under `projects/{p}/`. */
  network: string;
  subnetwork?: string;
  /** An external address; without one the VM goes out through the network's Cloud NAT. */
  externalIp: boolean;
  serviceAccount?: string;
  labels: Record<string, string>;
  /** Holds the per-test token: never logged. */
  metadata: Record<string, string>;
  /** Compute's own maxRunDuration (action DELETE), the last resort of DESIGN §3.4. */
  maxRunSeconds: number;
}

export interface CreatedVm {
  name: string;
  zone: string;
  /** The model of the VM that exists (an adopted VM keeps the one it was made with). */
  provisioning: ProvisioningModel;
}

/**
 * `adopted`: a VM of that name already existed (an earlier delivery or attempt
 * made it) and is the test's. An `ok: false` carries `action: 'adopt'` only
 * when Compute said the name exists but the VM was gone when read back (it
 * vanished, as a stockout VM does): nothing to adopt, try again later.
 */
export type CreateVmResult =
  { ok: true; adopted: boolean; vm: CreatedVm } | { ok: false; error: GcpErrorClass };

export interface VmInfo {
  name: string;
  zone: string;
  /** As Compute reports it: PROVISIONING, STAGING, RUNNING, STOPPING, SUSPENDED, TERMINATED, ... */
  status: string;
  labels: Record<string, string>;
  /** The full test id, from metadata `vmci-test-id` (the only metadata value read). */
  testId?: string;
  provisioning?: ProvisioningModel;
  createdAt?: Date;
}

/** Compute's states of a VM that has shut down: it runs nothing, and will not by itself. */
const OFF_STATES: readonly string[] = ['STOPPED', 'TERMINATED', 'SUSPENDED'];
/** ... and of one on its way there. */
const GOING_OFF_STATES: readonly string[] = ['STOPPING', 'SUSPENDING'];

export function isOff(vm: Pick<VmInfo, 'status'>): boolean {
  return OFF_STATES.includes(vm.status);
}

export function isOffOrGoingOff(vm: Pick<VmInfo, 'status'>): boolean {
  return isOff(vm) || GOING_OFF_STATES.includes(vm.status);
}

export type GetVmResult = { found: true; vm: VmInfo } | { found: false } | { error: GcpErrorClass };

/** `gone: false`: the deletion was accepted but not seen to finish within its budget. */
export type DeleteVmResult = { ok: true; gone: boolean } | { ok: false; error: GcpErrorClass };

export type ListVmsResult = { ok: true; vms: VmInfo[] } | { ok: false; error: GcpErrorClass };

export interface ListVmsOptions {
  zones: readonly string[];
  /** Only this platform's VMs (label `vmci-platform`). */
  platform?: string;
  /** At most this many VMs in all, first zones first. */
  limit: number;
}

export interface VmProvisioner {
  /**
   * Inserts with the spec's requestId, then waits for the operation within
   * budgetMs. An existing VM of that name is adopted (not an error). Out of
   * budget → TIMEOUT (retriable): the next call with the same spec finds the VM.
   */
  createVm(spec: VmSpec, options: { budgetMs: number }): Promise<CreateVmResult>;
  /** NOT_FOUND → found: false. A budget bounds the call (default: the adapter's call timeout). */
  getVm(name: string, zone: string, options?: { budgetMs?: number }): Promise<GetVmResult>;
  /** Deletes and waits (bounded) for the operation; a missing VM counts as done (gone: true). */
  deleteVm(
    name: string,
    zone: string,
    options?: { requestId?: string; budgetMs?: number },
  ): Promise<DeleteVmResult>;
  /** VMs labelled vmci=true (optionally of one platform), across the given zones, at most `limit`. */
  listVms(options: ListVmsOptions): Promise<ListVmsResult>;
}
