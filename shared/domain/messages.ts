// Every friendly line shown to people (DESIGN §3.6): commit status descriptions,
// the status page, the timeline. Each function returns one line of at most
// STATUS_LINE_MAX characters for any input; variable parts (platform names,
// reasons, codes) are shortened first so the fixed wording always survives.
import type { Stage, TestResult, WaitReason } from './test';

/** GitHub's limit for a commit status description. */
export const STATUS_LINE_MAX = 140;

const ELLIPSIS = '…';

// Line breaks and other control characters (C0, DEL, C1 incl. NEL) and every
// Unicode space (incl. U+2028/U+2029) become a single space.
const BREAKING = /[\s\p{Cc}]+/gu;

/** True for a UTF-16 high surrogate: cutting right after one would split a character. */
function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Shortens `text` to at most `max` UTF-16 units, ending with an ellipsis when cut. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - ELLIPSIS.length;
  // Never leave half of a surrogate pair behind.
  if (end > 0 && isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
  return `${text.slice(0, end).trimEnd()}${ELLIPSIS}`;
}

/** Collapses whitespace and line breaks to single spaces and trims. */
function oneLine(text: string): string {
  return text.replace(BREAKING, ' ').trim();
}

/**
 * One line of at most `max` (default 140) characters: whitespace and newlines
 * collapse to one space, and a longer text is cut with an ellipsis.
 */
export function fitStatusLine(text: string, max: number = STATUS_LINE_MAX): string {
  return truncate(oneLine(text), max);
}

/** `prefix + part + suffix`, shortening only `part` so the whole fits on one status line. */
function fitAround(prefix: string, part: string, suffix = ''): string {
  const room = STATUS_LINE_MAX - prefix.length - suffix.length;
  return fitStatusLine(`${prefix}${truncate(oneLine(part), room)}${suffix}`);
}

/** A count as text, or null when it is not a usable count (negative, fractional, NaN). */
function countText(n: number | null | undefined): string | null {
  if (n === null || n === undefined || !Number.isInteger(n) || n < 0) return null;
  return String(n);
}

function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : '?';
}

// --- waiting / pending / queued / starting / running -----------------------

export const TESTS_QUEUED = 'Tests queued';
export const WAITING_FOR_BUILD = 'Waiting for the build workflow to finish';
export const WAITING_FOR_APPROVAL = 'Waiting for a maintainer to approve running tests';
export const STARTING_VM = 'Starting a VM';
export const VM_STARTED = 'VM started, preparing tests';
export const STARTUP_SCRIPT_MISSING =
  'The VM startup script is missing. Please contact the administrator.';
export const PREPARING_VM = 'Preparing the VM';
export const RUNNING_TESTS = 'Running tests';

/**
 * The line for a new commit of an untrusted author on a PR that carries the
 * approval label: the label approved an earlier commit, not this one.
 */
export function newCommitWaitsForApproval(label: string): string {
  return fitAround("New commit waits for a maintainer's approval: re-add the '", label, "' label");
}

export function platformInMaintenance(platform: string): string {
  return fitAround('Platform ', platform, ' is in maintenance; tests will start when it is back');
}

export function waitingForSlot(platform: string): string {
  return fitAround('Waiting for a free ', platform, ' VM slot');
}

/** The line for a `waiting` test, by what it waits for. */
export function waitMessage(reason: WaitReason, platform: string): string {
  switch (reason) {
    case 'build':
      return WAITING_FOR_BUILD;
    case 'approval':
      return WAITING_FOR_APPROVAL;
    case 'maintenance':
      return platformInMaintenance(platform);
  }
}

/**
 * The final line of a test whose build never finished within the limit
 * (`workflow`: the platform's buildWorkflow, when it still has one).
 */
export function buildWaitExpired(workflow: string | undefined, minutes: number): string {
  const suffix = ` finished within ${numberText(minutes)} min: check the workflow, then push again`;
  const name = oneLine(workflow ?? '');
  return name === '' ? fitStatusLine(`No build${suffix}`) : fitAround('No build of ', name, suffix);
}

/** The final line of a test whose build workflow GitHub never ran for the commit. */
export function buildDidNotRun(workflow: string, sha: string): string {
  return fitAround(
    'Not tested: ',
    workflow,
    ` did not run for ${sha.slice(0, 7)} (its path or branch filters skip it)`,
  );
}

/** The final line of a test whose build succeeded without the artifact it needs. */
export function artifactNotFound(artifact: string, expired = false): string {
  return expired
    ? fitAround("Build succeeded but its artifact '", artifact, "' has expired: push again")
    : fitAround(
        "Build succeeded but its artifact '",
        artifact,
        "' was not found: check the workflow's upload step",
      );
}

/** The final line of a test that needs a token for its VM that plain GITHUB_TOKEN credentials cannot give. */
export function needsGitHubApp(what: 'artifact' | 'private'): string {
  return what === 'artifact'
    ? 'Build artifacts need vm-ci to run as a GitHub App: a GITHUB_TOKEN is never given to VMs'
    : 'Private repositories need vm-ci to run as a GitHub App: a GITHUB_TOKEN is never given to VMs';
}

