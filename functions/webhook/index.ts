// The `webhook` function. Importing this module reads the configuration and
// the secrets (cold start) and registers the function. It must stay light:
// no Compute client in its import graph (test/functions/webhook-imports.test.ts).
import { http } from '@google-cloud/functions-framework';
import { CloudTasksClient } from '@google-cloud/tasks';
import { createCloudTasksQueue } from '../../shared/queue/cloud-tasks';
import { loadRuntime } from '../../shared/runtime/env';
import { coreServices } from '../../shared/runtime/services';
import { makeWebhookHandler } from './handler';

const runtime = loadRuntime('webhook');
const { config, secrets, log } = runtime;
const services = coreServices(runtime);

http(
  'webhook',
  makeWebhookHandler({
    secret: secrets.webhookSecret,
    ...services,
    queue: createCloudTasksQueue({
      client: new CloudTasksClient(runtime.googleClientOptions()),
      project: config.project,
      location: config.region,
      queue: config.queue.name,
      targetUrl: `${config.publicUrl}/runTest`,
      serviceAccountEmail: config.queue.serviceAccount,
      dispatchDeadlineSeconds: config.queue.dispatchDeadlineSeconds,
      log,
    }),
  }),
);
