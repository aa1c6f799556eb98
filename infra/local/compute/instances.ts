// The stand-in's state and the instance lifecycle:
//   insert: PROVISIONING (operation PENDING) → STAGING (operation RUNNING, at
//   half the operation delay) → RUNNING (operation DONE, at the delay). At
//   RUNNING the VM boots: its startup-script runs as a local process (see
//   vm-process.ts) against its own metadata server (see metadata.ts).
//   The script exits → STOPPING → TERMINATED, like a VM that powered off.
//   delete: STOPPING, the process group is stopped (SIGTERM, then SIGKILL), the
//   instance is removed; its operation is DONE once both that and the
//   operation delay are over.
//   scheduling.maxRunDuration (× timeScale) from RUNNING: the VM is deleted
//   (instanceTerminationAction DELETE) or stopped (otherwise).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  alreadyExists,
  instancePath,
  instanceUrl,
  invalidField,
  notFound,
  rfc3339,
  zonePath,
} from './api';
import {
  FaultQueue,
  SLOW_OPERATION,
  isSyncFault,
  operationFailure,
  syncFaultError,
  type FaultContext,
} from './faults';
import {
  Instance,
  storedResource,
  type InstanceStatus,
  type LocalInstanceSummary,
  type VmEnd,
} from './instance';
import { bootVm } from './boot';
import { aggregatedInstanceList, instanceList, selectInstances } from './listing';
import { OperationStore, type Operation, type OperationJson } from './operations';
import { resolveOptions, type ComputeStandInOptions, type ResolvedOptions } from './options';
import { Timers } from './timers';
import { checkRequestId, validateInsert } from './validate';
import type { VmExit } from './vm-process';

export type { ComputeStandInOptions, InstanceStatus, LocalInstanceSummary, VmEnd };

export class ComputeState {
  readonly faults = new FaultQueue();
  private readonly ops = new OperationStore();
  private readonly timers = new Timers();
  private readonly live = new Map<string, Instance>();
  /** The newest instance of each name, kept after deletion for its console and end. */
  private readonly lastByName = new Map<string, Instance>();
  private readonly opts: ResolvedOptions;
  private baseDir?: string;
  private closed = false;

  constructor(options: ComputeStandInOptions = {}) {
    this.opts = resolveOptions(options);
  }

  private checkProject(project: string): void {
    if (this.opts.project !== undefined && project !== this.opts.project) {
      throw notFound(`projects/${project}`);
    }
  }

  private find(project: string, zone: string, name: string): Instance {
    this.checkProject(project);
    const inst = this.live.get(instancePath(project, zone, name));
    if (!inst) throw notFound(instancePath(project, zone, name));
    return inst;
  }

  // --- instances.insert ---------------------------------------------------------------

