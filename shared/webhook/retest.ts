// `/retest` in a pull request's comments (issue 15, item 2), decided without
// any I/O: is the comment a /retest at all, may its author ask for one, which
// of the repository's platforms it names, and the one friendly line the bot
// answers with when it refuses. What GitHub says of the PR (open? whose? which
// head?) is asked afterwards, only for a /retest that may go ahead.
import type { VmciConfig } from '../config/schema';
import { fitStatusLine, STATUS_LINE_MAX, USER_BLOCKED } from '../domain/messages';
import type { IssueCommentEvent } from './events';

export const RETEST_COMMAND = '/retest';

/** Comment authors who may start a run: people with write access (DESIGN §5). */
export const RETEST_ASSOCIATIONS: readonly string[] = ['OWNER', 'MEMBER', 'COLLABORATOR'];

/** `/retest` or `/retest <platform> [<platform>…]` on one line, nothing else. */
const COMMAND = /^\/retest(?:[ \t]+([^\r\n]*))?$/;

/**
 * The platforms a comment's body names, [] for all, or null when the body
 * (trimmed) is not a /retest. Names keep their first spelling, once each.
 */
export function parseRetest(body: string): { platforms: string[] } | null {
  const match = COMMAND.exec(body.trim());
  if (!match) return null;
  const words = (match[1] ?? '').split(/[ \t]+/).filter((word) => word !== '');
  const seen = new Set<string>();
  const platforms = words.filter((word) => {
    const key = word.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return { platforms };
}

export function mayRetest(association: string): boolean {
  return RETEST_ASSOCIATIONS.includes(association.toUpperCase());
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function isBlockedUser(config: Pick<VmciConfig, 'blockedUsers'>, login: string): boolean {
  return config.blockedUsers.some((user) => same(user, login));
}

// --- the lines shown to people (one line of at most 140 characters each) -------------

const ELLIPSIS = '…';

/** `text` cut to `max` characters (by code point), with an ellipsis when cut. */
function cut(text: string, max: number): string {
  const chars = Array.from(text.replace(/[\s\p{Cc}]+/gu, ' ').trim());
  if (chars.length <= max) return chars.join('');
  return `${chars
    .slice(0, Math.max(0, max - 1))
    .join('')
    .trimEnd()}${ELLIPSIS}`;
}

/** `prefix + part + suffix`, shortening only `part` so that the line fits. */
function around(prefix: string, part: string, suffix: string): string {
  return fitStatusLine(
    `${prefix}${cut(part, STATUS_LINE_MAX - prefix.length - suffix.length)}${suffix}`,
  );
}

/** A GitHub login is at most 39 characters; a longer one is not GitHub's, and is cut. */
const mention = (login: string) => `@${cut(login, 39)}`;

export function retestNotAllowed(login: string): string {
  return fitStatusLine(
    `${mention(login)}: only the repository's owners, members and collaborators can /retest.`,
  );
}

export function retestUserBlocked(login: string): string {
  return fitStatusLine(`${mention(login)}: ${USER_BLOCKED}.`);
}

export function retestAuthorBlocked(login: string): string {
  return fitStatusLine(
    `${mention(login)}: the pull request's author is blocked, so CI does not run.`,
  );
}

export function retestPrClosed(login: string): string {
  return fitStatusLine(
    `${mention(login)}: this pull request is closed; reopen it to run its tests.`,
  );
}

/** "Unknown platform 'mac': this repository tests linux, windows." */
export function unknownPlatforms(
  unknown: readonly string[],
  configured: readonly string[],
): string {
  const head = unknown.length === 1 ? 'Unknown platform ' : 'Unknown platforms ';
  const names = unknown.map((name) => `'${name}'`).join(', ');
  // The configured names matter most: the unknown ones give way first, down to 20 characters.
  const fixed = ': this repository tests .';
  const list = cut(configured.join(', '), STATUS_LINE_MAX - head.length - fixed.length - 20);
  return around(head, names, `: this repository tests ${list}.`);
}

/** The line of a test that a /retest's new run replaces. */
export function supersededByRetest(run: number): string {
  return fitStatusLine(`Superseded by run ${Number.isSafeInteger(run) ? run : '?'} (/retest)`);
}

// --- the decision ----------------------------------------------------------------------

export type RetestDecision =
  /** Not a /retest, or not one to answer: 202, no GitHub call. */
  | { kind: 'ignore'; reason: string }
  /** A /retest that is refused: one reply comment and a `confused` reaction. */
  | { kind: 'refuse'; reason: string; reply: string }
  /** A /retest that may go ahead, once GitHub says what the PR is: these platforms, configured spelling. */
  | { kind: 'retest'; platforms: string[] };

const quote = (text: string) => JSON.stringify(text);

/** What the comment asks for, and whether its author may, from the comment alone. */
export function decideRetest(event: IssueCommentEvent, config: VmciConfig): RetestDecision {
  if (event.action !== 'created') {
    return {
      kind: 'ignore',
      reason: `issue_comment ${quote(event.action)}: only a new comment can ask for /retest`,
    };
  }
  if (!event.onPullRequest) {
    return { kind: 'ignore', reason: 'a comment on an issue, not on a pull request' };
  }
  if (same(event.commenterType, 'Bot')) {
    return { kind: 'ignore', reason: `a comment by bot ${quote(event.commenter)}` };
  }
  const command = parseRetest(event.body);
  if (!command) return { kind: 'ignore', reason: 'the comment is not a /retest' };
  const who = quote(event.commenter);
  if (isBlockedUser(config, event.commenter)) {
    return {
      kind: 'refuse',
      reason: `/retest by ${who}, who is blocked`,
      reply: retestUserBlocked(event.commenter),
    };
  }
  if (!mayRetest(event.association)) {
    return {
      kind: 'refuse',
      reason: `/retest by ${who} (${event.association}): only owners, members and collaborators may`,
      reply: retestNotAllowed(event.commenter),
    };
  }
  const configured = Object.keys(config.platforms);
  if (command.platforms.length === 0) return { kind: 'retest', platforms: configured };
  const unknown = command.platforms.filter((name) => !configured.some((c) => same(c, name)));
  if (unknown.length > 0) {
    return {
      kind: 'refuse',
      reason: `/retest names unknown platforms: ${unknown.map(quote).join(', ')}`,
      reply: unknownPlatforms(unknown, configured),
    };
  }
  // In configuration order, as a /retest of all would list them.
  const named = configured.filter((c) => command.platforms.some((name) => same(c, name)));
  return { kind: 'retest', platforms: named };
}
