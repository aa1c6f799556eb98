// The VmProvisioner on Compute Engine, through injected @google-cloud/compute
// clients (real ones against Google, or against the local stand-in). Only
// types come from the library here; clients.ts builds the clients.
//
// Compute 7.8 facts this relies on (shared/notes/toolchain.md): insert and
// delete resolve to `[lro]` whose `latestResponse` is the zone operation;
// ZoneOperationsClient.wait answers after at most ~2 minutes, maybe not DONE;
// only a DONE operation's `error` tells why a create failed (a stockout VM can
// appear and vanish). Every call gets a timeout within the caller's budget.
import type { protos } from '@google-cloud/compute';
import { VM_LABEL_KEYS, VM_TEST_ID_METADATA_KEY } from '../domain/naming';
import type { ProvisioningModel } from '../domain/test';
import {
  GCP_ERROR_CODES,
  classifyGcpError,
  operationTimeoutError,
  type GcpErrorClass,
} from '../gcp/errors';
import { silentLogger, type Logger } from '../log';
import { platformLabel, toInstanceResource } from './instance-resource';
import type {
  CreateVmResult,
  DeleteVmResult,
  GetVmResult,
  ListVmsResult,
  VmInfo,
  VmProvisioner,
  VmSpec,
} from './port';

type IOperation = protos.google.cloud.compute.v1.IOperation;
type IInstance = protos.google.cloud.compute.v1.IInstance;

/** The call options used here (a subset of google-gax's CallOptions). */
export interface ComputeCallOptions {
  timeout?: number;
  autoPaginate?: boolean;
}

/** The InstancesClient methods used; a real InstancesClient satisfies it. */
export interface InstancesApi {
  insert(
    request: protos.google.cloud.compute.v1.IInsertInstanceRequest,
    options?: ComputeCallOptions,
  ): Promise<readonly unknown[]>;
  get(
    request: protos.google.cloud.compute.v1.IGetInstanceRequest,
    options?: ComputeCallOptions,
  ): Promise<readonly [IInstance, ...unknown[]]>;
  delete(
    request: protos.google.cloud.compute.v1.IDeleteInstanceRequest,
    options?: ComputeCallOptions,
  ): Promise<readonly unknown[]>;
  list(
    request: protos.google.cloud.compute.v1.IListInstancesRequest,
    options?: ComputeCallOptions,
  ): Promise<
    readonly [
      IInstance[],
      protos.google.cloud.compute.v1.IListInstancesRequest | null,
      ...unknown[],
    ]
  >;
}

/** The ZoneOperationsClient method used. */
export interface ZoneOperationsApi {
  wait(
    request: protos.google.cloud.compute.v1.IWaitZoneOperationRequest,
    options?: ComputeCallOptions,
  ): Promise<readonly [IOperation, ...unknown[]]>;
}

