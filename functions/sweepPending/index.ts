// The `sweepPending` function, called by Cloud Scheduler every minute.
// Importing this module reads the configuration (cold start) and builds its app;
// run as a program (`node index.js`, deployed) it serves it on $PORT.
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { callerVerifierFor } from '../../shared/auth/caller';
import { functionUrl } from '../../shared/config/urls';
import { schedulerServiceAccount } from '../../shared/config';
import { currentConfig } from '../../shared/config/switches';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeSweepHandler } from '../../shared/sweeps/door';
import { sweepPending } from '../../shared/sweeps/sweep-pending';

const runtime = loadRuntime('sweepPending', ['github']);
const { config } = runtime;
const services = coreServices(runtime);
const queue = testRunQueue(runtime);

export const app = functionApp(
  makeSweepHandler(
    'sweepPending',
    {
      callers: callerVerifierFor(runtime, { iamOnly: true }),
      audience: functionUrl(config, 'sweepPending'),
      serviceAccount: schedulerServiceAccount(config),
      log: runtime.log,
    },
    // Maintenance as operators switched it (`vmci maintenance`), read per run.
    async (log) =>
      sweepPending({ ...services, config: await currentConfig({ ...services, log }), queue, log }),
  ),
  { log: runtime.log },
);

if (require.main === module) serveFunction(app);
