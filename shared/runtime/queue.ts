// The Cloud Tasks queue of test runs, as the functions that enqueue see it.
import { dirname, join } from 'node:path';
import type { CloudTasksClient } from '@google-cloud/tasks';
import { functionUrl } from '../config/urls';
import { createCloudTasksQueue } from '../queue/cloud-tasks';
import type { TaskQueue } from '../queue/port';
import type { Runtime } from './env';

let loadedClass: typeof CloudTasksClient | undefined;

/**
 * The Cloud Tasks v2 client class, loaded alone. The package's index also loads
 * the v2beta2 and v2beta3 clients and a 4 MB static protos module (its `protos`
 * export), none of which vm-ci uses: about 100 ms of every cold start. The
 * package's exports map names only its index, so the client's own file is
 * required by path, next to the index; it is the file the index loads, so the
 * class is the same (test/runtime/tasks-client.test.ts). Should a release move
 * it, the index is loaded instead.
 */
export function cloudTasksClientClass(): typeof CloudTasksClient {
  if (loadedClass) return loadedClass;
  let loaded: { CloudTasksClient?: typeof CloudTasksClient } | undefined;
  try {
    const index = require.resolve('@google-cloud/tasks');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known at run time, see above
    loaded = require(join(dirname(index), 'v2', 'cloud_tasks_client.cjs')) as typeof loaded;
  } catch {
    loaded = undefined;
  }
  loadedClass =
    loaded?.CloudTasksClient ??
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the fallback, see above
    (require('@google-cloud/tasks') as { CloudTasksClient: typeof CloudTasksClient })
      .CloudTasksClient;
  return loadedClass;
}

/**
 * The Tasks client's options: its REST transport (`fallback: true`) everywhere,
 * as it already is against the local cloud, whose Tasks stand-in speaks only
 * REST (so that is the transport the tests run). Over gRPC the client, when
 * made, also turns its protos into gRPC descriptors for every API version in
 * the package (about 100 ms of a cold start here, against about 35 ms over
 * REST), and its first call opens a gRPC channel of its own. Errors carry the
 * same gRPC codes either way (google-gax maps the JSON error's status).
 */
export function tasksClientOptions(runtime: Pick<Runtime, 'googleClientOptions'>) {
  return { fallback: true as const, ...runtime.googleClientOptions() };
}

export function testRunQueue(runtime: Runtime): TaskQueue {
  const { config, log } = runtime;
  const Client = cloudTasksClientClass();
  return createCloudTasksQueue({
    client: new Client(tasksClientOptions(runtime)),
    project: config.project,
    location: config.region,
    queue: config.queue.name,
    targetUrl: functionUrl(config, 'runTest'),
    serviceAccountEmail: config.queue.serviceAccount,
    dispatchDeadlineSeconds: config.queue.dispatchDeadlineSeconds,
    log,
  });
}