export interface ComputeProvisionerOptions {
  instances: InstancesApi;
  operations: ZoneOperationsApi;
  project: string;
  log?: Logger;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Cap of a single get, list, insert or delete call; default DEFAULT_CALL_TIMEOUT_MS. */
  callTimeoutMs?: number;
  /** How long deleteVm waits for its operation unless told; default DEFAULT_DELETE_BUDGET_MS. */
  deleteBudgetMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 30_000;
export const DEFAULT_DELETE_BUDGET_MS = 60_000;
/** A wait that failed or answered early (not DONE) is retried after this pause. */
export const WAIT_RETRY_PAUSE_MS = 500;
/** Compute's page limit. */
const MAX_PAGE_SIZE = 500;
/** Pages read per zone by listVms, whatever the limit: a bound on one sweep's calls. */
const MAX_PAGES_PER_ZONE = 5;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

type WaitOutcome = { op: IOperation } | { timedOut: true } | { error: GcpErrorClass };

/** `lro.latestResponse`: the zone operation (typed by the library as a longrunning one). */
function operationOf(response: readonly unknown[]): IOperation {
  const lro = response[0] as { latestResponse?: unknown } | null | undefined;
  const latest = lro?.latestResponse;
  return typeof latest === 'object' && latest !== null ? (latest as IOperation) : {};
}

function lastSegment(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  return url.slice(url.lastIndexOf('/') + 1) || undefined;
}

function provisioningOf(instance: IInstance): ProvisioningModel | undefined {
  const model = String(instance.scheduling?.provisioningModel ?? '');
  return model === 'SPOT' || model === 'STANDARD' ? model : undefined;
}

/** What vm-ci reads of an instance. Of the metadata only the test id: the rest holds the token. */
function toVmInfo(instance: IInstance, zone: string): VmInfo {
  const testId = instance.metadata?.items?.find((i) => i.key === VM_TEST_ID_METADATA_KEY)?.value;
  const provisioning = provisioningOf(instance);
  const created = instance.creationTimestamp ? new Date(instance.creationTimestamp) : undefined;
  return {
    name: instance.name ?? '',
    zone: lastSegment(instance.zone) ?? zone,
    status: String(instance.status ?? 'UNKNOWN'),
    labels: { ...(instance.labels ?? {}) },
    ...(typeof testId === 'string' ? { testId } : {}),
    ...(provisioning ? { provisioning } : {}),
    ...(created && !Number.isNaN(created.getTime()) ? { createdAt: created } : {}),
  };
}

function errorFields(error: GcpErrorClass): Record<string, unknown> {
  return {
    code: error.code,
    retriable: error.retriable,
    action: error.action,
    detail: error.detail,
    ...(error.zonesAvailable ? { zonesAvailable: error.zonesAvailable } : {}),
  };
}

export function createComputeProvisioner(options: ComputeProvisionerOptions): VmProvisioner {
  const { instances, operations, project } = options;
  const baseLog = options.log ?? silentLogger;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const deleteBudgetMs = options.deleteBudgetMs ?? DEFAULT_DELETE_BUDGET_MS;

  const budget = (ms: number) => {
    const started = now();
    return {
      remaining: () => started + ms - now(),
      spent: () => now() - started,
      /** A call timeout that ends within the budget. */
      call: () => Math.max(1, Math.min(callTimeoutMs, started + ms - now())),
    };
  };
  type Budget = ReturnType<typeof budget>;

  /** operations.wait until DONE or the budget is spent. */
  async function waitDone(op: IOperation, zone: string, b: Budget): Promise<WaitOutcome> {
    let current = op;
    const name = op.name;
    while (current.status !== 'DONE') {
      if (!name || b.remaining() <= 0) return { timedOut: true };
      const started = now();
      try {
        [current] = await operations.wait(
          { project, zone, operation: name },
          // Not capped by callTimeoutMs: a wait legitimately takes up to ~2 minutes.
          { timeout: Math.max(1, b.remaining()) },
        );
      } catch (err) {
        const error = classifyGcpError(err);
        // Our own timeout, or a transient failure: the operation goes on regardless.
        if (!error.retriable) return { error };
      }
      if (current.status !== 'DONE' && now() - started < WAIT_RETRY_PAUSE_MS) {
        const pause = Math.min(WAIT_RETRY_PAUSE_MS, b.remaining());
        if (pause > 0) await sleep(pause);
      }
    }
    return { op: current };
  }

  async function readVm(name: string, zone: string, timeout: number): Promise<GetVmResult> {
    try {
      const [instance] = await instances.get({ project, zone, instance: name }, { timeout });
      return { found: true, vm: toVmInfo(instance, zone) };
    } catch (err) {
      const error = classifyGcpError(err);
      if (error.code === GCP_ERROR_CODES.notFound) return { found: false };
      baseLog
        .child({ instance: name })
        .warn('could not read the VM', { zone, ...errorFields(error) });
      return { error };
    }
  }

  async function createVm(
    spec: VmSpec,
    { budgetMs }: { budgetMs: number },
  ): Promise<CreateVmResult> {
    // The test id is a label of every log line; no other metadata value is ever logged.
    const log = baseLog.child({ testId: spec.testId, instance: spec.name });
    const where = { zone: spec.zone, provisioning: spec.provisioning, requestId: spec.requestId };
    const b = budget(budgetMs);
    const failed = (error: GcpErrorClass, step: string): CreateVmResult => {
      log.warn('VM creation failed', { ...where, step, ...errorFields(error) });
      return { ok: false, error };
    };
    const timedOut = (operation: string) =>
      failed(classifyGcpError(operationTimeoutError(operation, b.spent())), 'wait');

    const adopt = async (existing: GcpErrorClass): Promise<CreateVmResult> => {
      if (b.remaining() <= 0) return timedOut(`adopt ${spec.name}`);
      const read = await readVm(spec.name, spec.zone, b.call());
      if ('error' in read) return failed(read.error, 'adopt');
      if (!read.found) return failed(existing, 'adopt');
      const vm = {
        name: spec.name,
        zone: spec.zone,
        provisioning: read.vm.provisioning ?? spec.provisioning,
      };
      log.info('VM adopted', { ...where, status: read.vm.status });
      return { ok: true, adopted: true, vm };
    };

    if (b.remaining() <= 0) return timedOut(`insert ${spec.name}`);
    let op: IOperation;
    try {
      const response = await instances.insert(
        {
          project,
          zone: spec.zone,
          requestId: spec.requestId,
          instanceResource: toInstanceResource(spec, project),
        },
        { timeout: b.call() },
      );
      op = operationOf(response);
    } catch (err) {
      const error = classifyGcpError(err);
      return error.action === 'adopt' ? adopt(error) : failed(error, 'insert');
    }
    log.info('VM insert accepted', { ...where, operation: op.name });

    const outcome = await waitDone(op, spec.zone, b);
    if ('error' in outcome) return failed(outcome.error, 'wait');
    if ('timedOut' in outcome) return timedOut(op.name ?? `insert ${spec.name}`);
    if (outcome.op.error) {
      const error = classifyGcpError(outcome.op.error);
      return error.action === 'adopt' ? adopt(error) : failed(error, 'operation');
    }
    log.info('VM created', where);
    return {
      ok: true,
      adopted: false,
      vm: { name: spec.name, zone: spec.zone, provisioning: spec.provisioning },
    };
  }

  async function deleteVm(
    name: string,
    zone: string,
    opts: { requestId?: string; budgetMs?: number } = {},
  ): Promise<DeleteVmResult> {
    const log = baseLog.child({ instance: name });
    const b = budget(opts.budgetMs ?? deleteBudgetMs);
    const outcome = (error: GcpErrorClass): DeleteVmResult => {
      if (error.code === GCP_ERROR_CODES.notFound) return { ok: true, gone: true };
      log.warn('VM deletion failed', { zone, ...errorFields(error) });
      return { ok: false, error };
    };
    let op: IOperation;
    try {
      const request = { project, zone, instance: name };
      const response = await instances.delete(
        opts.requestId ? { ...request, requestId: opts.requestId } : request,
        { timeout: b.call() },
      );
      op = operationOf(response);
    } catch (err) {
      return outcome(classifyGcpError(err));
    }
    const waited = await waitDone(op, zone, b);
    if ('error' in waited) {
      log.warn('could not follow the VM deletion', { zone, ...errorFields(waited.error) });
      return { ok: false, error: waited.error };
    }
    if ('timedOut' in waited) {
      log.info('VM deletion not finished within its budget', { zone, operation: op.name });
      return { ok: true, gone: false };
    }
    if (waited.op.error) return outcome(classifyGcpError(waited.op.error));
    log.info('VM deleted', { zone });
    return { ok: true, gone: true };
  }

  async function listVms(opts: {
    zones: readonly string[];
    platform?: string;
    limit: number;
  }): Promise<ListVmsResult> {
    const vms: VmInfo[] = [];
    // Only the `vmci` key goes to Compute's filter; the platform is checked
    // here, so no hyphenated label key has to pass through Compute's filter grammar.
    const filter = `labels.${VM_LABEL_KEYS.managed} = "true"`;
    const platform = opts.platform === undefined ? undefined : platformLabel(opts.platform);
    for (const zone of opts.zones) {
      let pageToken: string | undefined;
      for (let page = 0; page < MAX_PAGES_PER_ZONE && vms.length < opts.limit; page++) {
        const maxResults = Math.min(MAX_PAGE_SIZE, opts.limit - vms.length);
        try {
          const [items, next] = await instances.list(
            { project, zone, filter, maxResults, ...(pageToken ? { pageToken } : {}) },
            { autoPaginate: false, timeout: callTimeoutMs },
          );
          for (const instance of items) {
            const vm = toVmInfo(instance, zone);
            const mine = vm.labels[VM_LABEL_KEYS.managed] === 'true';
            if (!mine || (platform !== undefined && vm.labels[VM_LABEL_KEYS.platform] !== platform))
              continue;
            if (vms.length < opts.limit) vms.push(vm);
          }
          pageToken = next?.pageToken ?? undefined;
        } catch (err) {
          const error = classifyGcpError(err);
          baseLog.warn('could not list VMs', { zone, ...errorFields(error) });
          return { ok: false, error };
        }
        if (!pageToken) break;
      }
    }
    return { ok: true, vms };
  }

  return {
    createVm,
    getVm: (name, zone, opts) =>
      readVm(name, zone, Math.max(1, Math.min(callTimeoutMs, opts?.budgetMs ?? callTimeoutMs))),
    deleteVm,
    listVms,
  };
}
