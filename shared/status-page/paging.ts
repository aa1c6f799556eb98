// One page of the recent list. The store pages by `createdBefore` (strict),
// and tests made by one webhook share one createdAt, so a page never ends
// between tests of the same instant: it stops before that instant, and the
// next page starts just after it (`before` = that instant + 1 ms), so no test
// is skipped or shown twice.

export interface Page<T> {
  shown: T[];
  /** Where the next page starts (its createdBefore); null: this is the last page. */
  before: Date | null;
}

/**
 * `fetched`: the store's answer (newest first) to a request for `fetchLimit`
 * tests; `visible`: what this viewer may see; at most `limit` are shown.
 */
export function pageOf<T extends { createdAt: Date }>(
  fetched: readonly T[],
  fetchLimit: number,
  visible: (item: T) => boolean,
  limit: number,
): Page<T> {
  let candidates: readonly T[] = fetched;
  let before: Date | null = null;
  if (fetched.length >= fetchLimit && fetched.length > 0) {
    ({ kept: candidates, before } = cutAtLast(fetched));
  }
  const seen = candidates.filter(visible);
  if (seen.length <= limit) return { shown: seen, before };
  const cut = cutAtLast(seen.slice(0, limit));
  return { shown: cut.kept, before: cut.before };
}

/** Drops the items of the last instant, unless that is all of them; the next page starts there. */
function cutAtLast<T extends { createdAt: Date }>(
  items: readonly T[],
): { kept: T[]; before: Date } {
  const last = items[items.length - 1]!.createdAt.getTime();
  const kept = items.filter((item) => item.createdAt.getTime() > last);
  // Every item of one instant: no way to split it; the next page goes past it.
  if (kept.length === 0) return { kept: [...items], before: new Date(last) };
  return { kept, before: new Date(last + 1) };
}
