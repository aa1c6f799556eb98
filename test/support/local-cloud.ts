// Integration tests start the local cloud once per file, on a free port, with
// Firestore in a project of their own; state is fresh before each test.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalCloud, type LocalCloud, type LocalCloudOptions } from '../../infra/local/cloud';
import { clearEmulatorProject } from '../../infra/local/firestore-emulator';
import { parseConfig, type VmciConfig } from '../../shared/config';

export function localConfig(): VmciConfig {
  const file = join(__dirname, '../../config/vmci.local.yaml');
  const parsed = parseConfig(readFileSync(file, 'utf8'), file);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config;
}

export interface LocalCloudHandle {
  readonly cloud: LocalCloud;
}

export function useLocalCloud(options: Partial<LocalCloudOptions> = {}): LocalCloudHandle {
  let cloud: LocalCloud | undefined;
  beforeAll(async () => {
    cloud = await startLocalCloud({
      config: localConfig(),
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
