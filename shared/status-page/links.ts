// Every link the status pages write, built from a fixed prefix and
// encodeURIComponent'd parts only: no value from GitHub or from test output
// can choose where a link goes (a `javascript:` ref or file name stays text).
// `base` is the path the status function is served under (`/status` on the
// local cloud and Cloud Functions, `` for a Cloud Run service of its own), so
// a page works under whatever host it was reached by.
import { LOG_FILE } from '../files/port';

const enc = encodeURIComponent;

/** "owner/name" as two encoded path segments. */
function repoPath(repo: string): string {
  return repo.split('/').map(enc).join('/');
}

/** The path part of the status function's URL, without a trailing slash. */
export function basePath(statusUrl: string): string {
  try {
    return new URL(statusUrl).pathname.replace(/\/+$/, '');
  } catch {
    return '';
  }
}

export function assetHref(base: string, name: 'page.css' | 'page.js'): string {
  return `${base}/assets/${name}`;
}

export function homeHref(base: string): string {
  return `${base}/`;
}

export function testHref(base: string, id: string): string {
  return `${base}/tests/${enc(id)}`;
}

export function commitHref(base: string, repo: string, sha: string): string {
  return `${base}/tests?repo=${enc(repo)}&sha=${enc(sha)}`;
}

export function prHref(base: string, repo: string, pr: number): string {
  return `${base}/tests?repo=${enc(repo)}&pr=${enc(String(pr))}`;
}

export function testFilesHref(base: string, id: string): string {
  return `${testHref(base, id)}/files`;
}

export function testLogHref(base: string, id: string): string {
  return `${testHref(base, id)}/files/${enc(LOG_FILE)}`;
}

/** The recent page (or its `.json` form) with these filters (empty ones left out). */
export function recentHref(
  base: string,
  query: Readonly<Record<string, string | undefined>>,
  form: '' | '.json' = '',
): string {
  const params = Object.entries(query)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== '')
    .map(([key, value]) => `${enc(key)}=${enc(value)}`);
  const path = `${homeHref(base)}${form}`;
  return params.length ? `${path}?${params.join('&')}` : path;
}

/**
 * GitHub's web address, from the configured API URL: api.github.com is
 * github.com, GitHub Enterprise's `https://host/api/v3` is `https://host`,
 * anything else (the local cloud's `<url>/github`) its origin. Null for a URL
 * that is not http(s), so that no other kind of link is ever written.
 */
export function githubWebBase(apiUrl: string | undefined): string | null {
  if (apiUrl === undefined) return null;
  let url: URL;
  try {
    url = new URL(apiUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.hostname.toLowerCase() === 'api.github.com') return 'https://github.com';
  const path = url.pathname.replace(/\/+$/, '');
  if (/\/api\/v3$/i.test(path)) return url.origin + path.replace(/\/api\/v3$/i, '');
  return url.origin;
}

export function githubCommitUrl(web: string, repo: string, sha: string): string {
  return `${web}/${repoPath(repo)}/commit/${enc(sha)}`;
}

export function githubPrUrl(web: string, repo: string, pr: number): string {
  return `${web}/${repoPath(repo)}/pull/${enc(String(pr))}`;
}
