// What every function that changes tests needs: the store, the way to show a
// test on GitHub, and what the webhook asks GitHub (who may approve, which
// commit is a PR's head). Built once per instance from the runtime (cold start).
import { createGitHubClients } from '../github/client';
import { createGitHubLookupPort, type GitHubLookupPort } from '../github/lookups';
import { testStatusUrl, type PublishDeps } from '../github/publish';
import { createGitHubCommentPort, type PrCommentPort } from '../github/comments';
import { updatePrComment } from '../github/pr-comment';
import { prCommentEnabled } from '../config';
import { createGitHubStatusPort } from '../github/statuses';
import { createFirestoreStore } from '../store/firestore';
import type { Runtime } from './env';

export type CoreServices = PublishDeps & {
  config: Runtime<'github'>['config'];
  github: GitHubLookupPort;
  /** Comments and reactions on PRs (the webhook's answers to /retest). */
  comments: PrCommentPort;
};

export function coreServices(runtime: Runtime<'github'>): CoreServices {
  const { config, secrets, log } = runtime;
  // One set of clients, so an App installation's token serves both ports.
  const clients = createGitHubClients({ baseUrl: config.githubApiUrl, auth: secrets.github, log });
  const store = createFirestoreStore({ db: runtime.firestore() });
  const now = () => new Date();
  const comments = createGitHubCommentPort({ clients, log });
  return {
    config,
    log,
    now,
    store,
    comments,
    prComment: (test) =>
      updatePrComment(
        {
          comments,
          store,
          log,
          now,
          enabled: (repo) => prCommentEnabled(config, repo),
          pageOf: (id) => testStatusUrl(config.publicUrl, id),
        },
        test,
      ),
    statuses: createGitHubStatusPort({ clients, log }),
    github: createGitHubLookupPort({ clients, log }),
    statusContext: config.statusContext,
    publicUrl: config.publicUrl,
  };
}
