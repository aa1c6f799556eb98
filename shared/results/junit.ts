// Reads the JUnit XML files a test run leaves (the VM uploads them) to count the
// tests and name the failing ones. The files are written by the code under test,
// so nothing here trusts them: the size is capped, entities never expand, every
// text is shortened, and any input gives a result, never a throw.
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A file over this is refused, as the VM's script skips it (infra/vm/README.md "Caps"). */
export const JUNIT_FILE_MAX_BYTES = 10 * 1024 * 1024;
/** Failing cases kept from one file; the counts still cover the rest. */
export const FAILING_PER_FILE_MAX = 10_000;
/** Failing cases kept by mergeJUnit over all files. */
export const FAILING_MERGED_MAX = 1_000;
/** Longest message, suite, class or test name kept (one line). */
export const TEXT_MAX_CHARS = 1_000;
/** Longest detail (a failure's text, e.g. a stack trace) kept, in UTF-8 bytes. */
export const DETAIL_MAX_BYTES = 4 * 1024;
// Deeper documents are refused; no test tool nests suites anywhere near this.
const MAX_NESTED_TAGS = 100;

export interface JUnitCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

export interface FailingCase {
  /** The file it was read from, as given to parseJUnit. */
  file: string;
  /** The name of the innermost `<testsuite>` around it. */
  suite: string | null;
  classname: string | null;
  name: string;
  kind: 'failure' | 'error';
  message: string | null;
  detail: string | null;
}

export type JUnitFileResult =
  { ok: true; counts: JUnitCounts; failing: FailingCase[] } | { ok: false; reason: string };

export interface MergedJUnit {
  counts: JUnitCounts;
  /** At most FAILING_MERGED_MAX, in file order. */
  failing: FailingCase[];
  /** Files with results. */
  filesRead: number;
  /** Files refused (too big, not XML, no JUnit elements). */
  filesSkipped: number;
}

// --- text ----------------------------------------------------------------------

const ELLIPSIS = '…';
// As shared/domain/messages.ts: control characters and every Unicode space
// collapse to one space. ANSI colour codes (FORCE_COLOR runs) go first.
// eslint-disable-next-line no-control-regex -- ESC is the very character matched
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
const BREAKING = /[\s\p{Cc}]+/gu;
// Half a character: a string input may hold one, and the validator quotes single units.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

// The parser expands no entity at all (so no DTD entity, no billion laughs);
// these are the only references XML itself defines.
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (whole, name?: string, dec?: string, hex?: string) => {
    if (name !== undefined) return NAMED[name] ?? whole;
    const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? '', 16);
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    return valid ? String.fromCodePoint(code) : whole;
  });
}

/** Cuts `text` to at most `max` UTF-16 units on a code point boundary, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - ELLIPSIS.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end).trimEnd()}${ELLIPSIS}`;
}

/** One line of at most TEXT_MAX_CHARS, or null when nothing is left. */
function line(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  const one = text
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(ANSI, '')
    .replace(BREAKING, ' ')
    .trim();
  return one === '' ? null : cut(one, TEXT_MAX_CHARS);
}

/** The text trimmed to at most DETAIL_MAX_BYTES of UTF-8, or null when empty. */
function detailOf(text: string): string | null {
  const trimmed = text.replace(ANSI, '').trim();
  if (trimmed === '') return null;
  if (Buffer.byteLength(trimmed) <= DETAIL_MAX_BYTES) return trimmed;
  let bytes = Buffer.byteLength(ELLIPSIS);
  let out = '';
  for (const ch of trimmed) {
    bytes += Buffer.byteLength(ch);
    if (bytes > DETAIL_MAX_BYTES) break;
    out += ch;
  }
  return `${out.trimEnd()}${ELLIPSIS}`;
}

// --- the XML tree ----------------------------------------------------------------

// fast-xml-parser's preserveOrder shape: an element is { [tag]: children, ':@'?: attrs },
// text is { '#text': string }, CDATA is { '#cdata': [{ '#text': string }] }.
type XmlNode = Record<string, unknown>;
const ATTRS = ':@';
const TEXT = '#text';
const CDATA = '#cdata';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: CDATA,
  ignoreDeclaration: true,
  ignorePiTags: true,
  maxNestedTags: MAX_NESTED_TAGS,
});

function isNode(value: unknown): value is XmlNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tagOf(node: XmlNode): string | null {
  for (const key of Object.keys(node)) if (key !== ATTRS) return key;
  return null;
}

function childrenOf(node: XmlNode, tag: string): XmlNode[] {
  const children = node[tag];
  return Array.isArray(children) ? children.filter(isNode) : [];
}

