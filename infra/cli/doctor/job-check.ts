// Check 5, judged the same way in both modes: a sweep's Scheduler job exists,
// is enabled, calls the sweep's URL with an OIDC token of the right account
// for the right audience (shared/config/urls.ts functionUrl, as deploy sets
// it), and its last run succeeded.
import type { Resource } from '../../gcp/deploy/resources';
import { fail, pass, type CheckResult } from './report';

/** A job as read: the deploy's compared fields, plus state and last run. */
export interface JobView {
  fields: Record<string, string>;
  state: string;
  /** google.rpc.Status code of the last attempt; 0: succeeded or not run yet. */
  lastCode: number;
  lastMessage: string;
  ran: boolean;
}

const STATES = ['STATE_UNSPECIFIED', 'ENABLED', 'PAUSED', 'DISABLED', 'UPDATE_FAILED'];

interface JobLike {
  schedule?: string | null;
  timeZone?: string | null;
  state?: string | number | null;
  httpTarget?: {
    uri?: string | null;
    oidcToken?: { serviceAccountEmail?: string | null; audience?: string | null } | null;
  } | null;
  status?: { code?: number | null; message?: string | null } | null;
  lastAttemptTime?: unknown;
}

/** From the client's Job or gcloud's JSON (REST shape): both have these names. */
export function jobView(job: JobLike): JobView {
  const state = typeof job.state === 'number' ? (STATES[job.state] ?? '?') : (job.state ?? '');
  return {
    fields: {
      schedule: job.schedule ?? '',
      timeZone: job.timeZone ?? '',
      uri: job.httpTarget?.uri ?? '',
      serviceAccount: job.httpTarget?.oidcToken?.serviceAccountEmail ?? '',
      audience: job.httpTarget?.oidcToken?.audience ?? '',
    },
    state,
    lastCode: Number(job.status?.code ?? 0),
    lastMessage: job.status?.message ?? '',
    ran: job.lastAttemptTime !== undefined && job.lastAttemptTime !== null,
  };
}

export interface JobFixes {
  missing: string;
  settings: string;
  paused: string;
  lastRun: string;
}

export function judgeJob(
  resource: Resource,
  label: string,
  seen: JobView | undefined,
  fixes: JobFixes,
): CheckResult {
  const what = `scheduler job ${label}`;
  if (seen === undefined) return fail(what, 'not found', fixes.missing);
  const problems: string[] = [];
  const toDo: string[] = [];
  const wrong = Object.entries(resource.want).filter(([key, value]) => seen.fields[key] !== value);
  if (wrong.length > 0) {
    problems.push(
      ...wrong.map(([key, value]) => `${key} is ${seen.fields[key] || '(unset)'}, not ${value}`),
    );
    toDo.push(fixes.settings);
  }
  if (seen.state !== 'ENABLED') {
    problems.push(`${seen.state.toLowerCase() || 'not enabled'}: the sweep never runs`);
    toDo.push(fixes.paused);
  }
  if (seen.lastCode !== 0) {
    problems.push(
      `its last run failed (code ${seen.lastCode}${seen.lastMessage ? `: ${seen.lastMessage}` : ''})`,
    );
    toDo.push(fixes.lastRun);
  }
  if (problems.length > 0)
    return fail(what, problems.join('; '), [...new Set(toDo)].join('; then '));
  const f = seen.fields;
  return pass(
    `${what}: enabled, ${f.schedule} calls ${f.uri} as ${f.serviceAccount} (OIDC audience: that URL), ${seen.ran ? 'last run succeeded' : 'no run yet'}`,
  );
}
