// Text for people: ages, times, and tables cut to the terminal's width.

/** How long ago `date` was, short: `42s`, `5m`, `3h`, `2d`; `-` for none. */
export function age(date: Date | null | undefined, now: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) return '-';
  const s = Math.max(0, Math.floor((now.getTime() - date.getTime()) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** `2026-12-03 15:04:05` (UTC), or `-`. */
export function clock(date: Date | string | null | undefined): string {
  if (date === null || date === undefined) return '-';
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return '-';
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** `text` cut to `width` characters, ending in `…` when cut. */
export function cut(text: string, width: number): string {
  if (width <= 0) return '';
  if (text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}

/**
 * Rows under a header, columns padded to their widest cell; the last column
 * takes what is left of `columns` and is cut to it (at least 10 characters).
 */
export function table(
  header: readonly string[],
  rows: readonly string[][],
  columns: number,
): string[] {
  const all = [header, ...rows];
  const last = header.length - 1;
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const fixed = widths.slice(0, last).reduce((sum, w) => sum + w + 2, 0);
  const room = Math.max(10, columns - fixed);
  return all.map((row) =>
    row
      .map((cell, i) => (i === last ? cut(cell, room) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** `1 test`, `3 tests`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
