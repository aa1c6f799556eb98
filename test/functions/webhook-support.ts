// The webhook through the whole local cloud: the real HTTP server and
// Functions Framework, the Firestore emulator, the real Cloud Tasks client
// against the Tasks stand-in, the GitHub stand-in. Payloads are the real
// examples of @octokit/webhooks-examples, cloned with only the fields a case
// needs changed, and signed with @octokit/webhooks' sign().
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { Webhooks } from '@octokit/webhooks';
import { PassThroughClient } from 'google-auth-library';
import type * as LocalCloudModule from '../../infra/local/cloud';
import type * as WarmStorageModule from '../files/warm-storage';
import type { LocalCloud, LocalCloudOptions } from '../../infra/local/cloud';
import type { FunctionName } from '../../infra/local/functions';
import { clearEmulatorProject } from '../../infra/local/firestore-emulator';
import { examplePayload, sendWebhook } from '../../infra/local/send-webhook';
import type { VmciConfig } from '../../shared/config';
import { taskId, testId, type TaskPurpose } from '../../shared/domain/naming';
import type { TestRecord } from '../../shared/domain/test';
import { createFirestoreStore } from '../../shared/store/firestore';
import type { TestStore } from '../../shared/store/port';
import { changed, type Change } from '../config/fixtures';
import { example, type Payload } from '../webhook/fixtures';
import { LOCAL_CONFIG_PATH } from '../support/local-cloud';
import { interceptLogLines } from '../../infra/local/log-lines';

/** The repository of the example payloads, listed in config/vmci.local.yaml. */
export const REPO = 'Codertocat/Hello-World';
export const PLATFORMS = ['linux', 'windows'] as const;

/** A distinct, stable 40-hex commit sha per label. */
export function shaOf(label: string): string {
  return createHash('sha1').update(`vmci-webhook-test/${label}`).digest('hex');
}

export interface WebhookCloud {
  readonly cloud: LocalCloud;
  /** The functions' Firestore project, for inspection. */
  readonly db: Firestore;
  readonly store: TestStore;
  /** The JSON log lines the functions wrote since the last reset. */
  logs(): string[];
}

export interface WebhookCloudOptions {
  /** The configuration file; default the two-platform test configuration. */
  configPath?: string;
  configure?: (config: VmciConfig, cloud: { url: string }) => VmciConfig;
  /** How the functions authenticate to the local GitHub (default its token). */
  githubAuth?: 'token' | 'app';
  /** Run each VM's startup script as a local process (default false). */
  bootVms?: boolean;
  /** Extra environment for the local VMs' processes. */
  vmEnv?: Record<string, string>;
  /** Fresh stand-ins and Firestore before each test (default), or only once before all. */
  fresh?: 'each' | 'once';
  /** The functions to mount; default the webhook and the status function. */
  functions?: readonly FunctionName[];
  /**
   * 'paused' (default): tasks stay where the webhook put them; 'running': the
   * Tasks stand-in dispatches them (to runTest, when it is mounted).
   */
  queue?: 'paused' | 'running';
}

/**
 * A local cloud for one describe block, by default with the Tasks queue paused
 * so that tasks stay where the webhook put them, and only the webhook and the
 * status function mounted.
 *
 * Unlike useLocalCloud (one cloud per file), several of these can live in one
 * file with different configurations: the functions read their configuration
 * when their module is first imported, and Jest caches modules per file, so a
 * second cloud would serve the first one's webhook (its secret, its queue, its
 * URLs). Each cloud is therefore started in a module registry of its own.
 */
