// The GCS JSON API routes, as @google-cloud/storage calls them:
//   POST   /storage/v1/b?project=                      insert bucket {name, location?, storageClass?, lifecycle?}
//   GET    /storage/v1/b/{bucket}                      get bucket
//   GET    /storage/v1/b/{bucket}/o                    list objects ?prefix&pageToken&maxResults
//   GET    /storage/v1/b/{bucket}/o/{object}           object metadata; ?alt=media: its bytes (Range honoured)
//   DELETE /storage/v1/b/{bucket}/o/{object}
//   GET    /download/storage/v1/b/{bucket}/o/{object}  the mediaLink form of ?alt=media
//   POST   /upload/storage/v1/b/{bucket}/o             ?uploadType=media|multipart|resumable&name=
//   PUT    /upload/storage/v1/b/{bucket}/o?upload_id=  a resumable session's bytes (Content-Range), or its status
//   DELETE /upload/storage/v1/b/{bucket}/o?upload_id=  cancels the session
// Other methods on these paths answer 501; other paths are not ours.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http';
import type { StorageEngine, UploadSession } from './engine';
import { crc32cBase64, md5Base64 } from './hashes';
import {
  etag,
  gcsError,
  invalid,
  parseLifecycle,
  renderBucket,
  renderObject,
  type ObjectRecord,
} from './resources';
import { parseContentRange, parseMultipart, parseRange, readCapped, type Room } from './uploads';

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;

// kind, bucket, `/o` or `/o/{object}`, object (which may hold unencoded slashes).
const ROUTE = /^\/(?:(download|upload)\/)?storage\/v1\/b(?:\/([^/]+)(\/o(?:\/(.+))?)?)?$/;
const OURS = /^\/(?:(download|upload)\/)?storage\/v1\//;
/** Metadata (JSON) beside the media: a resumable session's start, a multipart upload's first part. */
const METADATA_BYTES = 1024 * 1024;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalid(`malformed path segment ${segment}`);
  }
}

function unimplemented(req: IncomingMessage, path: string) {
  return gcsError(
    501,
    'notImplemented',
    `${req.method} ${path} is not supported by the local Cloud Storage stand-in`,
  );
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // answered below
  }
  throw invalid('the request body is not a JSON object');
}

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${key} must be a string`);
  return value;
}

function customMetadata(body: Record<string, unknown>): Record<string, string> | undefined {
  const value = body.metadata;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid('metadata must map strings to strings');
  }
  return value as Record<string, string>;
}

/** The checksums a client sent (X-Goog-Hash, or crc32c/md5Hash in the metadata) must match the bytes. */
function checkHashes(body: Buffer, expected: { crc32c?: string; md5?: string }): void {
  if (expected.crc32c !== undefined && expected.crc32c !== crc32cBase64(body)) {
    throw invalid(
      `Provided CRC32C "${expected.crc32c}" doesn't match calculated CRC32C "${crc32cBase64(body)}".`,
    );
  }
  if (expected.md5 !== undefined && expected.md5 !== md5Base64(body)) {
    throw invalid(`Provided MD5 hash "${expected.md5}" doesn't match calculated MD5 hash.`);
  }
}

function googHash(req: IncomingMessage): { crc32c?: string; md5?: string } {
  const header = req.headers['x-goog-hash'];
  const hashes: { crc32c?: string; md5?: string } = {};
  for (const pair of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const at = pair.indexOf('=');
    const key = pair.slice(0, at).trim();
    if (key === 'crc32c' || key === 'md5') hashes[key] = pair.slice(at + 1).trim();
  }
  return hashes;
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const chunk of req) void chunk;
}