export const GITHUB_UNAVAILABLE =
  'GitHub did not answer while the test VM was prepared. The test will be retried automatically';

export const VM_TOKEN_REFUSED =
  "GitHub refused a token for the test VM: check the App's access to this repository";

/** The final line of a test that no maintainer approved within the limit. */
export function approvalWaitExpired(days: number): string {
  const span = days === 1 ? '1 day' : `${numberText(days)} days`;
  return fitStatusLine(
    `Not approved within ${span}: push a new commit, then ask a maintainer to approve it`,
  );
}

/** The line for a `running` test, by the stage its VM reported. */
export function stageMessage(stage: Stage): string {
  return stage === 'preparation' ? PREPARING_VM : RUNNING_TESTS;
}

// --- results -----------------------------------------------------------------

/** "All tests passed (N passed)", or "All tests passed" when the count is unknown. */
export function allTestsPassed(passed?: number | null): string {
  const n = countText(passed);
  return fitStatusLine(n === null ? 'All tests passed' : `All tests passed (${n} passed)`);
}

/** "N of M tests failed", or "N tests failed" when the total is unknown. */
export function testsFailed(failed: number, total?: number | null): string {
  const f = countText(failed) ?? numberText(failed);
  const t = countText(total);
  if (t !== null) return fitStatusLine(`${f} of ${t} tests failed`);
  return fitStatusLine(failed === 1 ? '1 test failed' : `${f} tests failed`);
}

export function testsFailedExitCode(exitCode: number): string {
  return fitStatusLine(`Tests failed (exit code ${numberText(exitCode)})`);
}

/**
 * Whether a reported result counts as a pass: exit code 0 and no failed test.
 * A zero exit code with failures counted is treated as a failure, so the
 * status and its line never contradict each other.
 */
export function isPassingResult(result: Pick<TestResult, 'exitCode' | 'failed'>): boolean {
  return result.exitCode === 0 && !(typeof result.failed === 'number' && result.failed > 0);
}

/** The line for a finished run, from what the VM reported. */
export function resultMessage(result: Pick<TestResult, 'exitCode' | 'passed' | 'failed'>): string {
  if (isPassingResult(result)) return allTestsPassed(result.passed);
  const failed = countText(result.failed);
  if (failed !== null && result.failed !== null && result.failed > 0) {
    const passed = countText(result.passed);
    const total = passed === null ? null : (result.passed ?? 0) + result.failed;
    return testsFailed(result.failed, total);
  }
  return testsFailedExitCode(result.exitCode);
}

export function timeLimitExceeded(minutes: number): string {
  return fitStatusLine(
    `Could not complete tests: time limit of ${numberText(minutes)} min exceeded`,
  );
}

export const VM_STOPPED_WITHOUT_RESULT = 'The test VM stopped without reporting a result';
export const VM_GONE_WITHOUT_RESULT = 'The test VM was deleted before it reported a result';

/** A failure the VM reported itself (`failed` with a reason). */
export function vmReportedFailure(reason: string): string {
  const r = oneLine(reason);
  return r === '' ? 'Test run failed' : fitAround('Test run failed: ', r);
}

// --- cancels and refusals ----------------------------------------------------

/** "Superseded by <sha7>": the newer commit of the same PR. */
export function supersededBy(sha: string): string {
  // By code point, so a malformed sha never leaves half a surrogate pair.
  return fitAround('Superseded by ', Array.from(oneLine(sha)).slice(0, 7).join(''));
}

export const PR_CLOSED = 'PR closed';
export const CANCELED_BY_MAINTAINER = 'Canceled by a maintainer';
export const USER_BLOCKED = 'CI start aborted: user is blocked';
export const BUILD_WORKFLOW_FAILED = 'Build workflow failed';

// --- Compute Engine errors (DESIGN §4), used by shared/gcp/errors.ts ----------

const RETRY_PROMISE = ' The test will be retried automatically';

export const GCP_MESSAGES = {
  zoneExhausted:
    'GCP resources temporarily unavailable in the configured zone. The test will be retried automatically when resources become available.',
  quotaExceeded:
    'GCP quota limit reached. The test will be retried automatically when resources become available.',
  timedOut: 'GCP operation timed out. The test will be retried automatically.',
  rateLimited: 'GCP API rate limit reached. The test will be retried automatically.',
  notFound: 'Required GCP resource not found. Please contact the administrator.',
  permissionDenied: 'GCP permission denied. Please contact the administrator.',
} as const;
export type GcpMessageKey = keyof typeof GCP_MESSAGES;

/** "VM creation failed (CODE). Please contact the administrator.", or without a code. */
export function vmCreationFailed(code?: string | null): string {
  const c = code === undefined || code === null ? '' : oneLine(code);
  if (c === '') return 'VM creation failed. Please contact the administrator.';
  return fitAround('VM creation failed (', c, '). Please contact the administrator.');
}

/**
 * The final text of a retriable error that outlasted its retries: the same
 * message minus the promise of a retry. Other texts come back unchanged.
 */
export function finalRetriableMessage(retriableMessage: string): string {
  const text = oneLine(retriableMessage);
  const at = text.indexOf(RETRY_PROMISE);
  return fitStatusLine(at === -1 ? text : text.slice(0, at));
}
