// Options that point a real Google client library (Tasks, Compute, Scheduler)
// at a local stand-in that speaks the service's REST API.
import { PassThroughClient } from 'google-auth-library';

export interface LocalEndpoint {
  host: string;
  port: number;
}

export type LocalClientOptions = {
  fallback: true;
  protocol: 'http';
  apiEndpoint: string;
  port: number;
  authClient: PassThroughClient;
};

/**
 * A fresh options object each call: the clients mutate the one they are given.
 * PassThroughClient sends no credentials and never probes the metadata server
 * (which stalls for seconds off GCP). The global fetch keeps gaxios from its
 * dynamic import of node-fetch, which fails under Jest.
 */
export function localClientOptions(endpoint: LocalEndpoint): LocalClientOptions {
  return {
    fallback: true,
    protocol: 'http',
    apiEndpoint: endpoint.host,
    port: endpoint.port,
    authClient: new PassThroughClient({
      transporterOptions: { fetchImplementation: globalThis.fetch },
    }),
  };
}