/** An attribute's value with references decoded, or undefined. */
function attr(node: XmlNode, name: string): string | undefined {
  const attrs = node[ATTRS];
  if (!isNode(attrs) || !Object.hasOwn(attrs, name)) return undefined;
  const value = attrs[name];
  return typeof value === 'string' ? decodeEntities(value) : undefined;
}

// As the VM's script: a count is 1 to 15 digits, nothing else.
const COUNT = /^[0-9]{1,15}$/;

function countAttr(node: XmlNode, name: string): number | undefined {
  const value = attr(node, name);
  return value !== undefined && COUNT.test(value) ? Number(value) : undefined;
}

// Enough of an element's text for the first line and the detail.
const TEXT_READ_MAX = DETAIL_MAX_BYTES * 4;

/** The text and CDATA inside `node`, in document order (no recursion: any depth). */
function textOf(node: XmlNode, tag: string): string {
  let out = '';
  const stack: XmlNode[] = childrenOf(node, tag).reverse();
  while (stack.length > 0 && out.length < TEXT_READ_MAX) {
    const child = stack.pop() as XmlNode;
    const key = tagOf(child);
    if (key === null) continue;
    const value = child[key];
    if (key === TEXT) out += typeof value === 'string' ? decodeEntities(value) : '';
    else if (key === CDATA) out += childrenOf(child, CDATA).map(cdataText).join('');
    else stack.push(...childrenOf(child, key).reverse());
  }
  return out;
}

function cdataText(node: XmlNode): string {
  const value = node[TEXT];
  return typeof value === 'string' ? value : '';
}

// --- reading a file ----------------------------------------------------------------

function emptyCounts(): JUnitCounts {
  return { tests: 0, failures: 0, errors: 0, skipped: 0 };
}

function addCounts(into: JUnitCounts, more: JUnitCounts): void {
  into.tests += more.tests;
  into.failures += more.failures;
  into.errors += more.errors;
  into.skipped += more.skipped;
}

function decode(xml: Buffer | string): string {
  if (typeof xml === 'string') return xml.replace(/^\uFEFF/, '').replace(LONE_SURROGATE, '\uFFFD');
  // TextDecoder drops the BOM; UTF-16 only with one (Windows PowerShell writes it).
  if (xml[0] === 0xff && xml[1] === 0xfe) return new TextDecoder('utf-16le').decode(xml);
  if (xml[0] === 0xfe && xml[1] === 0xff) return new TextDecoder('utf-16be').decode(xml);
  return new TextDecoder('utf-8').decode(xml);
}

function byteSize(xml: Buffer | string): number {
  if (typeof xml !== 'string') return xml.length;
  // A UTF-16 unit is at least one UTF-8 byte: skip measuring what is surely too big.
  return xml.length > JUNIT_FILE_MAX_BYTES ? xml.length : Buffer.byteLength(xml);
}

/** What a `<testcase>` says: failing (with its first failure or error), skipped or passed. */
function caseOutcome(
  testcase: XmlNode,
): { kind: 'failure' | 'error'; el: XmlNode } | 'skipped' | null {
  let skipped = false;
  for (const child of childrenOf(testcase, 'testcase')) {
    const tag = tagOf(child);
    // Surefire's flakyFailure/rerunFailure and the like are other names: not failing.
    if (tag === 'failure' || tag === 'error') return { kind: tag, el: child };
    if (tag === 'skipped') skipped = true;
  }
  return skipped ? 'skipped' : null;
}

function failingCase(
  file: string,
  suite: string | null,
  testcase: XmlNode,
  kind: 'failure' | 'error',
  el: XmlNode,
): FailingCase {
  const text = textOf(el, kind);
  const firstLine = text.split(/\r\n|\r|\n/).find((l) => line(l) !== null);
  const classname = line(attr(testcase, 'classname'));
  return {
    file,
    suite,
    classname,
    name: line(attr(testcase, 'name')) ?? classname ?? '(unnamed test)',
    kind,
    message: line(attr(el, 'message')) ?? line(firstLine) ?? line(attr(el, 'type')),
    detail: detailOf(text),
  };
}

interface Frame {
  node: XmlNode;
  /** Inside a `<testsuite>` whose totals counted (its nested suites do not). */
  inCounted: boolean;
  suite: string | null;
}

