// What vm-ci asks GitHub while it answers a webhook (DESIGN §5): a person's
// permission on a repository (may they approve running a PR's code?) and a
// PR's head commit now (which of two heads with the same time is current?).
// Like the commit status port: transient failures are retried within the
// time budget, and every outcome, failures included, comes back as data.
import type { WorkflowRunSummary } from '../builds/record';
import { fitTitle } from '../domain/title';
import { silentLogger, type Logger } from '../log';
import type { GitHubClients, RepoReadToken } from './client';
import { createRepoCall, type LookupResult } from './repo-call';
import { createRetryLoop, type RetryLoopOptions } from './retry';

export interface RepoPermission {
  /** GitHub's base permission: `admin`, `write`, `read` or `none` (maintain reads write, triage read). */
  permission: string;
  /** The role: admin, maintain, write, triage, read, or a custom role's name; null when GitHub gives none. */
  roleName: string | null;
}

export interface PullRequestHead {
  sha: string;
}

/** A pull request as GitHub tells it now (GET /repos/{o}/{r}/pulls/{n}): what a /retest tests. */
export interface PullRequestInfo {
  number: number;
  /** open or closed (a merged PR is closed). */
  state: string;
  /** head.sha */
  sha: string;
  /** head.ref: the branch in the head repository. */
  ref: string;
  /** head.repo.full_name; null when the fork was deleted. */
  headRepo: string | null;
  /** The head repository's clone URL; the base repository's when the fork was deleted. */
  cloneUrl: string;
  /** user.login */
  author: string;
  /** title, as one line (domain/title.ts fitTitle); null when GitHub gives none. */
  title: string | null;
  /** author_association: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, … */
  authorAssociation: string;
  updatedAt: Date;
  /** !base.repo.private; null when GitHub does not say. */
  repoPublic: boolean | null;
}

/** A build's artifact as the VM downloads it. */
export interface ArtifactRef {
  id: number;
  /** The REST URL of its zip (GitHub answers 302 to a short-lived storage URL). */
  downloadUrl: string;
  expired: boolean;
  sizeBytes: number;
}

export type { LookupResult };

export interface GitHubLookupPort {
  /**
   * `login`'s permission on `repo` (GET /repos/{o}/{r}/collaborators/{login}/permission).
   * A login GitHub does not know (404) has permission `none`. Never rejects.
   */
  permission(repo: string, login: string): Promise<LookupResult<RepoPermission>>;
  /** The PR's head commit now (GET /repos/{o}/{r}/pulls/{n}). Never rejects. */
  pullRequestHead(repo: string, pr: number): Promise<LookupResult<PullRequestHead>>;
  /** The PR now: its head, author and state (GET /repos/{o}/{r}/pulls/{n}). Never rejects. */
  pullRequest(repo: string, pr: number): Promise<LookupResult<PullRequestInfo>>;
  /**
   * The runs of workflow file `workflow` on commit `sha`, newest first, at most
   * 100 (GET /repos/{o}/{r}/actions/workflows/{file}/runs?head_sha=). A
   * workflow GitHub does not know (404) has no runs. Never rejects.
   */
  workflowRuns(
    repo: string,
    workflow: string,
    sha: string,
  ): Promise<LookupResult<WorkflowRunSummary[]>>;
  /**
   * Run `runId`'s artifact named `name` (GET …/actions/runs/{id}/artifacts?name=),
   * the newest if several; null when the run has none of that name. Never rejects.
   */
  artifact(repo: string, runId: number, name: string): Promise<LookupResult<ArtifactRef | null>>;
  /** A token for the test's VM (GitHubClients.repoReadToken); null: cannot be narrowed. Never rejects. */
  vmToken(repo: string): Promise<LookupResult<RepoReadToken | null>>;
}

/** What GitHub says of a login it does not know. */
export const NO_PERMISSION: Readonly<RepoPermission> = { permission: 'none', roleName: null };

/** Roles and base permissions that may approve running a PR's code: write access or more. */
const APPROVING_ROLES: readonly string[] = ['admin', 'maintain', 'write'];
const APPROVING_PERMISSIONS: readonly string[] = ['admin', 'write'];

