import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  DETAIL_MAX_BYTES,
  FAILING_MERGED_MAX,
  FAILING_PER_FILE_MAX,
  JUNIT_FILE_MAX_BYTES,
  TEXT_MAX_CHARS,
  mergeJUnit,
  parseJUnit,
  type FailingCase,
  type JUnitCounts,
  type JUnitFileResult,
} from '../../shared/results/junit';

// Real files from pytest, Surefire, ctest and jest-junit, plus hand-written
// edge cases: test/fixtures/junit/README.md says how each was made.
const FIXTURES = join(__dirname, '../fixtures/junit');
const TOOL_FIXTURES = ['pytest.xml', 'surefire.xml', 'surefire-rerun.xml', 'ctest.xml'];
const ALL_FIXTURES = [
  ...TOOL_FIXTURES,
  'jest-junit.xml',
  'nested-suites.xml',
  'no-totals.xml',
  'doctype-entities.xml',
  'cdata.xml',
  'not-junit.xml',
  'truncated.xml',
];

function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

function parsed(name: string): { counts: JUnitCounts; failing: FailingCase[] } {
  const result = parseJUnit(fixture(name), name);
  if (!result.ok) throw new Error(`${name}: ${result.reason}`);
  return result;
}

function names(failing: FailingCase[]): string[] {
  return failing.map((c) => `${c.classname ?? '-'}/${c.name}:${c.kind}`);
}

const LINE_BREAK = /[\p{Cc}\u2028\u2029]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function expectOneLine(text: string, max = TEXT_MAX_CHARS): void {
  expect(text.length).toBeGreaterThan(0);
  expect(text.length).toBeLessThanOrEqual(max);
  expect(text).not.toMatch(LINE_BREAK);
  expect(text).toBe(text.trim());
  expect(text).not.toMatch(LONE_SURROGATE);
}

function expectCount(n: number): void {
  expect(Number.isSafeInteger(n)).toBe(true);
  expect(n).toBeGreaterThanOrEqual(0);
}

/** What every result must look like, whatever the input. */
function expectWellFormed(result: JUnitFileResult): void {
  if (!result.ok) {
    expect(Object.keys(result).sort()).toEqual(['ok', 'reason']);
    expectOneLine(result.reason);
    return;
  }
  expect(Object.keys(result).sort()).toEqual(['counts', 'failing', 'ok']);
  expect(Object.keys(result.counts).sort()).toEqual(['errors', 'failures', 'skipped', 'tests']);
  Object.values(result.counts).forEach(expectCount);
  expect(result.failing.length).toBeLessThanOrEqual(FAILING_PER_FILE_MAX);
  for (const c of result.failing) {
    expect(typeof c.file).toBe('string');
    expectOneLine(c.name);
    for (const text of [c.suite, c.classname, c.message]) if (text !== null) expectOneLine(text);
    expect(['failure', 'error']).toContain(c.kind);
    if (c.detail !== null) {
      expect(c.detail.length).toBeGreaterThan(0);
      expect(Buffer.byteLength(c.detail)).toBeLessThanOrEqual(DETAIL_MAX_BYTES);
      expect(c.detail).not.toMatch(LONE_SURROGATE);
    }
  }
}

