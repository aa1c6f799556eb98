// A test's title (DESIGN §2): what people call the change being tested, the
// pull request's title or the pushed commit's first line. It comes from
// GitHub as anyone typed it, so it is kept as one clean line of bounded
// length; the status pages escape it like every other text.

/** The longest title kept, in code points, the ellipsis of a cut one included. */
export const TITLE_MAX = 200;

const ELLIPSIS = '…';

// Line breaks, tabs and every other Unicode space become one space.
const SPACES = /\s+/gu;
// The other control characters (C0, DEL, C1) and the bidirectional controls,
// which could make the text around a title read backwards, are dropped.
const CONTROLS = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `text` as a title: control characters stripped, white space collapsed to
 * single spaces and trimmed, at most TITLE_MAX code points (cut on a code
 * point boundary, ending with "…"). Null for no text or nothing left.
 */
export function fitTitle(text: string | null | undefined): string | null {
  if (typeof text !== 'string') return null;
  const line = text.replace(SPACES, ' ').replace(CONTROLS, '').replace(SPACES, ' ').trim();
  if (line === '') return null;
  const points = Array.from(line);
  if (points.length <= TITLE_MAX) return line;
  return `${points
    .slice(0, TITLE_MAX - 1)
    .join('')
    .trimEnd()}${ELLIPSIS}`;
}

/** A commit message's title: its first line that is not blank, fitted; null when there is none. */
export function commitTitle(message: string | null | undefined): string | null {
  if (typeof message !== 'string') return null;
  const first = message.split(/\r\n|\r|\n/).find((line) => line.trim() !== '');
  return fitTitle(first);
}
