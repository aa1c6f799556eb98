// Runs the VmProvisioner contract on the in-memory double and on the Compute
// Engine adapter, which drives the real @google-cloud/compute clients against
// the local Compute stand-in (no boot: the VMs' scripts do not run here).
import { createComputeStandIn } from '../../infra/local/compute';
import { serve } from '../../infra/local/http';
import { createComputeClients } from '../../shared/compute/clients';
import { createComputeProvisioner } from '../../shared/compute/compute-engine';
import { createMemoryProvisioner } from '../../shared/compute/memory';
import { localClientOptions } from '../../shared/gcp/client-options';
import {
  defineVmProvisionerContractTests,
  type MakeProvisioner,
} from '../contracts/vm-provisioner.contract';

const PROJECT = 'vmci-contract-test';
const ZONES = ['us-central1-a', 'us-central1-b'] as const;

const makeMemory: MakeProvisioner = async () => {
  const provisioner = createMemoryProvisioner();
  return {
    provisioner,
    zones: ZONES,
    injectFault: async (spec) => provisioner.injectFault(spec),
    backendVms: async () =>
      provisioner.vms().map(({ name, zone, status, labels }) => ({ name, zone, status, labels })),
    backendMetadata: async (name, zone) =>
      provisioner.vms().find((vm) => vm.name === name && vm.zone === zone)?.metadata ?? {},
    cleanup: async () => {},
  };
};

const makeComputeEngine: MakeProvisioner = async () => {
  const standIn = createComputeStandIn({ project: PROJECT, boot: false, timeScale: 0.01 });
  const server = await serve([standIn]);
  const clients = createComputeClients(() =>
    localClientOptions({ host: '127.0.0.1', port: server.port }),
  );
  const provisioner = createComputeProvisioner({
    instances: clients.instances,
    operations: clients.operations,
    project: PROJECT,
  });
  return {
    provisioner,
    zones: ZONES,
    injectFault: async (spec) => {
      standIn.injectFault(spec);
    },
    backendVms: async () =>
      standIn.instances().map(({ name, zone, status, labels }) => ({ name, zone, status, labels })),
    // The stand-in's own listing redacts the token: read it back through the API.
    backendMetadata: async (name, zone) => {
      const [vm] = await clients.instances.get({ project: PROJECT, zone, instance: name });
      return Object.fromEntries((vm.metadata?.items ?? []).map((i) => [i.key, i.value]));
    },
    cleanup: async () => {
      await clients.close();
      await server.close();
    },
  };
};

describe.each([
  { name: 'memory', make: makeMemory },
  { name: 'compute-engine (local stand-in)', make: makeComputeEngine },
])('$name', ({ name, make }) => {
  defineVmProvisionerContractTests(name, make);
});
