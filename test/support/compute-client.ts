// The real @google-cloud/compute clients, pointed at a local HTTP server
// (see localClientOptions for why each option is there).
import { InstancesClient, ZoneOperationsClient } from '@google-cloud/compute';
import { localClientOptions } from '../../shared/gcp/client-options';

export interface LocalComputeClients {
  instances: InstancesClient;
  zoneOperations: ZoneOperationsClient;
  close(): Promise<void>;
}

export function createLocalComputeClients(port: number, host = '127.0.0.1'): LocalComputeClients {
  const instances = new InstancesClient(localClientOptions({ host, port }));
  const zoneOperations = new ZoneOperationsClient(localClientOptions({ host, port }));
  return {
    instances,
    zoneOperations,
    close: async () => {
      await Promise.all([instances.close(), zoneOperations.close()]);
    },
  };
}
