// The local Compute Engine stand-in (DESIGN §8): speaks the Compute REST API
// as @google-cloud/compute 7.8 sends it (InstancesClient, ZoneOperationsClient,
// `fallback: true`), boots each VM's startup-script as a local process with
// its own metadata server, and takes injected faults. Routes: service.ts;
// lifecycle: instances.ts; fault codes: faults.ts; metadata: metadata.ts.
//
//   const compute = createComputeStandIn({ project: 'p', boot: true });
//   const server = await serve([compute]);
//   new InstancesClient(localClientOptions({ host: '127.0.0.1', port: server.port }));
import type { LocalService } from '../http';
import type { Fault, FaultSpec } from './faults';
import {
  ComputeState,
  type ComputeStandInOptions,
  type LocalInstanceSummary,
  type VmEnd,
} from './instances';
import { computeRoutes, handleCompute } from './service';

export type { ComputeStandInOptions, Fault, FaultSpec, LocalInstanceSummary, VmEnd };
export { SYNC_FAULT_CODES, SLOW_OPERATION } from './faults';

export interface ComputeStandIn extends LocalService {
  /** The live local VMs (what `GET /_local/compute/instances` answers). */
  instances(): LocalInstanceSummary[];
  /** Makes the next `count` inserts (in `zone`, or any) fail with `code`; see faults.ts. */
  injectFault(spec: FaultSpec): Fault;
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
    consoleOutput: (name) => state.consoleOutput(name),
    whenTerminated: (name) => state.whenTerminated(name),
    close: () => state.close(),
  };
}
