// How a test shows on GitHub as a commit status (DESIGN §2, §5).
import { fitStatusLine } from './messages';
import { isTerminal, type TestRecord, type TestStatus } from './test';

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

/** What GitHub should show for a test: its state and line, as they would be posted. */
export function expectedStatus(test: Pick<TestRecord, 'status' | 'message'>): PostedStatus {
  return { state: githubState(test.status), description: fitStatusLine(test.message) };
}

// --- the final status, checked until GitHub shows it (DESIGN §3.7) ------------

/** An ended test's final status is first checked this long after the end (whose own post goes first). */
export const STATUS_CHECK_FIRST_MS = 60_000;
/** The longest wait between two tries of a final status. */
export const STATUS_CHECK_MAX_MS = 30 * 60_000;

/** When an ended test's final status is first checked. */
export function firstStatusCheck(endedAt: Date): Date {
  return new Date(endedAt.getTime() + STATUS_CHECK_FIRST_MS);
}

/**
 * Whether an ended test's final status still has to be checked: the status last
 * noted as posted (`posted`) is not the one the test should show. A live
 * test's statuses are posted by what moves it; only an end is final.
 */
export function needsStatusCheck(
  test: Pick<TestRecord, 'status' | 'message'>,
  posted: PostedStatus | null,
): boolean {
  return isTerminal(test.status) && shouldPostStatus(posted, expectedStatus(test));
}

/**
 * The wait before the next try of a final status that could not be posted, a
 * time `sinceEndMs` after the test ended: as long as it has been failing, so
 * the waits double (1, 2, 4 … minutes), from STATUS_CHECK_FIRST_MS up to
 * STATUS_CHECK_MAX_MS.
 */
export function statusCheckBackoffMs(sinceEndMs: number): number {
  const since = Number.isFinite(sinceEndMs) ? sinceEndMs : STATUS_CHECK_MAX_MS;
  return Math.min(STATUS_CHECK_MAX_MS, Math.max(STATUS_CHECK_FIRST_MS, since));
}