describe('parseJUnit on files written by real tools', () => {
  test('pytest: a <testsuites> without totals counts its suite; failures and errors named', () => {
    const { counts, failing } = parsed('pytest.xml');
    expect(counts).toEqual({ tests: 5, failures: 2, errors: 1, skipped: 1 });
    expect(names(failing)).toEqual([
      'test_parser/test_utf8:failure',
      'test_parser.TestLexer/test_eof:failure',
      'test_parser/test_query:error',
    ]);
    const [utf8, eof, query] = failing;
    expect(utf8).toMatchObject({ file: 'pytest.xml', suite: 'pytest' });
    // pytest escapes a multi-line message with &#10;: decoded, then made one line.
    expect(utf8?.message).toBe(
      "AssertionError: decoded <wrong> & bad: ünïcödé #x1F600 assert 'naïve < café & #x1F600' == 'naive' - naive + naïve < café & #x1F600",
    );
    expect(utf8?.detail).toMatch(/^def test_utf8\(\):\n/);
    expect(utf8?.detail).toMatch(/test_parser\.py:10: AssertionError$/);
    expect(eof?.message).toBe('ValueError: unexpected EOF at <end> & beyond');
    expect(query?.message).toBe('failed on setup with "RuntimeError: could not connect to db"');
  });

  test('Surefire: messages with markup and astral characters decode; skipped is not failing', () => {
    const { counts, failing } = parsed('surefire.xml');
    expect(counts).toEqual({ tests: 5, failures: 2, errors: 1, skipped: 1 });
    expect(names(failing)).toEqual([
      'com.example.ParserTest/flakyTimeout:failure',
      'com.example.ParserTest/parsesUtf8:failure',
      'com.example.ParserTest/throwsOnEof:error',
    ]);
    expect(failing[1]?.message).toBe(
      'decoded <wrong> & bad ==> expected: <naïve < café & 😀> but was: <naive>',
    );
    expect(failing[2]?.detail).toMatch(/^java\.lang\.IllegalStateException: unexpected EOF/);
  });

  test('Surefire with reruns: flakyFailure and rerun* elements do not make a case failing', () => {
    const { counts, failing } = parsed('surefire-rerun.xml');
    // Surefire 3.2.5 writes the last rerun's totals (2 tests); they count as written, as on the VM.
    expect(counts).toEqual({ tests: 2, failures: 1, errors: 1, skipped: 0 });
    expect(names(failing)).toEqual([
      'com.example.ParserTest/parsesUtf8:failure',
      'com.example.ParserTest/throwsOnEof:error',
    ]);
    // The detail is the failure's own text, not its reruns' stack traces.
    expect(failing[0]?.detail).not.toContain('stackTrace');
    expect(failing[0]?.detail?.match(/AssertionFailedError/g)).toHaveLength(1);
  });

  test('ctest: empty messages are null; skipped and not-run tests are not failing', () => {
    const { counts, failing } = parsed('ctest.xml');
    expect(counts).toEqual({ tests: 5, failures: 2, errors: 0, skipped: 2 });
    expect(failing).toEqual([
      {
        file: 'ctest.xml',
        suite: '(empty)',
        classname: 'parser.utf8',
        name: 'parser.utf8',
        kind: 'failure',
        message: null,
        detail: null,
      },
      {
        file: 'ctest.xml',
        suite: '(empty)',
        classname: 'lexer.eof',
        name: 'lexer.eof',
        kind: 'failure',
        message: null,
        detail: null,
      },
    ]);
  });

  test("jest-junit: <testsuites> totals without skipped= take the suites' skipped", () => {
    const { counts, failing } = parsed('jest-junit.xml');
    expect(counts).toEqual({ tests: 5, failures: 2, errors: 0, skipped: 1 });
    expect(failing.map((c) => c.name)).toEqual(['parser parses utf8', 'parser lexer handles eof']);
    // No message attribute: the first line of the text.
    expect(failing[0]?.message).toBe(
      'Error: expect(received).toBe(expected) // Object.is equality',
    );
    expect(failing[0]?.detail).toContain('Received: "naïve < café & 😀"');
    expect(failing[1]?.message).toBe('Error: unexpected EOF at <end> & beyond');
  });
});

