// The whole local cloud (DESIGN §8): stand-ins for Cloud Tasks, Compute Engine
// (with VMs as local processes), Cloud Scheduler, Cloud Storage and the GitHub API, plus the
// functions that exist, behind one port; Firestore is the real emulator.
// Used by `npm start` and by the integration tests.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  filesBucket,
  parseConfig,
  schedulerServiceAccount,
  type VmciConfig,
} from '../../shared/config';
import { ensureFirestoreEmulator, type RunningEmulator } from './firestore-emulator';
import { createComputeStandIn, type ComputeStandIn, type TimerVmOptions } from './compute';
import { presentFunctions, mountFunctions, type FunctionName } from './functions';
import { createGitHubStandIn, type GitHubStandIn } from './github';
import { serve, type LocalService } from './http';
import { createSchedulerStandIn, type SchedulerStandIn } from './scheduler';
import { createStorageStandIn, type StorageStandIn } from './storage';
import { createTasksStandIn, type TasksStandIn } from './tasks';
import {
  SWEEP_SCHEDULES as SHARED_SCHEDULES,
  SWEEP_TIME_ZONE,
} from '../../shared/sweeps/schedules';

export interface LocalCloudOptions {
  /** The configuration file (YAML or JSON); its publicUrl and githubApiUrl are pointed at this cloud. */
  configPath: string;
  /** Changes to the file's configuration (tests); `url` is this cloud's, known by then. */
  configure?: (config: VmciConfig, cloud: { url: string }) => VmciConfig;
  /** The webhook secret the functions check; default random. */
  webhookSecret?: string;
  /** Port of the one server; 0 picks a free one. Default 8080. */
  port?: number;
  /** Shortens back-offs, schedules and VM time limits (0.01: a minute lasts 0.6 s). Default 1. */
  timeScale?: number;
  /**
   * What a local VM does once RUNNING. Default true.
   * - `true`: runs its real startup script as a local bash process (DESIGN §8).
   * - `false`: nothing (it stays RUNNING until deleted).
   * - `'timer'`: spawns nothing; it POSTs `preparation`, `testing`, then
   *   `completed` with `{exitCode: 0, passed: 1, failed: 0, summary}` to its
   *   `vmci-callback-url` with its `vmci-token`, `timerVm.reportDelayMs` apart
   *   (default 50 ms × timeScale), each retried on network errors, 408, 429 and
   *   5xx, then powers off (TERMINATED). For benchmarks: the figures measure
   *   vm-ci, not the machine running hundreds of bash VMs.
   */
  bootVms?: boolean | 'timer';
  /** The timer VMs' report delay, retries and result (bootVms: 'timer'). */
  timerVm?: TimerVmOptions;
  /** Extra environment for the local VMs' processes. */
  vmEnv?: Record<string, string>;
  /** The token the local GitHub API accepts and the functions use; default random. */
  githubToken?: string;
  /**
   * How the functions authenticate to the local GitHub: its token (default),
   * or as a GitHub App with a key made at start, installed on every configured
   * repository's owner, which is what VMs need for artifacts and private repositories.
   */
  githubAuth?: 'token' | 'app';
  /** Functions to mount; default every one whose module exists. */
  functions?: readonly FunctionName[];
  /**
   * Where the functions' modules are: the source tree's functions/ (default),
   * or a folder of bundles that `npm run build` wrote (what is deployed).
   */
  functionsDir?: string;
  /** The Firestore project; default the config's project. */
  firestoreProject?: string;
  log?: (line: string) => void;
}

