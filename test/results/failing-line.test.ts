import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { STATUS_LINE_MAX, testsFailed } from '../../shared/domain/messages';
import { failingTestsLine } from '../../shared/results/failing-line';
import { parseJUnit, type FailingCase, type JUnitCounts } from '../../shared/results/junit';

const FIXTURES = join(__dirname, '../fixtures/junit');

function fromFixture(name: string): string | null {
  const result = parseJUnit(readFileSync(join(FIXTURES, name)), name);
  if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  return failingTestsLine(result.counts, result.failing);
}

function counts(tests: number, failures: number, errors = 0, skipped = 0): JUnitCounts {
  return { tests, failures, errors, skipped };
}

function cases(...labels: string[]): Pick<FailingCase, 'classname' | 'name'>[] {
  return labels.map((label) => {
    const dot = label.lastIndexOf('.');
    return dot === -1
      ? { classname: null, name: label }
      : { classname: label.slice(0, dot), name: label.slice(dot + 1) };
  });
}

const LINE_BREAK = /[\p{Cc}\u2028\u2029]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function expectStatusLine(line: string | null): asserts line is string {
  expect(typeof line).toBe('string');
  const text = line as string;
  expect(text.length).toBeLessThanOrEqual(STATUS_LINE_MAX);
  expect([...text].length).toBeLessThanOrEqual(STATUS_LINE_MAX);
  expect(text).not.toMatch(LINE_BREAK);
  expect(text).not.toMatch(LONE_SURROGATE);
  expect(text).toBe(text.trim());
}

describe('failingTestsLine on real files', () => {
  test.each([
    [
      'pytest.xml',
      '3 of 5 tests failed: test_parser.test_utf8, test_parser.TestLexer.test_eof, test_parser.test_query',
    ],
    [
      'surefire.xml',
      '3 of 5 tests failed: com.example.ParserTest.flakyTimeout, com.example.ParserTest.parsesUtf8, com.example.ParserTest.throwsOnEof',
    ],
    // Surefire's own totals after reruns (2 tests), as written.
    [
      'surefire-rerun.xml',
      '2 of 2 tests failed: com.example.ParserTest.parsesUtf8, com.example.ParserTest.throwsOnEof',
    ],
    // The class repeats the name (ctest, jest-junit): the name alone.
    ['ctest.xml', '2 of 5 tests failed: parser.utf8, lexer.eof'],
    ['jest-junit.xml', '2 of 5 tests failed: parser parses utf8, parser lexer handles eof'],
    ['nested-suites.xml', '2 of 7 tests failed: parser.utf8.rejects_overlong, lexer.eof'],
    ['no-totals.xml', '2 of 5 tests failed: smoke.serves_http, crashes'],
  ])('%s', (file, line) => {
    expect(fromFixture(file)).toBe(line);
  });
});