describe('parseJUnit on edge cases', () => {
  test('nested suites: only the outermost suite with tests= counts; the innermost names a case', () => {
    const { counts, failing } = parsed('nested-suites.xml');
    expect(counts).toEqual({ tests: 7, failures: 1, errors: 1, skipped: 1 });
    expect(failing).toEqual([
      {
        file: 'nested-suites.xml',
        suite: 'parser.utf8',
        classname: 'parser.utf8',
        name: 'rejects_overlong',
        kind: 'failure',
        message: 'expected an error, got "ok"',
        detail: 'at parser/utf8.c:42',
      },
      {
        file: 'nested-suites.xml',
        suite: 'lexer',
        classname: 'lexer',
        name: 'eof',
        kind: 'error',
        message: 'SIGSEGV',
        detail: null,
      },
    ]);
  });

  test('no totals anywhere: the <testcase> elements are counted', () => {
    const { counts, failing } = parsed('no-totals.xml');
    expect(counts).toEqual({ tests: 5, failures: 1, errors: 1, skipped: 1 });
    expect(names(failing)).toEqual(['smoke/serves_http:failure', '-/crashes:error']);
    expect(failing[0]).toMatchObject({
      message: 'connection refused',
      detail: 'connection refused\nat smoke.sh:12',
    });
  });

  test('a DOCTYPE with entity definitions: nothing expands, predefined and numeric references decode', () => {
    const { counts, failing } = parsed('doctype-entities.xml');
    expect(counts).toEqual({ tests: 2, failures: 1, errors: 0, skipped: 0 });
    expect(failing).toEqual([
      {
        file: 'doctype-entities.xml',
        suite: '&lol9;',
        classname: 'entities',
        name: 'laughs',
        kind: 'failure',
        message: '&lol9; <ok> &amp; café 😀',
        detail: '&lol9; <done>',
      },
    ]);
  });

  test('an external entity is never read', () => {
    const xml = `<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite tests="1" failures="1"><testcase name="t"><failure message="&secret;">&secret;</failure></testcase></testsuite>`;
    const result = parseJUnit(xml, 'xxe.xml');
    expectWellFormed(result);
    expect(JSON.stringify(result)).not.toMatch(/root:/);
  });

  test('CDATA: kept as written (no entity decoding), split sections join, mixed with text', () => {
    const { counts, failing } = parsed('cdata.xml');
    expect(counts).toEqual({ tests: 3, failures: 1, errors: 1, skipped: 0 });
    expect(failing.map((c) => [c.name, c.message, c.detail])).toEqual([
      [
        'only_cdata',
        'expected <a> & got ]]> &amp; more',
        'expected <a> & got ]]> &amp; more\n  at cdata.c:7',
      ],
      ['mixed', 'with "attribute"', 'text & <cdata> &amp; tail'],
    ]);
  });

  test('a file with no JUnit element is refused', () => {
    expect(parseJUnit(fixture('not-junit.xml'), 'pom.xml')).toEqual({
      ok: false,
      reason: 'no <testsuites>, <testsuite> or <testcase> element',
    });
  });

  test.each([
    ['truncated.xml', fixture('truncated.xml')],
    ['empty', ''],
    ['text', 'hello'],
    ['mismatched tags', '<testsuite tests="1"></testcase>'],
    ['unquoted attribute', '<testsuite tests=1/>'],
    ['binary', Buffer.from([0, 1, 2, 0xff, 0xfe, 0x3c, 0x00])],
  ])('malformed XML (%s) is refused', (_label, xml) => {
    const result = parseJUnit(xml, 'bad.xml');
    expectWellFormed(result);
    expect(result.ok).toBe(false);
  });

  test('the truncated file says where it broke', () => {
    const result = parseJUnit(fixture('truncated.xml'), 'truncated.xml');
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/^not well-formed XML/) });
  });

  test('over 10 MiB is refused, as a Buffer or a string, without parsing', () => {
    const over = `<testsuite tests="1">${' '.repeat(JUNIT_FILE_MAX_BYTES)}</testsuite>`;
    for (const xml of [over, Buffer.from(over)]) {
      expect(parseJUnit(xml, 'big.xml')).toEqual({
        ok: false,
        reason: expect.stringMatching(/^over 10 MiB/),
      });
    }
    // Counted in UTF-8 bytes: 4 MiB of three-byte characters is over.
    expect(parseJUnit(`<a>${'€'.repeat(4 * 1024 * 1024)}</a>`, 'wide.xml').ok).toBe(false);
  });

  test('a file just under 10 MiB is read; at most 10,000 failing cases are kept', () => {
    const head = '<testsuite name="big" tests="100000" failures="100000">\n';
    const one = (i: number) =>
      `<testcase classname="big" name="t${i}"><failure message="m${i}">at big.c:${i}</failure></testcase>\n`;
    const parts = [head];
    let size = head.length + 20;
    for (let i = 0; size + 120 < JUNIT_FILE_MAX_BYTES; i += 1) {
      parts.push(one(i));
      size += (parts[parts.length - 1] as string).length;
    }
    parts.push('</testsuite>\n');
    const xml = Buffer.from(parts.join(''));
    expect(xml.length).toBeLessThanOrEqual(JUNIT_FILE_MAX_BYTES);
    const result = parseJUnit(xml, 'big.xml');
    if (!result.ok) throw new Error(result.reason);
    expect(result.counts).toEqual({ tests: 100000, failures: 100000, errors: 0, skipped: 0 });
    expect(result.failing).toHaveLength(FAILING_PER_FILE_MAX);
    expect(result.failing[9999]).toMatchObject({ name: 't9999', message: 'm9999' });
  });

  test('long and multi-line texts are cut: one-line names and messages, details to 4 KiB', () => {
    const long = 'x'.repeat(5000);
    const xml = `<testsuite tests="1" failures="1" name="${long}">
<testcase classname="a&#10;b" name="first&#13;&#10;second&#9;third">
<failure message="${'😀'.repeat(800)}"><![CDATA[${'é'.repeat(5000)}]]></failure>
</testcase></testsuite>`;
    const result = parseJUnit(xml, 'long.xml');
    expectWellFormed(result);
    const c = result.ok ? result.failing[0] : undefined;
    expect(c?.name).toBe('first second third');
    expect(c?.classname).toBe('a b');
    expect(c?.suite).toHaveLength(TEXT_MAX_CHARS);
    expect(c?.suite?.endsWith('…')).toBe(true);
    expect(c?.message?.length).toBeLessThanOrEqual(TEXT_MAX_CHARS);
    expect(c?.message?.endsWith('😀…')).toBe(true);
    expect(Buffer.byteLength(c?.detail ?? '')).toBeLessThanOrEqual(DETAIL_MAX_BYTES);
    expect(Buffer.byteLength(c?.detail ?? '')).toBeGreaterThan(DETAIL_MAX_BYTES - 4);
  });

  test('ANSI colour codes are dropped from messages and details', () => {
    const xml =
      '<testsuite tests="1"><testcase name="t"><failure>\u001b[31mboom\u001b[0m\nat x</failure></testcase></testsuite>';
    const result = parseJUnit(xml, 'ansi.xml');
    expect(result.ok && result.failing[0]).toMatchObject({ message: 'boom', detail: 'boom\nat x' });
  });

  test('a UTF-8 or UTF-16 byte order mark is understood', () => {
    const xml =
      '<testsuite tests="1" failures="1"><testcase name="é"><failure/></testcase></testsuite>';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const be = Buffer.from(le.toString('binary'), 'binary').swap16();
    for (const input of [`\uFEFF${xml}`, Buffer.from(`\uFEFF${xml}`), le, be]) {
      const result = parseJUnit(input, 'bom.xml');
      expect(result.ok && result.failing.map((c) => c.name)).toEqual(['é']);
    }
  });

  test('a case without a name falls back to its class, then to a placeholder', () => {
    const xml =
      '<testsuite><testcase classname="only.Class"><error/></testcase><testcase><failure/></testcase></testsuite>';
    const result = parseJUnit(xml, 'x.xml');
    expect(result.ok && result.failing.map((c) => c.name)).toEqual([
      'only.Class',
      '(unnamed test)',
    ]);
  });

  test('deep nesting and reserved names are refused, not thrown', () => {
    const deep = `<testsuite tests="1">${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</testsuite>`;
    // fast-xml-parser refuses these names outright (prototype pollution); other odd ones are read.
    const evil = [
      deep,
      '<__proto__ tests="1"/>',
      '<testsuite><constructor/></testsuite>',
      '<testsuite __proto__="1" tests="2"/>',
      '<testsuite prototype="1" tests="2"/>',
    ];
    for (const xml of evil) {
      const result = parseJUnit(xml, 'evil.xml');
      expectWellFormed(result);
      expect(result.ok).toBe(false);
    }
    const odd = parseJUnit(
      '<testsuite hasOwnProperty="1" tests="2"><toString/></testsuite>',
      'a.xml',
    );
    expect(odd.ok && odd.counts.tests).toBe(2);
  });
});

