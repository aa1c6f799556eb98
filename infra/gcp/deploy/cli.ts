// npm run deploy -- --config <file> [--dry-run] [--yes] [--prebuilt] [--out <dir>]
// Builds the bundles (npm run build) unless --prebuilt, prints the plan, asks
// (y/N on a terminal; without one only --yes proceeds) and applies it.
// VMCI_DEPLOY_LOCAL_ENDPOINT=host:port sends the Tasks and Scheduler calls to
// the local stand-ins (tests); gcloud is whichever is first on PATH.
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFunctions } from '../../build/build-functions';
import { askYesNo, exitCodeOf, makeClients, runCli } from './cli-support';
import { deploy } from './deploy';
import { spawnGcloud } from './gcloud';

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
  const clients = makeClients();
  try {
    const outcome = await deploy({
      configPath: values.config,
      bundleRoot,
      dryRun: values['dry-run'],
      gcloud: spawnGcloud(),
      clients,
      out: (line) => console.log(line),
      confirm: async () => values.yes || askYesNo('Apply this plan?'),
    });
    return exitCodeOf(outcome);
  } finally {
    await clients.close();
  }
}

runCli(main);
