// The test-file port: each test's log and result files (JUnit XML,
// summary.json, files the tests leave), which VMs upload through `progress`
// and `status` lists and serves (DESIGN §6). Cloud Storage holds them in
// production; names are validated by the callers, so a bad one here is a
// programming error and throws.

export interface StoredFile {
  name: string;
  size: number;
  contentType: string;
  updated: Date;
}

export interface TestFileStore {
  /** Writes or replaces file `name` of test `testId` (idempotent: the same bytes twice is fine). */
  put(testId: string, name: string, body: Buffer, contentType: string): Promise<void>;
  /** The test's files, sorted by name; [] when none. */
  list(testId: string): Promise<StoredFile[]>;
  /** Bytes [start, end) of the file (end defaults to its size; clamp to the size), or null when there is no such file. */
  read(
    testId: string,
    name: string,
    range?: { start: number; end?: number },
  ): Promise<{ body: Buffer; file: StoredFile } | null>;
}

export const LOG_FILE = 'log.txt';
export const RESULTS_DIR = 'results/';
export const MAX_FILE_NAME_LENGTH = 512;
const MAX_SEGMENTS = 32;
const SEGMENT = /^[A-Za-z0-9._-]{1,100}$/;
// Test ids are already usable in task names (naming.ts taskId): no `/`, so
// one test's prefix never reaches into another's.
const TEST_ID = /^[A-Za-z0-9_-]{1,500}$/;

/** `log.txt`, or `results/` and 1–32 segments of [A-Za-z0-9._-] (not `.` or `..`); at most 512 characters. */
export function isValidFileName(name: string): boolean {
  if (name === LOG_FILE) return true;
  if (name.length > MAX_FILE_NAME_LENGTH || !name.startsWith(RESULTS_DIR)) return false;
  const segments = name.slice(RESULTS_DIR.length).split('/');
  return (
    segments.length <= MAX_SEGMENTS &&
    segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')
  );
}

export function assertFileName(name: string): void {
  if (!isValidFileName(name)) throw new RangeError(`not a test file name: ${JSON.stringify(name)}`);
}

export function assertTestId(testId: string): void {
  if (!TEST_ID.test(testId)) throw new RangeError(`not a test id: ${JSON.stringify(testId)}`);
}

/** Where a test's files live in the bucket: `tests/<testId>/`. */
export function testPrefix(testId: string): string {
  assertTestId(testId);
  return `tests/${testId}/`;
}

/** The object name of one file: `tests/<testId>/<name>`. */
export function objectName(testId: string, name: string): string {
  assertFileName(name);
  return testPrefix(testId) + name;
}

type Range = { start: number; end?: number } | undefined;

/** A negative or fractional offset is a programming error. */
export function assertRange(range: Range): void {
  for (const value of [range?.start, range?.end]) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new RangeError(`byte offsets are whole numbers from 0, got ${value}`);
    }
  }
}

/** [start, end) within a file of `size` bytes: end defaults to the size, both clamped to it. */
export function clampRange(size: number, range: Range): { start: number; end: number } {
  assertRange(range);
  const start = Math.min(range?.start ?? 0, size);
  return { start, end: Math.max(start, Math.min(range?.end ?? size, size)) };
}
