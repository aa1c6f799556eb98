// npm run undeploy -- --config <file> [--dry-run] [--yes] [--delete-data]
// Removes what npm run deploy made (./undeploy.ts); Firestore data, the files
// bucket and the secrets stay unless --delete-data.
import { parseArgs } from 'node:util';
import { askYesNo, exitCodeOf, makeClients, runCli } from './cli-support';
import { spawnGcloud } from './gcloud';
import { undeploy } from './undeploy';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'delete-data': { type: 'boolean', default: false },
    },
  });
  if (!values.config) {
    console.error('usage: npm run undeploy -- --config <file> [--dry-run] [--yes] [--delete-data]');
    return 2;
  }
  const clients = makeClients();
  try {
    const outcome = await undeploy({
      configPath: values.config,
      deleteData: values['delete-data'],
      dryRun: values['dry-run'],
      ports: { ...clients, gcloud: spawnGcloud() },
      out: (line) => console.log(line),
      confirm: async () => values.yes || askYesNo('Remove these?'),
    });
    return exitCodeOf(outcome);
  } finally {
    await clients.close();
  }
}

runCli(main);
