// The `status` function: test states as JSON (and, later, an HTML page).
// Importing this module reads the configuration (cold start) and builds its
// app; run as a program (`node index.js`, deployed) it serves it on $PORT.
import { callerVerifierFor } from '../../shared/auth/caller';
import { functionUrl } from '../../shared/config/urls';
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { loadRuntime } from '../../shared/runtime/env';
import { testFileStore } from '../../shared/runtime/files';
import { createFirestoreStore } from '../../shared/store/firestore';
import { makeStatusHandler } from './handler';

const runtime = loadRuntime('status', []);

export const app = functionApp(
  makeStatusHandler({
    store: createFirestoreStore({ db: runtime.firestore() }),
    files: testFileStore(runtime),
    log: runtime.log,
    config: runtime.config,
    callers: callerVerifierFor(runtime, { iamOnly: false }),
    audience: functionUrl(runtime.config, 'status'),
  }),
  { log: runtime.log },
);

if (require.main === module) serveFunction(app);
