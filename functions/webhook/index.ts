// The `webhook` function. Importing this module reads the configuration and
// the secrets (cold start) and registers the function. It must stay light:
// no Compute client in its import graph (test/functions/webhook-imports.test.ts).
import { http } from '@google-cloud/functions-framework';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeWebhookHandler } from './handler';

const runtime = loadRuntime('webhook');

http(
  'webhook',
  makeWebhookHandler({
    secret: runtime.secrets.webhookSecret,
    ...coreServices(runtime),
    queue: testRunQueue(runtime),
  }),
);
