// The `progress` function, called by the test VMs (DESIGN §6). Importing this
// module reads the configuration (cold start) and registers it. Like the
// webhook it never loads Compute: runTest deletes VMs, asked through the queue.
import { http } from '@google-cloud/functions-framework';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { makeProgressHandler } from './handler';

const runtime = loadRuntime('progress');

http('progress', makeProgressHandler({ ...coreServices(runtime), queue: testRunQueue(runtime) }));
