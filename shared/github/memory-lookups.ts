// The in-memory double of the GitHub lookup port. It answers as the Octokit
// adapter does against GitHub: roles map to GitHub's base permissions, a login
// with no role on the (public) repository reads, a 404 on a permission is
// `none`, and a retriable failure is retried up to `attempts` tries per call.
import type { WorkflowRunSummary } from '../builds/record';
import { fitTitle } from '../domain/title';
import {
  NO_PERMISSION,
  type ArtifactRef,
  type GitHubLookupPort,
  type LookupResult,
  type PullRequestInfo,
  type RepoPermission,
} from './lookups';
import type { InjectedFailure } from './memory-statuses';
import { splitRepo } from './repo';

export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read';

/** GitHub's base permission of each role. */
const BASE_PERMISSION: Readonly<Record<RepoRole, string>> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
};

export interface LookupCall {
  kind: 'permission' | 'pullRequestHead' | 'pullRequest' | 'workflowRuns' | 'artifact' | 'vmToken';
  repo: string;
  /** The login, the PR number, `<workflow>@<sha>`, `<runId>/<artifact>`, or '' (vmToken). */
  subject: string;
}

export interface MemoryLookupPort extends GitHubLookupPort {
  setRole(repo: string, login: string, role: RepoRole): void;
  /** Moves the PR's head to `sha` (a PR not set before: an open one, as setPullRequest makes it). */
  setPullRequestHead(repo: string, pr: number, sha: string): void;
  /**
   * The PR as `pullRequest` answers it; what is not given: open, branch
   * `topic` of `repo` itself, author `someone` (CONTRIBUTOR), titled
   * `Pull request #<number>` (as the local GitHub stand-in), updated
   * 2026-01-01, public.
   */
  setPullRequest(
    repo: string,
    pr: Partial<PullRequestInfo> & Pick<PullRequestInfo, 'number' | 'sha'>,
  ): void;
  /** A run of `workflow` on `sha` (replaces the run with the same id and attempt). */
  addWorkflowRun(repo: string, workflow: string, sha: string, run: WorkflowRunSummary): void;
  addArtifact(
    repo: string,
    runId: number,
    name: string,
    artifact?: Partial<ArtifactRef>,
  ): ArtifactRef;
  /** What vmToken answers: tokens (a new one each call, like an App), or null (a plain token). Default tokens. */
  setVmTokens(mode: 'app' | 'plain'): void;
  /** The next `count` tries (of either call) fail with `failure`. */
  failNext(count: number, failure: InjectedFailure): void;
  /** Calls made (not tries), oldest first. */
  calls(): LookupCall[];
  /** Tries made, failed ones included. */
  tries(): number;
}

const key = (...parts: (string | number)[]) => parts.join('#').toLowerCase();

