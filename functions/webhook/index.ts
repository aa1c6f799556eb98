// The `webhook` function. Importing this module reads the configuration and
// the secrets (cold start) and builds its app; run as a program (`node
// index.js`, deployed) it serves it on $PORT. It must stay light: no Compute
// client in its import graph (test/functions/webhook-imports.test.ts).
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeWebhookHandler } from './handler';

const runtime = loadRuntime('webhook', ['webhookSecret', 'github']);

export const app = functionApp(
  makeWebhookHandler({
    secret: runtime.secrets.webhookSecret,
    ...coreServices(runtime),
    queue: testRunQueue(runtime),
  }),
  { log: runtime.log },
);

if (require.main === module) serveFunction(app);
