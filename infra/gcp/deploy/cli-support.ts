// What the deploy and undeploy CLIs share: the clients, the y/N question and how they exit.
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

/** A failed run prints its lines to stderr; failed and declined exit 1. */
export function exitCodeOf(
  outcome: { result: 'failed'; lines: readonly string[] } | { result: string },
): number {
  if (outcome.result === 'failed' && 'lines' in outcome) {
    for (const line of outcome.lines) console.error(line);
    return 1;
  }
  return outcome.result === 'declined' ? 1 : 0;
}

/** Resolves once everything written to the stream so far is out (writes to a pipe are asynchronous). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * Runs a CLI's main and exits with its code once stdout and stderr are flushed
 * (a plan is longer than a pipe's buffer); an unexpected error is one line and exit 1.
 */
export function runCli(main: () => Promise<number>): void {
  const exit = async (code: number) => {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit(code);
  };
  main().then(
    (code) => exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      return exit(1);
    },
  );
}
