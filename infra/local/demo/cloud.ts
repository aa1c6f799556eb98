// Which local cloud the demo uses: a running `npm start` (found through its state
// file), else one it starts in this process and closes at the end.
import { createServer } from 'node:net';
import type { LocalCloud } from '../cloud';
import { clearEmulatorProject } from '../firestore-emulator';
import { findRunningCloud } from './state-file';

export interface DemoCloud {
  url: string;
  webhookSecret: string;
  /** True when the demo started it (and so closes it). */
  own: boolean;
  close(): Promise<void>;
}

type StartedCloud = Pick<LocalCloud, 'url' | 'webhookSecret' | 'firestore' | 'close'>;

export interface CloudChoice {
  cloud: DemoCloud;
  /** One line for people: which cloud, and why. */
  note: string;
}

export async function chooseCloud(options: {
  stateFile: string;
  repo: string;
  start: () => Promise<StartedCloud>;
}): Promise<CloudChoice> {
  const running = await findRunningCloud(options.stateFile, options.repo);
  if (running.found) {
    const { url, webhookSecret, pid } = running.state;
    return {
      cloud: { url, webhookSecret, own: false, close: async () => {} },
      note: `Using the running \`npm start\` at ${url} (pid ${pid})`,
    };
  }
  const started = await options.start();
  const close = async () => {
    await started.close();
    // An emulator the cloud did not start outlives it: drop the demo's documents there.
    const { host, projectId } = started.firestore;
    await clearEmulatorProject(host, projectId).catch(() => {});
  };
  return {
    cloud: { url: started.url, webhookSecret: started.webhookSecret, own: true, close },
    note: `Started a local cloud in this process at ${started.url} (${running.reason}); it stops when the demo ends`,
  };
}

/** PORT when set; else 8080 when it is free; else any free port. */
export async function demoPort(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (env.PORT !== undefined && env.PORT !== '') return Number(env.PORT);
  return (await portFree(8080)) ? 8080 : 0;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Expected start failures as one line for people; undefined for anything else. */
export function startFailure(err: unknown, port: number): string | undefined {
  const e = err as NodeJS.ErrnoException & { problems?: unknown };
  if (e?.code === 'EADDRINUSE') {
    return `Port ${port} is in use: stop what uses it, or run with PORT=0 (any free port).`;
  }
  const message = err instanceof Error ? err.message : String(err);
  if (e?.name === 'ConfigError') return message; // its problems, one per line
  if (message.startsWith('Firestore emulator')) {
    return `${message.split('\n')[0]!.replace(/:$/, '')} (see README: "What you need")`;
  }
  return undefined;
}