export function createMemoryLookupPort(options: { attempts?: number } = {}): MemoryLookupPort {
  const attempts = options.attempts ?? 3;
  const roles = new Map<string, RepoRole>();
  const pulls = new Map<string, PullRequestInfo>();
  const pullRequestOf = (
    repo: string,
    pr: Partial<PullRequestInfo> & Pick<PullRequestInfo, 'number' | 'sha'>,
  ): PullRequestInfo => {
    const info = {
      state: 'open',
      ref: 'topic',
      headRepo: repo,
      cloneUrl: `https://github.com/${pr.headRepo ?? repo}.git`,
      author: 'someone',
      title: `Pull request #${pr.number}`,
      authorAssociation: 'CONTRIBUTOR',
      updatedAt: new Date(Date.UTC(2026, 0, 1)),
      repoPublic: true,
      ...pr,
    };
    // As the Octokit adapter reads it: one line of bounded length.
    return { ...info, title: fitTitle(info.title) };
  };
  const notFoundPr = {
    ok: false,
    retriable: false,
    httpStatus: 404,
    detail: 'HTTP 404: Not Found',
  } as const;
  const runs = new Map<string, WorkflowRunSummary[]>();
  const artifacts = new Map<string, ArtifactRef[]>();
  let vmTokens: 'app' | 'plain' = 'app';
  let minted = 0;
  let artifactIds = 1000;
  const faults: InjectedFailure[] = [];
  const calls: LookupCall[] = [];
  let tries = 0;

  const call = async <T>(
    entry: LookupCall,
    answer: () => LookupResult<T>,
    notFound?: T,
  ): Promise<LookupResult<T>> => {
    calls.push(entry);
    try {
      splitRepo(entry.repo);
    } catch (err) {
      return { ok: false, retriable: false, detail: (err as Error).message };
    }
    for (let n = 1; ; n += 1) {
      tries += 1;
      const fault = faults.shift();
      if (!fault) return answer();
      const { retriable, httpStatus, detail = 'injected failure' } = fault;
      if (httpStatus === 404 && notFound !== undefined) return { ok: true, value: notFound };
      if (!retriable || n >= attempts) {
        return {
          ok: false,
          retriable,
          ...(httpStatus === undefined ? {} : { httpStatus }),
          detail,
        };
      }
    }
  };

  return {
    permission(repo, login) {
      return call<RepoPermission>(
        { kind: 'permission', repo, subject: login },
        () => {
          // A public repository: whoever has no role there may read it.
          const role = roles.get(key(repo, login)) ?? 'read';
          return { ok: true, value: { permission: BASE_PERMISSION[role], roleName: role } };
        },
        { ...NO_PERMISSION },
      );
    },
    pullRequestHead(repo, pr) {
      return call({ kind: 'pullRequestHead', repo, subject: String(pr) }, () => {
        const found = pulls.get(key(repo, pr));
        return found === undefined ? notFoundPr : { ok: true, value: { sha: found.sha } };
      });
    },
    pullRequest(repo, pr) {
      return call({ kind: 'pullRequest', repo, subject: String(pr) }, () => {
        const found = pulls.get(key(repo, pr));
        return found === undefined
          ? notFoundPr
          : { ok: true, value: { ...found, updatedAt: new Date(found.updatedAt) } };
      });
    },
    workflowRuns(repo, workflow, sha) {
      return call(
        { kind: 'workflowRuns', repo, subject: `${workflow}@${sha}` },
        () => ({
          ok: true,
          value: [...(runs.get(key(repo, workflow, sha)) ?? [])]
            .sort((a, b) => b.id - a.id || b.attempt - a.attempt)
            .map((run) => ({ ...run })),
        }),
        [],
      );
    },
    artifact(repo, runId, name) {
      return call(
        { kind: 'artifact', repo, subject: `${runId}/${name}` },
        () => {
          const found = [...(artifacts.get(key(repo, runId, name)) ?? [])].sort(
            (a, b) => b.id - a.id,
          );
          return { ok: true, value: found[0] ? { ...found[0] } : null };
        },
        null,
      );
    },
    vmToken(repo) {
      return call({ kind: 'vmToken', repo, subject: '' }, () => ({
        ok: true,
        value:
          vmTokens === 'plain'
            ? null
            : {
                token: `ghs_memory${String(++minted).padStart(26, '0')}`,
                expiresAt: new Date(Date.UTC(2030, 0, 1)).toISOString(),
              },
      }));
    },
    addArtifact(repo, runId, name, artifact = {}) {
      // Unique, and growing as GitHub's do: the newest artifact has the highest id.
      const id = artifact.id ?? ++artifactIds;
      const ref: ArtifactRef = {
        id,
        downloadUrl: `https://api.github.com/repos/${repo}/actions/artifacts/${id}/zip`,
        expired: false,
        sizeBytes: 1024,
        ...artifact,
      };
      artifacts.set(key(repo, runId, name), [
        ...(artifacts.get(key(repo, runId, name)) ?? []),
        ref,
      ]);
      return { ...ref };
    },
    setVmTokens(mode) {
      vmTokens = mode;
    },
    addWorkflowRun(repo, workflow, sha, run) {
      const list = (runs.get(key(repo, workflow, sha)) ?? []).filter(
        (r) => r.id !== run.id || r.attempt !== run.attempt,
      );
      runs.set(key(repo, workflow, sha), [...list, { ...run }]);
    },
    setRole(repo, login, role) {
      roles.set(key(repo, login), role);
    },
    setPullRequestHead(repo, pr, sha) {
      const found = pulls.get(key(repo, pr));
      pulls.set(
        key(repo, pr),
        found ? { ...found, sha } : pullRequestOf(repo, { number: pr, sha }),
      );
    },
    setPullRequest(repo, pr) {
      pulls.set(key(repo, pr.number), pullRequestOf(repo, pr));
    },
    failNext(count, failure) {
      for (let i = 0; i < count; i += 1) faults.push({ ...failure });
    },
    calls: () => calls.map((c) => ({ ...c })),
    tries: () => tries,
  };
}
