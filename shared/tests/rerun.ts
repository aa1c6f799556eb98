// A new run of a test (DESIGN §2: only an explicit re-run moves past a terminal
// test, and it does so by creating a new one). Run numbers are deterministic:
// the commit's newest run of the same (repo, sha, platform, trigger, pr) plus
// one, so a redelivered event (or a repeated call) finds the run it made and
// creates nothing more. Used by a reopened PR (shared/webhook/apply.ts),
// `/retest` and `vmci rerun`.
import { newTestRecord, type TestStart } from '../domain/new-test';
import type { TestRecord } from '../domain/test';
import type { TestStore } from '../store/port';

export interface NextRunDeps {
  store: Pick<TestStore, 'listBySha' | 'createTests'>;
  now: () => Date;
}

export interface NextRunOptions {
  /** Whether the newest run of a planned test gets a next one; default: always. */
  when?: (latest: TestRecord) => boolean;
}

type RunKey = Pick<TestRecord, 'repo' | 'sha' | 'platform' | 'trigger' | 'pr'>;

const sameRun = (a: RunKey, b: RunKey) =>
  a.repo === b.repo &&
  a.sha === b.sha &&
  a.platform === b.platform &&
  a.trigger === b.trigger &&
  (a.pr ?? null) === (b.pr ?? null);

/** The newest run of `key` among `tests` (the highest `run`), or null. */
export function latestRun(tests: readonly TestRecord[], key: RunKey): TestRecord | null {
  let latest: TestRecord | null = null;
  for (const test of tests) {
    if (sameRun(test, key) && (latest === null || test.run > latest.run)) latest = test;
  }
  return latest;
}

/**
 * For each planned test (a new test's identity and starting state, whatever
 * its `run`), the next run of its (repo, sha, platform, trigger, pr): a new
 * record with run = newest + 1 and the planned start, stored (idempotently).
 * Where the commit has no run of it, or `when` refuses the newest one, the
 * entry is that newest run (null when there is none) and nothing is made.
 */
export async function nextRunTests(
  deps: NextRunDeps,
  planned: readonly TestRecord[],
  options: NextRunOptions = {},
): Promise<(TestRecord | null)[]> {
  const commits = new Map<string, { repo: string; sha: string }>();
  for (const { repo, sha } of planned) commits.set(JSON.stringify([repo, sha]), { repo, sha });
  const listed = await Promise.all(
    [...commits.values()].map(({ repo, sha }) => deps.store.listBySha(repo, sha)),
  );
  const commitTests = listed.flat();
  const now = deps.now();
  const runs = planned.map((test) => {
    const latest = latestRun(commitTests, test);
    if (!latest || (options.when && !options.when(latest))) return latest;
    const start = {
      status: test.status,
      waitReason: test.waitReason,
      message: test.message,
    } as TestStart;
    // The title as the event that asks for the run says it now (a PR renamed
    // meanwhile); the earlier run's when the asker knows none.
    const title = test.title ?? latest.title;
    return newTestRecord({ ...test, title, run: latest.run + 1 }, start, now);
  });
  const fresh = runs.filter(
    (t): t is TestRecord => t !== null && !commitTests.some((c) => c.id === t.id),
  );
  if (fresh.length) await deps.store.createTests(fresh);
  return runs;
}
