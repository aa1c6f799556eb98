// The upload rules (shared/files/upload.ts): names, live statuses, room, caps,
// content types and the token's redaction.
import fc from 'fast-check';
import { TEST_STATUSES } from '../../shared/domain/test';
import type { StoredFile } from '../../shared/files/port';
import {
  DEFAULT_CONTENT_TYPE,
  redactToken,
  sizeRefusal,
  storedContentType,
  TEST_FILES_MAX_BYTES,
  TEST_FILES_MAX_COUNT,
  UPLOAD_MAX_BYTES,
  uploadConflict,
  uploadFileName,
  uploadRoom,
} from '../../shared/files/upload';

const MiB = 1024 * 1024;
const TOKEN = `octo-hello-linux-r1-0123.${'Ab_-'.repeat(10)}xyz`;

function file(name: string, size: number): StoredFile {
  return { name, size, contentType: 'text/plain', updated: new Date(0) };
}

describe('uploadFileName', () => {
  it.each([
    ['log.txt', 'log.txt'],
    ['results/junit.xml', 'results/junit.xml'],
    ['results%2Fa%2Fjunit.xml', 'results/a/junit.xml'],
    ['results/sub/TEST-x.y_z-1.xml', 'results/sub/TEST-x.y_z-1.xml'],
    ['%6Cog.txt', 'log.txt'],
  ])('%s → %s', (encoded, name) => {
    expect(uploadFileName(encoded)).toBe(name);
  });

  it.each([
    '',
    'log.txt/',
    'other.txt',
    'results/',
    'results/../log.txt',
    'results/%2e%2e/x',
    'results/a%252Fb.xml', // decoded once only: "%2F" is not a name character
    'results/a b.xml',
    'results/a%00.xml',
    'results/%zz.xml',
    '/results/a.xml',
    'results//a.xml',
    `results/${'a/'.repeat(32)}x`,
    `results/${'a'.repeat(101)}`,
  ])('%j is refused', (encoded) => {
    expect(uploadFileName(encoded)).toBeNull();
  });
});

describe('uploadConflict', () => {
  it('takes files while the VM may be up, and refuses them with the reports’ reasons otherwise', () => {
    const answers = Object.fromEntries(TEST_STATUSES.map((s) => [s, uploadConflict(s)]));
    expect(answers).toEqual({
      waiting: 'not_running',
      pending: 'not_running',
      queued: 'not_running',
      starting: null,
      running: null,
      passed: 'ended',
      failed: 'ended',
      error: 'ended',
      timed_out: 'ended',
      canceled: 'canceled',
    });
  });
});

describe('uploadRoom and sizeRefusal', () => {
  it('a first file: the whole request cap', () => {
    const room = uploadRoom([], 'log.txt');
    expect(room).toEqual({ replaces: false, maxBytes: UPLOAD_MAX_BYTES, full: false });
    expect(sizeRefusal(UPLOAD_MAX_BYTES, room)).toBeNull();
    expect(sizeRefusal(UPLOAD_MAX_BYTES + 1, room)).toBe(413);
  });

  it('near the test’s total: what is left, and 507 past it', () => {
    const existing = [file('results/a', 30 * MiB), file('results/b', 30 * MiB)];
    const room = uploadRoom(existing, 'log.txt');
    expect(room.maxBytes).toBe(TEST_FILES_MAX_BYTES - 60 * MiB);
    expect(sizeRefusal(4 * MiB, room)).toBeNull();
    expect(sizeRefusal(4 * MiB + 1, room)).toBe(507);
    // Over the request cap is a 413 whatever room is left.
    expect(sizeRefusal(UPLOAD_MAX_BYTES + 1, room)).toBe(413);
  });

  it('a replaced file counts its new size, not its old one', () => {
    const existing = [file('results/a', 40 * MiB), file('log.txt', 10 * MiB)];
    const room = uploadRoom(existing, 'log.txt');
    expect(room).toEqual({ replaces: true, maxBytes: UPLOAD_MAX_BYTES, full: false });
    expect(uploadRoom(existing, 'results/b').maxBytes).toBe(14 * MiB);
  });

  it('600 files: no new one, but any of them may be replaced', () => {
    const existing = Array.from({ length: TEST_FILES_MAX_COUNT }, (_, i) =>
      file(`results/${i}`, 1),
    );
    expect(uploadRoom(existing, 'log.txt').full).toBe(true);
    expect(uploadRoom(existing, 'results/7').full).toBe(false);
    expect(uploadRoom(existing.slice(1), 'log.txt').full).toBe(false);
  });

  it('never a negative room', () => {
    expect(uploadRoom([file('results/a', TEST_FILES_MAX_BYTES + 5)], 'log.txt').maxBytes).toBe(0);
  });
});

describe('storedContentType', () => {
  it.each([
    ['text/plain; charset=utf-8', 'text/plain; charset=utf-8'],
    ['  application/xml ', 'application/xml'],
    ['application/vnd.foo+json', 'application/vnd.foo+json'],
    [undefined, DEFAULT_CONTENT_TYPE],
    ['', DEFAULT_CONTENT_TYPE],
    ['text', DEFAULT_CONTENT_TYPE],
    ['text/html\r\nX-Evil: 1', DEFAULT_CONTENT_TYPE],
    ['text/plain; name="ü"', DEFAULT_CONTENT_TYPE],
    [`text/${'x'.repeat(200)}`, DEFAULT_CONTENT_TYPE],
  ])('%j → %j', (header, stored) => {
    expect(storedContentType(header)).toBe(stored);
  });
});

describe('redactToken', () => {
  it('replaces every occurrence of the token, and of its MAC alone', () => {
    const mac = TOKEN.slice(TOKEN.indexOf('.') + 1);
    const log = Buffer.from(`${TOKEN}\ncurl -H "Authorization: Bearer ${TOKEN}" x\nmac=${mac}!`);
    expect(redactToken(log, TOKEN).toString()).toBe(
      '[redacted]\ncurl -H "Authorization: Bearer [redacted]" x\nmac=[redacted]!',
    );
  });

  it('leaves other bytes as they are, invalid UTF-8 too, and answers the same buffer when there is nothing to hide', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    expect(redactToken(bytes, TOKEN)).toBe(bytes);
    const mixed = Buffer.concat([bytes, Buffer.from(TOKEN), bytes]);
    expect(redactToken(mixed, TOKEN)).toEqual(
      Buffer.concat([bytes, Buffer.from('[redacted]'), bytes]),
    );
  });

  it('whatever surrounds it, the token never survives', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 6 }), (pieces) => {
        const body = Buffer.concat(pieces.flatMap((p) => [Buffer.from(p), Buffer.from(TOKEN)]));
        const out = redactToken(body, TOKEN);
        expect(out.includes(TOKEN)).toBe(false);
        expect(out.includes(TOKEN.slice(TOKEN.indexOf('.') + 1))).toBe(false);
      }),
    );
  });
});
