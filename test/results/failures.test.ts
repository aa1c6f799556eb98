// Which uploaded files are read for a failed run's failing tests, what the
// test keeps of them, and the final line they make.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STATUS_LINE_MAX, resultMessage } from '../../shared/domain/messages';
import type { StoredFile } from '../../shared/files/port';
import {
  CASE_TEXT_MAX,
  failedRunLine,
  isJUnitFile,
  JUNIT_READ_MAX_BYTES,
  JUNIT_READ_MAX_FILES,
  KEPT_CASES_MAX,
  planJUnitReads,
  testFailures,
} from '../../shared/results/failures';
import { mergeJUnit, parseJUnit, type FailingCase } from '../../shared/results/junit';

const MiB = 1024 * 1024;
const FIXTURES = join(__dirname, '../fixtures/junit');

function file(name: string, size = 100): StoredFile {
  return { name, size, contentType: 'application/xml', updated: new Date(0) };
}

function failing(n: number, overrides: Partial<FailingCase> = {}): FailingCase[] {
  return Array.from({ length: n }, (_, i) => ({
    file: 'results/junit.xml',
    suite: 'unit',
    classname: 'pkg.Suite',
    name: `case_${i}`,
    kind: 'failure' as const,
    message: `boom ${i}`,
    detail: 'stack',
    ...overrides,
  }));
}

function merged(cases: FailingCase[], counts = { tests: 10, failures: 2, errors: 0, skipped: 0 }) {
  return { counts, failing: cases, filesRead: 1, filesSkipped: 0 };
}

describe('isJUnitFile', () => {
  it.each([
    ['results/junit.xml', true],
    ['results/a/b/TEST-x.XML', true],
    ['results/summary.json', false],
    ['log.txt', false],
    ['results/.hidden.xml', false],
    ['results/.cache/junit.xml', false],
    ['results/a.xml.txt', false],
  ])('%s: %s', (name, expected) => {
    expect(isJUnitFile(name)).toBe(expected);
  });
});

describe('planJUnitReads', () => {
  it('reads the JUnit files in name order and nothing else', () => {
    const plan = planJUnitReads([
      file('log.txt'),
      file('results/a.xml'),
      file('results/summary.json'),
      file('results/z/b.xml'),
    ]);
    expect(plan.read.map((f) => f.name)).toEqual(['results/a.xml', 'results/z/b.xml']);
    expect(plan.skipped).toEqual([]);
  });

  it('skips a file over 10 MiB, and one that would pass 50 MiB in all, but reads later ones that fit', () => {
    const plan = planJUnitReads([
      file('results/a.xml', 10 * MiB),
      file('results/b.xml', 10 * MiB + 1),
      file('results/c.xml', 10 * MiB),
      file('results/d.xml', 10 * MiB),
      file('results/e.xml', 10 * MiB),
      file('results/f.xml', 9 * MiB),
      file('results/g.xml', 2 * MiB),
      file('results/h.xml', 1 * MiB),
    ]);
    expect(plan.read.map((f) => f.name)).toEqual([
      'results/a.xml',
      'results/c.xml',
      'results/d.xml',
      'results/e.xml',
      'results/f.xml',
      'results/h.xml',
    ]);
    expect(plan.read.reduce((sum, f) => sum + f.size, 0)).toBe(JUNIT_READ_MAX_BYTES);
    expect(plan.skipped).toEqual([
      { name: 'results/b.xml', reason: 'over 10 MiB' },
      { name: 'results/g.xml', reason: 'over 50 MiB in all' },
    ]);
  });

  it('reads 2,000 files at most', () => {
    const files = Array.from({ length: JUNIT_READ_MAX_FILES + 3 }, (_, i) =>
      file(`results/${String(i).padStart(5, '0')}.xml`, 1),
    );
    const plan = planJUnitReads(files);
    expect(plan.read).toHaveLength(JUNIT_READ_MAX_FILES);
    expect(plan.skipped).toHaveLength(3);
    expect(plan.skipped[0]).toEqual({ name: 'results/02000.xml', reason: 'over the file count' });
  });
});

