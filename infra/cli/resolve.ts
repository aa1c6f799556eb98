// Which vm-ci the CLI acts on (CliContext): the local cloud of a running
// `npm start` (named by its state file, with the functions' environment), or a
// deployed project (the configuration file, Application Default Credentials).
import { ConfigError, loadConfig, type VmciConfig } from '../../shared/config';
import { findRunningCloud, readStateFile, stateFilePath } from '../local/demo/state-file';
import type { CliContext } from './context';
import { CliFailure, UsageError } from './errors';
import { run as defaultRun, type Run } from './run';

export interface ContextFlags {
  /** --local: the local cloud, or fail. */
  local?: boolean;
  /** --project: a deployed project (must be the configuration's). */
  project?: string;
  /** --config: the configuration file of a deployed project. */
  config?: string;
}

export interface ResolveOptions {
  env: Record<string, string | undefined>;
  run?: Run;
}

const NO_CLOUD = 'No local cloud found: start one with `npm start`, or pass --project';

/** Variables that point the functions' clients at a local cloud: never in GCP mode. */
const LOCAL_VARIABLES = [
  'VMCI_LOCAL_ENDPOINT',
  'VMCI_LOCAL_TOKEN_SECRET',
  'VMCI_FIRESTORE_PROJECT',
  'FIRESTORE_EMULATOR_HOST',
];

export async function resolveContext(
  flags: ContextFlags,
  options: ResolveOptions,
): Promise<CliContext> {
  const { env } = options;
  const run = options.run ?? defaultRun;
  if (flags.local && (flags.project !== undefined || flags.config !== undefined)) {
    throw new UsageError('--local talks to `npm start`: leave out --project and --config');
  }
  const gcpAsked = flags.project !== undefined || flags.config !== undefined;
  if (!gcpAsked) {
    const local = await localContext(env, run);
    if (local.ok) return local.context;
    if (flags.local || !env.VMCI_CONFIG) {
      throw new CliFailure(local.reason ? `${NO_CLOUD} (${local.reason})` : NO_CLOUD);
    }
  }
  return gcpContext(flags, env, run);
}

type LocalLookup = { ok: true; context: CliContext } | { ok: false; reason?: string };

async function localContext(env: ResolveOptions['env'], run: Run): Promise<LocalLookup> {
  const path = stateFilePath(env as NodeJS.ProcessEnv);
  const state = readStateFile(path);
  if (!state) return { ok: false };
  if (!state.env) {
    return {
      ok: false,
      reason: `the \`npm start\` of ${path} is older than vmci: restart it`,
    };
  }
  const configPath = state.env.VMCI_CONFIG ?? '';
  const config = readConfig({ VMCI_CONFIG: configPath }, 'the local cloud');
  const found = await findRunningCloud(path, config.repositories[0] ?? 'vmci/probe', 5_000);
  if (!found.found) return { ok: false, reason: found.reason };
  return {
    ok: true,
    context: {
      mode: 'local',
      env: { ...state.env },
      configPath,
      config,
      localUrl: state.url,
      gcloud: env.VMCI_GCLOUD || 'gcloud',
      who: await operator(env, run),
    },
  };
}

async function gcpContext(
  flags: ContextFlags,
  env: ResolveOptions['env'],
  run: Run,
): Promise<CliContext> {
  const configPath = flags.config ?? env.VMCI_CONFIG;
  if (!configPath) {
    throw new UsageError(
      'No configuration: pass --config <file> (or set VMCI_CONFIG) with --project',
    );
  }
  if (env.FIRESTORE_EMULATOR_HOST) {
    // The Firestore client reads it from the process: it would talk to an emulator.
    throw new UsageError(
      'FIRESTORE_EMULATOR_HOST is set: unset it to reach the project, or use --local for `npm start`',
    );
  }
  const config = readConfig({ VMCI_CONFIG: configPath }, configPath);
  if (flags.project !== undefined && flags.project !== config.project) {
    throw new UsageError(
      `--project ${flags.project} is not the project of ${configPath} (${config.project}): pass that project's --config`,
    );
  }
  const functionsEnv: Record<string, string | undefined> = { ...env, VMCI_CONFIG: configPath };
  for (const name of LOCAL_VARIABLES) delete functionsEnv[name];
  const gcloud = env.VMCI_GCLOUD || 'gcloud';
  return {
    mode: 'gcp',
    env: functionsEnv,
    configPath,
    config,
    gcloud,
    who: await operator(env, run, { gcloud, project: config.project }),
  };
}

function readConfig(env: Record<string, string>, source: string): VmciConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      const [first, ...more] = error.problems;
      const rest = more.length ? ` (and ${more.length} more)` : '';
      throw new CliFailure(
        `Invalid configuration in ${error.source === 'the environment' ? source : error.source}: ${first}${rest}`,
      );
    }
    throw error;
  }
}

/** Who acts: VMCI_OPERATOR, git's user.email, the gcloud account (GCP), $USER. */
async function operator(
  env: ResolveOptions['env'],
  run: Run,
  gcp?: { gcloud: string; project: string },
): Promise<string> {
  if (env.VMCI_OPERATOR?.trim()) return env.VMCI_OPERATOR.trim();
  const git = await run('git', ['config', 'user.email'], env);
  if (git.code === 0 && git.stdout.trim()) return git.stdout.trim();
  if (gcp) {
    const account = await run(gcp.gcloud, ['config', 'get-value', 'account'], env);
    if (account.code === 0 && account.stdout.trim()) return account.stdout.trim();
  }
  return env.USER?.trim() || env.LOGNAME?.trim() || 'an operator';
}
