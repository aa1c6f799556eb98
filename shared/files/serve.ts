// How `status` serves a test's files (DESIGN §8): the bytes are the code under
// test's, so they are always an attachment, never HTML, and text only as plain
// text; and the log's last lines, read from its end only.
import { LOG_FILE } from './port';

export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const BINARY_TYPE = 'application/octet-stream';

/** Lines the log tail gives by default, and at most. */
export const TAIL_DEFAULT_LINES = 200;
export const TAIL_MAX_LINES = 2_000;
/** Bytes read from the log's end for its tail. */
export const TAIL_MAX_BYTES = 256 * 1024;

/** Plain text for the log and .xml, .json and .txt files; bytes for anything else. */
export function downloadContentType(name: string): string {
  return name === LOG_FILE || /\.(xml|json|txt)$/i.test(name) ? TEXT_TYPE : BINARY_TYPE;
}

/** Always an attachment, named by the file's last segment (names are [A-Za-z0-9._-]). */
export function contentDisposition(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1).replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${base}"`;
}

/** `tail=N` from a query: the default when absent, capped at the maximum; null when not a count. */
export function tailLines(value: unknown): number | null {
  if (value === undefined) return TAIL_DEFAULT_LINES;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) return null;
  const n = Number(value);
  return n < 1 ? null : Math.min(n, TAIL_MAX_LINES);
}

/** Where the tail is read from in a log of `size` bytes: its last TAIL_MAX_BYTES. */
export function tailStart(size: number): number {
  return Math.max(0, size - TAIL_MAX_BYTES);
}

export interface LogTail {
  lines: string[];
  /** Earlier lines exist that are not given. */
  truncated: boolean;
}

/**
 * The last `count` lines of `chunk`, the log's bytes from `start` to its end.
 * A chunk that does not begin the log begins inside a line, which is dropped
 * (unless it is all there is). Bytes that are not UTF-8 read as U+FFFD.
 */
export function logTail(chunk: Buffer, start: number, count: number): LogTail {
  const text = chunk.toString('utf8');
  let lines = text.split(/\r?\n/);
  if (text.endsWith('\n')) lines.pop();
  if (text === '') lines = [];
  let truncated = start > 0;
  if (start > 0 && lines.length > 1) lines = lines.slice(1);
  if (lines.length > count) {
    lines = lines.slice(-count);
    truncated = true;
  }
  return { lines, truncated };
}
