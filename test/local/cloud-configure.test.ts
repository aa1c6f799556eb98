// A configure() that throws leaves nothing of the local cloud running: its
// port is free again (and an emulator it started is stopped).
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startLocalCloud } from '../../infra/local/cloud';
import { freePort } from '../../infra/local/firestore-emulator';

const CONFIG = join(__dirname, '../../config/vmci.local.yaml');

it('rejects with the configure error, and the port is free again', async () => {
  const port = await freePort();

  await expect(
    startLocalCloud({
      configPath: CONFIG,
      port,
      bootVms: false,
      functions: [],
      configure: () => {
        throw new Error('no linux platform to build');
      },
    }),
  ).rejects.toThrow('no linux platform to build');

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
});
