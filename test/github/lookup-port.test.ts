// Runs the GitHubLookupPort contract on the in-memory double and on the
// Octokit adapter talking to the local GitHub stand-in over HTTP; then the
// adapter's details and the approval rule.
import { createGitHubStandIn, type GitHubStandIn } from '../../infra/local/github';
import { serve } from '../../infra/local/http';
import { createGitHubClients } from '../../shared/github/client';
import { createGitHubLookupPort, mayApprove } from '../../shared/github/lookups';
import { createMemoryLookupPort } from '../../shared/github/memory-lookups';
import { DEFAULT_RETRY } from '../../shared/github/retry';
import {
  defineLookupPortContractTests,
  type MakeLookupPort,
} from '../contracts/lookup-port.contract';
import { captureLog, fakeTime, scriptedFetch, SHA40 } from './support';

const TOKEN = 'ghp_lookupPortContract0123456789abcdefgh';
const { attempts } = DEFAULT_RETRY;

const makeMemoryPort: MakeLookupPort = async () => {
  const port = createMemoryLookupPort({ attempts });
  // As the Octokit adapter below, which has a plain token.
  port.setVmTokens('plain');
  return {
    port,
    attempts,
    seedRole: (repo, login, role) => port.setRole(repo, login, role),
    seedPullRequestHead: (repo, pr, sha) => port.setPullRequestHead(repo, pr, sha),
    seedPullRequest: (repo, pr) =>
      port.setPullRequest(repo, {
        number: pr.number,
        sha: pr.sha,
        ref: pr.ref,
        headRepo: pr.headRepo,
        author: pr.author,
        authorAssociation: pr.authorAssociation,
        state: pr.state,
        updatedAt: new Date(pr.updatedAt),
        ...(pr.title === undefined ? {} : { title: pr.title }),
      }),
    seedWorkflowRun: (repo, workflow, sha, run) => port.addWorkflowRun(repo, workflow, sha, run),
    seedArtifact: (repo, runId, name, expired = false) =>
      port.addArtifact(repo, runId, name, { expired }).id,
    fail: ({ status, count }) =>
      port.failNext(count, {
        // What the Octokit adapter makes of the same answer.
        retriable: status >= 500,
        httpStatus: status,
        detail: `HTTP ${status}`,
      }),
    tries: () => port.tries(),
    cleanup: async () => {},
  };
};

let server: { url: string; close(): Promise<void> } | undefined;
let standIn: GitHubStandIn | undefined;
afterAll(() => server?.close());

const makeOctokitPort: MakeLookupPort = async () => {
  standIn ??= createGitHubStandIn({ token: TOKEN });
  server ??= await serve([standIn]);
  const github = standIn;
  github.reset();
  const time = fakeTime();
  const clients = createGitHubClients({
    baseUrl: `${server.url}/github`,
    auth: { kind: 'token', token: TOKEN },
  });
  const port = createGitHubLookupPort({ clients, sleep: time.sleep, now: time.now });
  return {
    port,
    attempts,
    seedRole: (repo, login, role) => github.seedCollaborator(repo, login, role),
    seedPullRequestHead: (repo, pr, sha) =>
      github.seedPullRequest(repo, { number: pr, user: 'someone', head: { sha, ref: 'topic' } }),
    seedPullRequest: (repo, pr) =>
      github.seedPullRequest(repo, {
        number: pr.number,
        user: pr.author,
        head: { sha: pr.sha, ref: pr.ref, repo: pr.headRepo },
        author_association: pr.authorAssociation,
        state: pr.state,
        updated_at: pr.updatedAt,
        ...(pr.title === undefined ? {} : { title: pr.title }),
      }),
    seedWorkflowRun: (repo, workflow, sha, run) =>
      github.seedWorkflowRun(repo, {
        id: run.id,
        run_attempt: run.attempt,
        head_sha: sha,
        path: `.github/workflows/${workflow}`,
        status: run.status as 'completed',
        conclusion: run.conclusion as 'success' | null,
      }),
    seedArtifact: (repo, runId, name, expired = false) =>
      github.seedArtifact(repo, { run_id: runId, name, data: 'PK', expired }),
    fail: ({ status, count }) => github.injectFault({ method: 'GET', status, count }),
    tries: () => github.calls().length,
    cleanup: async () => {},
  };
};

describe.each([
  { name: 'memory', make: makeMemoryPort },
  { name: 'octokit → local GitHub stand-in', make: makeOctokitPort },
])('$name', ({ make }) => {
  defineLookupPortContractTests(make);
});

