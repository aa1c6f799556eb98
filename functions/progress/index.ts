// The `progress` function, called by the test VMs (DESIGN §6). Importing this
// module reads the configuration (cold start) and builds its app; run as a
// program (`node index.js`, deployed) it serves it on $PORT. Like the webhook
// it never loads Compute: runTest deletes VMs, asked through the queue.
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeProgressHandler } from './handler';

const runtime = loadRuntime('progress', ['github']);

export const app = functionApp(
  makeProgressHandler({ ...coreServices(runtime), queue: testRunQueue(runtime) }),
  { log: runtime.log },
);

if (require.main === module) serveFunction(app);
