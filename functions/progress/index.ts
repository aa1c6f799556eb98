// The `progress` function, called by the test VMs (DESIGN §6). Importing this
// module reads the configuration (cold start) and builds its app; run as a
// program (`node index.js`, deployed) it serves it on $PORT. Like the webhook
// it never loads Compute: runTest deletes VMs, asked through the queue. It
// does load Cloud Storage, for the VMs' files.
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { loadRuntime } from '../../shared/runtime/env';
import { testFileStore } from '../../shared/runtime/files';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeProgressHandler } from './handler';

const runtime = loadRuntime('progress', ['github']);

export const app = functionApp(
  makeProgressHandler({
    ...coreServices(runtime),
    queue: testRunQueue(runtime),
    // The VMs' log and result files; a failed run's JUnit files name its failing tests.
    files: testFileStore(runtime),
  }),
  { log: runtime.log },
);

if (require.main === module) serveFunction(app);
