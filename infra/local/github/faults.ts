// Failure injection: the next `count` calls that match answer `status`.
import { STATUS_CODES } from 'node:http';
import { GitHubError, type Reply } from './errors';
import type { GitHubState } from './state';
import type { FaultSpec } from './types';

const SECONDARY_RATE_LIMIT =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. ' +
  'If you reach out to GitHub Support for help, please include the request ID.';
const RATE_LIMIT_DOCS =
  'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits';

export function addFault(state: GitHubState, spec: FaultSpec): void {
  if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) {
    throw new GitHubError(422, 'fault status must be an HTTP error status (400-599)');
  }
  const count = spec.count ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new GitHubError(422, 'fault count must be a positive integer');
  }
  let path: RegExp | undefined;
  try {
    if (typeof spec.path === 'string') path = new RegExp(spec.path);
    // without g/y, test() keeps no state between calls
    else if (spec.path) path = new RegExp(spec.path.source, spec.path.flags.replace(/[gy]/g, ''));
  } catch {
    throw new GitHubError(422, `fault path is not a regular expression: ${String(spec.path)}`);
  }
  state.faults.push({ spec, path, remaining: count });
}

function faultReply(spec: FaultSpec): Reply {
  const rateLimited = spec.status === 403 || spec.status === 429;
  const headers: Record<string, string> = { ...spec.headers };
  if (rateLimited || spec.retryAfter !== undefined) {
    headers['retry-after'] = String(spec.retryAfter ?? 1);
  }
  const body =
    spec.body ??
    (rateLimited
      ? { message: SECONDARY_RATE_LIMIT, documentation_url: RATE_LIMIT_DOCS }
      : { message: STATUS_CODES[spec.status] ?? 'Error' });
  return { status: spec.status, headers, body };
}

/** Consumes one matching fault, if any, and returns its answer. */
export function takeFault(state: GitHubState, method: string, path: string): Reply | undefined {
  const fault = state.faults.find(
    (f) =>
      (f.spec.method === undefined || f.spec.method.toUpperCase() === method) &&
      (f.path === undefined || f.path.test(path)),
  );
  if (!fault) return undefined;
  fault.remaining -= 1;
  if (fault.remaining === 0) state.faults.splice(state.faults.indexOf(fault), 1);
  return faultReply(fault.spec);
}
