// A fake project for the deploy tests: the fake gcloud (first on PATH, state in
// a temp file) and the local Tasks and Scheduler stand-ins behind the real clients.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { CloudTasksClient } from '@google-cloud/tasks';
import { serve } from '../../infra/local/http';
import { createSchedulerStandIn, type SchedulerStandIn } from '../../infra/local/scheduler';
import { createTasksStandIn, type TasksStandIn } from '../../infra/local/tasks';
import { FUNCTION_NAMES } from '../../shared/config/urls';
import { localClientOptions } from '../../shared/gcp/client-options';
import { deploy, type DeployOutcome } from '../../infra/gcp/deploy/deploy';
import { spawnGcloud, type Gcloud } from '../../infra/gcp/deploy/gcloud';

export const EXAMPLE_CONFIG = join(__dirname, '..', '..', 'config', 'vmci.example.yaml');
export const PROJECT = 'my-ci-project';
export const PROJECT_NUMBER = '123456789012';
export const REGION = 'us-central1';
export const FAKE_GCLOUD_DIR = join(__dirname, 'fake-gcloud');

export interface FakeCall {
  args: string[];
  stdin?: string;
}

export interface FakeState {
  project: string;
  projectNumber: string;
  secrets?: Record<string, { versions: Array<{ n: number; state: string; value?: string }> }>;
  failures?: Array<{ match: string; stderr: string; times?: number }>;
  [key: string]: unknown;
}

export interface FakeProject {
  dir: string;
  gcloud: Gcloud;
  env: NodeJS.ProcessEnv;
  bundleRoot: string;
  tasks: TasksStandIn;
  scheduler: SchedulerStandIn;
  clients: { tasks: CloudTasksClient; scheduler: CloudSchedulerClient };
  endpoint: string;
  calls(): FakeCall[];
  clearCalls(): void;
  state(): FakeState;
  setState(change: (state: FakeState) => void): void;
  /** One deploy run of the example configuration (or configPath); output lines collected. */
  run(options?: {
    dryRun?: boolean;
    configPath?: string;
  }): Promise<{ outcome: DeployOutcome; lines: string[] }>;
  close(): Promise<void>;
}

export async function fakeProject(): Promise<FakeProject> {
  const dir = mkdtempSync(join(tmpdir(), 'vmci-deploy-'));
  const statePath = join(dir, 'state.json');
  const logPath = join(dir, 'calls.jsonl');
  writeFileSync(statePath, JSON.stringify({ project: PROJECT, projectNumber: PROJECT_NUMBER }));
  writeFileSync(logPath, '');
  const bundleRoot = join(dir, 'bundles');
  for (const fn of FUNCTION_NAMES) {
    mkdirSync(join(bundleRoot, fn), { recursive: true });
    writeFileSync(join(bundleRoot, fn, 'index.js'), `// ${fn}\n`);
  }
  const env = {
    ...process.env,
    PATH: `${FAKE_GCLOUD_DIR}:${process.env.PATH ?? ''}`,
    FAKE_GCLOUD_STATE: statePath,
    FAKE_GCLOUD_LOG: logPath,
  };
  const tasks = createTasksStandIn({ project: PROJECT, location: REGION });
  const scheduler = createSchedulerStandIn({ project: PROJECT, location: REGION });
  const server = await serve([tasks, scheduler]);
  const endpoint = { host: '127.0.0.1', port: server.port };
  const clients = {
    tasks: new CloudTasksClient({ ...localClientOptions(endpoint) }),
    scheduler: new CloudSchedulerClient({ ...localClientOptions(endpoint) }),
  };
  const gcloud = spawnGcloud({ env });
  const project: FakeProject = {
    dir,
    gcloud,
    env,
    bundleRoot,
    tasks,
    scheduler,
    clients,
    endpoint: `127.0.0.1:${server.port}`,
    calls: () =>
      readFileSync(logPath, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as FakeCall),
    clearCalls: () => writeFileSync(logPath, ''),
    state: () => JSON.parse(readFileSync(statePath, 'utf8')) as FakeState,
    setState: (change) => {
      const state = project.state();
      change(state);
      writeFileSync(statePath, JSON.stringify(state));
    },
    run: async (options = {}) => {
      const lines: string[] = [];
      const outcome = await deploy({
        configPath: options.configPath ?? EXAMPLE_CONFIG,
        bundleRoot,
        dryRun: options.dryRun ?? false,
        gcloud,
        clients,
        out: (line) => lines.push(line),
        confirm: async () => true,
      });
      return { outcome, lines };
    },
    close: async () => {
      await clients.tasks.close();
      await clients.scheduler.close();
      await server.close(); // closes the stand-ins too
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return project;
}

/** Stores a value the way a person does (printf … | gcloud secrets versions add … --data-file=-). */
export function addSecretValue(project: FakeProject, secret: string, value: string) {
  project.setState((state) => {
    const versions = (state.secrets ??= {})[secret]?.versions ?? [];
    state.secrets[secret] = {
      versions: [...versions, { n: versions.length + 1, state: 'ENABLED', value }],
    };
  });
}

const READ_VERBS = ['describe', 'list', 'get-iam-policy'];

/** gcloud calls that change something: not describe, list or get-iam-policy. */
export function changingCalls(calls: readonly FakeCall[]): FakeCall[] {
  return calls.filter((call) => !call.args.some((arg) => READ_VERBS.includes(arg)));
}
