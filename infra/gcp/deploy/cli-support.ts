// What the deploy and undeploy CLIs share: the clients and the y/N question.
import { createInterface } from 'node:readline/promises';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { CloudTasksClient } from '@google-cloud/tasks';
import { localClientOptions } from '../../../shared/gcp/client-options';
import type { Clients } from './observe';

/** The real services, or the local stand-ins at VMCI_DEPLOY_LOCAL_ENDPOINT=host:port (tests). */
export function makeClients(env: NodeJS.ProcessEnv = process.env): Clients & {
  close(): Promise<void>;
} {
  const endpoint = env.VMCI_DEPLOY_LOCAL_ENDPOINT;
  const [host, port] = (endpoint ?? '').split(':');
  const options = endpoint
    ? { ...localClientOptions({ host: host || '127.0.0.1', port: Number(port) }) }
    : {};
  const tasks = new CloudTasksClient(options);
  const scheduler = new CloudSchedulerClient(options);
  return {
    tasks,
    scheduler,
    close: async () => {
      await Promise.all([tasks.close(), scheduler.close()]);
    },
  };
}

/** y/N on a terminal; without one, only --yes (checked by the caller) proceeds. */
export async function askYesNo(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    console.error('Not a terminal: rerun with --yes to apply this plan.');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}
