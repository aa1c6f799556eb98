// The order of a PR's heads (DESIGN §5). GitHub does not deliver events in
// order, and people redeliver them, so "the newest head" is not "the last
// event": it is the head with the newest pull_request.updated_at, which each
// PR test keeps as headUpdatedAt. An event about an older head than the PR's
// newest tests changes nothing (checkHead, before anything is written), and
// superseding cancels only tests of older heads (supersedeOlderHeads, after the
// event's own tests are stored, so that of two events handled at once, at least
// the later one to look sees both). Two heads with the same time are told apart
// by asking GitHub for the PR's head now; if GitHub cannot say, both are kept.
import { supersededBy } from '../domain/messages';
import type { TestRecord } from '../domain/test';
import type { GitHubLookupPort } from '../github/lookups';
import { cancelTest, type CancelDeps, type CancelEntry } from '../tests/cancel';
import type { HeadOrder } from './plan';

export type OrderDeps = CancelDeps & { github: GitHubLookupPort };

/** The PR's head as GitHub tells it now, or null when it cannot; asked once, then remembered. */
export type CurrentHead = () => Promise<string | null>;

/**
 * How many of a PR's tests, newest head first, are read to find its newest
 * heads: the tests of the newest head (one per platform) and of any head with
 * the same time are among them.
 */
export const HEAD_SCAN = 50;

/** Asks GitHub for the PR's head at most once, when first needed. */
export function currentHeadOf(deps: OrderDeps, repo: string, pr: number): CurrentHead {
  let answer: Promise<string | null> | undefined;
  return () =>
    (answer ??= deps.github.pullRequestHead(repo, pr).then((result) => {
      if (result.ok) return result.value.sha;
      deps.log.warn('GitHub could not say which commit is the PR head', {
        repo,
        pr,
        httpStatus: result.httpStatus,
        detail: result.detail,
      });
      return null;
    }));
}

interface Newest {
  at: Date;
  /** The heads with that time, the first one's first. */
  shas: string[];
}

/** The newest head time among `heads`, and every head with it. */
function newestOf(heads: readonly { sha: string; at: Date | null }[]): Newest | null {
  let newest: Newest | null = null;
  for (const { sha, at } of heads) {
    if (at === null) continue;
    if (newest === null || at.getTime() > newest.at.getTime()) newest = { at, shas: [sha] };
    else if (at.getTime() === newest.at.getTime() && !newest.shas.includes(sha)) {
      newest.shas.push(sha);
    }
  }
  return newest;
}

const sha7 = (sha: string) => sha.slice(0, 7);
const headsOf = (tests: readonly TestRecord[]) =>
  tests.map((test) => ({ sha: test.sha, at: test.headUpdatedAt }));

export type HeadCheck = { current: true } | { current: false; reason: string };

/**
 * Whether `head` may still be tested: not when the PR has tests of a newer
 * head, nor when another head has the same time and GitHub says that one
 * (or a third) is the PR's head now.
 */
export async function checkHead(
  deps: OrderDeps,
  head: HeadOrder,
  currentHead: CurrentHead,
): Promise<HeadCheck> {
  const listed = await deps.store.listByPrHead(head.repo, head.pr, { limit: HEAD_SCAN });
  const newest = newestOf(headsOf(listed));
  if (newest === null) return { current: true };
  const [newestSha = head.sha] = newest.shas;
  const diff = head.updatedAt.getTime() - newest.at.getTime();
  if (diff > 0) return { current: true };
  if (diff < 0) {
    return {
      current: false,
      reason:
        `an older head: ${sha7(head.sha)} (updated ${head.updatedAt.toISOString()}) is older ` +
        `than the PR's tests of ${sha7(newestSha)} (updated ${newest.at.toISOString()})`,
    };
  }
  if (newest.shas.every((sha) => sha === head.sha)) return { current: true };
  const now = await currentHead();
  if (now === null || now === head.sha) return { current: true };
  return {
    current: false,
    reason: `not the PR's head: ${sha7(head.sha)} has the same time as ${sha7(newestSha)}, and GitHub says the head is ${sha7(now)}`,
  };
}

/**
 * Cancels the PR's tests of heads older than the newest one known now (this
 * event's, or a newer one stored meanwhile: then this event's own tests are
 * among those canceled), in `head.supersede`'s statuses. Tests of the newest
 * head's commit are never canceled, whatever their own time. Returns one
 * entry per cancel tried; a failure to list is thrown.
 */
export async function supersedeOlderHeads(
  deps: OrderDeps,
  head: HeadOrder,
  currentHead: CurrentHead,
): Promise<CancelEntry[]> {
  if (head.supersede.length === 0) return [];
  const [listed, live] = await Promise.all([
    deps.store.listByPrHead(head.repo, head.pr, { limit: HEAD_SCAN }),
    deps.store.listByPr(head.repo, head.pr, { statuses: head.supersede }),
  ]);
  // Every test that may be canceled counts too: one stored between the two
  // reads is then never taken for older than a head it is newer than.
  const newest = newestOf([
    ...headsOf(listed),
    ...headsOf(live),
    { sha: head.sha, at: head.updatedAt },
  ]);
  if (newest === null) return [];
  let keep = newest.shas;
  if (keep.length > 1) {
    const now = await currentHead();
    if (now !== null && keep.includes(now)) keep = [now];
    else {
      deps.log.warn('Heads of the PR with the same time, and none known to be its head: all kept', {
        repo: head.repo,
        pr: head.pr,
        shas: keep,
        githubHead: now,
      });
    }
  }
  const winner = keep.includes(head.sha) ? head.sha : (keep[0] ?? head.sha);
  const message = supersededBy(winner);
  const targets = live.filter((test) => !keep.includes(test.sha));
  return Promise.all(
    targets.map(async (read): Promise<CancelEntry> => {
      try {
        const result = await cancelTest(deps, read.id, message, { from: head.supersede, read });
        return { testId: read.id, result };
      } catch (thrown) {
        const error = thrown instanceof Error ? thrown : new Error(String(thrown));
        deps.log.child({ testId: read.id }).error('Cancel failed', {
          error,
          repo: head.repo,
          pr: head.pr,
        });
        return { testId: read.id, error };
      }
    }),
  );
}