describe('parseJUnit never throws', () => {
  const texts = ALL_FIXTURES.map((name) => fixture(name).toString('utf8'));

  test('on arbitrary strings and bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 300 }),
          fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
          fc.stringMatching(/^(<[a-z!?/]{0,3}|&[#a-z0-9]{0,4};?|[ "'=>\][x])*$/),
        ),
        (xml) => expectWellFormed(parseJUnit(xml, 'fuzz.xml')),
      ),
      { numRuns: 500 },
    );
  });

  // Cuts, duplications and insertions of JUnit-ish pieces at random places.
  const piece = fc.constantFrom(
    '<testsuite tests="3" failures="1">',
    '</testsuite>',
    '<testsuites tests="9">',
    '<testcase name="x" classname="y">',
    '</testcase>',
    '<failure message="&lt;m&gt;">',
    '</failure>',
    '<error/>',
    '<skipped/>',
    '<![CDATA[',
    ']]>',
    '&#x1F600;',
    '&#xD800;',
    '&lol;',
    '<!DOCTYPE x [<!ENTITY a "b">]>',
    '"',
    '\u0000',
    '😀',
  );
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), length: fc.nat({ max: 200 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: piece }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.nat(300) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );

  type Mutation = { kind: string; at: number; length?: number; text?: string };

  function mutate(text: string, m: Mutation): string {
    const at = text.length === 0 ? 0 : m.at % text.length;
    switch (m.kind) {
      case 'cut':
        return text.slice(0, at) + text.slice(at + (m.length ?? 0));
      case 'insert':
        return text.slice(0, at) + (m.text ?? '') + text.slice(at);
      case 'duplicate':
        return text.slice(0, at) + text.slice(at, at + (m.length ?? 0)) + text.slice(at);
      default:
        return text.slice(0, at);
    }
  }

  test('on mutated real files, and results stay well-formed', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: texts.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (index, mutations, asBuffer) => {
          const xml = mutations.reduce(mutate, texts[index] as string);
          const result = parseJUnit(asBuffer ? Buffer.from(xml) : xml, 'mutated.xml');
          expectWellFormed(result);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('the real files themselves', () => {
    for (const name of ALL_FIXTURES) expectWellFormed(parseJUnit(fixture(name), name));
  });
});

