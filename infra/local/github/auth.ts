// Who may call the stand-in. Without a configured token anyone may; with one,
// token routes take that token or an installation token the stand-in issued,
// and App routes take any well-formed JWT (the stand-in holds no App key).
// Reads without credentials pass, as GitHub serves a public repository's reads,
// so a person can look at the posted statuses with curl or a browser.
import { GitHubError } from './errors';
import type { CallRecord } from './types';

export const BOT_LOGIN = 'vm-ci[bot]';

export function parseAuthorization(header: string | undefined): {
  scheme: CallRecord['auth'];
  credential?: string;
} {
  if (!header) return { scheme: 'none' };
  const [word = '', credential = ''] = header.trim().split(/\s+/, 2);
  const scheme = word.toLowerCase();
  if (scheme === 'token' || scheme === 'bearer' || scheme === 'basic')
    return { scheme, credential };
  return { scheme: 'other' };
}

function isJwt(credential: string): boolean {
  const parts = credential.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return false;
  try {
    const header = JSON.parse(Buffer.from(parts[0] ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof header === 'object' && header !== null && 'alg' in header;
  } catch {
    return false;
  }
}

/** Undefined when the call may go on, else the error to answer. */
export function authorize(
  configured: string | undefined,
  issued: Set<string>,
  header: string | undefined,
  appRoute: boolean,
  method = 'GET',
): GitHubError | undefined {
  if (configured === undefined) return undefined;
  const { scheme, credential } = parseAuthorization(header);
  if (scheme === 'none') {
    return method === 'GET' && !appRoute
      ? undefined
      : new GitHubError(401, 'Requires authentication');
  }
  if (scheme !== 'token' && scheme !== 'bearer') return new GitHubError(401, 'Bad credentials');
  if (appRoute) {
    return isJwt(credential ?? '')
      ? undefined
      : new GitHubError(401, 'A JSON web token could not be decoded');
  }
  if (credential === configured || issued.has(credential ?? '')) return undefined;
  return new GitHubError(401, 'Bad credentials');
}