  insert(project: string, zone: string, rawRequestId: string | null, body: unknown): OperationJson {
    this.checkProject(project);
    const requestId = checkRequestId(rawRequestId);
    const earlier = this.ops.forRequest(project, requestId);
    if (earlier) return earlier.snapshot();

    const spec = validateInsert(body, zone);
    const ctx: FaultContext = {
      project,
      projectNumber: this.opts.projectNumber,
      zone,
      name: spec.name,
      machineType: spec.machineTypeName,
      image: spec.image,
    };
    const fault = this.faults.peek(zone);
    if (fault && isSyncFault(fault)) {
      this.faults.consume(fault);
      this.opts.log(`compute: insert ${spec.name} in ${zone} fails with injected ${fault.code}`);
      throw syncFaultError(fault, ctx);
    }
    const path = instancePath(project, zone, spec.name);
    if (this.live.has(path)) throw alreadyExists(path);
    if (fault) this.faults.consume(fault);

    const targetLink = instanceUrl(project, zone, spec.name);
    if (fault && fault.code !== SLOW_OPERATION) {
      const op = this.ops.create({ project, zone, operationType: 'insert', targetLink });
      this.ops.remember(project, requestId, op);
      this.opts.log(`compute: insert ${spec.name} in ${zone} ends with injected ${fault.code}`);
      const failure = operationFailure(fault, ctx);
      this.timers.after(this.opts.operationDelayMs / 2, () => op.start());
      this.timers.after(this.opts.operationDelayMs, () => op.finish(failure));
      return op.snapshot();
    }

    const inst = new Instance(
      project,
      zone,
      spec,
      storedResource(body as Record<string, unknown>, project, zone, spec),
      this.opts.consoleLimitBytes,
    );
    this.live.set(path, inst);
    this.lastByName.set(spec.name, inst);
    const op = this.ops.create({
      project,
      zone,
      operationType: 'insert',
      targetLink,
      targetId: inst.id,
    });
    this.ops.remember(project, requestId, op);
    const delay = fault?.delayMs ?? this.opts.operationDelayMs;
    this.opts.log(`compute: inserting ${spec.name} in ${zone} (${op.json.name})`);
    this.timers.after(delay / 2, () => {
      op.start();
      if (inst.status === 'PROVISIONING') inst.status = 'STAGING';
    });
    this.timers.after(delay, () => {
      if (!inst.removal) this.started(inst);
      op.finish();
    });
    return op.snapshot();
  }

  private started(inst: Instance): void {
    inst.status = 'RUNNING';
    inst.lastStart = rfc3339();
    this.opts.log(`compute: ${inst.name} in ${inst.zone} is RUNNING`);
    if (inst.spec.maxRunMs !== undefined) {
      inst.cancelMaxRun = this.timers.after(inst.spec.maxRunMs * this.opts.timeScale, () => {
        this.opts.log(
          `compute: ${inst.name} reached its maxRunDuration: ${inst.spec.terminationAction}`,
        );
        if (inst.spec.terminationAction === 'DELETE') void this.remove(inst);
        else this.stop(inst);
      });
    }
    const script = inst.attributes['startup-script'];
    if (this.opts.boot && script !== undefined) {
      inst.booting = bootVm(inst, script, {
        opts: this.opts,
        closed: () => this.closed,
        baseDir: () => (this.baseDir ??= mkdtempSync(join(tmpdir(), 'vmci-compute-'))),
        exited: (vm, exit) => this.poweredOff(vm, exit),
      });
    }
  }