export function useWebhookCloud(options: WebhookCloudOptions = {}): WebhookCloud {
  let cloud: LocalCloud | undefined;
  let db: Firestore | undefined;
  let store: TestStore | undefined;
  const lines: string[] = [];
  let restoreStdout: (() => void) | undefined;

  const clean = async () => {
    if (!cloud) return;
    await cloud.reset();
    if (options.queue !== 'running') cloud.tasks.pause();
    await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId);
    lines.length = 0;
  };

  beforeAll(async () => {
    restoreStdout = interceptLogLines((line) => lines.push(line));
    const cloudOptions: LocalCloudOptions = {
      configPath: options.configPath ?? LOCAL_CONFIG_PATH,
      port: 0,
      timeScale: 0.01,
      bootVms: options.bootVms ?? false,
      ...(options.vmEnv ? { vmEnv: options.vmEnv } : {}),
      // By default only what the webhook tests call: no runTest to take the tasks, no sweeps.
      functions: options.functions ?? ['webhook', 'status'],
      firestoreProject: `vmci-it-${randomBytes(4).toString('hex')}`,
      ...(options.configure ? { configure: options.configure } : {}),
      ...(options.githubAuth ? { githubAuth: options.githubAuth } : {}),
    };
    await jest.isolateModulesAsync(async () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy, in this registry
      const { startLocalCloud } = require('../../infra/local/cloud') as typeof LocalCloudModule;
      cloud = await startLocalCloud(cloudOptions);
      // The storage client's lazy requires must happen in this registry (see the file).
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- in this registry
      const { warmStorageClient } = require('../files/warm-storage') as typeof WarmStorageModule;
      await warmStorageClient(cloud);
    });
    const started = cloud!;
    db = new Firestore({
      projectId: started.firestore.projectId,
      host: started.firestore.host,
      ssl: false,
      ignoreUndefinedProperties: true,
      authClient: new PassThroughClient(),
    });
    store = createFirestoreStore({ db });
    if (options.fresh === 'once') await clean();
  });
  beforeEach(async () => {
    if (options.fresh !== 'once') await clean();
  });
  afterAll(async () => {
    if (cloud) {
      await clearEmulatorProject(cloud.firestore.host, cloud.firestore.projectId).catch(() => {});
      await cloud.close();
    }
    await db?.terminate();
    restoreStdout?.();
  });

  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the local cloud is not started: use it in a test');
    return value;
  };
  return {
    get cloud() {
      return started(cloud);
    },
    get db() {
      return started(db);
    },
    get store() {
      return started(store);
    },
    logs: () => [...lines],
  };
}

// --- payloads --------------------------------------------------------------------

/** The push example that pushes branch master, with `after` set to `sha`. */
export function pushPayload(sha: string, ...changes: readonly Change[]): Payload {
  const { payload } = examplePayload('push');
  expect(payload).toMatchObject({ ref: 'refs/heads/master', deleted: false });
  return changed(payload, ['after', sha], ...changes);
}

export interface PullRequestOptions {
  association?: string;
  login?: string;
  labels?: string[];
  /** The label just added (labeled). */
  label?: string;
  /** Who sent the event: login, and type (default the example's: Codertocat, User). */
  sender?: string;
  senderType?: 'User' | 'Bot';
  /**
   * pull_request.updated_at. Default: one second after the previous payload's,
   * so events built in order are in order, as GitHub's would be.
   */
  updatedAt?: string;
}

let lastUpdatedAt = Date.parse('2026-01-01T00:00:00Z');

