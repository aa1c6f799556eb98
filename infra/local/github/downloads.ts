// Where an artifact's zip redirects to: like GitHub's storage URL, it takes no
// credentials but is signed and short-lived (?expires=<unix seconds>&sig=<HMAC>).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { GitHubError } from './errors';
import type { GitHubState } from './state';

export const DOWNLOAD_URL_LIFETIME_MS = 60 * 1000;

const signature = (state: GitHubState, id: number, expires: number): string =>
  createHmac('sha256', state.downloadKey).update(`artifact:${id}:${expires}`).digest('base64url');

/** The path and query under the API base, e.g. /_local/artifacts/7/download?expires=…&sig=… */
export function signedDownloadPath(state: GitHubState, id: number, now: number): string {
  const expires = Math.floor((now + DOWNLOAD_URL_LIFETIME_MS) / 1000);
  return `/_local/artifacts/${id}/download?expires=${expires}&sig=${signature(state, id, expires)}`;
}

/** Throws 403 for a missing or wrong signature, or once the URL has expired. */
export function checkDownload(
  state: GitHubState,
  id: number,
  query: URLSearchParams,
  now: number,
): void {
  const expires = Number(query.get('expires'));
  const given = Buffer.from(query.get('sig') ?? '');
  const wanted = Buffer.from(Number.isInteger(expires) ? signature(state, id, expires) : '');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted) || wanted.length === 0) {
    throw new GitHubError(403, 'Server failed to authenticate the request: bad signature');
  }
  if (expires * 1000 <= now) {
    throw new GitHubError(403, 'Server failed to authenticate the request: the URL has expired');
  }
}
