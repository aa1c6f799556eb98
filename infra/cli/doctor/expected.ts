// What a healthy installation looks like, taken from the deploy's own desired
// resources (infra/gcp/deploy/desired.ts): the queue's settings as deploy maps
// config.queue, each Scheduler job's URL, OIDC audience and service account.
import type { VmciConfig } from '../../../shared/config';
import { FUNCTION_NAMES, type FunctionName } from '../../../shared/config/urls';
import { desiredResources, jobId, type Facts } from '../../gcp/deploy/desired';
import type { Resource } from '../../gcp/deploy/resources';
import type { SweepName } from '../../../shared/sweeps/schedules';

/** Facts that change nothing doctor compares (queue, jobs, network): no gcloud needed. */
export function placeholderFacts(): Facts {
  return {
    projectNumber: '0',
    bundleHashes: Object.fromEntries(FUNCTION_NAMES.map((fn) => [fn, ''])) as Record<
      FunctionName,
      string
    >,
    bundleRoot: '.deploy',
    secretVersions: {},
    githubAuth: 'token',
  };
}

export function queueResource(config: VmciConfig): Resource {
  const found = desiredResources(config, placeholderFacts()).find((r) => r.kind === 'queue');
  if (!found) throw new Error('deploy manages no queue');
  return found;
}

export function jobResource(config: VmciConfig, sweep: SweepName): Resource {
  const found = desiredResources(config, placeholderFacts()).find(
    (r) => r.kind === 'scheduler job' && r.name === jobId(sweep),
  );
  if (!found) throw new Error(`deploy manages no job for ${sweep}`);
  return found;
}

/** The retry settings (what runTest relies on to know a test's budget). */
export const RETRY_KEYS = ['maxAttempts', 'minBackoff', 'maxBackoff', 'maxDoublings'] as const;
