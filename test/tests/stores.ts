// The stores the test-level suites run on: the in-memory double, and the
// Firestore adapter on the real emulator (collections of its own per test).
import { createFirestoreStore } from '../../shared/store/firestore';
import { createMemoryStore } from '../../shared/store/memory';
import type { MakeStore } from '../contracts/store/fixtures';
import { createTestFirestore, prefixedCollections, type TestFirestore } from '../support/firestore';

export interface StoreKind {
  name: string;
  make: MakeStore;
}

/** Call at a file's top level: the file's emulator project is removed after its tests. */
export function storeKinds(prefix: string): StoreKind[] {
  let firestore: TestFirestore | undefined;
  let count = 0;
  afterAll(() => firestore?.close());

  const memory: MakeStore = async () => {
    const store = createMemoryStore();
    return { store, peer: () => store, cleanup: async () => {} };
  };
  const emulator: MakeStore = async () => {
    firestore ??= createTestFirestore(prefix);
    const { db } = firestore;
    const collections = prefixedCollections(`c${++count}`);
    return {
      store: createFirestoreStore({ db, collections }),
      peer: () => createFirestoreStore({ db, collections }),
      cleanup: async () => {},
    };
  };
  return [
    { name: 'memory', make: memory },
    { name: 'firestore-emulator', make: emulator },
  ];
}

/** A logger that keeps its lines, parsed, for assertions. */
export function captureLog(): { lines: Record<string, unknown>[]; write: (line: string) => void } {
  const lines: Record<string, unknown>[] = [];
  return { lines, write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) };
}
