// The webhook must stay light (DESIGN §5: answer within GitHub's 10 s; cold
// starts count): its import graph must not hold the Compute client, whose
// protos alone take about a second to load.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

function loadedModules(entry: string): string[] {
  const script = `require(${JSON.stringify(entry)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const out = execFileSync(
    join(ROOT, 'node_modules/.bin/node'),
    ['-r', '@swc-node/register', '-e', script],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        VMCI_CONFIG: join(ROOT, 'config/vmci.local.yaml'),
        GITHUB_WEBHOOK_SECRET: 'import-graph-test',
        GITHUB_TOKEN: 'import-graph-test-token',
      },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return JSON.parse(out) as string[];
}

describe('the import graphs of the webhook, progress and sweepPending functions', () => {
  // progress asks runTest to delete VMs through the queue, so it stays light
  // too; sweepPending leaves looking for VMs to runTest, and runs every minute.
  it.each([
    ['webhook', '/functions/webhook/handler'],
    ['progress', '/functions/progress/handler'],
    ['sweepPending', '/shared/sweeps/sweep-pending'],
  ])('%s does not load @google-cloud/compute', (name, door) => {
    const modules = loadedModules(`./functions/${name}`);
    // The probe works: the function and its clients were loaded.
    expect(modules.some((m) => m.includes(door))).toBe(true);
    expect(modules.some((m) => m.includes('/@google-cloud/tasks/'))).toBe(true);
    expect(modules.filter((m) => m.includes('/@google-cloud/compute/'))).toEqual([]);
    // Only the Tasks v2 client: not the package's index with its 4 MB protos module (cold start).
    expect(modules.filter((m) => /\/@google-cloud\/tasks\/.*(protos\.cjs|v2beta)/.test(m))).toEqual(
      [],
    );
  });

  it('webhook loads neither Cloud Storage nor Cloud Scheduler', () => {
    const modules = loadedModules('./functions/webhook');
    expect(modules.filter((m) => /\/@google-cloud\/(storage|scheduler)\//.test(m))).toEqual([]);
  });

  it('the probe does see compute where it is loaded', () => {
    const modules = loadedModules('@google-cloud/compute');
    expect(modules.some((m) => m.includes('/@google-cloud/compute/'))).toBe(true);
  });
});
