// Builds the Compute clients the provisioner takes. Loading @google-cloud/compute
// costs about a second (its protos): only runTest and the sweeps import this file.
import { InstancesClient, ZoneOperationsClient } from '@google-cloud/compute';
import type { InstancesApi, ZoneOperationsApi } from './compute-engine';

export type ComputeClientOptions = NonNullable<ConstructorParameters<typeof InstancesClient>[0]>;

export interface ComputeClients {
  instances: InstancesClient & InstancesApi;
  operations: ZoneOperationsClient & ZoneOperationsApi;
  close(): Promise<void>;
}

/**
 * `clientOptions` is called once per client: the clients mutate the object
 * they are given (Runtime.googleClientOptions fits; `() => ({})` is Google with ADC).
 */
export function createComputeClients(clientOptions: () => ComputeClientOptions): ComputeClients {
  const instances = new InstancesClient(clientOptions());
  const operations = new ZoneOperationsClient(clientOptions());
  return {
    instances,
    operations,
    close: async () => {
      await Promise.all([instances.close(), operations.close()]);
    },
  };
}
