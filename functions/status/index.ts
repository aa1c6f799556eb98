// The `status` function: test states as JSON (and, later, an HTML page).
// Importing this module reads the configuration (cold start) and registers it.
import { http } from '@google-cloud/functions-framework';
import { loadRuntime } from '../../shared/runtime/env';
import { createFirestoreStore } from '../../shared/store/firestore';
import { makeStatusHandler } from './handler';

const runtime = loadRuntime('status');

http(
  'status',
  makeStatusHandler({
    store: createFirestoreStore({ db: runtime.firestore() }),
    log: runtime.log,
  }),
);
