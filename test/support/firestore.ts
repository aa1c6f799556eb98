// Each test file gets its own emulator project, so files running in parallel
// never see each other's documents.
import { randomBytes } from 'node:crypto';
import type { Firestore } from '@google-cloud/firestore';
import { emulatorFirestore } from '../../infra/local/emulator-client';
import { clearEmulatorProject } from '../../infra/local/firestore-emulator';
import { DEFAULT_COLLECTIONS, type StoreCollections } from '../../shared/store/firestore';

export interface TestFirestore {
  db: Firestore;
  projectId: string;
  clear(): Promise<void>;
  close(): Promise<void>;
}

export function emulatorHost(): string {
  const host = process.env.FIRESTORE_EMULATOR_HOST;
  if (!host) throw new Error('FIRESTORE_EMULATOR_HOST is not set: run the tests with `npm test`.');
  return host;
}

export function createTestFirestore(prefix = 'vmci-test'): TestFirestore {
  const host = emulatorHost();
  const projectId = `${prefix}-${randomBytes(4).toString('hex')}`;
  const db = emulatorFirestore({ host, projectId });
  return {
    db,
    projectId,
    clear: () => clearEmulatorProject(host, projectId),
    close: async () => {
      await clearEmulatorProject(host, projectId).catch(() => {});
      await db.terminate();
    },
  };
}

/**
 * Every collection the store knows, each under `prefix`: stores made with
 * different prefixes share nothing, whatever collections are added later.
 */
export function prefixedCollections(prefix: string): StoreCollections {
  return Object.fromEntries(
    Object.keys(DEFAULT_COLLECTIONS).map((name) => [name, `${prefix}-${name}`]),
  ) as unknown as StoreCollections;
}