function readTree(roots: XmlNode[], file: string): JUnitFileResult {
  let top: (JUnitCounts & { hasSkipped: boolean }) | null = null;
  const suites = emptyCounts();
  const cases = emptyCounts();
  let counted = 0;
  let junit = false;
  const failing: FailingCase[] = [];
  const stack: Frame[] = roots.reverse().map((node) => ({ node, inCounted: false, suite: null }));
  while (stack.length > 0) {
    const { node, inCounted, suite } = stack.pop() as Frame;
    const tag = tagOf(node);
    if (tag === null || tag === TEXT || tag === CDATA) continue;
    let childInCounted = inCounted;
    let childSuite = suite;
    if (tag === 'testsuites') {
      junit = true;
      const tests = countAttr(node, 'tests');
      if (top === null && tests !== undefined) {
        const skipped = countAttr(node, 'skipped');
        top = {
          tests,
          failures: countAttr(node, 'failures') ?? 0,
          errors: countAttr(node, 'errors') ?? 0,
          skipped: skipped ?? 0,
          hasSkipped: skipped !== undefined,
        };
      }
    } else if (tag === 'testsuite') {
      junit = true;
      childSuite = line(attr(node, 'name'));
      const tests = countAttr(node, 'tests');
      if (!inCounted && tests !== undefined) {
        counted += 1;
        childInCounted = true;
        addCounts(suites, {
          tests,
          failures: countAttr(node, 'failures') ?? 0,
          errors: countAttr(node, 'errors') ?? 0,
          skipped: countAttr(node, 'skipped') ?? 0,
        });
      }
    } else if (tag === 'testcase') {
      junit = true;
      cases.tests += 1;
      const outcome = caseOutcome(node);
      if (outcome === 'skipped') cases.skipped += 1;
      else if (outcome !== null) {
        cases[outcome.kind === 'failure' ? 'failures' : 'errors'] += 1;
        if (failing.length < FAILING_PER_FILE_MAX) {
          failing.push(failingCase(file, suite, node, outcome.kind, outcome.el));
        }
      }
    }
    const children = childrenOf(node, tag);
    for (let i = children.length - 1; i >= 0; i -= 1) {
      stack.push({ node: children[i] as XmlNode, inCounted: childInCounted, suite: childSuite });
    }
  }
  if (!junit) return { ok: false, reason: 'no <testsuites>, <testsuite> or <testcase> element' };
  // The outermost totals, as the VM counts them; jest-junit's <testsuites> has no skipped=.
  let counts: JUnitCounts = cases;
  if (top !== null) {
    const { hasSkipped, ...totals } = top;
    counts = hasSkipped ? totals : { ...totals, skipped: suites.skipped };
  } else if (counted > 0) counts = suites;
  return { ok: true, counts, failing };
}

/**
 * The counts and failing cases of one JUnit XML file (`fileName` only labels
 * the cases). Refuses, as data, a file over JUNIT_FILE_MAX_BYTES, one that is
 * not well-formed XML and one with no JUnit element. Never throws.
 */
export function parseJUnit(xml: Buffer | string, fileName: string): JUnitFileResult {
  try {
    const size = byteSize(xml);
    if (size > JUNIT_FILE_MAX_BYTES) {
      return {
        ok: false,
        reason: `over ${JUNIT_FILE_MAX_BYTES / 1024 / 1024} MiB (${size} bytes)`,
      };
    }
    const text = decode(xml);
    const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
    if (valid !== true) {
      const where = typeof valid.err.line !== 'number' ? '' : ` (line ${valid.err.line})`;
      return {
        ok: false,
        reason: cut(`not well-formed XML${where}: ${line(valid.err.msg)}`, 1000),
      };
    }
    const roots = (parser.parse(text) as unknown[]).filter(isNode);
    return readTree(roots, line(fileName) ?? '');
  } catch (err) {
    // The parser refuses some inputs by throwing (nesting too deep, reserved names).
    const why = line(err instanceof Error ? err.message : String(err)) ?? 'unknown error';
    return { ok: false, reason: `could not read the XML: ${why}` };
  }
}

/** The files' results together: counts summed, failing cases in file order (capped). */
export function mergeJUnit(results: readonly JUnitFileResult[]): MergedJUnit {
  const counts = emptyCounts();
  const failing: FailingCase[] = [];
  let filesRead = 0;
  let filesSkipped = 0;
  for (const result of results) {
    if (!result.ok) {
      filesSkipped += 1;
      continue;
    }
    filesRead += 1;
    addCounts(counts, result.counts);
    const room = FAILING_MERGED_MAX - failing.length;
    if (room > 0) failing.push(...result.failing.slice(0, room));
  }
  return { counts, failing, filesRead, filesSkipped };
}
