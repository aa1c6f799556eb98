// The in-memory VmProvisioner double, with Compute's semantics where vm-ci
// relies on them: a requestId replays its first outcome (success or a failed
// operation), a name taken in a zone is ALREADY_EXISTS (adopted), an injected
// fault fails the next inserts the way the local stand-in's codes do
// (infra/local/compute/faults.ts), and errors are classified by
// classifyGcpError from payloads shaped like Compute's.
import {
  VM_LABEL_KEYS,
  VM_NAME_MAX,
  VM_NAME_PATTERN,
  VM_TEST_ID_METADATA_KEY,
} from '../domain/naming';
import type { ProvisioningModel } from '../domain/test';
import {
  GCP_ERROR_CODES,
  classifyGcpError,
  operationTimeoutError,
  type GcpErrorClass,
} from '../gcp/errors';
import { platformLabel } from './instance-resource';
import type { CreateVmResult, ListVmsOptions, VmInfo, VmProvisioner, VmSpec } from './port';

/** The stand-in's fault codes (see faults.ts); any other code fails the operation with it. */
export const SLOW_OPERATION = 'SLOW_OPERATION';
const DEFAULT_SLOW_MS = 5000;

export interface MemoryFaultSpec {
  code: string;
  /** Only inserts in this zone (default: any zone). */
  zone?: string;
  /** How many inserts fail (default 1). */
  count?: number;
  zonesAvailable?: string[];
  /** SLOW_OPERATION: how long the create stays unfinished (default 5000 ms). */
  delayMs?: number;
}

export interface MemoryVm {
  name: string;
  zone: string;
  status: string;
  provisioning: ProvisioningModel;
  labels: Record<string, string>;
  metadata: Record<string, string>;
  machineType: string;
  maxRunSeconds: number;
  createdAt: Date;
}

export type MemoryMethod = 'getVm' | 'deleteVm' | 'listVms';

export interface MemoryProvisioner extends VmProvisioner {
  /** The live VMs, oldest first (copies). */
  vms(): MemoryVm[];
  /** How many insert calls reached the double (faults and dedupes included). */
  insertCalls(): number;
  injectFault(spec: MemoryFaultSpec): void;
  /** The next `count` calls of `method` fail with `error`. */
  failNext(method: MemoryMethod, error: GcpErrorClass, count?: number): void;
  /** Sets a VM's status (a powered-off VM is TERMINATED). False when there is no such VM. */
  setStatus(name: string, zone: string, status: string): boolean;
  /** The VM vanishes without a delete call (preempted, maxRunDuration, a person). */
  remove(name: string, zone: string): boolean;
}

