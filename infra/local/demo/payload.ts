// The push webhook for one demo commit: the real @octokit/webhooks-examples push
// with the commit's sha wherever the example's own sha appears (after,
// head_commit, commits, URLs), its parent as `before`, on refs/heads/main.
import { examplePayload } from '../send-webhook';
import type { DemoCommit } from './repo';

const ZERO_SHA = '0'.repeat(40);

export function pushPayload(commit: DemoCommit): Record<string, unknown> {
  const { payload } = examplePayload('push');
  const exampleSha = String(payload.after);
  const swapped = JSON.parse(JSON.stringify(payload).split(exampleSha).join(commit.sha)) as Record<
    string,
    unknown
  >;
  const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const describe = (c: Record<string, unknown>) =>
    Object.assign(c, { tree_id: commit.tree, message: commit.message, timestamp });
  const commits = swapped.commits as Record<string, unknown>[];
  if (commits.length) describe(commits[commits.length - 1]!);
  describe(swapped.head_commit as Record<string, unknown>);
  return {
    ...swapped,
    ref: 'refs/heads/main',
    before: commit.parent || ZERO_SHA,
    created: !commit.parent,
  };
}

/**
 * The workflow_run webhook of the commit's build: the real
 * @octokit/webhooks-examples completed run of Codertocat/Hello-World with the
 * commit's sha and the run's id wherever the example's appear (head_sha,
 * head_commit, URLs), completed with success, run by the workflow at `path`
 * (set on the run and on its workflow, as GitHub sends it now).
 */
export function workflowRunPayload(
  commit: DemoCommit,
  runId: number,
  path: string,
): Record<string, unknown> {
  const { payload } = examplePayload('workflow_run.completed');
  const example = payload.workflow_run as Record<string, unknown>;
  const swapped = JSON.parse(
    JSON.stringify(payload)
      .split(String(example.head_sha))
      .join(commit.sha)
      .split(`/runs/${String(example.id)}`)
      .join(`/runs/${runId}`),
  ) as Record<string, unknown>;
  const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const run = swapped.workflow_run as Record<string, unknown>;
  Object.assign(run.head_commit as Record<string, unknown>, {
    tree_id: commit.tree,
    message: commit.message,
    timestamp,
  });
  const name = 'Build';
  return {
    ...swapped,
    // The demo's repository is public, as its pushes say.
    repository: { ...(swapped.repository as Record<string, unknown>), private: false },
    workflow: { ...(swapped.workflow as Record<string, unknown>), name, path },
    workflow_run: {
      ...run,
      id: runId,
      name,
      path,
      event: 'push',
      head_branch: 'main',
      status: 'completed',
      conclusion: 'success',
      run_started_at: timestamp,
      updated_at: timestamp,
    },
  };
}
