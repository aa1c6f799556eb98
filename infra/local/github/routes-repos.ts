// Pull requests, collaborators and the App installation of a repository.
import { notFound } from './errors';
import type { Route, RouteContext } from './router';
import { isoSeconds, nodeId, repository, repoUrl, stableId, user } from './shapes';
import { DEFAULT_INSTALLATION_ID, key } from './state';
import { installationOf } from './tokens';
import type { PullRequestSeed, RepoRole } from './types';

const repoOf = (ctx: RouteContext): string => `${ctx.params.owner}/${ctx.params.repo}`;

function branch(api: string, repo: string, ref: string, sha: string, fork: boolean) {
  const owner = repo.split('/')[0] ?? '';
  return {
    label: `${owner}:${ref}`,
    ref,
    sha,
    user: user(api, owner),
    repo: repository(api, repo, fork),
  };
}

export function pullRequestBody(api: string, repo: string, pr: PullRequestSeed) {
  const id = stableId(`pr:${repo}#${pr.number}`);
  const url = `${repoUrl(api, repo)}/pulls/${pr.number}`;
  const issueUrl = `${repoUrl(api, repo)}/issues/${pr.number}`;
  const headRepo = pr.head.repo ?? repo;
  const created = isoSeconds(new Date(Date.UTC(2026, 0, 1)));
  const merged = pr.merged ?? false;
  return {
    url,
    id,
    node_id: nodeId('PullRequest', id),
    html_url: `https://github.com/${repo}/pull/${pr.number}`,
    diff_url: `https://github.com/${repo}/pull/${pr.number}.diff`,
    patch_url: `https://github.com/${repo}/pull/${pr.number}.patch`,
    issue_url: issueUrl,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: `${repoUrl(api, repo)}/statuses/${pr.head.sha}`,
    number: pr.number,
    state: pr.state ?? 'open',
    locked: false,
    title: pr.title ?? `Pull request #${pr.number}`,
    user: user(api, pr.user),
    body: pr.body ?? null,
    labels: (pr.labels ?? []).map((name) => {
      const labelId = stableId(`label:${repo}:${name}`);
      return {
        id: labelId,
        node_id: nodeId('Label', labelId),
        url: `${repoUrl(api, repo)}/labels/${encodeURIComponent(name)}`,
        name,
        color: 'ededed',
        default: false,
        description: null,
      };
    }),
    milestone: null,
    active_lock_reason: null,
    created_at: created,
    updated_at: pr.updated_at ?? created,
    closed_at: pr.state === 'closed' ? created : null,
    merged_at: merged ? created : null,
    merge_commit_sha: null,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: branch(
      api,
      headRepo,
      pr.head.ref,
      pr.head.sha,
      headRepo.toLowerCase() !== repo.toLowerCase(),
    ),
    base: branch(api, repo, pr.base?.ref ?? 'main', pr.base?.sha ?? '0'.repeat(40), false),
    author_association: pr.author_association ?? 'CONTRIBUTOR',
    auto_merge: null,
    draft: pr.draft ?? false,
    merged,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}

function getPull(ctx: RouteContext) {
  const pr = ctx.state.pulls.get(key(repoOf(ctx), Number(ctx.params.number)));
  if (!pr) throw notFound();
  const body = pullRequestBody(ctx.api, repoOf(ctx), pr);
  // A repository seeded as a private git repository is private here too.
  for (const side of [body.head, body.base]) {
    side.repo.private = ctx.state.gitRepos.get(key(side.repo.full_name))?.private ?? false;
  }
  return { status: 200, body };
}

/** The seeded role; the owner of a repository is its admin, as on GitHub. */
function roleOf(ctx: RouteContext): RepoRole | undefined {
  const login = (ctx.params.username ?? '').toLowerCase();
  const seeded = ctx.state.collaborators.get(key(repoOf(ctx)))?.get(login);
  if (seeded) return seeded;
  return login !== '' && login === (ctx.params.owner ?? '').toLowerCase() ? 'admin' : undefined;
}

/** The legacy base permission: maintain counts as write, triage as read. */
const BASE_PERMISSION: Record<RepoRole, string> = {
  admin: 'admin',
  maintain: 'write',
  write: 'write',
  triage: 'read',
  read: 'read',
};

function permission(ctx: RouteContext) {
  const role = roleOf(ctx);
  const login = ctx.params.username ?? '';
  const base = role ? BASE_PERMISSION[role] : 'read'; // a public repository: everyone may read
  return {
    status: 200,
    body: {
      permission: base,
      role_name: role ?? 'read',
      user: {
        ...user(ctx.api, login),
        permissions: {
          admin: base === 'admin',
          maintain: role === 'admin' || role === 'maintain',
          push: base === 'admin' || base === 'write',
          triage: base !== 'read' || role === 'triage',
          pull: true,
        },
        role_name: role ?? 'read',
      },
    },
  };
}

function installation(ctx: RouteContext) {
  const owner = ctx.params.owner ?? '';
  const id = ctx.state.installations.get(owner.toLowerCase()) ?? DEFAULT_INSTALLATION_ID;
  const granted = installationOf(ctx.state, id);
  const created = isoSeconds(new Date(Date.UTC(2026, 0, 1)));
  return {
    status: 200,
    body: {
      id,
      account: user(ctx.api, owner),
      repository_selection: granted.repositories ? 'selected' : 'all',
      access_tokens_url: `${ctx.api}/app/installations/${id}/access_tokens`,
      repositories_url: `${ctx.api}/installation/repositories`,
      html_url: `https://github.com/settings/installations/${id}`,
      app_id: 1,
      app_slug: 'vm-ci',
      target_id: stableId(owner),
      target_type: 'Organization',
      permissions: granted.permissions,
      events: ['issue_comment', 'pull_request', 'push', 'workflow_run'],
      created_at: created,
      updated_at: created,
      single_file_name: null,
      suspended_at: null,
      suspended_by: null,
    },
  };
}

export const repoRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/pulls/:number',
    permission: 'pull_requests',
    handler: getPull,
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/collaborators/:username',
    permission: 'metadata',
    handler: (ctx) => {
      if (!roleOf(ctx)) throw notFound();
      return { status: 204 };
    },
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/collaborators/:username/permission',
    permission: 'metadata',
    handler: permission,
  },
  { method: 'GET', pattern: '/repos/:owner/:repo/installation', app: true, handler: installation },
];
