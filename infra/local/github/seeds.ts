// What tests (and `npm start`) put into the stand-in before the pipeline asks.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { isoSeconds } from './shapes';
import { key, type GitHubState } from './state';
import type {
  ArtifactSeed,
  CommentSeed,
  GitRepositorySeed,
  InstallationSeed,
  PullRequestSeed,
  RepoRole,
  WorkflowRunSeed,
} from './types';

export interface Seeds {
  seedPullRequest(repo: string, pr: PullRequestSeed): void;
  /** A comment by `comment.user` on issue or PR `comment.issue_number`; returns its id. */
  seedIssueComment(repo: string, comment: CommentSeed): number;
  /** `role` is 'write' by default */
  seedCollaborator(repo: string, login: string, role?: RepoRole): void;
  seedWorkflowRun(repo: string, run: WorkflowRunSeed): void;
  /** returns the artifact's id */
  seedArtifact(repo: string, artifact: ArtifactSeed): number;
  /** blocked by the organization `org`, or by the authenticated user when `org` is omitted */
  seedBlockedUser(login: string, org?: string): void;
  /**
   * The App's installation on `owner`; `grants` narrows what its tokens may
   * have (INSTALLATION_PERMISSIONS on all the owner's repositories by default).
   */
  seedInstallation(owner: string, installationId: number, grants?: InstallationSeed): void;
  /** A local git repository served over smart HTTP at cloneUrl(repo, apiUrl). */
  seedGitRepository(repo: string, seed: GitRepositorySeed): void;
}

function checkRepo(repo: string): string {
  if (!/^[^/\s]+\/[^/\s]+$/.test(repo)) throw new Error(`repo must be "owner/name", got "${repo}"`);
  return repo;
}

export function createSeeds(state: () => GitHubState): Seeds {
  return {
    seedPullRequest(repo, pr) {
      state().pulls.set(key(checkRepo(repo), pr.number), structuredClone(pr));
    },
    seedIssueComment(repo, comment) {
      const s = state();
      const at = isoSeconds();
      const id = ++s.counters.comment;
      s.comments.set(id, {
        id,
        repo: checkRepo(repo),
        issue_number: comment.issue_number,
        body: comment.body,
        user: comment.user,
        created_at: at,
        updated_at: at,
      });
      return id;
    },
    seedCollaborator(repo, login, role = 'write') {
      const map = state().collaborators;
      const repoKey = key(checkRepo(repo));
      const logins = map.get(repoKey) ?? new Map<string, RepoRole>();
      logins.set(login.toLowerCase(), role);
      map.set(repoKey, logins);
    },
    seedWorkflowRun(repo, run) {
      state().runs.set(key(checkRepo(repo), run.id), structuredClone(run));
    },
    seedArtifact(repo, artifact) {
      const s = state();
      const id = artifact.id ?? ++s.counters.artifact;
      if (s.artifacts.has(id)) throw new Error(`artifact ${id} already exists`);
      s.artifacts.set(id, {
        id,
        repo: checkRepo(repo),
        run_id: artifact.run_id,
        name: artifact.name,
        data: Buffer.from(artifact.data),
        expired: artifact.expired ?? false,
        created_at: isoSeconds(),
      });
      return id;
    },
    seedBlockedUser(login, org) {
      if (org === undefined) state().userBlocks.add(login.toLowerCase());
      else state().orgBlocks.add(`${org}/${login}`.toLowerCase());
    },
    seedInstallation(owner, installationId, grants) {
      state().installations.set(owner.toLowerCase(), installationId);
      if (grants) state().grants.set(installationId, structuredClone(grants));
    },
    seedGitRepository(repo, seed) {
      const path = resolve(seed.path);
      if (!existsSync(path)) throw new Error(`no git repository at ${path}`);
      state().gitRepos.set(key(checkRepo(repo)), { repo, path, private: seed.private });
    },
  };
}