export function createRoutes(engine: StorageEngine, maxPage: number): Handler {
  const caps = { tooLarge: () => engine.tooLarge(), full: () => engine.full() };

  const sendObject = (res: ServerResponse, base: string, object: ObjectRecord) =>
    sendJson(res, 200, renderObject(object, base));

  const insertBucket = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    base: string,
  ) => {
    const project = url.searchParams.get('project');
    if (!project) throw gcsError(400, 'required', 'Required parameter: project');
    const body = parseJson(
      await readCapped(req, { object: METADATA_BYTES, free: METADATA_BYTES }, caps),
    );
    const name = stringField(body, 'name');
    if (!name) throw gcsError(400, 'required', 'Required: name');
    const location = stringField(body, 'location');
    const storageClass = stringField(body, 'storageClass');
    const lifecycle = parseLifecycle(body.lifecycle);
    const bucket = engine.createBucket(name, project, {
      ...(location ? { location } : {}),
      ...(storageClass ? { storageClass } : {}),
      ...(lifecycle ? { lifecycle } : {}),
    });
    sendJson(res, 200, renderBucket(bucket, base));
  };

  const listObjects = (res: ServerResponse, url: URL, base: string, bucket: string) => {
    if (url.searchParams.has('delimiter')) {
      throw gcsError(501, 'notImplemented', 'delimiter is not supported by the local stand-in');
    }
    const maxText = url.searchParams.get('maxResults');
    const max = maxText === null ? maxPage : Number(maxText);
    if (!Number.isInteger(max) || max < 1) throw invalid(`Invalid maxResults: ${maxText}`);
    const token = url.searchParams.get('pageToken');
    // The token is the last name of the previous page, so paging holds while objects change.
    const after = token ? Buffer.from(token, 'base64url') : undefined;
    const all = engine
      .list(bucket, url.searchParams.get('prefix') ?? '')
      .filter((object) => !after || Buffer.compare(Buffer.from(object.name), after) > 0);
    const page = all.slice(0, Math.min(max, maxPage));
    const more = all.length > page.length;
    sendJson(res, 200, {
      kind: 'storage#objects',
      ...(page.length > 0 ? { items: page.map((object) => renderObject(object, base)) } : {}),
      ...(more ? { nextPageToken: Buffer.from(page.at(-1)!.name).toString('base64url') } : {}),
    });
  };

  const sendMedia = (req: IncomingMessage, res: ServerResponse, object: ObjectRecord) => {
    const size = object.body.length;
    const headers: Record<string, string> = {
      'content-type': object.contentType,
      'accept-ranges': 'bytes',
      etag: etag(object),
      'last-modified': object.timeCreated.toUTCString(),
      // Of the whole object, also for a range; the client checks them after a full download.
      'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      'x-goog-generation': object.generation,
      'x-goog-metageneration': '1',
      'x-goog-stored-content-length': String(size),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-storage-class': 'STANDARD',
    };
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable') {
      const message = 'The requested range cannot be satisfied.';
      const errors = [{ domain: 'global', reason: 'requestedRangeNotSatisfiable', message }];
      return sendJson(
        res,
        416,
        { error: { code: 416, message, errors } },
        { 'content-range': `bytes */${size}` },
      );
    }
    if (range === null) {
      res.writeHead(200, { ...headers, 'content-length': String(size) });
      return res.end(object.body);
    }
    res.writeHead(206, {
      ...headers,
      'content-length': String(range.end - range.start),
      'content-range': `bytes ${range.start}-${range.end - 1}/${size}`,
    });
    res.end(object.body.subarray(range.start, range.end));
  };

  const upload = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    base: string,
    bucket: string,
  ) => {
    const type = url.searchParams.get('uploadType');
    const queryName = url.searchParams.get('name') ?? undefined;
    if (type === 'media') {
      if (!queryName) throw gcsError(400, 'required', 'Required parameter: name');
      const body = await readCapped(req, engine.room(bucket, queryName), caps);
      checkHashes(body, googHash(req));
      const contentType = req.headers['content-type'];
      return sendObject(
        res,
        base,
        engine.write(bucket, queryName, body, contentType ? { contentType } : {}),
      );
    }
    if (type === 'multipart') {
      const room = engine.room(bucket, queryName ?? '');
      const slack = (n: number) => n + METADATA_BYTES;
      const raw = await readCapped(
        req,
        { object: slack(room.object), free: slack(room.free) },
        caps,
      );
      const [meta, media] = parseMultipart(req.headers['content-type'], raw);
      if (!meta || !media) throw invalid('a multipart upload has two parts: metadata, then media');
      const fields = parseJson(meta.body);
      const name = queryName ?? stringField(fields, 'name');
      if (!name) throw gcsError(400, 'required', 'Required: name');
      const crc32c = stringField(fields, 'crc32c');
      const md5 = stringField(fields, 'md5Hash');
      checkHashes(media.body, {
        ...(crc32c ? { crc32c } : {}),
        ...(md5 ? { md5 } : {}),
        ...googHash(req),
      });
      const contentType = stringField(fields, 'contentType') ?? media.contentType;
      const metadata = customMetadata(fields);
      // A copy: the part is a view into the whole request's buffer.
      const object = engine.write(bucket, name, Buffer.from(media.body), {
        ...(contentType ? { contentType } : {}),
        ...(metadata ? { metadata } : {}),
      });
      return sendObject(res, base, object);
    }
    if (type === 'resumable') {
      const fields = parseJson(
        await readCapped(req, { object: METADATA_BYTES, free: METADATA_BYTES }, caps),
      );
      const name = queryName ?? stringField(fields, 'name');
      if (!name) throw gcsError(400, 'required', 'Required: name');
      const contentType =
        stringField(fields, 'contentType') ?? header(req, 'x-upload-content-type');
      const metadata = customMetadata(fields);
      const totalText = header(req, 'x-upload-content-length');
      const total = totalText === undefined ? undefined : Number(totalText);
      if (total !== undefined && !Number.isSafeInteger(total)) {
        throw invalid(`Invalid X-Upload-Content-Length: ${totalText}`);
      }
      const session = engine.startSession(
        bucket,
        name,
        { ...(contentType ? { contentType } : {}), ...(metadata ? { metadata } : {}) },
        total,
      );
      const location = new URL(`${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`);
      location.searchParams.set('uploadType', 'resumable');
      location.searchParams.set('name', name);
      location.searchParams.set('upload_id', session.id);
      res.writeHead(200, { location: location.toString(), 'content-length': '0' });
      return res.end();
    }
    throw invalid(`Invalid uploadType: ${type}`);
  };

  /** 308 Resume Incomplete, with what has arrived so far. */
  const incomplete = (res: ServerResponse, session: UploadSession) => {
    res.writeHead(308, {
      'content-length': '0',
      ...(session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {}),
    });
    res.end();
  };

  const resume = async (req: IncomingMessage, res: ServerResponse, base: string, id: string) => {
    const session = engine.session(id);
    if (session.done) {
      await drain(req);
      return sendObject(res, base, session.done);
    }
    const range = parseContentRange(header(req, 'content-range'));
    const setTotal = (total: number | undefined) => {
      if (total === undefined) return;
      if (session.total !== undefined && session.total !== total) {
        throw invalid(`The upload's size was ${session.total}, not ${total}.`);
      }
      session.total = total;
    };
    const finish = () =>
      sendObject(
        res,
        base,
        engine.finish(session, (body) => checkHashes(body, googHash(req))),
      );
    if (range.kind === 'status') {
      await drain(req);
      setTotal(range.total);
      return session.total === session.received && session.total !== undefined
        ? finish()
        : incomplete(res, session);
    }
    const start = range.kind === 'whole' ? 0 : range.start;
    if (range.kind === 'whole') {
      session.chunks = [];
      session.received = 0;
    }
    if (start > session.received) {
      await drain(req);
      throw invalid(`The upload has ${session.received} bytes; a chunk cannot start at ${start}.`);
    }
    const room: Room = engine.sessionRoom(session);
    // Bytes the session already has are sent again after a lost reply: they are skipped.
    const skip = session.received - start;
    const body = await readCapped(
      req,
      { object: room.object + skip, free: room.free + skip },
      caps,
    );
    if (
      range.kind === 'chunk' &&
      range.end !== undefined &&
      body.length !== range.end - start + 1
    ) {
      throw invalid(
        `Content-Range names ${range.end - start + 1} bytes, the body has ${body.length}.`,
      );
    }
    engine.append(session, body.subarray(Math.min(skip, body.length)));
    setTotal(range.kind === 'chunk' ? range.total : session.received);
    if (session.total !== undefined && session.received > session.total) {
      engine.cancel(session.id);
      throw invalid(
        `The upload's size was ${session.total}, but ${session.received} bytes arrived.`,
      );
    }
    // `bytes a-*/*`: the rest, streamed whole; its end is the object's end.
    if (range.kind === 'chunk' && range.end === undefined && session.total === undefined) {
      session.total = session.received;
    }
    return session.received === session.total ? finish() : incomplete(res, session);
  };

  return async (req, res, url) => {
    if (!OURS.test(url.pathname)) return false;
    const match = ROUTE.exec(url.pathname);
    if (!match) throw unimplemented(req, url.pathname);
    const [, prefix, bucketPart, objectsPart, objectPart] = match;
    const kind = prefix ?? 'storage';
    const base = `http://${req.headers.host ?? '127.0.0.1'}`;
    const method = req.method ?? 'GET';
    const bucket = bucketPart === undefined ? undefined : decode(bucketPart);
    const onObjects = objectsPart !== undefined;
    const object = objectPart === undefined ? undefined : decode(objectPart);

    if (kind === 'storage' && bucket === undefined && method === 'POST') {
      await insertBucket(req, res, url, base);
    } else if (kind === 'storage' && bucket !== undefined && !onObjects && method === 'GET') {
      sendJson(res, 200, renderBucket(engine.bucket(bucket), base));
    } else if (
      kind === 'storage' &&
      bucket !== undefined &&
      onObjects &&
      object === undefined &&
      method === 'GET'
    ) {
      listObjects(res, url, base, bucket);
    } else if (
      kind !== 'upload' &&
      bucket !== undefined &&
      object !== undefined &&
      method === 'GET'
    ) {
      const found = engine.object(bucket, object, url.searchParams.get('generation') ?? undefined);
      if (kind === 'download' || url.searchParams.get('alt') === 'media')
        sendMedia(req, res, found);
      else sendObject(res, base, found);
    } else if (
      kind === 'storage' &&
      bucket !== undefined &&
      object !== undefined &&
      method === 'DELETE'
    ) {
      engine.deleteObject(bucket, object);
      res.writeHead(204).end();
    } else if (kind === 'upload' && bucket !== undefined && onObjects && object === undefined) {
      const id = url.searchParams.get('upload_id');
      if (method === 'POST' && !id) await upload(req, res, url, base, bucket);
      else if (method === 'PUT' && id) await resume(req, res, base, id);
      else if (method === 'DELETE' && id) {
        engine.session(id);
        engine.cancel(id);
        res.writeHead(499).end();
      } else throw unimplemented(req, url.pathname);
    } else {
      throw unimplemented(req, url.pathname);
    }
    return true;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
