// shared/runtime/queue.ts loads the Cloud Tasks v2 client by its file, not the
// package's index (cold start): without the index, and the very class the
// index exports (checked in a process of its own: Jest's registry is not
// Node's); and it makes the client with the REST transport.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { localClientOptions } from '../../shared/gcp/client-options';
import { tasksClientOptions } from '../../shared/runtime/queue';

const ROOT = join(__dirname, '../..');

it('the Tasks client class is loaded without the package index, and is the class it exports', () => {
  const script = `
    const { cloudTasksClientClass } = require('./shared/runtime/queue');
    const Client = cloudTasksClientClass();
    const loaded = Object.keys(require.cache).filter((p) => p.includes('/@google-cloud/tasks/'));
    const same = Client === require('@google-cloud/tasks').CloudTasksClient;
    process.stdout.write(JSON.stringify({ loaded, same }));`;
  const out = execFileSync(
    join(ROOT, 'node_modules/.bin/node'),
    ['-r', '@swc-node/register', '-e', script],
    { cwd: ROOT, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 60_000 },
  );
  const { loaded, same } = JSON.parse(out) as { loaded: string[]; same: boolean };
  expect(loaded.some((p) => p.endsWith('/build/cjs/src/v2/cloud_tasks_client.cjs'))).toBe(true);
  // Not the index, the other versions' clients, or the static protos module.
  expect(loaded.filter((p) => /index\.cjs$|v2beta|protos\.cjs$/.test(p))).toEqual([]);
  expect(same).toBe(true);
});

describe('tasksClientOptions', () => {
  it('asks for the REST transport in production, where the runtime gives no options', () => {
    expect(tasksClientOptions({ googleClientOptions: () => ({}) })).toEqual({ fallback: true });
  });

  it("keeps the local cloud's options, which are REST too", () => {
    const local = localClientOptions({ host: '127.0.0.1', port: 8080 });
    expect(tasksClientOptions({ googleClientOptions: () => local })).toEqual(local);
  });
});
