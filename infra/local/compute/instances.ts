// The stand-in's state and the instance lifecycle:
//   insert: PROVISIONING (operation PENDING) → STAGING (operation RUNNING, at
//   half the operation delay) → RUNNING (operation DONE, at the delay). At
//   RUNNING the VM boots: its startup-script runs as a local process (see
//   vm-process.ts) against its own metadata server (see metadata.ts).
//   The script exits → STOPPING → TERMINATED, like a VM that powered off.
//   With boot 'timer' no script runs: the VM reports its stages over HTTP on
//   timers (timer-vm.ts), then goes TERMINATED the same way.
//   delete: STOPPING, the process group is stopped (SIGTERM, then SIGKILL), the
//   instance is removed; its operation is DONE once both that and the
//   operation delay are over. An injected delete fault (faults.ts) leaves the
//   VM as it was.
//   powerOff (local): the guest shuts itself down unannounced: its process
//   group is stopped and it is TERMINATED, as when its script exits.
//   Every insert and delete call is noted in the call log (calls.ts).
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
  legacyError,
  notFound,
  rfc3339,
  zonePath,
} from './api';
import { bootVm } from './boot';
import { CallLog, type CallNote, type CallResult, type ComputeCall } from './calls';
import {
  FaultQueue,
  SLOW_OPERATION,
  isSyncFault,
  operationFailure,
  syncFaultError,
  type Fault,
  type FaultContext,
  type FaultOperation,
} from './faults';
import {
  Instance,
  storedResource,
  type InstanceStatus,
  type LocalInstanceSummary,
  type VmEnd,
} from './instance';
import { aggregatedInstanceList, instanceList, selectInstances } from './listing';
import { OperationStore, type Operation, type OperationJson } from './operations';
import { resolveOptions, type ComputeStandInOptions, type ResolvedOptions } from './options';
import { runTimerVm } from './timer-vm';
import { Timers } from './timers';
import { checkRequestId, validateInsert, type ValidInsert } from './validate';
import type { VmExit } from './vm-process';

export type { ComputeStandInOptions, InstanceStatus, LocalInstanceSummary, VmEnd };

