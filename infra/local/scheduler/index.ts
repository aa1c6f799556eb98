// The local Cloud Scheduler (DESIGN §8): a cron that calls HTTP targets with
// Cloud Scheduler's headers, behind the v1 REST API the real client uses.
import { createApi } from './api';
import { createClock } from './clock';
import { createCore } from './core';
import { checkJobName, normalizeJob, type JobInput, type JobJson } from './job';
import type { HistoryEntry } from './dispatch';
import type { LocalService } from '../http';

export type { HistoryEntry } from './dispatch';
export type { JobInput, JobJson } from './job';
export { CronError, nextAfter, parseCron, type CronSchedule } from './cron';

export interface SchedulerStandInOptions {
  /** for bare job ids in `jobs` and runNow(); 'vmci-local' by default */
  project?: string;
  /** 'us-central1' by default */
  location?: string;
  /** real ms per scheduler ms: 0.001 makes a cron minute last 60 ms; 1 by default */
  timeScale?: number;
  /** signs the local OIDC/OAuth tokens (shared/auth/local-token.ts) sent to jobs with an oidcToken or oauthToken */
  localToken?: string;
  /** the fetch that calls targets; the global one by default */
  fetch?: typeof fetch;
  /** jobs present from the start */
  jobs?: JobInput[];
  log?: (line: string) => void;
}

export interface SchedulerStandIn extends LocalService {
  jobs(): JobJson[];
  /** every attempt, oldest first */
  history(): HistoryEntry[];
  /** runs a job at once (full name or bare id); resolves with its last attempt */
  runNow(name: string): Promise<HistoryEntry>;
}

export const DEFAULT_LOCAL_TOKEN = 'local-scheduler-oidc-token';

export function createSchedulerStandIn(options: SchedulerStandInOptions = {}): SchedulerStandIn {
  const parent = `projects/${options.project ?? 'vmci-local'}/locations/${options.location ?? 'us-central1'}`;
  const fullName = (name: string): string =>
    checkJobName(name.includes('/') ? name : `${parent}/jobs/${name}`);
  const core = createCore({
    clock: createClock(options.timeScale ?? 1),
    fetch: options.fetch ?? globalThis.fetch,
    localToken: options.localToken ?? DEFAULT_LOCAL_TOKEN,
    log: options.log ?? (() => {}),
  });
  for (const job of options.jobs ?? []) {
    const name = fullName(job.name ?? '');
    if (core.has(name)) throw new Error(`duplicate job ${name}`);
    core.put(normalizeJob(job as unknown as Record<string, unknown>, name));
  }
  return {
    handle: createApi(core),
    close: () => core.close(),
    jobs: () => core.list(),
    history: () => core.history(),
    runNow: async (name) => core.run(fullName(name)),
  };
}
