// npm run deploy -- --config <file> [--dry-run] [--yes] [--prebuilt]
// Builds the bundles (npm run build) unless --prebuilt, prints the plan, asks
// (y/N on a terminal; without one only --yes proceeds) and applies it.
// VMCI_DEPLOY_LOCAL_ENDPOINT=host:port sends the Tasks and Scheduler calls to
// the local stand-ins (tests); gcloud is whichever is first on PATH.
import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { parseArgs } from 'node:util';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { CloudTasksClient } from '@google-cloud/tasks';
import { localClientOptions } from '../../../shared/gcp/client-options';
import { buildFunctions } from '../../build/build-functions';
import { deploy } from './deploy';
import { spawnGcloud } from './gcloud';

function clientOptions() {
  const endpoint = process.env.VMCI_DEPLOY_LOCAL_ENDPOINT;
  if (!endpoint) return {};
  const [host, port] = endpoint.split(':');
  return { ...localClientOptions({ host: host ?? '127.0.0.1', port: Number(port) }) };
}

async function askYesNo(): Promise<boolean> {
  if (!process.stdin.isTTY) {
    console.error('Not a terminal: rerun with --yes to apply this plan.');
    return false;
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question('Apply this plan? [y/N] ');
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      prebuilt: { type: 'boolean', default: false },
      out: { type: 'string', default: '.deploy' },
    },
  });
  if (!values.config) {
    console.error('usage: npm run deploy -- --config <file> [--dry-run] [--yes] [--prebuilt]');
    return 2;
  }
  const bundleRoot = relative(process.cwd(), resolve(values.out)) || '.';
  if (!values.prebuilt) {
    await buildFunctions({ config: values.config, outDir: bundleRoot });
  }
  const options = clientOptions();
  const clients = {
    tasks: new CloudTasksClient(options),
    scheduler: new CloudSchedulerClient(options),
  };
  try {
    const outcome = await deploy({
      configPath: values.config,
      bundleRoot,
      dryRun: values['dry-run'],
      gcloud: spawnGcloud(),
      clients,
      out: (line) => console.log(line),
      confirm: async () => values.yes || askYesNo(),
    });
    if (outcome.result === 'failed') {
      for (const line of outcome.lines) console.error(line);
      return 1;
    }
    return outcome.result === 'declined' ? 1 : 0;
  } finally {
    await Promise.all([clients.tasks.close(), clients.scheduler.close()]);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
