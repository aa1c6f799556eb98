// The whole local cloud (DESIGN §8): stand-ins for Cloud Tasks, Compute Engine
// (with VMs as local processes), Cloud Scheduler and the GitHub API, plus the
// functions that exist, behind one port; Firestore is the real emulator.
// Used by `npm start` and by the integration tests.
import { randomBytes } from 'node:crypto';
import type { VmciConfig } from '../../shared/config';
import { ensureFirestoreEmulator, type RunningEmulator } from './firestore-emulator';
import { createComputeStandIn, type ComputeStandIn } from './compute';
import { presentFunctions, mountFunctions, type FunctionName } from './functions';
import { createGitHubStandIn, type GitHubStandIn } from './github';
import { serve, type LocalService } from './http';
import { createSchedulerStandIn, type SchedulerStandIn } from './scheduler';
import { createTasksStandIn, type TasksStandIn } from './tasks';

export interface LocalCloudOptions {
  config: VmciConfig;
  /** Port of the one server; 0 picks a free one. Default 8080. */
  port?: number;
  /** Shortens back-offs, schedules and VM time limits (0.01: a minute lasts 0.6 s). Default 1. */
  timeScale?: number;
  /** Run each VM's startup script as a local process. Default true. */
  bootVms?: boolean;
  /** Extra environment for the local VMs' processes. */
  vmEnv?: Record<string, string>;
  /** The token the local GitHub API accepts. */
  githubToken?: string;
  /** Functions to mount; default every one whose module exists. */
  functions?: readonly FunctionName[];
  /** The Firestore project; default the config's project. */
  firestoreProject?: string;
  log?: (line: string) => void;
}

export interface LocalCloud {
  url: string;
  port: number;
  config: VmciConfig;
  firestore: { host: string; projectId: string };
  /** The secret the local OIDC tokens of Tasks and Scheduler are signed with. */
  localTokenSecret: string;
  tasks: TasksStandIn;
  compute: ComputeStandIn;
  scheduler: SchedulerStandIn;
  github: GitHubStandIn;
  functions: readonly FunctionName[];
  /** Fresh stand-ins (no tasks, VMs, jobs' history or GitHub calls) on the same port. */
  reset(): Promise<void>;
  /** Stops everything it started: VM processes, timers, the server, an emulator it started. */
  close(): Promise<void>;
}

/** Sweep schedules, as deployed (infra/gcp). */
export const SWEEP_SCHEDULES: Readonly<Partial<Record<FunctionName, string>>> = {
  sweepPending: '* * * * *',
  sweepExpired: '*/5 * * * *',
};

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const { config } = options;
  const log = options.log ?? (() => {});
  const timeScale = options.timeScale ?? 1;
  const localTokenSecret = randomBytes(24).toString('base64url');
  const emulator: RunningEmulator = await ensureFirestoreEmulator({ log });
  const firestore = { host: emulator.host, projectId: options.firestoreProject ?? config.project };
  const functions = options.functions ?? presentFunctions();

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
          timeZone: 'Etc/UTC',
          httpTarget: {
            uri: `${url}/${name}`,
            httpMethod: 'POST',
            oidcToken: {
              serviceAccountEmail: config.queue.serviceAccount,
              audience: `${url}/${name}`,
            },
          },
        })),
    });
    const github = createGitHubStandIn({ token: options.githubToken, log });
    return { tasks, compute, scheduler, github };
  };

  let standIns = makeStandIns();
  const mounted = functions.length ? [mountFunctions(functions)] : [];
  const place = () => {
    services.length = 0;
    services.push(
      standIns.tasks,
      standIns.compute,
      standIns.scheduler,
      standIns.github,
      ...mounted,
    );
  };
  place();

  const closeStandIns = () =>
    Promise.all([
      standIns.tasks.close(),
      standIns.compute.close(),
      standIns.scheduler.close(),
      standIns.github.close(),
    ]);

  const cloud: LocalCloud = {
    url,
    port: server.port,
    config,
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
    functions,
    async reset() {
      await closeStandIns();
      standIns = makeStandIns();
      place();
    },
    async close() {
      await closeStandIns();
      await server.close();
      await emulator.stop();
    },
  };
  return cloud;
}
