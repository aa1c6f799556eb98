// What the demo says about webhook answers, timeouts, statuses and the verdict.
import { isTerminal } from '../../../shared/domain/test';
import type { TestView } from '../../../shared/tests/view';
import { seconds, short, type Followed } from './follow';
import type { DemoCommit, Suite } from './repo';
import { caseLabel, LOG_TAIL_LINES, type TestResults } from './results';
import { latestByContext, type PostedStatus } from './statuses';

export const EXPECTED: Record<Suite, { status: string; state: string }> = {
  passing: { status: 'passed', state: 'success' },
  failing: { status: 'failed', state: 'failure' },
};

/** The test ids of a 202 answer ({delivery, tests, ...}). */
export function testIdsOf(body: string): string[] {
  try {
    const tests = (JSON.parse(body) as { tests?: unknown }).tests;
    return Array.isArray(tests) ? tests.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

export function webhookLine(sha: string, status: number, body: string): string {
  const ids = testIdsOf(body);
  let what: string;
  if (status === 401) what = "the webhook secret does not match the cloud's";
  else if (ids.length) what = `${ids.length} test${ids.length === 1 ? '' : 's'} queued`;
  else {
    try {
      const parsed = JSON.parse(body) as { ignored?: string; error?: string };
      what = parsed.ignored ? `ignored: ${parsed.ignored}` : (parsed.error ?? body.slice(0, 200));
    } catch {
      what = body.slice(0, 200) || '(empty answer)';
    }
  }
  return `push ${short(sha)} → HTTP ${status}, ${what}`;
}

/** One line per test that had not ended, with its last state and message. */
export function timeoutLines(
  followed: Followed[],
  tests: Map<string, TestView>,
  waitedMs: number,
): string[] {
  return followed.flatMap((f) =>
    f.testIds.flatMap((id) => {
      const test = tests.get(id);
      if (test && isTerminal(test.status)) return [];
      const where = test
        ? `${short(test.sha)} ${test.platform} is still ${test.status}${test.stage ? `: ${test.stage}` : ''} ("${test.message}")`
        : `${short(f.sha)} test ${id} never showed up on the status API`;
      return [`Timed out after ${seconds(waitedMs)}: ${where}`];
    }),
  );
}

export function statusLines(
  commits: DemoCommit[],
  statuses: Map<string, PostedStatus[]>,
): string[] {
  const lines = ['Commit statuses on the local GitHub (oldest first):'];
  for (const commit of commits) {
    lines.push(`  ${short(commit.sha)} (${commit.suite} suite)`);
    const list = statuses.get(commit.sha) ?? [];
    if (!list.length) lines.push('    (none)');
    const width = Math.max(0, ...list.map((s) => s.context.length));
    for (const s of list) {
      lines.push(`    ${s.state.padEnd(8)} ${s.context.padEnd(width)}  ${s.description ?? ''}`);
    }
  }
  return lines;
}

/** Each test's log's last lines and, when it failed, the failing tests its JUnit file named. */
export function resultLines(
  commits: DemoCommit[],
  followed: Followed[],
  tests: Map<string, TestView>,
  results: Map<string, TestResults>,
): string[] {
  const lines = [
    `What the tests left on the status API (the last ${LOG_TAIL_LINES} lines of each log):`,
  ];
  followed.forEach((f, i) => {
    for (const id of f.testIds) {
      const platform = tests.get(id)?.platform;
      lines.push(`  ${short(f.sha)} (${commits[i]!.suite} suite)${platform ? ` ${platform}` : ''}`);
      const r = results.get(id);
      if (r?.log) for (const line of r.log.lines) lines.push(`    | ${line}`);
      else lines.push(`    (no log: ${r?.logProblem ?? 'not asked'})`);
      for (const c of r?.failures?.cases ?? []) {
        lines.push(`    failing test: ${caseLabel(c)}${c.message ? ` (${c.message})` : ''}`);
      }
    }
  });
  return lines;
}

/**
 * What differs from the expected end of one commit; empty when it ended as
 * expected. With a `greeting`, the artifact's, each test's log must show it.
 */
export function verdict(
  commit: DemoCommit,
  testIds: string[],
  tests: Map<string, TestView>,
  statuses: PostedStatus[],
  results: Map<string, TestResults> = new Map(),
  greeting?: string,
): string[] {
  const want = EXPECTED[commit.suite];
  const name = `${short(commit.sha)} (${commit.suite} suite)`;
  const problems: string[] = [];
  for (const id of testIds) {
    const test = tests.get(id);
    if (test?.status !== want.status) {
      const got = test ? `${test.status} ("${test.message}")` : 'not on the status API';
      problems.push(`${name} should end ${want.status}, it is ${got}`);
    }
  }
  const latest = latestByContext(statuses);
  if (latest.size === 0) problems.push(`${name} has no commit status`);
  for (const [context, state] of latest) {
    if (state !== want.state)
      problems.push(`${name} ${context} should be ${want.state}, it is ${state}`);
  }
  if (greeting !== undefined) {
    for (const id of testIds) {
      if (!results.get(id)?.log?.lines.some((line) => line.includes(greeting))) {
        problems.push(`${name}'s log does not show its artifact's greeting ("${greeting}")`);
      }
    }
  }
  return problems;
}