/** A PR's updated_at one second after the previous one's (GitHub's format: whole seconds). */
export function nextUpdatedAt(): string {
  lastUpdatedAt += 1000;
  return new Date(lastUpdatedAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The pull_request examples' own number. */
export const PR_NUMBER = 2;

/** A pull_request example of `action` for head commit `sha`. */
export function pullRequestPayload(
  action: string,
  sha: string,
  options: PullRequestOptions = {},
): Payload {
  const changes: Change[] = [
    ['pull_request.head.sha', sha],
    ['pull_request.updated_at', options.updatedAt ?? nextUpdatedAt()],
  ];
  if (options.sender !== undefined) changes.push(['sender.login', options.sender]);
  if (options.senderType !== undefined) changes.push(['sender.type', options.senderType]);
  if (options.association !== undefined) {
    changes.push(['pull_request.author_association', options.association]);
  }
  if (options.login !== undefined) changes.push(['pull_request.user.login', options.login]);
  if (options.labels !== undefined) {
    const base = example('pull_request', 'labeled');
    const template = (base.label ?? {}) as Payload;
    changes.push(['pull_request.labels', options.labels.map((name) => ({ ...template, name }))]);
  }
  if (options.label !== undefined) {
    const template = (example('pull_request', 'labeled').label ?? {}) as Payload;
    changes.push(['label', { ...template, name: options.label }]);
  }
  return example('pull_request', action, ...changes);
}

/**
 * The completed workflow_run example of REPO, for commit `sha`, run by the
 * workflow at `path` (set on the run and on its workflow, as GitHub sends it now).
 */
export function workflowRunPayload(
  sha: string,
  options: { conclusion: string | null; path?: string; action?: string },
): Payload {
  const path = options.path ?? '.github/workflows/build.yml';
  const payload = example(
    'workflow_run',
    'completed',
    ['action', options.action ?? 'completed'],
    ['workflow_run.head_sha', sha],
    ['workflow_run.path', path],
    ['workflow_run.conclusion', options.conclusion],
    ['workflow.path', path],
  );
  expect((payload.repository as Payload).full_name).toBe(REPO);
  return payload;
}

// --- sending ---------------------------------------------------------------------------

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  delivery: string;
}

/** Signs and POSTs one webhook to the cloud's webhook function. */
export async function send(
  cloud: LocalCloud,
  event: string,
  payload: unknown,
  delivery?: string,
): Promise<Answer> {
  const result = await sendWebhook({
    url: `${cloud.url}/webhook`,
    secret: cloud.webhookSecret,
    event,
    payload,
    ...(delivery === undefined ? {} : { delivery }),
  });
  return { ...result, text: result.body, body: parseBody(result.body) };
}

export function parseBody(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** X-Hub-Signature-256 for `body`; sign() refuses an empty payload, so that one is HMAC'd here. */
export async function sign(secret: string, body: string): Promise<string> {
  if (body === '') return `sha256=${createHmac('sha256', secret).update('').digest('hex')}`;
  return new Webhooks({ secret }).sign(body);
}

// --- what the cloud holds --------------------------------------------------------------

export function idOf(
  sha: string,
  platform: string,
  trigger: 'push' | 'pull_request' = 'push',
  pr: number | null = null,
): string {
  return testId({ repo: REPO, sha, platform, trigger, pr, run: 1 });
}

export function idsOf(
  sha: string,
  trigger: 'push' | 'pull_request' = 'push',
  pr: number | null = null,
): string[] {
  return PLATFORMS.map((platform) => idOf(sha, platform, trigger, pr));
}

/** Every document of the project (path → last update time), per collection counts, tasks, GitHub calls. */
export interface CloudSnapshot {
  counts: Record<string, number>;
  documents: Record<string, string>;
  tasks: string[];
  githubCalls: number;
}

export async function snapshot(env: WebhookCloud): Promise<CloudSnapshot> {
  const counts: Record<string, number> = {};
  const documents: Record<string, string> = {};
  for (const collection of await env.db.listCollections()) {
    const docs = (await collection.get()).docs;
    counts[collection.id] = docs.length;
    for (const doc of docs) {
      documents[doc.ref.path] = `${doc.updateTime.seconds}.${doc.updateTime.nanoseconds}`;
    }
  }
  return {
    counts,
    documents,
    tasks: env.cloud.tasks
      .tasks()
      .map((task) => task.name)
      .sort(),
    githubCalls: env.cloud.github.calls().length,
  };
}

/** The tests of `ids`, in that order; fails when one is missing. */
export async function testsOf(env: WebhookCloud, ids: readonly string[]): Promise<TestRecord[]> {
  return Promise.all(
    ids.map(async (id) => {
      const test = await env.store.getTest(id);
      if (!test) throw new Error(`test ${id} is not in Firestore`);
      return test;
    }),
  );
}

/** The full name of a test's task of `generation` (the webhook creates generation 1). */
export function taskNameOf(
  cloud: LocalCloud,
  id: string,
  generation = 1,
  purpose: TaskPurpose = 'run',
): string {
  const queue = cloud.tasks.queuePath(cloud.config.queue.name);
  return `${queue}/tasks/${taskId(id, generation, purpose)}`;
}

export interface PostedStatus {
  state: string;
  context: string;
  description: string | null;
  target_url: string | null;
}

/** The commit statuses posted for `sha`, oldest first. */
export function statusesPosted(cloud: LocalCloud, sha: string): PostedStatus[] {
  return cloud.github
    .statuses(REPO, sha)
    .slice()
    .reverse()
    .map(({ state, context, description, target_url }) => ({
      state,
      context,
      description,
      target_url,
    }));
}

/** The newest status of each context for `sha`. */
export function latestStatuses(cloud: LocalCloud, sha: string): Record<string, PostedStatus> {
  const latest: Record<string, PostedStatus> = {};
  for (const status of statusesPosted(cloud, sha)) latest[status.context] = status;
  return latest;
}

export function statusPageOf(cloud: LocalCloud, id: string): string {
  return `${cloud.url}/status/tests/${id}`;
}