describe('createGitHubLookupPort', () => {
  function portWith(script: Parameters<typeof scriptedFetch>[0]) {
    const scripted = scriptedFetch(script);
    const capture = captureLog();
    const time = fakeTime();
    const port = createGitHubLookupPort({
      clients: createGitHubClients({
        baseUrl: 'https://api.github.test',
        auth: { kind: 'token', token: TOKEN },
        fetch: scripted.fetch,
      }),
      log: capture.log,
      sleep: time.sleep,
      now: time.now,
      random: () => 1,
    });
    return { port, requests: scripted.requests, capture, waits: time.waits };
  }

  it('asks GitHub for the collaborator permission and reads role_name', async () => {
    const { port, requests } = portWith([
      { status: 200, body: { permission: 'write', role_name: 'maintain', user: { login: 'm' } } },
    ]);

    await expect(port.permission('octo-org/hello', 'm')).resolves.toEqual({
      ok: true,
      value: { permission: 'write', roleName: 'maintain' },
    });
    expect(requests.map((r) => [r.init?.method, r.url])).toEqual([
      ['GET', 'https://api.github.test/repos/octo-org/hello/collaborators/m/permission'],
    ]);
  });

  it('answers a permission without role_name (older GitHub Enterprise) with a null role', async () => {
    const { port } = portWith([{ status: 200, body: { permission: 'admin' } }]);
    await expect(port.permission('o/r', 'boss')).resolves.toEqual({
      ok: true,
      value: { permission: 'admin', roleName: null },
    });
  });

  it('asks GitHub for the pull request and reads its head', async () => {
    const { port, requests } = portWith([{ status: 200, body: { head: { sha: SHA40 } } }]);

    await expect(port.pullRequestHead('o/r', 12)).resolves.toEqual({
      ok: true,
      value: { sha: SHA40 },
    });
    expect(requests[0]?.url).toBe('https://api.github.test/repos/o/r/pulls/12');
  });

  it('reads a PR whose fork was deleted: the base repository’s clone URL, no head repository, no title', async () => {
    const { port } = portWith([
      {
        status: 200,
        body: {
          number: 12,
          state: 'open',
          head: { sha: SHA40, ref: 'gone', repo: null },
          base: { repo: { clone_url: 'https://github.com/o/r.git', private: true } },
          user: { login: 'ghost' },
          author_association: 'NONE',
          updated_at: '2026-02-03T04:05:06Z',
        },
      },
    ]);

    await expect(port.pullRequest('o/r', 12)).resolves.toEqual({
      ok: true,
      value: {
        number: 12,
        state: 'open',
        sha: SHA40,
        ref: 'gone',
        headRepo: null,
        cloneUrl: 'https://github.com/o/r.git',
        author: 'ghost',
        // The answer carries no title: none is made up.
        title: null,
        authorAssociation: 'NONE',
        updatedAt: new Date('2026-02-03T04:05:06Z'),
        repoPublic: false,
      },
    });
  });

  it('retries a request that got no answer, logging each retry at debug without the token', async () => {
    const { port, requests, capture, waits } = portWith([
      new TypeError('fetch failed'),
      { status: 200, body: { head: { sha: SHA40 } } },
    ]);

    await expect(port.pullRequestHead('o/r', 12)).resolves.toMatchObject({ ok: true });

    expect(requests).toHaveLength(2);
    expect(waits).toEqual([200]);
    expect(capture.entries.filter((e) => e.message.includes('retrying'))).toEqual([
      expect.objectContaining({ level: 'debug', fields: expect.objectContaining({ pr: 12 }) }),
    ]);
    expect(capture.text()).not.toContain(TOKEN);
  });

  it('says how many tries it made when it gives up', async () => {
    const bad = { status: 502, body: { message: 'Server Error' } };
    const { port } = portWith([bad, bad, bad]);

    await expect(port.permission('o/r', 'm')).resolves.toEqual({
      ok: false,
      retriable: true,
      httpStatus: 502,
      detail: expect.stringMatching(/HTTP 502: Server Error \(3 tries\)/),
    });
  });
});

describe('mayApprove', () => {
  it.each([
    [{ permission: 'admin', roleName: 'admin' }, true],
    [{ permission: 'write', roleName: 'maintain' }, true],
    [{ permission: 'write', roleName: 'write' }, true],
    [{ permission: 'write', roleName: 'release-manager' }, true], // a custom role based on write
    [{ permission: 'admin', roleName: null }, true],
    [{ permission: 'read', roleName: 'triage' }, false],
    [{ permission: 'read', roleName: 'read' }, false],
    [{ permission: 'read', roleName: 'security-reviewer' }, false],
    [{ permission: 'none', roleName: null }, false],
  ])('%o → %p', (granted, expected) => {
    expect(mayApprove(granted)).toBe(expected);
  });
});
