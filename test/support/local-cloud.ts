// Integration tests start the local cloud once per file, on a free port, with
// Firestore in a project of their own; state is fresh before each test.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud, type LocalCloudOptions } from '../../infra/local/cloud';
import { clearEmulatorProject } from '../../infra/local/firestore-emulator';

/** The tests' local configuration: config/vmci.local.yaml's stand-ins, with Linux and Windows. */
export const LOCAL_CONFIG_PATH = join(__dirname, '../fixtures/config/vmci.two-platforms.yaml');

export interface LocalCloudHandle {
  readonly cloud: LocalCloud;
}

export function useLocalCloud(options: Partial<LocalCloudOptions> = {}): LocalCloudHandle {
  let cloud: LocalCloud | undefined;
  beforeAll(async () => {
    cloud = await startLocalCloud({
      configPath: LOCAL_CONFIG_PATH,
      port: 0,
      timeScale: 0.01,
      bootVms: false,
      firestoreProject: `vmci-it-${randomBytes(4).toString('hex')}`,
      ...options,
    });
  });
  beforeEach(async () => {
    if (!cloud) return;
    await cloud.reset();
    await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId);
  });
  afterAll(async () => {
    if (!cloud) return;
    await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId).catch(() => {});
    await cloud.close();
  });
  return {
    get cloud() {
      if (!cloud) throw new Error('the local cloud is not started: use it inside a test');
      return cloud;
    },
  };
}
