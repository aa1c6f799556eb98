// The GitHubLookupPort contract: one suite that every adapter must pass
// (test/github/lookup-port.test.ts runs it on the in-memory double and on the
// Octokit adapter against the local GitHub stand-in).
import type { WorkflowRunSummary } from '../../shared/builds/record';
import type { GitHubLookupPort } from '../../shared/github/lookups';

export type Role = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

export interface LookupPortUnderTest {
  port: GitHubLookupPort;
  /** The `attempts` the port was made with. */
  attempts: number;
  seedRole(repo: string, login: string, role: Role): void;
  seedPullRequestHead(repo: string, pr: number, sha: string): void;
  /** A PR from branch `ref` of `headRepo` (a fork), by `author`. */
  seedPullRequest(repo: string, pr: PullRequestSeed): void;
  /** A run of workflow file `workflow` (".github/workflows/<workflow>") on `sha`. */
  seedWorkflowRun(repo: string, workflow: string, sha: string, run: WorkflowRunSummary): void;
  /** An artifact of run `runId`; returns its id. */
  seedArtifact(repo: string, runId: number, name: string, expired?: boolean): number;
  /** The next `count` tries fail with HTTP `status`. */
  fail(fault: { status: number; count: number }): void;
  /** Tries that reached the backend, failed ones included. */
  tries(): number;
  cleanup(): Promise<void>;
}

export interface PullRequestSeed {
  number: number;
  sha: string;
  ref: string;
  headRepo: string;
  author: string;
  authorAssociation: 'OWNER' | 'MEMBER' | 'COLLABORATOR' | 'CONTRIBUTOR' | 'NONE';
  state: 'open' | 'closed';
  /** ISO 8601, whole seconds */
  updatedAt: string;
  /** The PR's title as typed; when absent, the backend's default (`Pull request #<number>`). */
  title?: string;
}

export type MakeLookupPort = () => Promise<LookupPortUnderTest>;

const REPO = 'octo-org/hello';
const SHA = 'b'.repeat(39) + '2';

