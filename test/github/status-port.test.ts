// Runs the CommitStatusPort contract on the in-memory double and on the
// Octokit adapter talking to the local GitHub stand-in over HTTP.
import { createGitHubStandIn, type GitHubStandIn } from '../../infra/local/github';
import { serve } from '../../infra/local/http';
import { createGitHubClients } from '../../shared/github/client';
import { createMemoryStatusPort } from '../../shared/github/memory-statuses';
import { DEFAULT_RETRY } from '../../shared/github/retry';
import { createGitHubStatusPort } from '../../shared/github/statuses';
import {
  defineStatusPortContractTests,
  type MakeStatusPort,
} from '../contracts/status-port.contract';
import { fakeTime } from './support';

const TOKEN = 'ghp_statusPortContract0123456789abcdefgh';
const { attempts, budgetMs } = DEFAULT_RETRY;

const makeMemoryPort: MakeStatusPort = async () => {
  const port = createMemoryStatusPort({ attempts });
  return {
    port,
    attempts,
    budgetMs,
    visible: (repo, sha) =>
      port.statuses(repo, sha).map(({ state, context, description, targetUrl }) => ({
        state,
        context,
        description,
        targetUrl,
      })),
    tries: () => port.tries(),
    fail: ({ status, count, retryAfterSeconds }) =>
      port.failNext(count, {
        // What the Octokit adapter makes of the same answer.
        retriable:
          status >= 500 || status === 429 || (status === 403 && retryAfterSeconds !== undefined),
        httpStatus: status,
        detail: `HTTP ${status}`,
      }),
    waits: () => [],
    cleanup: async () => {},
  };
};

let server: { url: string; close(): Promise<void> } | undefined;
let standIn: GitHubStandIn | undefined;
afterAll(() => server?.close());

const makeOctokitPort: MakeStatusPort = async () => {
  standIn ??= createGitHubStandIn({ token: TOKEN });
  server ??= await serve([standIn]);
  const github = standIn;
  github.reset();
  const time = fakeTime();
  const clients = createGitHubClients({
    baseUrl: `${server.url}/github`,
    auth: { kind: 'token', token: TOKEN },
  });
  const port = createGitHubStatusPort({ clients, sleep: time.sleep, now: time.now });
  return {
    port,
    attempts,
    budgetMs,
    visible: (repo, sha) =>
      github.statuses(repo, sha).map((s) => ({
        state: s.state,
        context: s.context,
        description: s.description,
        targetUrl: s.target_url,
      })),
    tries: () =>
      github.calls().filter((c) => c.method === 'POST' && c.path.includes('/statuses/')).length,
    fail: ({ status, count, retryAfterSeconds }) =>
      github.injectFault({
        method: 'POST',
        path: '/statuses/',
        status,
        count,
        ...(retryAfterSeconds === undefined ? {} : { retryAfter: retryAfterSeconds }),
      }),
    waits: () => [...time.waits],
    cleanup: async () => {},
  };
};

describe.each([
  { name: 'memory', make: makeMemoryPort },
  { name: 'octokit → local GitHub stand-in', make: makeOctokitPort },
])('$name', ({ make }) => {
  defineStatusPortContractTests(make);
});
