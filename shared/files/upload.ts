// What a VM may upload through `progress` (DESIGN §6, infra/vm/README.md
// "Files"): pure decisions, so every rule is unit-tested without a store.
// A name is decoded once and must be one the file store accepts; only a
// live test takes files; one request, a test's bytes and its file count
// are capped; the test's own token never reaches the store.
import type { TestStatus } from '../domain/test';
import { isValidFileName, type StoredFile } from './port';

/** One upload's body (Cloud Run's front end allows 32 MiB). */
export const UPLOAD_MAX_BYTES = 16 * 1024 * 1024;
/** All of one test's files together. */
export const TEST_FILES_MAX_BYTES = 64 * 1024 * 1024;
export const TEST_FILES_MAX_COUNT = 600;
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
export const REDACTED = '[redacted]';

/** The file name in an upload's path (what follows `/files/`), decoded once; null when not valid. */
export function uploadFileName(encoded: string): string | null {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  return isValidFileName(name) ? name : null;
}

/** Why a test takes no files: the same reasons, and texts, as its reports' 409s. */
export type UploadConflict = 'canceled' | 'ended' | 'not_running';

/** Only a test whose VM may be up (`starting`, `running`) takes files. */
export function uploadConflict(status: TestStatus): UploadConflict | null {
  switch (status) {
    case 'starting':
    case 'running':
      return null;
    case 'canceled':
      return 'canceled';
    case 'passed':
    case 'failed':
    case 'error':
    case 'timed_out':
      return 'ended';
    default:
      return 'not_running';
  }
}

export interface UploadRoom {
  /** A file of that name exists: the upload replaces it. */
  replaces: boolean;
  /** The most bytes this file may have: the request cap, or less when the test's total is near. */
  maxBytes: number;
  /** The test has TEST_FILES_MAX_COUNT files already and this one would be another. */
  full: boolean;
}

/** Room for file `name` beside the test's `existing` files; a replaced file's old size is not counted. */
export function uploadRoom(existing: readonly StoredFile[], name: string): UploadRoom {
  const old = existing.find((file) => file.name === name);
  const others = existing.reduce((sum, file) => sum + file.size, 0) - (old?.size ?? 0);
  return {
    replaces: old !== undefined,
    maxBytes: Math.max(0, Math.min(UPLOAD_MAX_BYTES, TEST_FILES_MAX_BYTES - others)),
    full: !old && existing.length >= TEST_FILES_MAX_COUNT,
  };
}

/** A size over the room: 413 over the request cap, 507 over what is left of the test's total. */
export function sizeRefusal(size: number, room: UploadRoom): 413 | 507 | null {
  if (size > UPLOAD_MAX_BYTES) return 413;
  return size > room.maxBytes ? 507 : null;
}

// `type/subtype` and parameters, printable ASCII: anything else is stored as bytes.
const CONTENT_TYPE = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(?:\s*;[ -~]*)?$/;

/** The Content-Type to store: the VM's, when it is a plain media type of 200 characters at most. */
export function storedContentType(header: string | undefined): string {
  const value = header?.trim() ?? '';
  return value.length <= 200 && CONTENT_TYPE.test(value) ? value : DEFAULT_CONTENT_TYPE;
}

/**
 * The bytes with every occurrence of the test's VM token, and of its MAC
 * alone, replaced by `[redacted]`. The VM redacts too; the server does not
 * trust it. Byte for byte, so a log that is not UTF-8 is kept as it is.
 */
export function redactToken(body: Buffer, token: string): Buffer {
  const mac = token.slice(token.indexOf('.') + 1);
  let out = replaceAll(body, Buffer.from(token), Buffer.from(REDACTED));
  if (mac.length >= 16) out = replaceAll(out, Buffer.from(mac), Buffer.from(REDACTED));
  return out;
}

function replaceAll(body: Buffer, needle: Buffer, replacement: Buffer): Buffer {
  let at = body.indexOf(needle);
  if (at === -1) return body;
  const parts: Buffer[] = [];
  let from = 0;
  while (at !== -1) {
    parts.push(body.subarray(from, at), replacement);
    from = at + needle.length;
    at = body.indexOf(needle, from);
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}
