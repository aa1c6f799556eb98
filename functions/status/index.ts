// The `status` function: test states as JSON and as HTML pages.
// Importing this module reads the configuration (cold start) and builds its
// app; run as a program (`node index.js`, deployed) it serves it on $PORT.
import { callerVerifierFor } from '../../shared/auth/caller';
import { functionUrl } from '../../shared/config/urls';
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { loadRuntime } from '../../shared/runtime/env';
import { testFileStore } from '../../shared/runtime/files';
import { createFirestoreStore } from '../../shared/store/firestore';
import { platformSummaries } from '../../shared/tests/platform-summary';
import { makeStatusHandler } from './handler';

const runtime = loadRuntime('status', []);

const store = createFirestoreStore({ db: runtime.firestore() });

export const app = functionApp(
  makeStatusHandler({
    store,
    files: testFileStore(runtime),
    log: runtime.log,
    config: runtime.config,
    callers: callerVerifierFor(runtime, { iamOnly: false }),
    audience: functionUrl(runtime.config, 'status'),
    platformSummaries: () => platformSummaries({ store, config: runtime.config }),
  }),
  { log: runtime.log },
);

if (require.main === module) serveFunction(app);
