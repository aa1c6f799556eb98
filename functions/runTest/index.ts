// The `runTest` function, called by Cloud Tasks for each queued test.
// Importing this module reads the configuration (cold start) and builds its app;
// run as a program (`node index.js`, deployed) it serves it on $PORT.
import { functionApp, serveFunction } from '../../shared/http/function-app';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { callerVerifierFor } from '../../shared/auth/caller';
import { functionUrl } from '../../shared/config/urls';
import { createComputeClients } from '../../shared/compute/clients';
import { createComputeProvisioner } from '../../shared/compute/compute-engine';
import { runTestTimings } from '../../shared/run/run-test';
import { loadRuntime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices } from '../../shared/runtime/services';
import { SOURCE_ROOT } from '../../shared/runtime/source-root';
import { makeRunTestHandler } from './handler';

const runtime = loadRuntime('runTest', ['github', 'tokenKey']);
const { config, secrets, log } = runtime;
const services = coreServices(runtime);
const ROOT = SOURCE_ROOT;
const compute = createComputeClients(() => runtime.googleClientOptions());
const scripts = new Map<string, string>();

export const app = functionApp(
  makeRunTestHandler({
    callers: callerVerifierFor(runtime, { iamOnly: true }),
    audience: functionUrl(config, 'runTest'),
    ...services,
    queue: testRunQueue(runtime),
    vms: createComputeProvisioner({
      instances: compute.instances,
      operations: compute.operations,
      project: config.project,
      log,
    }),
    // The VMs' tokens have a key of their own: rotating the webhook secret breaks no running VM.
    tokenSecret: secrets.tokenKey,
    startupScript: (platform) => {
      const path = isAbsolute(platform.startupScript)
        ? platform.startupScript
        : join(ROOT, platform.startupScript);
      let script = scripts.get(path);
      if (script === undefined) {
        script = readFileSync(path, 'utf8');
        scripts.set(path, script);
      }
      return script;
    },
    ...runTestTimings(config.queue),
    sourceRoot: ROOT,
  }),
  { log },
);

if (require.main === module) serveFunction(app);
