// The in-memory TestFileStore, for fast domain tests. Bytes are copied in and
// out, so a caller that reuses its buffer cannot change what is stored.
import {
  assertFileName,
  assertRange,
  clampRange,
  testPrefix,
  type StoredFile,
  type TestFileStore,
} from './port';

interface Entry {
  body: Buffer;
  contentType: string;
  updated: Date;
}

export interface MemoryFileStore extends TestFileStore {
  /** Every stored file, by object name (`tests/<testId>/<name>`). */
  objectNames(): string[];
}

export function createMemoryFileStore(options: { now?: () => Date } = {}): MemoryFileStore {
  const now = options.now ?? (() => new Date());
  const objects = new Map<string, Entry>();
  const describe = (name: string, entry: Entry): StoredFile => ({
    name,
    size: entry.body.length,
    contentType: entry.contentType,
    updated: new Date(entry.updated),
  });

  return {
    async put(testId, name, body, contentType) {
      assertFileName(name);
      objects.set(testPrefix(testId) + name, {
        body: Buffer.from(body),
        contentType,
        updated: now(),
      });
    },
    async list(testId) {
      const prefix = testPrefix(testId);
      const files = [...objects]
        .filter(([key]) => key.startsWith(prefix))
        .map(([key, entry]) => describe(key.slice(prefix.length), entry))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return files;
    },
    async read(testId, name, range) {
      assertFileName(name);
      assertRange(range);
      const entry = objects.get(testPrefix(testId) + name);
      if (!entry) return null;
      const { start, end } = clampRange(entry.body.length, range);
      return { body: Buffer.from(entry.body.subarray(start, end)), file: describe(name, entry) };
    },
    objectNames: () => [...objects.keys()].sort(),
  };
}
