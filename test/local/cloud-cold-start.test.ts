// A function that fails its cold start (here: a configuration the functions
// refuse) makes startLocalCloud reject, and stops what it had started: the
// port is free again. A file of its own: a function's module is loaded (and so
// cold-started) once per file.
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startLocalCloud } from '../../infra/local/cloud';
import { freePort } from '../../infra/local/firestore-emulator';
import { LOCAL_CONFIG_PATH } from '../support/local-cloud';

function listens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

it('a function failing its cold start leaves no server behind', async () => {
  const port = await freePort();
  const started = startLocalCloud({
    configPath: LOCAL_CONFIG_PATH,
    port,
    bootVms: false,
    functions: ['webhook'],
    firestoreProject: `vmci-it-${randomBytes(4).toString('hex')}`,
    configure: (config) => ({ ...config, queue: { ...config.queue, maxAttempts: -1 } }),
  });
  await expect(started).rejects.toThrow(/maxAttempts/);
  expect(await listens(port)).toBe(true);
});
