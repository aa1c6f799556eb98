// The `sweepPending` function, called by Cloud Scheduler every minute.
// Importing this module reads the configuration (cold start) and registers it.
import { http } from '@google-cloud/functions-framework';
import { callerVerifierFor } from '../../shared/auth/caller';
import { schedulerServiceAccount } from '../../shared/config';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeSweepHandler } from '../../shared/sweeps/door';
import { sweepPending } from '../../shared/sweeps/sweep-pending';

const runtime = loadRuntime('sweepPending');
const { config } = runtime;
const services = coreServices(runtime);
const queue = testRunQueue(runtime);

http(
  'sweepPending',
  makeSweepHandler(
    'sweepPending',
    {
      callers: callerVerifierFor(runtime),
      audience: `${config.publicUrl}/sweepPending`,
      serviceAccount: schedulerServiceAccount(config),
      log: runtime.log,
    },
    (log) => sweepPending({ ...services, queue, log }),
  ),
);
