// How status serves a test's files: their types (never HTML), the attachment
// name, the tail's line count, and the log's last lines from its end.
import {
  BINARY_TYPE,
  contentDisposition,
  downloadContentType,
  logTail,
  TAIL_DEFAULT_LINES,
  TAIL_MAX_BYTES,
  TAIL_MAX_LINES,
  tailLines,
  tailStart,
  TEXT_TYPE,
} from '../../shared/files/serve';

describe('downloadContentType', () => {
  it.each([
    ['log.txt', TEXT_TYPE],
    ['results/junit.xml', TEXT_TYPE],
    ['results/a/TEST-x.XML', TEXT_TYPE],
    ['results/summary.json', TEXT_TYPE],
    ['results/notes.txt', TEXT_TYPE],
    ['results/report.html', BINARY_TYPE],
    ['results/image.svg', BINARY_TYPE],
    ['results/core', BINARY_TYPE],
    ['results/a.xml.gz', BINARY_TYPE],
  ])('%s: %s', (name, type) => {
    expect(downloadContentType(name)).toBe(type);
  });
});

describe('contentDisposition', () => {
  it('an attachment named by the last segment', () => {
    expect(contentDisposition('results/a/junit.xml')).toBe('attachment; filename="junit.xml"');
    expect(contentDisposition('log.txt')).toBe('attachment; filename="log.txt"');
    expect(contentDisposition('results/a"b')).toBe('attachment; filename="a_b"');
  });
});

describe('tailLines', () => {
  it.each([
    [undefined, TAIL_DEFAULT_LINES],
    ['1', 1],
    ['50', 50],
    ['2000', 2000],
    ['2001', TAIL_MAX_LINES],
    ['999999999', TAIL_MAX_LINES],
    ['0', null],
    ['-1', null],
    ['1.5', null],
    ['ten', null],
    ['', null],
    [['5', '6'], null],
  ])('%j → %j', (value, lines) => {
    expect(tailLines(value)).toBe(lines);
  });
});

describe('tailStart', () => {
  it('the last 256 KiB', () => {
    expect(tailStart(10)).toBe(0);
    expect(tailStart(TAIL_MAX_BYTES)).toBe(0);
    expect(tailStart(TAIL_MAX_BYTES + 7)).toBe(7);
  });
});

describe('logTail', () => {
  const log = Buffer.from('one\ntwo\r\nthree\nfour\n');

  it('the last lines of a whole log, without the end’s empty line', () => {
    expect(logTail(log, 0, 200)).toEqual({
      lines: ['one', 'two', 'three', 'four'],
      truncated: false,
    });
    expect(logTail(log, 0, 2)).toEqual({ lines: ['three', 'four'], truncated: true });
  });

  it('a last line without a newline is a line', () => {
    expect(logTail(Buffer.from('a\nb'), 0, 5)).toEqual({ lines: ['a', 'b'], truncated: false });
  });

  it('an empty log: no lines', () => {
    expect(logTail(Buffer.alloc(0), 0, 5)).toEqual({ lines: [], truncated: false });
    expect(logTail(Buffer.from('\n'), 0, 5)).toEqual({ lines: [''], truncated: false });
  });

  it('a chunk from inside the log drops its first, partial line and says it is cut', () => {
    expect(logTail(Buffer.from('rt of line\nnext\nlast\n'), 100, 5)).toEqual({
      lines: ['next', 'last'],
      truncated: true,
    });
    // All there is: one long line's end.
    expect(logTail(Buffer.from('end of a very long line'), 100, 5)).toEqual({
      lines: ['end of a very long line'],
      truncated: true,
    });
  });

  it('bytes that are not UTF-8 read as U+FFFD, never a throw', () => {
    const bytes = Buffer.concat([
      Buffer.from('ok\n'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('\n'),
    ]);
    expect(logTail(bytes, 0, 5)).toEqual({ lines: ['ok', '\uFFFD\uFFFD'], truncated: false });
  });
});