export interface MemoryProvisionerOptions {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Fault {
  code: string;
  zone?: string;
  remaining: number;
  zonesAvailable?: string[];
  delayMs: number;
}

interface Entry extends MemoryVm {
  /** Until then the create's operation is unfinished (PROVISIONING). */
  readyAt: number;
}

/** What a requestId did the first time: Compute answers a repeat with the same operation. */
interface Recorded {
  name: string;
  zone: string;
  provisioning: ProvisioningModel;
  error?: GcpErrorClass;
}

// Synchronous HTTP errors, as Compute's legacy JSON bodies (reason → classification).
const SYNC_ERRORS: Readonly<Record<string, (spec: VmSpec) => unknown>> = {
  rateLimitExceeded: () => legacy(403, 'rateLimitExceeded', 'Rate Limit Exceeded'),
  quotaExceeded: () => legacy(403, 'quotaExceeded', "Quota 'CPUS' exceeded."),
  RATE_LIMITED_429: () => legacy(429, 'rateLimitExceeded', 'Quota exceeded for quota metric'),
  STOCKOUT_503: (spec) =>
    legacy(503, 'resourceNotAvailable', `The zone '${spec.zone}' does not have enough resources`),
  NOT_FOUND_IMAGE: (spec) => legacy(404, 'notFound', `The resource '${spec.image}' was not found`),
  PERMISSION_DENIED: () =>
    legacy(403, 'forbidden', "Required 'compute.instances.create' permission"),
};

function legacy(code: number, reason: string, message: string): unknown {
  return { error: { code, message, errors: [{ message, domain: 'global', reason }] } };
}

/** A failed operation's `error`, as Compute reports it. */
function operationError(fault: Fault, spec: VmSpec): unknown {
  const zones = fault.zonesAvailable?.length
    ? [
        {
          errorInfo: {
            reason: 'resource_availability',
            metadatas: { zonesAvailable: fault.zonesAvailable.join(',') },
          },
        },
      ]
    : [];
  return {
    errors: [
      {
        code: fault.code,
        message: `${fault.code} for ${spec.name} in ${spec.zone}`,
        errorDetails: zones,
      },
    ],
  };
}

const key = (name: string, zone: string) => `${zone}/${name}`;

const copy = (vm: Entry): MemoryVm => ({
  name: vm.name,
  zone: vm.zone,
  status: vm.status,
  provisioning: vm.provisioning,
  labels: { ...vm.labels },
  metadata: { ...vm.metadata },
  machineType: vm.machineType,
  maxRunSeconds: vm.maxRunSeconds,
  createdAt: new Date(vm.createdAt),
});

export function createMemoryProvisioner(options: MemoryProvisionerOptions = {}): MemoryProvisioner {
  const now = options.now ?? Date.now;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const live = new Map<string, Entry>();
  const requests = new Map<string, Recorded>();
  let faults: Fault[] = [];
  const failures: Record<MemoryMethod, GcpErrorClass[]> = { getVm: [], deleteVm: [], listVms: [] };
  let inserts = 0;

  // A turn passes, as a round trip would, so racing callers interleave.
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  const statusOf = (vm: Entry): string =>
    vm.status === 'PROVISIONING' && now() >= vm.readyAt ? 'RUNNING' : vm.status;

  const info = (vm: Entry): VmInfo => ({
    name: vm.name,
    zone: vm.zone,
    status: statusOf(vm),
    labels: { ...vm.labels },
    provisioning: vm.provisioning,
    createdAt: new Date(vm.createdAt),
    ...(vm.metadata[VM_TEST_ID_METADATA_KEY] !== undefined
      ? { testId: vm.metadata[VM_TEST_ID_METADATA_KEY] }
      : {}),
  });

  // Peek, then consume only when the fault is used: like the stand-in, an
  // insert refused as ALREADY_EXISTS leaves an operation fault for the next one.
  const peekFault = (zone: string): Fault | undefined =>
    faults.find((f) => f.zone === undefined || f.zone === zone);
  const consume = (fault: Fault): void => {
    if (--fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
  };

  const takeFailure = (method: MemoryMethod) => failures[method].shift();

  /** Waits for a VM's create operation within the budget, as the adapter's wait loop does. */
  async function awaitReady(vm: Entry | undefined, budgetMs: number): Promise<boolean> {
    const left = vm ? vm.readyAt - now() : 0;
    if (left <= 0) return true;
    if (budgetMs < left) {
      if (budgetMs > 0) await sleep(budgetMs);
      return false;
    }
    await sleep(left);
    return true;
  }

  function adopt(spec: VmSpec, existing: GcpErrorClass): CreateVmResult {
    const vm = live.get(key(spec.name, spec.zone));
    if (!vm) return { ok: false, error: existing };
    return {
      ok: true,
      adopted: true,
      vm: { name: vm.name, zone: vm.zone, provisioning: vm.provisioning },
    };
  }

  async function createVm(
    spec: VmSpec,
    { budgetMs }: { budgetMs: number },
  ): Promise<CreateVmResult> {
    await turn();
    inserts += 1;
    const timeout = () =>
      ({
        ok: false,
        error: classifyGcpError(operationTimeoutError(`insert ${spec.name}`, budgetMs)),
      }) as const;

    const earlier = requests.get(spec.requestId);
    if (earlier) {
      if (earlier.error) return { ok: false, error: earlier.error };
      const ready = await awaitReady(live.get(key(earlier.name, earlier.zone)), budgetMs);
      if (!ready) return timeout();
      const vm = { name: earlier.name, zone: earlier.zone, provisioning: earlier.provisioning };
      return { ok: true, adopted: false, vm };
    }
    if (!VM_NAME_PATTERN.test(spec.name) || spec.name.length > VM_NAME_MAX) {
      return {
        ok: false,
        error: classifyGcpError(legacy(400, 'invalid', `Invalid name ${spec.name}`)),
      };
    }
    const fault = peekFault(spec.zone);
    const sync = fault ? SYNC_ERRORS[fault.code] : undefined;
    if (fault && sync) {
      consume(fault);
      return { ok: false, error: classifyGcpError(sync(spec)) };
    }

    if (live.has(key(spec.name, spec.zone))) {
      const exists = classifyGcpError(
        legacy(409, 'alreadyExists', `The resource '${spec.name}' already exists`),
      );
      return adopt(spec, exists);
    }
    if (fault) consume(fault);
    if (fault && fault.code !== SLOW_OPERATION) {
      const error = classifyGcpError(operationError(fault, spec));
      requests.set(spec.requestId, {
        name: spec.name,
        zone: spec.zone,
        provisioning: spec.provisioning,
        error,
      });
      return { ok: false, error };
    }

    const created = now();
    const vm: Entry = {
      name: spec.name,
      zone: spec.zone,
      status: 'PROVISIONING',
      provisioning: spec.provisioning,
      labels: { ...spec.labels },
      metadata: { ...spec.metadata },
      machineType: spec.machineType,
      maxRunSeconds: spec.maxRunSeconds,
      createdAt: new Date(created),
      readyAt: created + (fault ? fault.delayMs : 0),
    };
    live.set(key(vm.name, vm.zone), vm);
    requests.set(spec.requestId, { name: vm.name, zone: vm.zone, provisioning: vm.provisioning });
    if (!(await awaitReady(vm, budgetMs))) return timeout();
    return {
      ok: true,
      adopted: false,
      vm: { name: vm.name, zone: vm.zone, provisioning: vm.provisioning },
    };
  }

  return {
    createVm,

    async getVm(name, zone) {
      await turn();
      const failure = takeFailure('getVm');
      if (failure) return { error: failure };
      const vm = live.get(key(name, zone));
      return vm ? { found: true, vm: info(vm) } : { found: false };
    },

    async deleteVm(name, zone) {
      await turn();
      const failure = takeFailure('deleteVm');
      if (failure) {
        return failure.code === GCP_ERROR_CODES.notFound
          ? { ok: true, gone: true }
          : { ok: false, error: failure };
      }
      live.delete(key(name, zone));
      return { ok: true, gone: true };
    },

    async listVms({ zones, platform, limit }: ListVmsOptions) {
      await turn();
      const failure = takeFailure('listVms');
      if (failure) return { ok: false, error: failure };
      const wanted = platform === undefined ? undefined : platformLabel(platform);
      const vms = zones.flatMap((zone) =>
        [...live.values()]
          .filter(
            (vm) =>
              vm.zone === zone &&
              vm.labels[VM_LABEL_KEYS.managed] === 'true' &&
              (wanted === undefined || vm.labels[VM_LABEL_KEYS.platform] === wanted),
          )
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      );
      return { ok: true, vms: vms.slice(0, Math.max(0, limit)).map(info) };
    },

    vms: () => [...live.values()].map((vm) => copy({ ...vm, status: statusOf(vm) })),
    insertCalls: () => inserts,
    injectFault(spec) {
      const count = spec.count ?? 1;
      if (!Number.isSafeInteger(count) || count < 1) {
        throw new RangeError(`count must be a positive integer, got ${count}`);
      }
      faults.push({
        code: spec.code,
        remaining: count,
        delayMs: spec.delayMs ?? DEFAULT_SLOW_MS,
        ...(spec.zone ? { zone: spec.zone } : {}),
        ...(spec.zonesAvailable ? { zonesAvailable: [...spec.zonesAvailable] } : {}),
      });
    },
    failNext(method, error, count = 1) {
      for (let i = 0; i < count; i++) failures[method].push(error);
    },
    setStatus(name, zone, status) {
      const vm = live.get(key(name, zone));
      if (!vm) return false;
      vm.status = status;
      return true;
    },
    remove: (name, zone) => live.delete(key(name, zone)),
  };
}
