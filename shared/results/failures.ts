// What a failed run's uploaded JUnit files add to its end (issue 14): which
// files are read, under the caps the VM's script reads them with
// (infra/vm/README.md "Caps"), what the test keeps of them (a few cases with
// short texts, so the record stays small), and the final line naming them.
import { fitStatusLine, resultMessage } from '../domain/messages';
import type { FailingTestCase, TestFailures, TestResult } from '../domain/test';
import { RESULTS_DIR, type StoredFile } from '../files/port';
import { failingTestsLine } from './failing-line';
import { JUNIT_FILE_MAX_BYTES, type FailingCase, type MergedJUnit } from './junit';

/** All JUnit bytes read for one test. */
export const JUNIT_READ_MAX_BYTES = 50 * 1024 * 1024;
/** JUnit files read for one test; the rest are skipped. */
export const JUNIT_READ_MAX_FILES = 2_000;
/** Failing cases a test keeps; the counts cover the rest. */
export const KEPT_CASES_MAX = 50;
/** Longest text a kept case holds (name, class, suite, file, message). */
export const CASE_TEXT_MAX = 300;

/** `results/**\/*.xml`, none of whose segments is hidden (as the VM counts them). */
export function isJUnitFile(name: string): boolean {
  if (!name.startsWith(RESULTS_DIR) || !/\.xml$/i.test(name)) return false;
  return name
    .slice(RESULTS_DIR.length)
    .split('/')
    .every((segment) => !segment.startsWith('.'));
}

export interface JUnitReadPlan {
  /** In name order. */
  read: StoredFile[];
  skipped: { name: string; reason: string }[];
}

/**
 * The JUnit files to read: one over 10 MiB is skipped, as is one that would
 * take the total past 50 MiB (later, smaller ones may still fit), and any
 * past the 2,000th.
 */
export function planJUnitReads(files: readonly StoredFile[]): JUnitReadPlan {
  const plan: JUnitReadPlan = { read: [], skipped: [] };
  let total = 0;
  for (const file of files.filter((f) => isJUnitFile(f.name))) {
    const skip = (reason: string) => plan.skipped.push({ name: file.name, reason });
    if (plan.read.length >= JUNIT_READ_MAX_FILES) skip('over the file count');
    else if (file.size > JUNIT_FILE_MAX_BYTES) skip('over 10 MiB');
    else if (total + file.size > JUNIT_READ_MAX_BYTES) skip('over 50 MiB in all');
    else {
      total += file.size;
      plan.read.push(file);
    }
  }
  return plan;
}

function text(value: string, max = CASE_TEXT_MAX): string {
  return fitStatusLine(value, max);
}

function textOrNull(value: string | null): string | null {
  const kept = value === null ? '' : text(value);
  return kept === '' ? null : kept;
}

function keptCase(c: FailingCase): FailingTestCase {
  return {
    name: text(c.name),
    classname: textOrNull(c.classname),
    suite: textOrNull(c.suite),
    file: text(c.file),
    kind: c.kind,
    message: textOrNull(c.message),
  };
}

/** What the test keeps of its merged JUnit results; null when they name no failing case. */
export function testFailures(merged: MergedJUnit): TestFailures | null {
  if (merged.failing.length === 0) return null;
  return {
    counts: { ...merged.counts },
    cases: merged.failing.slice(0, KEPT_CASES_MAX).map(keptCase),
  };
}

type Counted = Pick<TestResult, 'exitCode' | 'passed' | 'failed'>;

/**
 * The final line of a failed run: the failing tests named when the JUnit files
 * name some, else the plain line. The counts are the VM's when it reported
 * failures (summary.json wins there), else the files' (skipped ones not
 * counted as tests, as the VM does).
 */
export function failedRunLine(result: Counted, failures: TestFailures | null): string {
  if (!failures) return resultMessage(result);
  const junit = failures.counts;
  const junitTotal = Math.max(0, junit.tests - junit.skipped);
  const reported = result.failed !== null && result.failed > 0 ? result.failed : null;
  const counts =
    reported === null
      ? { ...junit, tests: junitTotal }
      : {
          tests: result.passed === null ? junitTotal : result.passed + reported,
          failures: reported,
          errors: 0,
          skipped: 0,
        };
  return failingTestsLine(counts, failures.cases) ?? resultMessage(result);
}
