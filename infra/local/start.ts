// `npm start`: the whole pipeline on one machine, with no Google account
// (DESIGN §8), the functions running as a GitHub App as deployed. Ctrl-C or
// SIGTERM stops everything it started.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../../shared/config';
import { buildFunctions } from '../build/build-functions';
import { startLocalCloud } from './cloud';
import { ARTIFACT_NAME, BUILD_WORKFLOW, withDemoBuild } from './demo/build';
import { removeStateFile, stateFilePath, writeStateFile } from './demo/state-file';

const DEFAULT_CONFIG = resolve(__dirname, '../../config/vmci.local.yaml');
/** Where `npm start -- --bundled` builds the bundles it serves (not .deploy: that is deploy's). */
const LOCAL_BUNDLES = resolve(__dirname, '../../.local/bundles');

async function main(): Promise<void> {
  const env = process.env;
  const configPath = env.VMCI_CONFIG ?? DEFAULT_CONFIG;
  // --bundled: serve the bundles `npm run build` makes, as deployed, instead of the source.
  // --build: the linux platform waits for build.yml and tests its artifact (as `npm run demo` plays them).
  const { values: args } = parseArgs({
    options: {
      bundled: { type: 'boolean', default: false },
      build: { type: 'boolean', default: false },
    },
  });
  if (args.build) {
    const parsed = parseConfig(readFileSync(configPath, 'utf8'), configPath);
    if (parsed.ok && !parsed.config.platforms.linux) {
      throw new Error(`--build builds the linux platform, and ${configPath} has none`);
    }
  }
  if (args.bundled) {
    console.log(`building the functions into ${LOCAL_BUNDLES}…`);
    await buildFunctions({ config: configPath, outDir: LOCAL_BUNDLES });
  }
  const generatedSecret = !env.GITHUB_WEBHOOK_SECRET;
  const webhookSecret = env.GITHUB_WEBHOOK_SECRET ?? randomBytes(16).toString('hex');

  const cloud = await startLocalCloud({
    configPath,
    ...(args.build ? { configure: (config) => withDemoBuild(config) } : {}),
    // With a key made at start: VMs get artifacts and private repositories only from an App.
    githubAuth: 'app',
    webhookSecret,
    port: Number(env.PORT ?? 8080),
    timeScale: Number(env.VMCI_LOCAL_TIME_SCALE ?? 1),
    // Another project keeps a run's documents apart (the fuzz suite uses one of its own).
    ...(env.VMCI_FIRESTORE_PROJECT ? { firestoreProject: env.VMCI_FIRESTORE_PROJECT } : {}),
    log: env.VMCI_LOCAL_VERBOSE ? (line) => console.error(line) : undefined,
    ...(args.bundled ? { functionsDir: LOCAL_BUNDLES } : {}),
  });

  // How `npm run demo` finds this cloud and its (maybe generated) secret, and
  // `vmci` the functions' environment (the file is its owner's only: 0600).
  const stateFile = stateFilePath();
  const forget = () => removeStateFile(stateFile);
  process.on('exit', forget);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    forget();
    console.log(`\n${signal}: stopping the local cloud…`);
    cloud.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const u = cloud.url;
  const config = cloud.config;
  const lines = [
    `vm-ci local cloud on ${u}  (config ${configPath}${args.bundled ? '; functions served from their bundles' : ''})`,
    '',
    `  functions      ${cloud.functions.length ? cloud.functions.map((f) => `${u}/${f}`).join('  ') : '(none yet)'}`,
    `  GitHub API     ${u}/github   statuses: ${u}/github/repos/{owner}/{repo}/commits/{sha}/statuses   (the functions are a GitHub App)`,
    `  Builds         ${
      args.build
        ? `linux waits for ${BUILD_WORKFLOW} and tests its artifact ${ARTIFACT_NAME}`
        : `none (\`npm start -- --build\`: linux waits for ${BUILD_WORKFLOW} and tests its artifact)`
    }   seed one: POST ${u}/github/_local/workflow-runs, POST ${u}/github/_local/artifacts`,
    `  Compute        ${u}/compute/v1/...   live VMs: ${u}/_local/compute/instances   faults: POST ${u}/_local/compute/faults   calls: ${u}/_local/compute/calls`,
    `  Cloud Tasks    ${u}/v2/projects/${config.project}/locations/${config.region}/queues/${config.queue.name}`,
    `  Scheduler      ${u}/v1/projects/${config.project}/locations/${config.region}/jobs   (sweeps on schedule; POST .../jobs/{name}:run runs one now)`,
    `  Firestore      ${cloud.firestore.host} (emulator, project ${cloud.firestore.projectId})`,
    '',
    generatedSecret
      ? `Webhook secret (generated; set GITHUB_WEBHOOK_SECRET to choose one): ${webhookSecret}`
      : 'Webhook secret: from GITHUB_WEBHOOK_SECRET',
    'Send a signed example webhook:',
    `  GITHUB_WEBHOOK_SECRET=${generatedSecret ? webhookSecret : '$GITHUB_WEBHOOK_SECRET'} npm run send-webhook -- push ${u}/webhook`,
    'Or watch a passing and a failing commit go through it (in another terminal):',
    '  npm run demo',
    '',
    `ready: ${u}`,
  ];
  writeStateFile(stateFile, { url: u, webhookSecret, pid: process.pid, env: { ...cloud.env } });
  console.log(lines.join('\n'));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
