// A VM's progress report, after the door parsed it: check the per-test token
// (the same 401 for an unknown test and a wrong token), decide what the report
// means for the test (report.ts), and carry it out by compare-and-set. A lost
// race (a cancel, a sweep, a duplicate report in flight) is decided again from
// the fresh state, a few times at most. A failed run's end names its failing
// tests from the JUnit files the VM uploaded, read once per report.
import { testIdOfVmToken, vmTokenMatches } from '../auth/vm-token';
import { publishTestStatus } from '../github/publish';
import type { TestRecord } from '../domain/test';
import type { TestFileStore } from '../files/port';
import { failedRunLine } from '../results/failures';
import { readTestFailures } from '../results/read-failures';
import type { TestStore } from '../store/port';
import type { AfterEndDeps } from '../tests/after-end';
import { endTest, type TestEnd } from '../tests/end-test';
import { decideReport, type ProgressReport } from './report';

export type ReportDeps = AfterEndDeps & {
  /** The tests' uploaded files; without it a failed run's line gives counts only. */
  files?: TestFileStore;
};

export type ReportAnswer =
  | { http: 200; outcome: 'stage' | 'ended' | 'unchanged'; test: TestRecord }
  | { http: 401 }
  | {
      http: 409;
      reason: 'canceled' | 'ended' | 'stage_regression' | 'not_running';
      test: TestRecord;
    }
  | { http: 503; reason: 'not_ready' | 'busy' };

/** Each lost race means another writer moved the test; a live test has few moves left. */
const DECIDE_ATTEMPTS = 4;

/**
 * The test a VM's token is for, when the token matches that test's stored
 * hash; null for a missing, malformed or wrong token and for an unknown test
 * alike. Needs no body: the door checks this before it reads one.
 */
export async function authenticateReporter(
  store: Pick<TestStore, 'getTest'>,
  token: string | null,
): Promise<TestRecord | null> {
  const testId = token === null ? undefined : testIdOfVmToken(token);
  if (token === null || testId === undefined) return null;
  const test = await store.getTest(testId);
  return test && vmTokenMatches(token, test.tokenHash) ? test : null;
}

/**
 * Decides and carries out a report. `reporter` is what authenticateReporter
 * returned for `token`; when absent, the token is checked here. A report about
 * another test than the token's is refused like a wrong token.
 */
export async function handleReport(
  deps: ReportDeps,
  token: string | null,
  report: ProgressReport,
  reporter?: TestRecord,
): Promise<ReportAnswer> {
  let test = reporter ?? (await authenticateReporter(deps.store, token));
  if (!test || token === null || test.id !== report.testId) return { http: 401 };
  let named: Promise<TestEnd> | undefined;
  for (let attempt = 1; attempt <= DECIDE_ATTEMPTS; attempt++) {
    const decision = decideReport(test, report);
    switch (decision.kind) {
      case 'unchanged':
        return { http: 200, outcome: 'unchanged', test };
      case 'conflict':
        return { http: 409, reason: decision.reason, test };
      case 'not_ready':
        return { http: 503, reason: 'not_ready' };
      case 'stage': {
        const moved = await deps.store.transition(test.id, {
          from: ['running'],
          to: 'running',
          at: deps.now(),
          message: decision.message,
          stage: decision.stage,
          expect: { stage: [test.stage] },
        });
        if (moved.ok) {
          await publishTestStatus(deps, moved.test);
          return { http: 200, outcome: 'stage', test: moved.test };
        }
        if (moved.reason === 'not_found') return { http: 401 };
        test = moved.current;
        break;
      }
      case 'end': {
        named ??= withFailingTests(deps, test.id, decision.end);
        const ended = await endTest(deps, test, await named, { stage: test.stage });
        if (ended.ended) return { http: 200, outcome: 'ended', test: ended.test };
        if (ended.refusal.reason === 'not_found') return { http: 401 };
        test = ended.refusal.current;
        break;
      }
    }
    // The token was checked against the test as first read; a test that moved
    // on keeps its token unless runTest re-armed it for another VM.
    if (!vmTokenMatches(token, test.tokenHash)) return { http: 401 };
  }
  return { http: 503, reason: 'busy' };
}

/**
 * A failed run's end, with its failing tests named when its JUnit files name
 * some. A passing run reads nothing; a read that fails leaves the end as it was.
 */
async function withFailingTests(deps: ReportDeps, testId: string, end: TestEnd): Promise<TestEnd> {
  if (!deps.files || end.status !== 'failed' || !end.result) return end;
  const log = deps.log.child({ testId });
  const failures = await readTestFailures({ files: deps.files, log }, testId);
  if (!failures) return end;
  return { ...end, message: failedRunLine(end.result, failures), failures };
}
