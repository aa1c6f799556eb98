// Shows a test's state on GitHub (DESIGN §5): posts its commit status when the
// state or the message changed since the last post, and notes what was posted.
// It never throws: a GitHub failure must not fail the transition that caused
// it, and leaving `githubStatus` as it was lets a later sweep post again.
import { commitStatus, shouldPostStatus } from '../domain/github';
import { functionUrlOf } from '../config/urls';
import { isTerminal, type PostedCommitStatus, type TestRecord } from '../domain/test';
import type { Logger } from '../log';
import type { TestStore } from '../store/port';
import type { CommitStatusPort, PostResult } from './statuses';

export interface PublishDeps {
  statuses: CommitStatusPort;
  store: TestStore;
  log: Logger;
  now: () => Date;
  /** The context template, e.g. `ci/{platform}`. */
  statusContext: string;
  /** vm-ci's public base URL; the target URL is the test's status page under it. */
  publicUrl: string;
  /** Shows a PR test's end in the PR's vm-ci comment (./pr-comment.ts); absent: no comments. */
  prComment?: (test: TestRecord) => Promise<void>;
}

export interface PublishOutcome {
  posted: boolean;
  reason?: 'unchanged' | 'failed';
  result?: PostResult;
}

/** The status page of a test, linked from its commit status. */
export function testStatusUrl(publicUrl: string, testId: string): string {
  return `${functionUrlOf(publicUrl, 'status')}/tests/${encodeURIComponent(testId)}`;
}

export interface PublishOptions {
  /**
   * The caller tries a failed post again later itself (the expired sweep's
   * re-post of a final status): a refusal is logged as a warning, and only the
   * caller's giving up is an error.
   */
  retriedLater?: boolean;
}

/** Posts after which a publisher stops chasing a test that keeps moving (the next publish catches up). */
const PUBLISH_ROUNDS = 3;

/**
 * Two publishers of one test can finish out of order (runTest's "VM started"
 * after progress's "Running tests"). So after each post the test is read
 * again, and if its status moved on meanwhile, the newer one is posted too:
 * the last post on GitHub is then always of the test's latest state.
 */
export async function publishTestStatus(
  deps: PublishDeps,
  test: TestRecord,
  options: PublishOptions = {},
): Promise<PublishOutcome> {
  let { outcome, posted, stored } = await publishOnce(deps, test, options);
  let shown = posted ? test : undefined;
  for (let round = 1; posted && round < PUBLISH_ROUNDS; round++) {
    // The note of the post returned the test as stored; read only when it could not be noted.
    const fresh = stored ?? (await deps.store.getTest(test.id).catch(() => null));
    if (!fresh) break;
    // Compared with the latest post known: this publisher's own, or one another
    // publisher noted after it (that one landed on GitHub later, so it shows).
    const noted = fresh.githubStatus;
    const latest = noted && noted.at > posted.at ? noted : posted;
    const next = await publishOnce(deps, { ...fresh, githubStatus: latest }, options);
    if (!next.posted) break;
    ({ outcome, posted, stored } = next);
    shown = fresh;
  }
  // A final status just reached GitHub: the PR's comment shows it too.
  if (shown && isTerminal(shown.status) && deps.prComment) await deps.prComment(shown);
  return outcome;
}

/** Posts the test's status if it differs from `test.githubStatus`, and notes it. */
async function publishOnce(
  deps: PublishDeps,
  test: TestRecord,
  options: PublishOptions,
): Promise<{ outcome: PublishOutcome; posted?: PostedCommitStatus; stored?: TestRecord }> {
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  try {
    const desired = commitStatus(test, deps.statusContext, testStatusUrl(deps.publicUrl, test.id));
    if (!shouldPostStatus(test.githubStatus, desired)) {
      return { outcome: { posted: false, reason: 'unchanged' } };
    }

    const result = await deps.statuses.post(test.repo, test.sha, {
      state: desired.state,
      context: desired.context,
      description: desired.description,
      targetUrl: desired.target_url,
    });
    const where = {
      repo: test.repo,
      sha: test.sha,
      context: desired.context,
      state: desired.state,
    };
    if (!result.ok) {
      const fields = { ...where, retriable: result.retriable, httpStatus: result.httpStatus };
      const message = `commit status not posted: ${result.detail}`;
      if (result.retriable || options.retriedLater) log.warn(message, fields);
      else log.error(message, fields);
      return { outcome: { posted: false, reason: 'failed', result } };
    }

    const at = deps.now();
    const posted = { state: desired.state, description: desired.description, at };
    let stored: TestRecord | undefined;
    try {
      const noted = await deps.store.recordStatusPosted(test.id, posted);
      if (noted.recorded) {
        stored = noted.test;
        log.info('commit status posted', where);
      } else log.warn('commit status posted for a test the store does not know', where);
    } catch (error) {
      // Posted but not noted only means the same status is posted again later.
      log.warn('commit status posted but not recorded', { ...where, error });
    }
    return { outcome: { posted: true, result }, posted, ...(stored ? { stored } : {}) };
  } catch (error) {
    // Only a bug gets here (the port never rejects); it must still not fail the caller.
    log.error('publishing the commit status failed', { error });
    return { outcome: { posted: false, reason: 'failed' } };
  }
}
