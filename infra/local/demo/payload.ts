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