/**
 * Whether a person with `granted` may approve running a PR's code: admin,
 * maintain or write, by role or (for a custom role) by its base permission.
 * Triage, read and none may not.
 */
export function mayApprove(granted: RepoPermission): boolean {
  const role = granted.roleName?.toLowerCase() ?? '';
  return (
    APPROVING_ROLES.includes(role) ||
    APPROVING_PERMISSIONS.includes(granted.permission.toLowerCase())
  );
}

export type GitHubLookupPortOptions = RetryLoopOptions & {
  clients: GitHubClients;
  log?: Logger;
};

export function createGitHubLookupPort(options: GitHubLookupPortOptions): GitHubLookupPort {
  const { clients } = options;
  const log = options.log ?? silentLogger;
  const loop = createRetryLoop(options);

  const call = createRepoCall(clients, loop, log);

  return {
    permission(repo, login) {
      return call(
        'collaborator permission',
        repo,
        async (octokit, { owner, name }, signal) => {
          const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({
            owner,
            repo: name,
            username: login,
            request: { signal },
          });
          const roleName = (data as { role_name?: unknown }).role_name;
          return {
            permission: data.permission,
            roleName: typeof roleName === 'string' ? roleName : null,
          };
        },
        { fields: { login }, notFound: { ...NO_PERMISSION } },
      );
    },

    pullRequestHead(repo, pr) {
      return call(
        'pull request head',
        repo,
        async (octokit, { owner, name }, signal) => {
          const { data } = await octokit.rest.pulls.get({
            owner,
            repo: name,
            pull_number: pr,
            request: { signal },
          });
          return { sha: data.head.sha };
        },
        { fields: { pr } },
      );
    },

    pullRequest(repo, pr) {
      return call(
        'pull request',
        repo,
        async (octokit, { owner, name }, signal) => {
          const { data } = await octokit.rest.pulls.get({
            owner,
            repo: name,
            pull_number: pr,
            request: { signal },
          });
          const base = data.base.repo as { clone_url: string; private?: boolean };
          return {
            number: data.number,
            state: data.state,
            sha: data.head.sha,
            ref: data.head.ref,
            headRepo: data.head.repo?.full_name ?? null,
            cloneUrl: data.head.repo?.clone_url ?? base.clone_url,
            author: data.user.login,
            title: fitTitle(data.title),
            authorAssociation: data.author_association,
            updatedAt: new Date(data.updated_at),
            repoPublic: typeof base.private === 'boolean' ? !base.private : null,
          };
        },
        { fields: { pr } },
      );
    },

    artifact(repo, runId, name) {
      return call(
        'run artifact',
        repo,
        async (octokit, { owner, name: repoName }, signal) => {
          const { data } = await octokit.rest.actions.listWorkflowRunArtifacts({
            owner,
            repo: repoName,
            run_id: runId,
            name,
            per_page: 100,
            request: { signal },
          });
          const found = data.artifacts
            .filter((a) => a.name === name)
            .sort((a, b) => b.id - a.id)[0];
          return found
            ? {
                id: found.id,
                downloadUrl: found.archive_download_url,
                expired: found.expired,
                sizeBytes: found.size_in_bytes,
              }
            : null;
        },
        { fields: { runId, artifact: name }, notFound: null },
      );
    },

    vmToken(repo) {
      return call('VM token', repo, async () => clients.repoReadToken(repo));
    },

    workflowRuns(repo, workflow, sha) {
      return call(
        'workflow runs',
        repo,
        async (octokit, { owner, name }, signal) => {
          const { data } = await octokit.rest.actions.listWorkflowRuns({
            owner,
            repo: name,
            workflow_id: workflow,
            head_sha: sha,
            per_page: 100,
            request: { signal },
          });
          return data.workflow_runs.map((run) => ({
            id: run.id,
            attempt: run.run_attempt ?? 1,
            status: run.status ?? 'completed',
            conclusion: run.conclusion ?? null,
          }));
        },
        { fields: { workflow, sha }, notFound: [] },
      );
    },
  };
}
