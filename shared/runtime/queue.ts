// The Cloud Tasks queue of test runs, as the functions that enqueue see it.
import { CloudTasksClient } from '@google-cloud/tasks';
import { functionUrl } from '../config/urls';
import { createCloudTasksQueue } from '../queue/cloud-tasks';
import type { TaskQueue } from '../queue/port';
import type { Runtime } from './env';

export function testRunQueue(runtime: Runtime): TaskQueue {
  const { config, log } = runtime;
  return createCloudTasksQueue({
    client: new CloudTasksClient(runtime.googleClientOptions()),
    project: config.project,
    location: config.region,
    queue: config.queue.name,
    targetUrl: functionUrl(config, 'runTest'),
    serviceAccountEmail: config.queue.serviceAccount,
    dispatchDeadlineSeconds: config.queue.dispatchDeadlineSeconds,
    log,
  });
}
