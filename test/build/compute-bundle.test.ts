// The Compute clients as runTest's and sweepExpired's bundles hold them (with
// protos cut to their services, infra/build/compute-clients.ts) pass the
// VmProvisioner contract against the local Compute stand-in, as the package's
// clients do in test/compute/vm-provisioner.test.ts.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { createComputeStandIn } from '../../infra/local/compute';
import { serve } from '../../infra/local/http';
import { BUNDLE_OPTIONS } from '../../infra/build/build-functions';
import { computeClients } from '../../infra/build/compute-clients';
import type * as Clients from '../../shared/compute/clients';
import { createComputeProvisioner } from '../../shared/compute/compute-engine';
import { localClientOptions } from '../../shared/gcp/client-options';
import {
  defineVmProvisionerContractTests,
  type MakeProvisioner,
} from '../contracts/vm-provisioner.contract';

const ROOT = join(__dirname, '..', '..');
const PROJECT = 'vmci-contract-test';
const ZONES = ['us-central1-a', 'us-central1-b'] as const;

// In the checkout (.local/, git-ignored), so that the bundle finds google-gax in its node_modules.
mkdirSync(join(ROOT, '.local'), { recursive: true });
const dir = mkdtempSync(join(ROOT, '.local', 'test-compute-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let bundled: Promise<typeof Clients> | undefined;
function bundledClients(): Promise<typeof Clients> {
  bundled ??= (async () => {
    const outfile = join(dir, 'clients.js');
    const result = await build({
      ...BUNDLE_OPTIONS,
      entryPoints: [join(ROOT, 'shared', 'compute', 'clients.ts')],
      outfile,
      metafile: true,
      plugins: [computeClients()],
    });
    // The clients are in the bundle, the package is not required.
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((p) => p.endsWith('v1/instances_client.js'))).toBe(true);
    expect(Object.values(result.metafile.outputs)[0]!.bytes).toBeLessThan(1_000_000);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle just written
    return require(outfile) as typeof Clients;
  })();
  return bundled;
}

const makeBundled: MakeProvisioner = async () => {
  const { createComputeClients } = await bundledClients();
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

describe('compute-engine through the bundled clients with cut protos (local stand-in)', () => {
  defineVmProvisionerContractTests('compute-engine, bundled', makeBundled);
});
