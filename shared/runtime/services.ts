// What every function that changes tests needs: the store, and the way to show
// a test on GitHub. Built once per instance from the runtime (cold start).
import { createGitHubClients } from '../github/client';
import type { PublishDeps } from '../github/publish';
import { createGitHubStatusPort } from '../github/statuses';
import { createFirestoreStore } from '../store/firestore';
import type { Runtime } from './env';

export type CoreServices = PublishDeps & { config: Runtime['config'] };

export function coreServices(runtime: Runtime): CoreServices {
  const { config, secrets, log } = runtime;
  return {
    config,
    log,
    now: () => new Date(),
    store: createFirestoreStore({ db: runtime.firestore() }),
    statuses: createGitHubStatusPort({
      clients: createGitHubClients({ baseUrl: config.githubApiUrl, auth: secrets.github, log }),
      log,
    }),
    statusContext: config.statusContext,
    publicUrl: config.publicUrl,
  };
}
