// The local Compute Engine stand-in (DESIGN §8): speaks the Compute REST API
// as @google-cloud/compute 7.8 sends it (InstancesClient, ZoneOperationsClient,
// `fallback: true`), boots each VM's startup-script as a local process with
// its own metadata server (or, with boot 'timer', reports on timers with no
// process: timer-vm.ts), takes injected insert and delete faults, notes
// every insert and delete call, and powers VMs off on request. Routes:
// service.ts; lifecycle: instances.ts; fault codes: faults.ts; call log:
// calls.ts; boot: boot.ts; metadata: metadata.ts.
//
//   const compute = createComputeStandIn({ project: 'p', boot: true });
//   const server = await serve([compute]);
//   new InstancesClient(localClientOptions({ host: '127.0.0.1', port: server.port }));
import type { LocalService } from '../http';
import type { ComputeCall, ComputeCallMethod, ComputeCallOutcome } from './calls';
import type { Fault, FaultOperation, FaultSpec } from './faults';
import { ComputeState, type LocalInstanceSummary, type VmEnd } from './instances';
import type { ComputeStandInOptions } from './options';
import { computeRoutes, handleCompute } from './service';
import type { TimerVmOptions } from './timer-vm';

export type {
  ComputeCall,
  ComputeCallMethod,
  ComputeCallOutcome,
  ComputeStandInOptions,
  Fault,
  FaultOperation,
  FaultSpec,
  LocalInstanceSummary,
  TimerVmOptions,
  VmEnd,
};
export { SYNC_FAULT_CODES, SLOW_OPERATION } from './faults';

export interface ComputeStandIn extends LocalService {
  /** The live local VMs (what `GET /_local/compute/instances` answers). */
  instances(): LocalInstanceSummary[];
  /**
   * Makes the next `count` calls of `operation` (default 'insert'; or 'delete')
   * in `zone` (or any) fail with `code`; see faults.ts.
   */
  injectFault(spec: FaultSpec): Fault;
  /**
   * Every instances.insert and instances.delete call received, oldest first
   * (what `GET /_local/compute/calls` answers). A VM deleted once has one
   * 'delete' call with outcome 'new_operation'.
   */
  calls(): ComputeCall[];
  /**
   * The guest shuts itself down unannounced: its process tree is stopped and
   * the instance is TERMINATED, listed until deleted. Rejects (a 404/400
   * ComputeApiError) for no live VM of that name, or one not RUNNING yet.
   */
  powerOff(name: string): Promise<void>;
  /** A VM's serial console (its startup-script's output), also after deletion. */
  consoleOutput(name: string): string;
  /** Resolves when the VM powers off (its script exited) or is deleted. */
  whenTerminated(name: string): Promise<VmEnd>;
  /** Stops all timers and kills every VM's process tree. */
  close(): Promise<void>;
}

export function createComputeStandIn(options: ComputeStandInOptions = {}): ComputeStandIn {
  const state = new ComputeState(options);
  const routes = computeRoutes(state);
  return {
    handle: (req, res, url) => handleCompute(routes, req, res, url),
    instances: () => state.summaries(),
    injectFault: (spec) => state.faults.add(spec),
    calls: () => state.calls(),
    powerOff: async (name) => {
      await state.powerOff(name);
    },
    consoleOutput: (name) => state.consoleOutput(name),
    whenTerminated: (name) => state.whenTerminated(name),
    close: () => state.close(),
  };
}
