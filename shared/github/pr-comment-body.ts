// The text of vm-ci's comment on a pull request (issue 14, item 6): one table
// row per platform for the PR's head commit (its latest run), with the result,
// the counts, the status line (which names failing tests), the duration and a
// link to the test's page. Pure. Text from the tests (summaries, test names)
// is untrusted: it is shown in code spans, so it can neither mention people,
// nor link, nor break the table.
import type { TestRecord, TestStatus } from '../domain/test';

/** How vm-ci finds its own comment: every body starts with this. */
export const PR_COMMENT_MARKER = '<!-- vm-ci:pr-comment';

const SHOWN: Readonly<Record<TestStatus, string>> = {
  waiting: '⏳ waiting',
  pending: '⏳ pending',
  queued: '⏳ queued',
  starting: '⏳ starting',
  running: '🔄 running',
  passed: '✅ passed',
  failed: '❌ failed',
  error: '⚠️ error',
  timed_out: '⏱️ timed out',
  canceled: '⏹️ canceled',
};

/** The head the comment shows, kept in its first line so an older head never overwrites a newer one. */
export function commentHead(body: string): { sha: string; updatedAt: string } | null {
  const match = /^<!-- vm-ci:pr-comment sha=([0-9a-f]{7,40}) head=(\S+) -->/.exec(body);
  return match ? { sha: match[1]!, updatedAt: match[2]! } : null;
}

function codeSpan(text: string, max = 200): string {
  const flat = text.replace(/[\s|`]+/g, ' ').trim();
  const cut = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return cut === '' ? '' : `\`${cut}\``;
}

function duration(test: TestRecord): string {
  if (!test.startedAt || !test.finishedAt) return '—';
  const s = Math.max(0, Math.round((test.finishedAt.getTime() - test.startedAt.getTime()) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = `${m}m ${s % 60}s`;
  return h > 0 ? `${h}h ${rest}` : m > 0 ? rest : `${s}s`;
}

function counts(test: TestRecord): string {
  const r = test.result;
  if (!r || r.passed === null || r.failed === null) return '—';
  return `${r.passed} passed, ${r.failed} failed`;
}

/** The latest run of each platform among `tests` (one commit of one PR), by platform name. */
function latestPerPlatform(tests: readonly TestRecord[]): TestRecord[] {
  const latest = new Map<string, TestRecord>();
  for (const t of tests) {
    const seen = latest.get(t.platform);
    if (!seen || t.run > seen.run) latest.set(t.platform, t);
  }
  return [...latest.values()].sort((a, b) => (a.platform < b.platform ? -1 : 1));
}

/**
 * The comment for the tests of one head commit of one PR. `pageOf` gives a
 * test's status page; `headUpdatedAt` orders heads (the PR's updated_at).
 */
export function prCommentBody(
  tests: readonly TestRecord[],
  pageOf: (testId: string) => string,
): string {
  const rows = latestPerPlatform(tests);
  const first = rows[0];
  const sha = first?.sha ?? '';
  const head = (first?.headUpdatedAt ?? first?.createdAt ?? new Date(0)).toISOString();
  const lines = [
    `${PR_COMMENT_MARKER} sha=${sha} head=${head} -->`,
    `### vm-ci: tests of ${sha.slice(0, 7)}`,
    '',
    '| Platform | Result | Tests | Duration | Details |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      (t) =>
        `| ${codeSpan(t.platform, 40)} | ${SHOWN[t.status]} | ${counts(t)} | ${duration(t)} | ` +
        `${codeSpan(t.message)} [details](${pageOf(t.id)}) |`,
    ),
  ];
  return lines.join('\n');
}
