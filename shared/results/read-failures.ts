// Reads a failed test's uploaded JUnit files to name its failing tests. It
// serves a final report, which it must never fail nor hold up for long: any
// storage error, or a read past its time budget, is logged and answers null,
// and the plain counts line stands.
import type { TestFailures } from '../domain/test';
import type { TestFileStore } from '../files/port';
import type { Logger } from '../log';
import { JUNIT_FILE_MAX_BYTES, mergeJUnit, parseJUnit, type JUnitFileResult } from './junit';
import { planJUnitReads, testFailures } from './failures';

/** Files read at once. */
const PARALLEL_READS = 8;
/** The VM waits 30 s for its report's answer: the names are given up well before. */
export const READ_BUDGET_MS = 15_000;

export interface ReadFailuresDeps {
  files: TestFileStore;
  log: Logger;
}

export async function readTestFailures(
  deps: ReadFailuresDeps,
  testId: string,
  budgetMs = READ_BUDGET_MS,
): Promise<TestFailures | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), budgetMs);
  });
  try {
    const read = await Promise.race([readAll(deps, testId), late]);
    if (read === 'late') {
      deps.log.warn('JUnit files not read in time; the final line gives counts only', {
        budgetMs,
      });
      return null;
    }
    return read;
  } catch (error) {
    deps.log.warn('JUnit files could not be read; the final line gives counts only', { error });
    return null;
  } finally {
    clearTimeout(timer);
  }
}

async function readAll({ files, log }: ReadFailuresDeps, testId: string) {
  const plan = planJUnitReads(await files.list(testId));
  if (plan.read.length === 0) return null;
  // By index, so the cases are named in file order whichever read ends first.
  const results: JUnitFileResult[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < plan.read.length; i = next++) {
      const name = plan.read[i]!.name;
      // One byte past the cap at most: parseJUnit refuses a file that grew since it was listed.
      const got = await files.read(testId, name, { start: 0, end: JUNIT_FILE_MAX_BYTES + 1 });
      results[i] = got ? parseJUnit(got.body, name) : { ok: false, reason: 'gone' };
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_READS }, worker));
  const merged = mergeJUnit(results);
  log.info('JUnit files read', {
    filesRead: merged.filesRead,
    filesSkipped: merged.filesSkipped + plan.skipped.length,
    skipped: plan.skipped.slice(0, 10),
    counts: merged.counts,
    failing: merged.failing.length,
  });
  return testFailures(merged);
}
