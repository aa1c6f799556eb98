// A VM's file upload, after the door checked its token: is the test live, is
// there room (listing the test's files), then the body is read up to that
// room, never further, redacted and stored. Refusals are data; the door
// answers them. Storage failures are a 503: the VM retries with back-off.
import type { TestRecord } from '../domain/test';
import type { StoredFile, TestFileStore } from '../files/port';
import {
  redactToken,
  sizeRefusal,
  uploadConflict,
  uploadRoom,
  type UploadConflict,
} from '../files/upload';
import type { BodyRead } from '../http/raw-body';
import type { Logger } from '../log';

export interface UploadDeps {
  files: TestFileStore;
  log: Logger;
}

export interface UploadRequest {
  /** A valid file name (uploadFileName). */
  name: string;
  contentType: string;
  /** The Content-Length, when the VM declared one. */
  declaredBytes: number | undefined;
  /** Reads the body, refusing it (413) as soon as it passes `limitBytes`. */
  readBody(limitBytes: number): Promise<BodyRead>;
}

export type UploadAnswer =
  | { http: 200 | 201; name: string; size: number }
  | { http: 409; reason: UploadConflict }
  | { http: 413 }
  | { http: 507; reason: 'bytes' | 'count' }
  | { http: 400; error: string }
  | { http: 503 };

/** `test` is the one the VM's `token` was checked against. */
export async function handleUpload(
  deps: UploadDeps,
  test: TestRecord,
  token: string,
  upload: UploadRequest,
): Promise<UploadAnswer> {
  const conflict = uploadConflict(test.status);
  if (conflict) return { http: 409, reason: conflict };
  const { name } = upload;
  let existing: StoredFile[];
  try {
    existing = await deps.files.list(test.id);
  } catch (error) {
    deps.log.warn('File upload refused: the test’s files could not be listed', { name, error });
    return { http: 503 };
  }
  const room = uploadRoom(existing, name);
  if (room.full) return { http: 507, reason: 'count' };
  const declared =
    upload.declaredBytes === undefined ? null : sizeRefusal(upload.declaredBytes, room);
  if (declared === 413) return { http: 413 };
  if (declared === 507) return { http: 507, reason: 'bytes' };

  const read = await upload.readBody(room.maxBytes);
  if (!read.ok && read.status === 413) {
    // Stopped at the room: past the request cap only if the room was the whole cap.
    return sizeRefusal(room.maxBytes + 1, room) === 413
      ? { http: 413 }
      : { http: 507, reason: 'bytes' };
  }
  if (!read.ok) return { http: 400, error: read.error };

  const body = redactToken(read.bytes, token);
  try {
    await deps.files.put(test.id, name, body, upload.contentType);
  } catch (error) {
    deps.log.warn('File upload failed: storage', { name, size: body.length, error });
    return { http: 503 };
  }
  deps.log.info('File uploaded', {
    name,
    size: body.length,
    replaced: room.replaces,
    redacted: body !== read.bytes,
  });
  return { http: room.replaces ? 200 : 201, name, size: body.length };
}
