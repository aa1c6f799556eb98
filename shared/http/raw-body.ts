// Reading a request body at a door (DESIGN §3.6): the raw bytes, never more
// than the door's cap, never inflated. Each door reads only after the checks
// that need no body (a token) and parses only after those that need the bytes
// (a signature). Refusals are data; the door answers them.
import type { IncomingMessage } from 'node:http';

export type BodyRefusal = { ok: false; status: 400 | 413; error: string };
export type BodyRead = { ok: true; bytes: Buffer } | BodyRefusal;

export const BODY_NOT_RECEIVED = 'The request body was not received whole.';

export function tooLarge(limitBytes: number): BodyRefusal {
  return { ok: false, status: 413, error: `The body is over ${formatBytes(limitBytes)}.` };
}

/**
 * The body's bytes, up to `limitBytes`. A declared Content-Length over the cap
 * is refused before a byte is read; a body that grows past it is refused as
 * soon as it does. What is left unread is the door's to drop (function-app.ts).
 */
export function readRawBody(req: IncomingMessage, limitBytes: number): Promise<BodyRead> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    return Promise.resolve(tooLarge(limitBytes));
  }
  return new Promise<BodyRead>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyRead) => {
      req.off('data', onData).off('end', onEnd).off('error', onBroken).off('close', onBroken);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      // Paused, not destroyed: the answer still has to go out on this connection.
      req.pause();
      finish(tooLarge(limitBytes));
    };
    const onEnd = () =>
      finish(
        req.complete
          ? { ok: true, bytes: Buffer.concat(chunks, size) }
          : { ok: false, status: 400, error: BODY_NOT_RECEIVED },
      );
    // The client went away, or sent a body that does not frame.
    const onBroken = () => finish({ ok: false, status: 400, error: BODY_NOT_RECEIVED });
    req.on('data', onData).on('end', onEnd).on('error', onBroken).on('close', onBroken);
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The bytes as text, or undefined when they are not UTF-8. */
export function utf8Text(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A JSON object (not an array or a scalar) from UTF-8 bytes, or undefined. */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  if (Number.isInteger(mib)) return `${mib} MiB`;
  const kib = bytes / 1024;
  return Number.isInteger(kib) ? `${kib} KiB` : `${bytes} bytes`;
}
