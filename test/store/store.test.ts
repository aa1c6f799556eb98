// Runs the TestStore contract on the in-memory double and on the Firestore
// emulator. Each Firestore store gets collections of its own in this file's
// emulator project, so tests never see each other's documents.
import { createFirestoreStore } from '../../shared/store/firestore';
import { createMemoryStore } from '../../shared/store/memory';
import { defineStoreContractTests, type MakeStore } from '../contracts/store.contract';
import { createTestFirestore, prefixedCollections, type TestFirestore } from '../support/firestore';

let firestore: TestFirestore | undefined;
let storeCount = 0;
afterAll(() => firestore?.close());

const makeMemoryStore: MakeStore = async () => {
  const store = createMemoryStore();
  return { store, peer: () => store, cleanup: async () => {} };
};

const makeFirestoreStore: MakeStore = async () => {
  firestore ??= createTestFirestore('vmci-store');
  const { db } = firestore;
  const prefix = `s${++storeCount}`;
  const collections = prefixedCollections(prefix);
  return {
    store: createFirestoreStore({ db, collections }),
    peer: () => createFirestoreStore({ db, collections }),
    cleanup: async () => {},
  };
};

describe.each([
  { name: 'memory', make: makeMemoryStore },
  { name: 'firestore-emulator', make: makeFirestoreStore },
])('$name', ({ name, make }) => {
  defineStoreContractTests(name, make);
});
