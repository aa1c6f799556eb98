// Runs the PrCommentPort contract (reactions and replies) on the in-memory
// double and on the Octokit adapter talking to the local GitHub stand-in.
import { createGitHubStandIn, type GitHubStandIn } from '../../infra/local/github';
import { serve } from '../../infra/local/http';
import { createGitHubClients } from '../../shared/github/client';
import { createGitHubCommentPort } from '../../shared/github/comments';
import { createMemoryCommentPort } from '../../shared/github/memory-comments';
import { DEFAULT_RETRY } from '../../shared/github/retry';
import {
  defineCommentPortContractTests,
  type MakeCommentPort,
} from '../contracts/comment-port.contract';
import { fakeTime } from './support';

const TOKEN = 'ghp_commentPortContract0123456789abcdef';

const makeMemoryPort: MakeCommentPort = async () => {
  const port = createMemoryCommentPort({ attempts: DEFAULT_RETRY.attempts });
  return {
    port,
    seedComment: (repo, pr, body, author) => port.seedForeign(repo, pr, body, author),
    reactions: (repo, id) => port.reactions(repo, id).map((r) => r.content),
    bodies: (repo, pr) => port.comments(repo, pr).map((c) => c.body),
    // The double's faults are not by method: every case here fails the next call.
    fail: ({ status, count }) =>
      port.failNext(count, {
        retriable: status >= 500,
        httpStatus: status,
        detail: `HTTP ${status}`,
      }),
    cleanup: async () => {},
  };
};

let server: { url: string; close(): Promise<void> } | undefined;
let standIn: GitHubStandIn | undefined;
afterAll(() => server?.close());

const makeOctokitPort: MakeCommentPort = async () => {
  standIn ??= createGitHubStandIn({ token: TOKEN });
  server ??= await serve([standIn]);
  const github = standIn;
  github.reset();
  const time = fakeTime();
  const clients = createGitHubClients({
    baseUrl: `${server.url}/github`,
    auth: { kind: 'token', token: TOKEN },
  });
  const port = createGitHubCommentPort({ clients, sleep: time.sleep, now: time.now });
  return {
    port,
    seedComment: (repo, pr, body, author) =>
      github.seedIssueComment(repo, { issue_number: pr, body, user: author }),
    reactions: (repo, id) => github.reactions(repo, id).map((r) => r.content),
    bodies: (repo, pr) => github.issueComments(repo, pr).map((c) => c.body),
    fail: ({ method, status, count }) => github.injectFault({ method, status, count }),
    cleanup: async () => {},
  };
};

describe.each([
  { name: 'memory', make: makeMemoryPort },
  { name: 'octokit → local GitHub stand-in', make: makeOctokitPort },
])('$name', ({ make }) => {
  defineCommentPortContractTests(make);
});
