// Shows a test's state on GitHub (DESIGN §5): posts its commit status when the
// state or the message changed since the last post, and notes what was posted.
// It never throws: a GitHub failure must not fail the transition that caused
// it, and leaving `githubStatus` as it was lets a later sweep post again.
import { commitStatus, shouldPostStatus } from '../domain/github';
import type { TestRecord } from '../domain/test';
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
}

export interface PublishOutcome {
  posted: boolean;
  reason?: 'unchanged' | 'failed';
  result?: PostResult;
}

/** The status page of a test, linked from its commit status. */
export function testStatusUrl(publicUrl: string, testId: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/status/tests/${encodeURIComponent(testId)}`;
}

export async function publishTestStatus(
  deps: PublishDeps,
  test: TestRecord,
): Promise<PublishOutcome> {
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  try {
    const desired = commitStatus(test, deps.statusContext, testStatusUrl(deps.publicUrl, test.id));
    if (!shouldPostStatus(test.githubStatus, desired))
      return { posted: false, reason: 'unchanged' };

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
      if (result.retriable) log.warn(message, fields);
      else log.error(message, fields);
      return { posted: false, reason: 'failed', result };
    }

    const at = deps.now();
    const posted = { state: desired.state, description: desired.description, at };
    try {
      const { recorded } = await deps.store.recordStatusPosted(test.id, posted);
      if (recorded) log.info('commit status posted', where);
      else log.warn('commit status posted for a test the store does not know', where);
    } catch (error) {
      // Posted but not noted only means the same status is posted again later.
      log.warn('commit status posted but not recorded', { ...where, error });
    }
    return { posted: true, result };
  } catch (error) {
    // Only a bug gets here (the port never rejects); it must still not fail the caller.
    log.error('publishing the commit status failed', { error });
    return { posted: false, reason: 'failed' };
  }
}
