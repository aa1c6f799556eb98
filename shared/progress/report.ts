// The progress API's body and what a report does to a test (DESIGN §6): pure
// decisions, so every rule is unit-tested without a store. Stages only move
// forward; a canceled or ended test refuses reports (409), except the very
// report that ended it, which answers 200 again and changes nothing.
import { z } from 'zod';
import {
  fitStatusLine,
  isPassingResult,
  resultMessage,
  stageMessage,
  vmReportedFailure,
} from '../domain/messages';
import { isTerminal, type Stage, type TestRecord, type TestResult } from '../domain/test';
import type { TestEnd } from '../tests/end-test';

/** Longest summary kept from a result; the VM's scripts cut theirs to 1000. */
export const SUMMARY_MAX = 1000;

const count = z.int().min(0).max(1_000_000_000).nullable().optional();

export const progressReportSchema = z.discriminatedUnion('stage', [
  z.strictObject({
    testId: z.string().min(1).max(200),
    stage: z.enum(['preparation', 'testing']),
    message: z.string().max(1000).optional(),
  }),
  z.strictObject({
    testId: z.string().min(1).max(200),
    stage: z.literal('completed'),
    message: z.string().max(1000).optional(),
    result: z.strictObject({
      exitCode: z.int().min(-2_147_483_648).max(4_294_967_295),
      passed: count,
      failed: count,
      summary: z.string().max(10_000).optional(),
    }),
  }),
  z.strictObject({
    testId: z.string().min(1).max(200),
    stage: z.literal('failed'),
    message: z.string().max(1000),
  }),
]);
export type ProgressReport = z.infer<typeof progressReportSchema>;

export type ReportDecision =
  | { kind: 'stage'; stage: Stage; message: string }
  | { kind: 'end'; end: TestEnd }
  /** Nothing to change: a repeated report. */
  | { kind: 'unchanged' }
  /** The VM must stop: the test was canceled, ended otherwise, or the stage went back. */
  | { kind: 'conflict'; reason: 'canceled' | 'ended' | 'stage_regression' | 'not_running' }
  /** The VM reported before runTest recorded it running: ask it to retry. */
  | { kind: 'not_ready' };

const STAGE_RANK: Readonly<Record<Stage, number>> = { preparation: 1, testing: 2 };

/** The result as stored: counts null when not given, the summary on one bounded line. */
export function storedResult(result: Extract<ProgressReport, { stage: 'completed' }>['result']) {
  return {
    exitCode: result.exitCode,
    passed: result.passed ?? null,
    failed: result.failed ?? null,
    // One line, cut without splitting a character, so a resent report reads back equal.
    summary: fitStatusLine(result.summary ?? '', SUMMARY_MAX),
  } satisfies TestResult;
}

/** The end a terminal report asks for. */
export function endOf(report: Extract<ProgressReport, { stage: 'completed' | 'failed' }>): TestEnd {
  if (report.stage === 'failed') {
    return { status: 'error', message: vmReportedFailure(report.message) };
  }
  const result = storedResult(report.result);
  return {
    status: isPassingResult(result) ? 'passed' : 'failed',
    message: resultMessage(result),
    result,
  };
}

/** A report of the test's end (its result, or a failure to run): the only kind that ends it and frees its slot. */
export function isEndReport(
  report: ProgressReport,
): report is Extract<ProgressReport, { stage: 'completed' | 'failed' }> {
  return report.stage === 'completed' || report.stage === 'failed';
}

export function decideReport(test: TestRecord, report: ProgressReport): ReportDecision {
  if (test.status === 'canceled') return { kind: 'conflict', reason: 'canceled' };
  if (isTerminal(test.status)) {
    return isEndReport(report) && endedBy(test, endOf(report))
      ? { kind: 'unchanged' }
      : { kind: 'conflict', reason: 'ended' };
  }
  if (test.status === 'starting') return { kind: 'not_ready' };
  if (test.status !== 'running') return { kind: 'conflict', reason: 'not_running' };
  if (isEndReport(report)) return { kind: 'end', end: endOf(report) };
  const current = test.stage ? STAGE_RANK[test.stage] : 0;
  const next = STAGE_RANK[report.stage];
  if (next < current) return { kind: 'conflict', reason: 'stage_regression' };
  if (next === current) return { kind: 'unchanged' };
  return { kind: 'stage', stage: report.stage, message: stageMessage(report.stage) };
}

/**
 * The test ended exactly as `end` would end it: the same report, delivered
 * again. A result's line may name failing tests read from the files at the
 * end, so for a result the status and the result itself decide.
 */
function endedBy(test: TestRecord, end: TestEnd): boolean {
  if (test.status !== end.status) return false;
  if (!end.result) return test.result === null && test.message === end.message;
  const r = test.result;
  return (
    r !== null &&
    r.exitCode === end.result.exitCode &&
    r.passed === end.result.passed &&
    r.failed === end.result.failed &&
    r.summary === end.result.summary
  );
}
