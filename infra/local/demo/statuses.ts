// The commit statuses the local GitHub received, oldest first.
export interface PostedStatus {
  state: string;
  context: string;
  description: string | null;
  created_at?: string;
}

export async function listStatuses(
  url: string,
  repo: string,
  sha: string,
): Promise<PostedStatus[]> {
  const res = await fetch(`${url}/github/repos/${repo}/commits/${sha}/statuses?per_page=100`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return ((await res.json()) as PostedStatus[]).reverse(); // GitHub lists newest first
}

/** Each context's latest state (the list is oldest first: the last one wins). */
export function latestByContext(list: PostedStatus[]): Map<string, string> {
  return new Map(list.map((s) => [s.context, s.state]));
}

const settled = (list: PostedStatus[]) => {
  const latest = latestByContext(list);
  return latest.size > 0 && [...latest.values()].every((state) => state !== 'pending');
};

/**
 * Each commit's statuses; when `waitMs` > 0, waits up to that long for every
 * context's latest status to leave `pending` (the final status is posted just
 * after the test ends).
 */
export async function finalStatuses(
  url: string,
  repo: string,
  shas: string[],
  options: { waitMs: number; pollMs?: number; signal?: AbortSignal },
): Promise<Map<string, PostedStatus[]>> {
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const all = new Map<string, PostedStatus[]>();
    for (const sha of shas) all.set(sha, await listStatuses(url, repo, sha).catch(() => []));
    const done = [...all.values()].every(settled);
    if (done || Date.now() >= deadline || options.signal?.aborted) return all;
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
}
