// How a test shows on GitHub as a commit status (DESIGN §2, §5).
import { fitStatusLine } from './messages';
import type { TestRecord, TestStatus } from './test';

export const GITHUB_STATES = ['pending', 'success', 'failure', 'error'] as const;
export type GitHubState = (typeof GITHUB_STATES)[number];

export const GITHUB_STATE: Readonly<Record<TestStatus, GitHubState>> = {
  waiting: 'pending',
  pending: 'pending',
  queued: 'pending',
  starting: 'pending',
  running: 'pending',
  passed: 'success',
  failed: 'failure',
  error: 'error',
  timed_out: 'error',
  canceled: 'error',
};

export function githubState(status: TestStatus): GitHubState {
  return GITHUB_STATE[status];
}

export const PLATFORM_PLACEHOLDER = '{platform}';
export const DEFAULT_STATUS_CONTEXT = 'ci/{platform}';

/**
 * The commit status context for a platform: every `{platform}` in the template
 * is replaced (`ci/{platform}` → `ci/linux`, `CI - {platform}` → `CI - linux`).
 * A template without the placeholder gets `/<platform>` appended, so two
 * platforms never share one context and overwrite each other's status.
 */
export function statusContext(template: string, platform: string): string {
  // split/join rather than replace(): a platform text is never read as a `$&` pattern.
  if (template.includes(PLATFORM_PLACEHOLDER))
    return template.split(PLATFORM_PLACEHOLDER).join(platform);
  return `${template}/${platform}`;
}

export interface PostedStatus {
  state: GitHubState;
  description: string;
}

/**
 * A status is posted only when the state or the message changes (DESIGN §5).
 * Descriptions compare as they would be posted (one line, ≤ 140 characters),
 * so a change beyond what GitHub would show does not cause a new post.
 */
export function shouldPostStatus(lastPosted: PostedStatus | null, next: PostedStatus): boolean {
  if (lastPosted === null) return true;
  if (lastPosted.state !== next.state) return true;
  return fitStatusLine(lastPosted.description) !== fitStatusLine(next.description);
}

export interface CommitStatus {
  state: GitHubState;
  context: string;
  description: string;
  target_url: string;
}

/** The commit status body for a test (the fields of GitHub's "create a commit status"). */
export function commitStatus(
  test: Pick<TestRecord, 'status' | 'platform' | 'message'>,
  contextTemplate: string,
  targetUrl: string,
): CommitStatus {
  return {
    state: githubState(test.status),
    context: statusContext(contextTemplate, test.platform),
    description: fitStatusLine(test.message),
    target_url: targetUrl,
  };
}