  /** The startup script ended on its own, or was stopped by maxRunDuration (STOP). */
  private poweredOff(inst: Instance, exit: VmExit): void {
    inst.console.append(
      `vmci-local: startup-script exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.exitCode}`}\n`,
    );
    if (inst.removal) return;
    inst.cancelMaxRun?.();
    inst.status = 'TERMINATED';
    void inst.metadataServer?.close();
    this.opts.log(`compute: ${inst.name} powered off: TERMINATED`);
    inst.end({ status: 'TERMINATED', ...exit });
  }

  private stop(inst: Instance): void {
    if (inst.status !== 'RUNNING') return;
    inst.status = 'STOPPING';
    if (inst.vm) {
      void inst.vm.kill();
    } else {
      inst.status = 'TERMINATED';
      inst.end({ status: 'TERMINATED', exitCode: null, signal: null });
    }
  }

  /** Stops the VM's processes and removes it (idempotent). */
  private remove(inst: Instance): Promise<void> {
    inst.removal ??= (async () => {
      inst.status = 'STOPPING';
      inst.cancelMaxRun?.();
      await inst.booting;
      const exit = inst.vm ? await inst.vm.kill() : { exitCode: null, signal: null };
      await inst.metadataServer?.close();
      if (inst.dir) rmSync(inst.dir, { recursive: true, force: true });
      this.live.delete(instancePath(inst.project, inst.zone, inst.name));
      this.opts.log(`compute: ${inst.name} in ${inst.zone} deleted`);
      inst.end({ status: 'DELETED', ...exit });
    })();
    return inst.removal;
  }

  // --- instances.delete / get / list / getSerialPortOutput ------------------------------

  delete(project: string, zone: string, name: string, rawRequestId: string | null): OperationJson {
    this.checkProject(project);
    const requestId = checkRequestId(rawRequestId);
    const earlier = this.ops.forRequest(project, requestId);
    if (earlier) return earlier.snapshot();
    const inst = this.find(project, zone, name);
    const op = this.ops.create({
      project,
      zone,
      operationType: 'delete',
      targetLink: instanceUrl(project, zone, name),
      targetId: inst.id,
    });
    this.ops.remember(project, requestId, op);
    op.start();
    const minimum = new Promise<void>((resolve) =>
      this.timers.after(this.opts.operationDelayMs, resolve),
    );
    void Promise.all([this.remove(inst), minimum]).then(() => op.finish());
    return op.snapshot();
  }

  get(project: string, zone: string, name: string): Record<string, unknown> {
    return this.find(project, zone, name).toJson();
  }

  list(project: string, zone: string, query: URLSearchParams): Record<string, unknown> {
    this.checkProject(project);
    return instanceList(
      selectInstances(this.live.values(), project, zone, query),
      project,
      zone,
      query,
    );
  }

  aggregatedList(project: string, query: URLSearchParams): Record<string, unknown> {
    this.checkProject(project);
    const selected = selectInstances(this.live.values(), project, undefined, query);
    return aggregatedInstanceList(selected, project, query);
  }

  serialPort(
    project: string,
    zone: string,
    name: string,
    query: URLSearchParams,
  ): Record<string, unknown> {
    const inst = this.find(project, zone, name);
    const port = Number(query.get('port') ?? 1);
    if (!Number.isInteger(port) || port < 1 || port > 4) {
      throw invalidField('port', String(query.get('port')), 'Must be an integer from 1 to 4.');
    }
    const start = Math.max(0, Number(query.get('start') ?? 0) || 0);
    const out = port === 1 ? inst.console.read(start) : { contents: '', start: 0, next: 0 };
    return {
      kind: 'compute#serialPortOutput',
      contents: out.contents,
      start: String(out.start),
      next: String(out.next),
      selfLink: `${instanceUrl(project, zone, name)}/serialPort?port=${port}`,
    };
  }

  // --- zoneOperations.get / wait ------------------------------------------------------------

  private operation(project: string, zone: string, name: string): Operation {
    this.checkProject(project);
    const op = this.ops.get(project, zone, name);
    if (!op) throw notFound(`${zonePath(project, zone)}/operations/${name}`);
    return op;
  }

  getOperation(project: string, zone: string, name: string): OperationJson {
    return this.operation(project, zone, name).snapshot();
  }

  async waitOperation(project: string, zone: string, name: string): Promise<OperationJson> {
    const op = this.operation(project, zone, name);
    if (!this.closed) await op.waitDone(this.opts.waitBudgetMs, this.timers);
    return op.snapshot();
  }

  // --- local views ----------------------------------------------------------------------------

  summaries(): LocalInstanceSummary[] {
    return [...this.live.values()].map((i) => i.summary());
  }

  private named(name: string): Instance {
    const inst = [...this.live.values()].find((i) => i.name === name) ?? this.lastByName.get(name);
    if (!inst) throw new Error(`no local instance named ${name}`);
    return inst;
  }

  /** The VM's serial console (its startup-script's output), also after it is deleted. */
  consoleOutput(name: string): string {
    return this.named(name).console.text();
  }

  /** Resolves when the VM has powered off (TERMINATED) or has been deleted. */
  whenTerminated(name: string): Promise<VmEnd> {
    try {
      return this.named(name).ended;
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Stops every timer and every VM process tree; answers pending waits. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearAll();
    this.ops.releaseAll();
    await Promise.all([...this.live.values()].map((i) => this.remove(i)));
    if (this.baseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
