// Workflow runs and their artifacts, as the pipeline reads them.
import { signedDownloadPath } from './downloads';
import { GitHubError, notFound } from './errors';
import type { Route, RouteContext } from './router';
import { isoSeconds, nodeId, repository, repoUrl, stableId, user } from './shapes';
import { key } from './state';
import type { ArtifactRecord, WorkflowRunSeed } from './types';

const repoOf = (ctx: RouteContext): string => `${ctx.params.owner}/${ctx.params.repo}`;
const CREATED = isoSeconds(new Date(Date.UTC(2026, 0, 1)));

function runBody(api: string, repo: string, run: WorkflowRunSeed) {
  const url = `${repoUrl(api, repo)}/actions/runs/${run.id}`;
  const workflowId =
    run.workflow_id ?? stableId(`workflow:${repo}:${run.path ?? run.name ?? 'build'}`);
  const actor = user(api, repo.split('/')[0] ?? '');
  return {
    id: run.id,
    name: run.name ?? 'build',
    node_id: nodeId('WorkflowRun', run.id),
    head_branch: run.head_branch ?? 'main',
    head_sha: run.head_sha,
    path: run.path ?? '.github/workflows/build.yml',
    display_title: run.name ?? 'build',
    run_number: run.run_number ?? 1,
    event: run.event ?? 'push',
    status: run.status ?? 'completed',
    conclusion: run.conclusion === undefined ? 'success' : run.conclusion,
    workflow_id: workflowId,
    check_suite_id: stableId(`suite:${repo}:${run.id}`),
    url,
    html_url: `https://github.com/${repo}/actions/runs/${run.id}`,
    pull_requests: (run.pull_requests ?? []).map((n) => ({
      id: stableId(`pr:${repo}#${n}`),
      number: n,
      url: `${repoUrl(api, repo)}/pulls/${n}`,
    })),
    created_at: CREATED,
    updated_at: CREATED,
    actor,
    triggering_actor: actor,
    run_attempt: run.run_attempt ?? 1,
    run_started_at: CREATED,
    jobs_url: `${url}/jobs`,
    logs_url: `${url}/logs`,
    artifacts_url: `${url}/artifacts`,
    cancel_url: `${url}/cancel`,
    rerun_url: `${url}/rerun`,
    workflow_url: `${repoUrl(api, repo)}/actions/workflows/${workflowId}`,
    repository: repository(api, repo),
    head_repository: repository(api, repo),
  };
}

function artifactBody(ctx: RouteContext, a: ArtifactRecord) {
  const url = `${repoUrl(ctx.api, a.repo)}/actions/artifacts/${a.id}`;
  const run = ctx.state.runs.get(key(a.repo, a.run_id));
  return {
    id: a.id,
    node_id: nodeId('Artifact', a.id),
    name: a.name,
    size_in_bytes: a.data.length,
    url,
    archive_download_url: `${url}/zip`,
    expired: a.expired,
    created_at: a.created_at,
    updated_at: a.created_at,
    expires_at: isoSeconds(new Date(Date.parse(a.created_at) + 90 * 86_400_000)),
    workflow_run: {
      id: a.run_id,
      repository_id: stableId(`repo:${a.repo}`),
      head_repository_id: stableId(`repo:${a.repo}`),
      head_branch: run?.head_branch ?? 'main',
      head_sha: run?.head_sha ?? null,
    },
  };
}

function findRun(ctx: RouteContext): WorkflowRunSeed {
  const run = ctx.state.runs.get(key(repoOf(ctx), Number(ctx.params.run_id)));
  if (!run) throw notFound();
  return run;
}

function findArtifact(ctx: RouteContext): ArtifactRecord {
  const artifact = ctx.state.artifacts.get(Number(ctx.params.id));
  if (!artifact || key(artifact.repo) !== key(repoOf(ctx))) throw notFound();
  return artifact;
}

/** The runs of one workflow (by id or file name), newest first: ?head_sha, ?status, paged. */
function workflowRuns(ctx: RouteContext) {
  const repo = repoOf(ctx);
  const wanted = ctx.params.workflow_id ?? '';
  const headSha = ctx.query.get('head_sha');
  const status = ctx.query.get('status');
  const runs = [...ctx.state.runs.entries()]
    .filter(([runKey, run]) => runKey === key(repo, run.id))
    .map(([, run]) => runBody(ctx.api, repo, run))
    .filter((run) => String(run.workflow_id) === wanted || run.path.split('/').pop() === wanted)
    .filter((run) => headSha === null || run.head_sha === headSha)
    .filter((run) => status === null || run.status === status || run.conclusion === status)
    .sort((a, b) => b.id - a.id);
  const perPage = Math.min(100, Math.max(1, Number(ctx.query.get('per_page')) || 30));
  const page = Math.max(1, Number(ctx.query.get('page')) || 1);
  return {
    status: 200,
    body: {
      total_count: runs.length,
      workflow_runs: runs.slice((page - 1) * perPage, page * perPage),
    },
  };
}

export const actionRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/actions/workflows/:workflow_id/runs',
    permission: 'actions',
    handler: workflowRuns,
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/actions/runs/:run_id',
    permission: 'actions',
    handler: (ctx) => ({ status: 200, body: runBody(ctx.api, repoOf(ctx), findRun(ctx)) }),
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/actions/runs/:run_id/artifacts',
    permission: 'actions',
    handler: (ctx) => {
      const run = findRun(ctx);
      const name = ctx.query.get('name');
      const artifacts = [...ctx.state.artifacts.values()]
        .filter((a) => key(a.repo) === key(repoOf(ctx)) && a.run_id === run.id)
        .filter((a) => name === null || a.name === name)
        .map((a) => artifactBody(ctx, a));
      return { status: 200, body: { total_count: artifacts.length, artifacts } };
    },
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/actions/artifacts/:id',
    permission: 'actions',
    handler: (ctx) => ({ status: 200, body: artifactBody(ctx, findArtifact(ctx)) }),
  },
  {
    method: 'GET',
    pattern: '/repos/:owner/:repo/actions/artifacts/:id/:format',
    permission: 'actions',
    handler: (ctx) => {
      const artifact = findArtifact(ctx);
      if (ctx.params.format !== 'zip') throw notFound();
      if (artifact.expired) throw new GitHubError(410, 'Artifact has expired');
      return {
        status: 302,
        headers: { location: `${ctx.api}${signedDownloadPath(ctx.state, artifact.id, ctx.now)}` },
      };
    },
  },
];
