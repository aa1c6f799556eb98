// The final status line of a run with failing tests, naming the first ones:
// "3 of 120 tests failed: parser.test_utf8, lexer.test_eof …", which begins as
// the plain counts line (testsFailed) does. One line of at most
// STATUS_LINE_MAX, measured as shared/domain/messages.ts does (UTF-16 units,
// never splitting a character), so it is also at most that many code points.
import { STATUS_LINE_MAX, testsFailed } from '../domain/messages';
import type { FailingCase, JUnitCounts } from './junit';

const ELLIPSIS = '…';
const SEPARATOR = ', ';
// After the names when more tests failed than are named.
const MORE = ` ${ELLIPSIS}`;
const BREAKING = /[\s\p{Cc}]+/gu;

function oneLine(text: string | null | undefined): string {
  return (text ?? '').replace(BREAKING, ' ').trim();
}

function count(n: number): number {
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** `text` cut to at most `max` UTF-16 units on a code point boundary, ending with an ellipsis. */
function cutName(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length + ELLIPSIS.length > max) break;
    out += ch;
  }
  return `${out.trimEnd()}${ELLIPSIS}`;
}

/**
 * The labels of the failing cases, once each: `classname.name`, or the name alone
 * when `long` is false or the class adds nothing (jest-junit and ctest repeat the
 * name as the class).
 */
function labels(failing: readonly Pick<FailingCase, 'classname' | 'name'>[], long: boolean) {
  const seen = new Set<string>();
  for (const c of failing) {
    const name = oneLine(c.name);
    const cls = oneLine(c.classname);
    const redundant = cls === '' || name === '' || name.startsWith(cls) || cls.endsWith(name);
    const label = long && !redundant ? `${cls}.${name}` : name || cls;
    if (label !== '') seen.add(label);
  }
  return [...seen];
}

interface Fit {
  text: string;
  named: number;
  cut: boolean;
}

/** As many whole labels as fit in `room`, keeping room for " …" while more failed than are named. */
function fit(names: readonly string[], room: number, failed: number): Fit {
  let text = '';
  let named = 0;
  for (const name of names) {
    const next = named === 0 ? name : `${text}${SEPARATOR}${name}`;
    const more = named + 1 < failed ? MORE.length : 0;
    if (next.length + more > room) break;
    text = next;
    named += 1;
  }
  if (named > 0 || names[0] === undefined) return { text, named, cut: false };
  // A single name longer than the whole room: the only one ever cut.
  const more = failed > 1 ? MORE.length : 0;
  return { text: cutName(names[0], room - more), named: 1, cut: true };
}

/**
 * "N of M tests failed: a, b …" naming the first failing tests that fit on one
 * status line, "N of M tests failed" when none is named, or null when nothing failed. Errors
 * count as failed; the classname is shown when it costs no name.
 */
export function failingTestsLine(
  counts: JUnitCounts,
  failing: readonly Pick<FailingCase, 'classname' | 'name'>[],
): string | null {
  // The counts may undercount (a file without totals, a skipped file): never below the names.
  const failed = Math.max(count(counts.failures) + count(counts.errors), failing.length);
  if (failed === 0) return null;
  const total = Math.max(count(counts.tests), failed);
  const head = testsFailed(failed, total);
  const room = STATUS_LINE_MAX - head.length - ': '.length;
  const long = fit(labels(failing, true), room, failed);
  const short = fit(labels(failing, false), room, failed);
  const best = long.named >= short.named && !long.cut ? long : short;
  if (best.named === 0) return head;
  return `${head}: ${best.text}${best.named < failed ? MORE : ''}`;
}
