// The `sweepExpired` function, called by Cloud Scheduler every 5 minutes.
// Importing this module reads the configuration (cold start) and builds its app;
// run as a program (`node index.js`, deployed) it serves it on $PORT.
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { callerVerifierFor } from '../../shared/auth/caller';
import { functionUrl } from '../../shared/config/urls';
import { createComputeClients } from '../../shared/compute/clients';
import { createComputeProvisioner } from '../../shared/compute/compute-engine';
import { schedulerServiceAccount } from '../../shared/config';
import { currentConfig } from '../../shared/config/switches';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeSweepHandler } from '../../shared/sweeps/door';
import { sweepExpired } from '../../shared/sweeps/sweep-expired';

const runtime = loadRuntime('sweepExpired', ['github']);
const { config, log } = runtime;
const services = coreServices(runtime);
const queue = testRunQueue(runtime);
const compute = createComputeClients(() => runtime.googleClientOptions());
const vms = createComputeProvisioner({
  instances: compute.instances,
  operations: compute.operations,
  project: config.project,
  log,
});

export const app = functionApp(
  makeSweepHandler(
    'sweepExpired',
    {
      callers: callerVerifierFor(runtime, { iamOnly: true }),
      audience: functionUrl(config, 'sweepExpired'),
      serviceAccount: schedulerServiceAccount(config),
      log,
    },
    // A deletion not seen done is checked again after its back-off: a short wait keeps a run short.
    async (runLog) =>
      sweepExpired({
        ...services,
        config: await currentConfig({ ...services, log: runLog }),
        queue,
        vms,
        deleteBudgetMs: 5_000,
        log: runLog,
      }),
  ),
  { log },
);

if (require.main === module) serveFunction(app);