export class ComputeState {
  readonly faults = new FaultQueue();
  private readonly callLog = new CallLog();
  private readonly ops = new OperationStore();
  private readonly timers = new Timers();
  private readonly live = new Map<string, Instance>();
  /** The newest instance of each name, kept after deletion for its console and end. */
  private readonly lastByName = new Map<string, Instance>();
  private readonly opts: ResolvedOptions;
  private baseDir?: string;
  private closed = false;
  /** Aborts the timer VMs' requests on close. */
  private readonly closing = new AbortController();

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
    const b = body as Record<string, unknown> | null;
    const name = typeof b === 'object' && b !== null && typeof b.name === 'string' ? b.name : '';
    return this.callLog.track(
      { method: 'insert', project, zone, name, requestId: rawRequestId },
      (note) => this.insertCall(project, zone, rawRequestId, body, note),
    );
  }

  private insertCall(
    project: string,
    zone: string,
    rawRequestId: string | null,
    body: unknown,
    note: CallNote,
  ): CallResult {
    this.checkProject(project);
    const requestId = checkRequestId(rawRequestId);
    const earlier = this.ops.forRequest(project, requestId);
    if (earlier) return { result: earlier.snapshot(), sameRequest: true };

    const spec = validateInsert(body, zone);
    const ctx = this.faultContext('insert', project, zone, spec.name, spec);
    const fault = this.faults.peek('insert', zone);
    if (fault && isSyncFault(fault)) {
      this.useFault(fault, note);
      this.opts.log(`compute: insert ${spec.name} in ${zone} fails with injected ${fault.code}`);
      throw syncFaultError(fault, ctx);
    }
    const path = instancePath(project, zone, spec.name);
    if (this.live.has(path)) throw alreadyExists(path);
    if (fault) this.useFault(fault, note);

    const targetLink = instanceUrl(project, zone, spec.name);
    if (fault && fault.code !== SLOW_OPERATION) {
      this.opts.log(`compute: insert ${spec.name} in ${zone} ends with injected ${fault.code}`);
      const input = { project, zone, operationType: 'insert', targetLink };
      return { result: this.failedOperation(input, requestId, fault, ctx), sameRequest: false };
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
    return { result: op.snapshot(), sameRequest: false };
  }

  private faultContext(
    method: FaultOperation,
    project: string,
    zone: string,
    name: string,
    spec: ValidInsert | undefined,
  ): FaultContext {
    return {
      method,
      project,
      projectNumber: this.opts.projectNumber,
      zone,
      name,
      machineType: spec?.machineTypeName ?? '',
      image: spec?.image ?? '',
    };
  }

  /** Uses up one count of the fault, noted on the call. */
  private useFault(fault: Fault, note: CallNote): void {
    this.faults.consume(fault);
    note.fault = fault.code;
  }

  /** An operation that ends DONE with the fault's error after the operation delay. */
  private failedOperation(
    input: Parameters<OperationStore['create']>[0],
    requestId: string | undefined,
    fault: Fault,
    ctx: FaultContext,
  ): OperationJson {
    const op = this.ops.create(input);
    this.ops.remember(input.project, requestId, op);
    const failure = operationFailure(fault, ctx);
    this.timers.after(this.opts.operationDelayMs / 2, () => op.start());
    this.timers.after(this.opts.operationDelayMs, () => op.finish(failure));
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
    if (this.opts.boot === 'timer') {
      // Not `booting`: a deletion (which awaits that) may come from the report in flight.
      void runTimerVm(inst, {
        options: this.opts.timerVm,
        closed: () => this.closed,
        signal: this.closing.signal,
        log: this.opts.log,
        powerOff: (vm) => {
          if (!vm.removal && vm.status === 'RUNNING') {
            vm.status = 'STOPPING';
            this.terminated(vm, { exitCode: 0, signal: null });
          }
        },
      });
    } else if (this.opts.boot && script !== undefined) {
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
    if (!inst.removal) this.terminated(inst, exit);
  }

  /** Nothing runs on the VM any more: it is TERMINATED (still listed until deleted). */
  private terminated(inst: Instance, exit: VmExit): void {
    inst.cancelMaxRun?.();
    inst.status = 'TERMINATED';
    void inst.metadataServer?.close();
    this.opts.log(`compute: ${inst.name} powered off: TERMINATED`);
    inst.end({ status: 'TERMINATED', ...exit });
  }

  /** Powers the VM off: its process group is stopped, then poweredOff() marks it TERMINATED. */
  private stop(inst: Instance): void {
    if (inst.status !== 'RUNNING') return;
    inst.status = 'STOPPING';
    if (inst.vm) {
      void inst.vm.kill();
    } else {
      // Nothing runs (no script, boot off, or still booting: boot() sees the status).
      this.terminated(inst, { exitCode: null, signal: null });
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
    return this.callLog.track(
      { method: 'delete', project, zone, name, requestId: rawRequestId },
      (note) => this.deleteCall(project, zone, name, rawRequestId, note),
    );
  }

  private deleteCall(
    project: string,
    zone: string,
    name: string,
    rawRequestId: string | null,
    note: CallNote,
  ): CallResult {
    this.checkProject(project);
    const requestId = checkRequestId(rawRequestId);
    const earlier = this.ops.forRequest(project, requestId);
    if (earlier) return { result: earlier.snapshot(), sameRequest: true };
    const path = instancePath(project, zone, name);
    const ctx = this.faultContext('delete', project, zone, name, this.live.get(path)?.spec);
    const fault = this.faults.peek('delete', zone);
    if (fault && isSyncFault(fault)) {
      this.useFault(fault, note);
      this.opts.log(`compute: delete ${name} in ${zone} fails with injected ${fault.code}`);
      throw syncFaultError(fault, ctx);
    }
    const inst = this.find(project, zone, name);
    if (fault) this.useFault(fault, note);
    const input = {
      project,
      zone,
      operationType: 'delete',
      targetLink: instanceUrl(project, zone, name),
      targetId: inst.id,
    };
    if (fault && fault.code !== SLOW_OPERATION) {
      this.opts.log(`compute: delete ${name} in ${zone} ends with injected ${fault.code}`);
      return { result: this.failedOperation(input, requestId, fault, ctx), sameRequest: false };
    }
    const op = this.ops.create(input);
    this.ops.remember(project, requestId, op);
    op.start();
    const minimum = new Promise<void>((resolve) =>
      this.timers.after(fault?.delayMs ?? this.opts.operationDelayMs, resolve),
    );
    void Promise.all([this.remove(inst), minimum]).then(() => op.finish());
    return { result: op.snapshot(), sameRequest: false };
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

  /** Every insert and delete call received, oldest first. */
  calls(): ComputeCall[] {
    return this.callLog.list();
  }

  /**
   * The guest shuts itself down without telling anyone: its process group is
   * stopped and the instance is TERMINATED (still listed until deleted).
   * Resolves once it is TERMINATED; a 404 for no live VM of that name, a 400
   * for one that is not RUNNING yet or is being deleted.
   */
  async powerOff(name: string): Promise<LocalInstanceSummary> {
    const matches = [...this.live.values()].filter((i) => i.name === name);
    const inst = matches[0];
    if (!inst) throw legacyError(404, 'notFound', `No local instance named '${name}'`);
    if (matches.length > 1) {
      throw legacyError(400, 'invalid', `Instances named '${name}' are in several zones`);
    }
    if (inst.removal) {
      throw legacyError(400, 'resourceNotReady', `The instance '${name}' is being deleted`);
    }
    if (inst.status === 'PROVISIONING' || inst.status === 'STAGING') {
      throw legacyError(
        400,
        'resourceNotReady',
        `The instance '${name}' is ${inst.status}: it can power off once RUNNING`,
      );
    }
    if (inst.status === 'RUNNING') {
      this.opts.log(`compute: ${name} powers itself off`);
      this.stop(inst);
    }
    if (inst.status !== 'TERMINATED') await inst.ended;
    return inst.summary();
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
    this.closing.abort();
    this.timers.clearAll();
    this.ops.releaseAll();
    await Promise.all([...this.live.values()].map((i) => this.remove(i)));
    if (this.baseDir) rmSync(this.baseDir, { recursive: true, force: true });
  }
}