export interface LocalCloud {
  url: string;
  port: number;
  /** The configuration the functions run with (publicUrl and githubApiUrl point here). */
  config: VmciConfig;
  webhookSecret: string;
  /** The key of the VMs' progress tokens (VMCI_TOKEN_KEY). */
  tokenKey: string;
  githubToken: string;
  /** How the functions authenticate to the local GitHub. */
  githubAuth: 'token' | 'app';
  firestore: { host: string; projectId: string };
  /** The secret the local OIDC tokens of Tasks and Scheduler are signed with. */
  localTokenSecret: string;
  tasks: TasksStandIn;
  compute: ComputeStandIn;
  scheduler: SchedulerStandIn;
  /** Holds the tests' files, in the configured bucket (filesBucket). */
  storage: StorageStandIn;
  github: GitHubStandIn;
  functions: readonly FunctionName[];
  /**
   * The environment the functions were given (shared/runtime/env.ts reads it):
   * VMCI_CONFIG, the secrets, GitHub credentials, VMCI_LOCAL_ENDPOINT,
   * VMCI_LOCAL_TOKEN_SECRET, FIRESTORE_EMULATOR_HOST, VMCI_FIRESTORE_PROJECT.
   * `npm start` writes it to its state file for `vmci`.
   */
  env: Readonly<Record<string, string>>;
  /** Fresh stand-ins (no tasks, VMs, jobs' history or GitHub calls) on the same port. */
  reset(): Promise<void>;
  /** Stops everything it started: VM processes, timers, the server, an emulator it started. */
  close(): Promise<void>;
}

/** Sweep schedules, as deployed (shared/sweeps/schedules.ts; npm run deploy uses the same). */
export const SWEEP_SCHEDULES: Readonly<Partial<Record<FunctionName, string>>> = SHARED_SCHEDULES;

/** The local GitHub App: the stand-in takes any well-formed JWT, so the key is made here. */
const LOCAL_APP_ID = '1';
const LOCAL_INSTALLATION_ID = 100;
let appKey: string | undefined;
function localAppKey(): string {
  appKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  return appKey;
}

function readConfig(path: string): VmciConfig {
  const parsed = parseConfig(readFileSync(path, 'utf8'), path);
  if (!parsed.ok) throw new ConfigError(parsed.problems, path);
  return parsed.config;
}

/**
 * The environment the functions read at cold start (shared/runtime/env.ts).
 * Functions run in this process, so it is this process's environment.
 */