describe('mergeJUnit', () => {
  test('sums the files read, keeps failing cases in file order, counts refused files', () => {
    const results = ['pytest.xml', 'not-junit.xml', 'surefire.xml', 'truncated.xml'].map((n) =>
      parseJUnit(fixture(n), n),
    );
    const merged = mergeJUnit(results);
    expect(merged.counts).toEqual({ tests: 10, failures: 4, errors: 2, skipped: 2 });
    expect(merged.failing.map((c) => `${c.file}:${c.name}`)).toEqual([
      'pytest.xml:test_utf8',
      'pytest.xml:test_eof',
      'pytest.xml:test_query',
      'surefire.xml:flakyTimeout',
      'surefire.xml:parsesUtf8',
      'surefire.xml:throwsOnEof',
    ]);
    expect(merged.filesRead).toBe(2);
    expect(merged.filesSkipped).toBe(2);
  });

  test('keeps at most 1,000 failing cases in all', () => {
    const one = (file: string, n: number): JUnitFileResult => ({
      ok: true,
      counts: { tests: n, failures: n, errors: 0, skipped: 0 },
      failing: Array.from({ length: n }, (_, i) => ({
        file,
        suite: null,
        classname: null,
        name: `t${i}`,
        kind: 'failure',
        message: null,
        detail: null,
      })),
    });
    const merged = mergeJUnit([one('a.xml', 600), one('b.xml', 600), one('c.xml', 5)]);
    expect(merged.counts.failures).toBe(1205);
    expect(merged.failing).toHaveLength(FAILING_MERGED_MAX);
    expect(merged.failing[599]?.file).toBe('a.xml');
    expect(merged.failing[999]).toMatchObject({ file: 'b.xml', name: 't399' });
  });

  test('nothing to merge', () => {
    expect(mergeJUnit([])).toEqual({
      counts: { tests: 0, failures: 0, errors: 0, skipped: 0 },
      failing: [],
      filesRead: 0,
      filesSkipped: 0,
    });
  });
});
