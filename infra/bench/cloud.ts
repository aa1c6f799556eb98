// A local cloud for one scenario: port 0, a Firestore project of its own, the
// functions' log lines kept off the table, closed at the end.
//
// The functions read their configuration (URL, secrets, queue) when their module
// is first loaded, so a second cloud in one process would be served by the first
// one's functions. Each cloud is therefore started with fresh copies of the
// project's modules: by default by dropping them from Node's require cache; under
// Jest (whose registry that does not reach) with jest.isolateModulesAsync, passed
// in through setModuleIsolation.
import { randomBytes } from 'node:crypto';
import { join, sep } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import type * as CloudModule from '../local/cloud';
import type { LocalCloud, LocalCloudOptions } from '../local/cloud';
import { emulatorFirestore } from '../local/emulator-client';
import { interceptLogLines } from '../local/log-lines';
import { clearEmulatorProject } from '../local/firestore-emulator';
import { createFirestoreStore } from '../../shared/store/firestore';
import type { TestStore } from '../../shared/store/port';
import { sleep } from './stats';

const ROOT = join(__dirname, '..', '..');
/** Two platforms (Linux and Windows): one push makes two tests. */
export const BENCH_CONFIG = join(ROOT, 'test', 'fixtures', 'config', 'vmci.two-platforms.yaml');

export type ModuleIsolation = <T>(load: () => Promise<T>) => Promise<T>;

const dropProjectModules: ModuleIsolation = async (load) => {
  const keep = [join(ROOT, 'node_modules') + sep, join(ROOT, 'infra', 'bench') + sep];
  for (const file of Object.keys(require.cache)) {
    if (file.startsWith(ROOT + sep) && !keep.some((dir) => file.startsWith(dir))) {
      delete require.cache[file];
    }
  }
  return load();
};

let isolation: ModuleIsolation = dropProjectModules;

/** How fresh module copies are made (Jest: with jest.isolateModulesAsync). */
export function setModuleIsolation(next: ModuleIsolation | undefined): void {
  isolation = next ?? dropProjectModules;
}

export interface BenchCloud {
  cloud: LocalCloud;
  db: Firestore;
  store: TestStore;
  close(): Promise<void>;
}

/** Starts a local cloud for a scenario (options as startLocalCloud's, with bench defaults). */
export async function startBenchCloud(
  options: Partial<LocalCloudOptions> = {},
): Promise<BenchCloud> {
  const silence = interceptLogLines(() => {});
  let cloud: LocalCloud;
  try {
    cloud = await isolation(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy, see above
      const { startLocalCloud } = require('../local/cloud') as typeof CloudModule;
      return startLocalCloud({
        configPath: BENCH_CONFIG,
        port: 0,
        bootVms: false,
        firestoreProject: `vmci-bench-${randomBytes(4).toString('hex')}`,
        log: () => {},
        ...options,
      });
    });
  } catch (err) {
    silence();
    throw err;
  }
  const db = emulatorFirestore(cloud.firestore);
  const store = createFirestoreStore({ db });
  return {
    cloud,
    db,
    store,
    async close() {
      try {
        // Handlers still running (runTest moving a test to running) finish first,
        // so that nothing writes into the project once it is cleared.
        cloud.tasks.pause();
        await Promise.race([cloud.tasks.whenIdle(), sleep(10_000)]);
        await cloud.close();
        await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId).catch(() => {});
        await db.terminate();
      } finally {
        silence();
      }
    },
  };
}