function functionEnv(values: Record<string, string>): void {
  Object.assign(process.env, values);
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const fileConfig = readConfig(options.configPath);
  const log = options.log ?? (() => {});
  const timeScale = options.timeScale ?? 1;
  const localTokenSecret = randomBytes(24).toString('base64url');
  const emulator: RunningEmulator = await ensureFirestoreEmulator({ log });
  const firestore = {
    host: emulator.host,
    projectId: options.firestoreProject ?? fileConfig.project,
  };
  const functions = options.functions ?? presentFunctions(options.functionsDir);

  // The server starts first: the scheduler's jobs and the tasks need its URL.
  const services: LocalService[] = [];
  const router: LocalService = {
    handle: async (req, res, url) => {
      for (const service of services) if (await service.handle(req, res, url)) return true;
      return false;
    },
    close: async () => {},
  };
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve([router], { port: options.port ?? 8080 });
  } catch (err) {
    await emulator.stop();
    throw err;
  }
  const url = server.url;
  let configured: VmciConfig;
  try {
    configured = options.configure ? options.configure(fileConfig, { url }) : fileConfig;
  } catch (err) {
    // Nothing may be left running: the server and an emulator started here.
    await server.close();
    await emulator.stop();
    throw err;
  }
  const config: VmciConfig = { ...configured, publicUrl: url, githubApiUrl: `${url}/github` };
  const configDir = mkdtempSync(join(tmpdir(), 'vmci-local-'));
  const configFile = join(configDir, 'vmci.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const webhookSecret = options.webhookSecret ?? randomBytes(16).toString('hex');
  const tokenKey = randomBytes(32).toString('hex');
  const githubToken = options.githubToken ?? `local-${randomBytes(12).toString('hex')}`;
  const githubAuth = options.githubAuth ?? 'token';

  const makeStandIns = () => {
    const tasks = createTasksStandIn({
      project: config.project,
      location: config.region,
      timeScale,
      localToken: localTokenSecret,
      log,
      queues: [
        {
          name: config.queue.name,
          retryConfig: {
            maxAttempts: config.queue.maxAttempts,
            minBackoff: `${config.queue.minBackoffSeconds}s`,
            maxBackoff: `${config.queue.maxBackoffSeconds}s`,
            maxDoublings: config.queue.maxDoublings,
          },
        },
      ],
    });
    const compute = createComputeStandIn({
      project: config.project,
      timeScale,
      boot: options.bootVms ?? true,
      ...(options.timerVm ? { timerVm: options.timerVm } : {}),
      log,
      env: options.vmEnv ?? {},
    });
    const scheduler = createSchedulerStandIn({
      project: config.project,
      location: config.region,
      timeScale,
      localToken: localTokenSecret,
      log,
      jobs: functions
        .filter((name) => SWEEP_SCHEDULES[name])
        .map((name) => ({
          name: `projects/${config.project}/locations/${config.region}/jobs/${name}`,
          schedule: SWEEP_SCHEDULES[name]!,
          timeZone: SWEEP_TIME_ZONE,
          httpTarget: {
            uri: `${url}/${name}`,
            httpMethod: 'POST',
            oidcToken: {
              serviceAccountEmail: schedulerServiceAccount(config),
              audience: `${url}/${name}`,
            },
          },
        })),
    });
    const github = createGitHubStandIn({ token: githubToken, log });
    if (githubAuth === 'app') {
      const owners = new Set(config.repositories.map((repo) => repo.split('/')[0]!.toLowerCase()));
      [...owners].forEach((owner, i) => github.seedInstallation(owner, LOCAL_INSTALLATION_ID + i));
    }
    // The bucket exists from the start; its lifecycle rule is kept, not applied.
    const storage = createStorageStandIn({
      project: config.project,
      buckets: [
        {
          name: filesBucket(config),
          lifecycle: {
            rule: [{ action: { type: 'Delete' }, condition: { age: config.files.retentionDays } }],
          },
        },
      ],
    });
    return { tasks, compute, scheduler, github, storage };
  };

  let standIns = makeStandIns();
  // One way to authenticate at a time (shared/config/secrets.ts refuses both).
  for (const name of [
    'GITHUB_TOKEN',
    'GITHUB_APP_ID',
    'GITHUB_APP_PRIVATE_KEY',
    'GITHUB_APP_INSTALLATION_ID',
  ]) {
    delete process.env[name];
  }
  const env: Record<string, string> = {
    ...(githubAuth === 'app'
      ? { GITHUB_APP_ID: LOCAL_APP_ID, GITHUB_APP_PRIVATE_KEY: localAppKey() }
      : { GITHUB_TOKEN: githubToken }),
    VMCI_CONFIG: configFile,
    GITHUB_WEBHOOK_SECRET: webhookSecret,
    VMCI_TOKEN_KEY: tokenKey,
    VMCI_LOCAL_ENDPOINT: `127.0.0.1:${server.port}`,
    VMCI_LOCAL_TOKEN_SECRET: localTokenSecret,
    FIRESTORE_EMULATOR_HOST: firestore.host,
    VMCI_FIRESTORE_PROJECT: firestore.projectId,
  };
  functionEnv(env);
  const closeStandIns = () =>
    Promise.all([
      standIns.tasks.close(),
      standIns.compute.close(),
      standIns.scheduler.close(),
      standIns.github.close(),
      standIns.storage.close(),
    ]);
  const closeAll = async () => {
    await closeStandIns();
    await server.close();
    await emulator.stop();
    rmSync(configDir, { recursive: true, force: true });
  };
  let mounted: LocalService[];
  try {
    mounted = functions.length ? [mountFunctions(functions, options.functionsDir)] : [];
  } catch (err) {
    // A function that fails its cold start (bad config, a module that cannot
    // load) must not leave the emulator, the VMs or the server running.
    await closeAll();
    throw err;
  }
  const place = () => {
    services.length = 0;
    services.push(
      standIns.tasks,
      standIns.compute,
      standIns.scheduler,
      standIns.github,
      standIns.storage,
      ...mounted,
    );
  };
  place();

  const cloud: LocalCloud = {
    url,
    port: server.port,
    config,
    webhookSecret,
    tokenKey,
    githubToken,
    githubAuth,
    firestore,
    localTokenSecret,
    get tasks() {
      return standIns.tasks;
    },
    get compute() {
      return standIns.compute;
    },
    get scheduler() {
      return standIns.scheduler;
    },
    get github() {
      return standIns.github;
    },
    get storage() {
      return standIns.storage;
    },
    functions,
    env: Object.freeze({ ...env }),
    async reset() {
      await closeStandIns();
      standIns = makeStandIns();
      place();
    },
    close: closeAll,
  };
  return cloud;
}