describe('failingTestsLine', () => {
  test('names the first failing tests and marks the rest with an ellipsis', () => {
    expect(failingTestsLine(counts(120, 2, 1), cases('parser.test_utf8', 'lexer.test_eof'))).toBe(
      '3 of 120 tests failed: parser.test_utf8, lexer.test_eof …',
    );
  });

  test('errors count as failed', () => {
    expect(failingTestsLine(counts(4, 0, 2), cases('a.x', 'b.y'))).toBe(
      '2 of 4 tests failed: a.x, b.y',
    );
  });

  test('counts without names: the plain counts line, word for word', () => {
    expect(failingTestsLine(counts(120, 3), [])).toBe('3 of 120 tests failed');
    expect(failingTestsLine(counts(120, 3), [])).toBe(testsFailed(3, 120));
  });

  test('nothing failed: null', () => {
    expect(failingTestsLine(counts(120, 0), [])).toBeNull();
    expect(failingTestsLine(counts(0, 0), [])).toBeNull();
  });

  test('never fewer failed, nor fewer tests, than the cases named', () => {
    expect(failingTestsLine(counts(0, 0), cases('a.x', 'b.y'))).toBe(
      '2 of 2 tests failed: a.x, b.y',
    );
  });

  test('nonsense counts are read as 0', () => {
    expect(failingTestsLine(counts(-5, Number.NaN, 1.5), [])).toBeNull();
    expect(failingTestsLine(counts(Infinity, 1), [])).toBe('1 of 1 tests failed');
  });

  test('long class names give way to the names alone when they would cost a name', () => {
    const failing = Array.from({ length: 6 }, (_, i) => ({
      classname: 'com.example.very.deeply.nested.pkg.ParserIntegrationTest',
      name: `parsesCase${i}`,
    }));
    const line = failingTestsLine(counts(500, 6), failing);
    expect(line).toBe(
      '6 of 500 tests failed: parsesCase0, parsesCase1, parsesCase2, parsesCase3, parsesCase4, parsesCase5',
    );
  });

  test('whole names only: what does not fit is left to the ellipsis', () => {
    const failing = Array.from({ length: 40 }, (_, i) => ({
      classname: null,
      name: `test_number_${i}_fails`,
    }));
    const line = failingTestsLine(counts(1000, 40), failing);
    expectStatusLine(line);
    expect(line).toMatch(
      /^40 of 1000 tests failed: test_number_0_fails, .*test_number_\d+_fails …$/,
    );
    const named = line.slice('40 of 1000 tests failed: '.length, -2).split(', ');
    named.forEach((name, i) => expect(name).toBe(`test_number_${i}_fails`));
    // One more would not have fit.
    expect(`${line}, test_number_${named.length}_fails`.length).toBeGreaterThan(STATUS_LINE_MAX);
  });

  test('a single name longer than the line is cut with an ellipsis', () => {
    const long = `test_${'x'.repeat(300)}`;
    const one = failingTestsLine(counts(1, 1), [{ classname: 'pkg', name: long }]);
    expectStatusLine(one);
    expect(one).toHaveLength(STATUS_LINE_MAX);
    expect(one).toMatch(/^1 of 1 tests failed: test_x+…$/);
    const more = failingTestsLine(counts(9, 3), [{ classname: null, name: long }]);
    expectStatusLine(more);
    expect(more).toMatch(/^3 of 9 tests failed: test_x+… …$/);
  });

  test('astral characters are never split', () => {
    const line = failingTestsLine(counts(2, 2), cases(`t.${'😀'.repeat(200)}`, 'u.b'));
    expectStatusLine(line);
    expect(line.endsWith('… …')).toBe(true);
  });

  test('names are made one line; duplicates are named once', () => {
    const line = failingTestsLine(counts(3, 3), [
      { classname: 'a\nb', name: 'x\ty' },
      { classname: 'a\nb', name: 'x\ty' },
      { classname: '', name: '' },
    ]);
    expect(line).toBe('3 of 3 tests failed: a b.x y …');
  });

  test('any input gives null or one status line', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.constant(''),
    );
    const n = fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(Number.MAX_SAFE_INTEGER));
    fc.assert(
      fc.property(
        fc.record({ tests: n, failures: n, errors: n, skipped: n }),
        fc.array(fc.record({ classname: fc.option(text), name: text }), { maxLength: 30 }),
        (c, failing) => {
          const line = failingTestsLine(c, failing);
          const failed =
            (Number.isSafeInteger(c.failures) && c.failures > 0 ? c.failures : 0) +
            (Number.isSafeInteger(c.errors) && c.errors > 0 ? c.errors : 0);
          if (failed === 0 && failing.length === 0) expect(line).toBeNull();
          else {
            expectStatusLine(line);
            expect(line).toMatch(/^\d+ of \d+ tests failed/);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('names are whole, except a single one longer than the room', () => {
    const name = fc.stringMatching(/^[a-z_]{1,60}$/);
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 20 }), fc.nat(50), (names, extra) => {
        const failing = names.map((n) => ({ classname: null, name: n }));
        const line = failingTestsLine(counts(999, names.length + extra), failing);
        expectStatusLine(line);
        const list = line.replace(/^\d+ of \d+ tests failed: /, '').replace(/ …$/, '');
        const shown = list.split(', ');
        const unique = [...new Set(names)];
        shown.forEach((n, i) => expect(n).toBe(unique[i]));
        if (shown.length < names.length + extra) expect(line.endsWith(' …')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