describe('testFailures', () => {
  it('null when no case failed', () => {
    expect(testFailures(merged([]))).toBeNull();
  });

  it('keeps 50 cases at most, without details, every text one line of 300 at most', () => {
    const long = `${'x'.repeat(400)}\nsecond line`;
    const kept = testFailures(
      merged(failing(KEPT_CASES_MAX + 10, { message: long, classname: long, suite: long })),
    );
    expect(kept?.cases).toHaveLength(KEPT_CASES_MAX);
    expect(kept?.counts).toEqual({ tests: 10, failures: 2, errors: 0, skipped: 0 });
    for (const c of kept?.cases ?? []) {
      expect(c).not.toHaveProperty('detail');
      for (const text of [c.message, c.classname, c.suite]) {
        expect(text).toHaveLength(CASE_TEXT_MAX);
        expect(text).not.toContain('\n');
        expect(text?.endsWith('…')).toBe(true);
      }
    }
  });

  it('empty texts become null', () => {
    const [kept] = testFailures(
      merged(failing(1, { message: ' ', classname: '', suite: null })),
    )!.cases;
    expect(kept).toEqual({
      name: 'case_0',
      classname: null,
      suite: null,
      file: 'results/junit.xml',
      kind: 'failure',
      message: null,
    });
  });

  it('from a real pytest file: the two failures and the error, in order', () => {
    const xml = readFileSync(join(FIXTURES, 'pytest.xml'));
    const kept = testFailures(mergeJUnit([parseJUnit(xml, 'results/pytest.xml')]));
    expect(kept?.counts).toEqual({ tests: 5, failures: 2, errors: 1, skipped: 1 });
    expect(kept?.cases.map((c) => [c.classname, c.name, c.kind])).toEqual([
      ['test_parser', 'test_utf8', 'failure'],
      ['test_parser.TestLexer', 'test_eof', 'failure'],
      ['test_parser', 'test_query', 'error'],
    ]);
    expect(kept?.cases[1]?.message).toBe('ValueError: unexpected EOF at <end> & beyond');
  });
});

describe('failedRunLine', () => {
  const pytest = testFailures(
    mergeJUnit([parseJUnit(readFileSync(join(FIXTURES, 'pytest.xml')), 'results/pytest.xml')]),
  );

  it('names the failing tests with the counts the VM reported', () => {
    expect(failedRunLine({ exitCode: 1, passed: 1, failed: 3 }, pytest)).toBe(
      '3 of 4 tests failed: test_parser.test_utf8, test_parser.TestLexer.test_eof, test_parser.test_query',
    );
  });

  it('takes the files’ counts (skipped not counted) when the VM counted no failure', () => {
    expect(failedRunLine({ exitCode: 1, passed: null, failed: null }, pytest)).toMatch(
      /^3 of 4 tests failed: test_parser\.test_utf8/,
    );
    expect(failedRunLine({ exitCode: 2, passed: 4, failed: 0 }, pytest)).toMatch(
      /^3 of 4 tests failed: /,
    );
  });

  it('the files’ total when the VM counted failures but not passes', () => {
    expect(failedRunLine({ exitCode: 1, passed: null, failed: 3 }, pytest)).toMatch(
      /^3 of 4 tests failed: /,
    );
  });

  it('the plain line without failures', () => {
    for (const result of [
      { exitCode: 1, passed: 3, failed: 2 },
      { exitCode: 7, passed: null, failed: null },
    ]) {
      expect(failedRunLine(result, null)).toBe(resultMessage(result));
    }
  });

  it('one status line whatever the names', () => {
    const many = testFailures(merged(failing(50, { name: 'n'.repeat(200) })));
    const line = failedRunLine({ exitCode: 1, passed: 100, failed: 50 }, many);
    expect(line.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
    expect(line).toMatch(/^50 of 150 tests failed: n+… …$/);
  });
});