export function defineLookupPortContractTests(makePort: MakeLookupPort): void {
  let current: LookupPortUnderTest | undefined;
  beforeEach(async () => {
    current = await makePort();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const sut = (): LookupPortUnderTest => {
    if (!current) throw new Error('no port under test');
    return current;
  };

  describe('GitHubLookupPort contract', () => {
    it('answers each role with GitHub’s base permission, logins without case', async () => {
      const { port, seedRole } = sut();
      const roles: Role[] = ['admin', 'maintain', 'write', 'triage', 'read'];
      for (const role of roles) seedRole(REPO, `User-${role}`, role);

      const answers = await Promise.all(roles.map((role) => port.permission(REPO, `user-${role}`)));

      expect(answers).toEqual([
        { ok: true, value: { permission: 'admin', roleName: 'admin' } },
        { ok: true, value: { permission: 'write', roleName: 'maintain' } },
        { ok: true, value: { permission: 'write', roleName: 'write' } },
        { ok: true, value: { permission: 'read', roleName: 'triage' } },
        { ok: true, value: { permission: 'read', roleName: 'read' } },
      ]);
    });

    it('answers read for someone without a role on a public repository', async () => {
      const { port } = sut();
      await expect(port.permission(REPO, 'stranger')).resolves.toEqual({
        ok: true,
        value: { permission: 'read', roleName: 'read' },
      });
    });

    it('answers none for a login GitHub does not know (404), after one try', async () => {
      const { port, fail, tries } = sut();
      fail({ status: 404, count: 1 });

      await expect(port.permission(REPO, 'ghost')).resolves.toEqual({
        ok: true,
        value: { permission: 'none', roleName: null },
      });
      expect(tries()).toBe(1);
    });

    it('retries a 502 and answers', async () => {
      const { port, seedRole, fail, tries } = sut();
      seedRole(REPO, 'maintainer', 'write');
      fail({ status: 502, count: 1 });

      await expect(port.permission(REPO, 'maintainer')).resolves.toEqual({
        ok: true,
        value: { permission: 'write', roleName: 'write' },
      });
      expect(tries()).toBe(2);
    });

    it('gives up on a persistent 503 after `attempts` tries: retriable, never a rejection', async () => {
      const { port, fail, tries, attempts } = sut();
      fail({ status: 503, count: attempts + 2 });

      const result = await port.permission(REPO, 'maintainer');

      expect(result).toMatchObject({ ok: false, retriable: true, httpStatus: 503 });
      expect(tries()).toBe(attempts);
    });

    it('does not retry a 401', async () => {
      const { port, fail, tries } = sut();
      fail({ status: 401, count: 1 });

      await expect(port.permission(REPO, 'maintainer')).resolves.toMatchObject({
        ok: false,
        retriable: false,
        httpStatus: 401,
      });
      expect(tries()).toBe(1);
    });

    it('answers a PR’s head commit, and a 404 for a PR GitHub does not know', async () => {
      const { port, seedPullRequestHead, tries } = sut();
      seedPullRequestHead(REPO, 7, SHA);

      await expect(port.pullRequestHead(REPO, 7)).resolves.toEqual({
        ok: true,
        value: { sha: SHA },
      });
      await expect(port.pullRequestHead(REPO, 8)).resolves.toMatchObject({
        ok: false,
        retriable: false,
        httpStatus: 404,
      });
      expect(tries()).toBe(2);
    });

    it('answers the PR’s head as it is now', async () => {
      const { port, seedPullRequestHead } = sut();
      seedPullRequestHead(REPO, 7, 'a'.repeat(40));
      seedPullRequestHead(REPO, 7, SHA);

      await expect(port.pullRequestHead(REPO, 7)).resolves.toEqual({
        ok: true,
        value: { sha: SHA },
      });
    });

    it('retries a 500 on a PR’s head', async () => {
      const { port, seedPullRequestHead, fail, tries } = sut();
      seedPullRequestHead(REPO, 7, SHA);
      fail({ status: 500, count: 1 });

      await expect(port.pullRequestHead(REPO, 7)).resolves.toEqual({
        ok: true,
        value: { sha: SHA },
      });
      expect(tries()).toBe(2);
    });

    it('answers a PR as it is now: head, fork, author, title, state and time', async () => {
      const { port, seedPullRequest } = sut();
      const seed: PullRequestSeed = {
        number: 12,
        sha: SHA,
        ref: 'fix-typo',
        headRepo: 'contributor/hello',
        author: 'contributor',
        authorAssociation: 'CONTRIBUTOR',
        state: 'open',
        updatedAt: '2026-02-03T04:05:06Z',
        title: 'Fix a typo <img src=x> in </script>',
      };
      seedPullRequest(REPO, seed);
      seedPullRequest(REPO, { ...seed, number: 13, state: 'closed', authorAssociation: 'MEMBER' });

      await expect(port.pullRequest(REPO, 12)).resolves.toEqual({
        ok: true,
        value: {
          number: 12,
          state: 'open',
          sha: SHA,
          ref: 'fix-typo',
          headRepo: 'contributor/hello',
          cloneUrl: 'https://github.com/contributor/hello.git',
          author: 'contributor',
          title: 'Fix a typo <img src=x> in </script>',
          authorAssociation: 'CONTRIBUTOR',
          updatedAt: new Date('2026-02-03T04:05:06Z'),
          repoPublic: true,
        },
      });
      await expect(port.pullRequest(REPO, 13)).resolves.toMatchObject({
        ok: true,
        value: { state: 'closed', authorAssociation: 'MEMBER' },
      });
    });

    it('answers a PR’s title as one line of at most 200 characters', async () => {
      const { port, seedPullRequest } = sut();
      const seed: PullRequestSeed = {
        number: 14,
        sha: SHA,
        ref: 'topic',
        headRepo: REPO,
        author: 'octocat',
        authorAssociation: 'OWNER',
        state: 'open',
        updatedAt: '2026-01-01T00:00:00Z',
        title: `Fix\tthe\u0000 ${'long '.repeat(60)}`,
      };
      seedPullRequest(REPO, seed);

      const answer = await port.pullRequest(REPO, 14);
      const title = answer.ok ? answer.value.title : undefined;
      expect(title).toBe(`Fix the ${'long '.repeat(60)}`.slice(0, 199).trimEnd() + '…');
      expect(Array.from(title ?? '')).toHaveLength(200);
    });

    it('a PR GitHub does not know is a 404, not retried; a 502 is retried', async () => {
      const { port, seedPullRequest, fail, tries } = sut();
      await expect(port.pullRequest(REPO, 99)).resolves.toMatchObject({
        ok: false,
        retriable: false,
        httpStatus: 404,
      });
      expect(tries()).toBe(1);

      seedPullRequest(REPO, {
        number: 5,
        sha: SHA,
        ref: 'topic',
        headRepo: REPO,
        author: 'octocat',
        authorAssociation: 'OWNER',
        state: 'open',
        updatedAt: '2026-01-01T00:00:00Z',
      });
      fail({ status: 502, count: 1 });
      await expect(port.pullRequest(REPO, 5)).resolves.toMatchObject({
        ok: true,
        value: { sha: SHA, headRepo: REPO, cloneUrl: `https://github.com/${REPO}.git` },
      });
      expect(tries()).toBe(3);
    });

    it('lists a workflow’s runs on one commit, newest first, and none for others', async () => {
      const { port, seedWorkflowRun } = sut();
      const other = 'e'.repeat(40);
      seedWorkflowRun(REPO, 'build.yml', SHA, {
        id: 11,
        attempt: 1,
        status: 'completed',
        conclusion: 'failure',
      });
      seedWorkflowRun(REPO, 'build.yml', SHA, {
        id: 12,
        attempt: 1,
        status: 'in_progress',
        conclusion: null,
      });
      seedWorkflowRun(REPO, 'build.yml', other, {
        id: 13,
        attempt: 1,
        status: 'completed',
        conclusion: 'success',
      });
      seedWorkflowRun(REPO, 'lint.yml', SHA, {
        id: 14,
        attempt: 1,
        status: 'completed',
        conclusion: 'success',
      });

      expect(await port.workflowRuns(REPO, 'build.yml', SHA)).toEqual({
        ok: true,
        value: [
          { id: 12, attempt: 1, status: 'in_progress', conclusion: null },
          { id: 11, attempt: 1, status: 'completed', conclusion: 'failure' },
        ],
      });
      expect(await port.workflowRuns(REPO, 'build.yml', 'f'.repeat(40))).toEqual({
        ok: true,
        value: [],
      });
      expect(await port.workflowRuns('octo-org/other', 'build.yml', SHA)).toEqual({
        ok: true,
        value: [],
      });
    });

    it('a workflow GitHub does not know (404) has no runs; a 500 is retried', async () => {
      const { port, fail, seedWorkflowRun } = sut();
      fail({ status: 404, count: 1 });
      expect(await port.workflowRuns(REPO, 'gone.yml', SHA)).toEqual({ ok: true, value: [] });

      seedWorkflowRun(REPO, 'build.yml', SHA, {
        id: 21,
        attempt: 2,
        status: 'completed',
        conclusion: 'success',
      });
      fail({ status: 500, count: 1 });
      expect(await port.workflowRuns(REPO, 'build.yml', SHA)).toEqual({
        ok: true,
        value: [{ id: 21, attempt: 2, status: 'completed', conclusion: 'success' }],
      });
    });

    it('finds a run’s artifact by name, newest first, expired or not; null for another name', async () => {
      const { port, seedArtifact, seedWorkflowRun } = sut();
      seedWorkflowRun(REPO, 'build.yml', SHA, {
        id: 31,
        attempt: 1,
        status: 'completed',
        conclusion: 'success',
      });
      seedArtifact(REPO, 31, 'linux-build', true);
      const newest = seedArtifact(REPO, 31, 'linux-build');
      seedArtifact(REPO, 31, 'windows-build');

      const found = await port.artifact(REPO, 31, 'linux-build');
      expect(found).toEqual({
        ok: true,
        value: {
          id: newest,
          downloadUrl: expect.stringMatching(
            new RegExp(`/repos/${REPO}/actions/artifacts/${newest}/zip$`),
          ),
          expired: false,
          sizeBytes: expect.any(Number),
        },
      });
      expect(await port.artifact(REPO, 31, 'macos-build')).toEqual({ ok: true, value: null });
    });

    it('gives a VM no token when the credentials cannot be narrowed (a plain token)', async () => {
      const { port } = sut();
      expect(await port.vmToken(REPO)).toEqual({ ok: true, value: null });
    });

    it('never rejects, even for a repository that is not "owner/name"', async () => {
      const { port } = sut();
      await expect(port.permission('not-a-repo', 'x')).resolves.toMatchObject({
        ok: false,
        retriable: false,
      });
      await expect(port.pullRequestHead('not-a-repo', 1)).resolves.toMatchObject({
        ok: false,
        retriable: false,
      });
      await expect(port.pullRequest('not-a-repo', 1)).resolves.toMatchObject({
        ok: false,
        retriable: false,
      });
    });
  });
}
