// Reading upload bodies within the stand-in's caps, and the two wire formats
// of uploads that are not raw bytes: multipart/related (metadata + media in
// one request) and the Content-Range of resumable uploads' PUTs.
import type { IncomingMessage } from 'node:http';
import type { HttpError } from '../http';
import { invalid } from './resources';

export interface Room {
  /** Bytes one object may still take. */
  object: number;
  /** Bytes the store may still take. */
  free: number;
}

/**
 * The request's bytes, or the cap's error once they pass `room`. The rest of
 * an oversized body is read and dropped, so the client gets the answer
 * instead of a reset connection.
 */
export async function readCapped(
  req: IncomingMessage,
  room: Room,
  errors: { tooLarge(): HttpError; full(): HttpError },
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= room.object && size <= room.free) chunks.push(chunk as Buffer);
  }
  if (size > room.object) throw errors.tooLarge();
  if (size > room.free) throw errors.full();
  return Buffer.concat(chunks, size);
}

export interface Part {
  contentType: string;
  body: Buffer;
}

/** The parts of a multipart/related body (RFC 2387), as the client builds them. */
export function parseMultipart(contentType: string | undefined, body: Buffer): Part[] {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!/^multipart\/related/i.test(contentType ?? '') || !boundary) {
    throw invalid('a multipart upload needs Content-Type: multipart/related; boundary=...');
  }
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    let start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') return parts; // the closing delimiter
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    // The CRLF before a delimiter belongs to the delimiter.
    const end = body.subarray(next - 2, next).toString() === '\r\n' ? next - 2 : next;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd === -1 || headerEnd > end) throw invalid('a multipart part has no header block');
    const headers = body.subarray(start, headerEnd).toString('latin1');
    parts.push({
      contentType: /^content-type:\s*(.+)$/im.exec(headers)?.[1]?.trim() ?? '',
      body: body.subarray(headerEnd + 4, end),
    });
    at = next;
  }
  throw invalid('the multipart body does not end with its closing boundary');
}

export type ContentRange =
  // No header: the body is the whole object.
  | { kind: 'whole' }
  // `bytes *\/N` or `bytes *\/*`, no body: how far along is the upload? (N: complete at N bytes.)
  | { kind: 'status'; total?: number }
  // `bytes a-b/N` or `a-b/*`: one chunk; no `end` for `bytes a-*` (the rest, streamed).
  | { kind: 'chunk'; start: number; end?: number; total?: number };

export function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined) return { kind: 'whole' };
  const match = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!match) throw invalid(`Invalid Content-Range: ${header}`);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  const withTotal = total === undefined ? {} : { total };
  if (match[1] === undefined) return { kind: 'status', ...withTotal };
  const start = Number(match[1]);
  const end = match[2] === '*' ? undefined : Number(match[2]);
  if (end !== undefined && end < start) throw invalid(`Invalid Content-Range: ${header}`);
  return { kind: 'chunk', start, ...(end === undefined ? {} : { end }), ...withTotal };
}

/** `Range: bytes=a-b | a- | -n` of a download, as [start, end) within `size`; null: serve it whole. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | null {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return null; // absent, malformed or several ranges
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(match[1]);
  if (start >= size) return 'unsatisfiable';
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (last < start) return null;
  return { start, end: last + 1 };
}
