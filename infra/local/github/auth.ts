// Who may call the stand-in. Without a configured token anyone may; with one,
// token routes take that token or an installation token the stand-in issued,
// and App routes take any well-formed JWT (the stand-in holds no App key).
// Reads without credentials pass, as GitHub serves a public repository's reads,
// so a person can look at the posted statuses with curl or a browser.
// An installation token works until it expires, and only on its repositories
// with its permissions; a repository seeded private is hidden from callers
// without a token for it.
import { GitHubError, notFound } from './errors';
import { tokenCovers, tokenPermits } from './tokens';
import type { CallRecord, InstallationTokenRecord } from './types';

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
  issued: Map<string, InstallationTokenRecord>,
  header: string | undefined,
  appRoute: boolean,
  method = 'GET',
  now = Date.now(),
): GitHubError | undefined {
  const { scheme, credential } = parseAuthorization(header);
  const record = issued.get(credential ?? '');
  if (!appRoute && record && record.expiresAt <= now) {
    return new GitHubError(401, 'Bad credentials');
  }
  if (configured === undefined) return undefined;
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

/** Who calls: the configured token, a valid installation token, or anyone. */
export type Caller =
  | { kind: 'configured' }
  | { kind: 'installation'; token: string; record: InstallationTokenRecord }
  | { kind: 'anonymous' };

export function identify(
  configured: string | undefined,
  issued: Map<string, InstallationTokenRecord>,
  header: string | undefined,
  now = Date.now(),
): Caller {
  const { scheme, credential = '' } = parseAuthorization(header);
  if (scheme !== 'token' && scheme !== 'bearer') return { kind: 'anonymous' };
  if (configured !== undefined && credential === configured) return { kind: 'configured' };
  const record = issued.get(credential);
  if (record && record.expiresAt > now) return { kind: 'installation', token: credential, record };
  return { kind: 'anonymous' };
}

/**
 * Undefined when the caller may use `repo` this way, else the error GitHub
 * answers: 404 for a repository the token does not cover (or a private one,
 * anonymously), 403 for a permission it lacks (read for GET, else write).
 */
export function repoAccess(
  caller: Caller,
  repo: string,
  permission: string | undefined,
  method: string,
  privateRepo: boolean,
): GitHubError | undefined {
  if (caller.kind === 'configured') return undefined;
  if (caller.kind === 'anonymous') return privateRepo ? notFound() : undefined;
  if (!tokenCovers(caller.record, repo)) return notFound();
  const level = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
  if (permission !== undefined && !tokenPermits(caller.record, permission, level)) {
    return new GitHubError(403, 'Resource not accessible by integration');
  }
  return undefined;
}
