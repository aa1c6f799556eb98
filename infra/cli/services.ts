// The services a command uses, built exactly as the functions build theirs
// (shared/runtime: loadRuntime, coreServices, testRunQueue) from the context's
// environment, so a cancel or a re-run keeps the same guarantees as the webhook's.
// Two differences, both about where the CLI runs: the domain's JSON log lines go
// to stderr (only warnings, unless --verbose), and on a local cloud the
// Firestore client is pointed at its emulator explicitly (this process's own
// environment is not the functions').
import { Firestore } from '@google-cloud/firestore';
import { PassThroughClient } from 'google-auth-library';
import { loadSecrets, secretValues, type SecretName, type VmciConfig } from '../../shared/config';
import { createLogger, type Logger } from '../../shared/log';
import type { PublishDeps } from '../../shared/github/publish';
import type { TaskQueue } from '../../shared/queue/port';
import { loadRuntime, type Runtime } from '../../shared/runtime/env';
import { testRunQueue } from '../../shared/runtime/queue';
import { coreServices, type CoreServices } from '../../shared/runtime/services';
import { createFirestoreStore } from '../../shared/store/firestore';
import type { TestStore } from '../../shared/store/port';
import type { CliContext, Output } from './context';
import { CliFailure } from './errors';
import { githubSecretsFromGcloud } from './gcp-secrets';

export interface CliOptions {
  /** --verbose: every log line of the domain, as JSON, on stderr. */
  verbose?: boolean;
}

export interface StoreServices {
  config: VmciConfig;
  store: TestStore;
  log: Logger;
  now: () => Date;
  runtime: Runtime;
  close(): Promise<void>;
}

/** What ending a test needs (cancel): without GitHub credentials, statuses wait for the sweeps. */
export type EndServices = PublishDeps & { config: VmciConfig; queue: TaskQueue };
/** What creating and starting tests needs (rerun): everything the webhook has. */
export type FullServices = CoreServices & { queue: TaskQueue };

export type DomainServices<D> = { deps: D; github: boolean; close(): Promise<void> };

/** The store alone (tests, show, queue, maintenance): no secret is read. */
export function openStore(
  ctx: CliContext,
  output: Output,
  options: CliOptions = {},
): StoreServices {
  const runtime = cliRuntime(ctx, [], output, options);
  const store = createFirestoreStore({ db: runtime.firestore() });
  return {
    config: runtime.config,
    store,
    log: runtime.log,
    now: () => new Date(),
    runtime,
    close: () => runtime.firestore().terminate(),
  };
}

export async function openDomain(
  ctx: CliContext,
  output: Output,
  github: 'required',
  options?: CliOptions,
): Promise<DomainServices<FullServices>>;
export async function openDomain(
  ctx: CliContext,
  output: Output,
  github: 'optional',
  options?: CliOptions,
): Promise<DomainServices<EndServices>>;
export async function openDomain(
  ctx: CliContext,
  output: Output,
  github: 'required' | 'optional',
  options: CliOptions = {},
): Promise<DomainServices<FullServices | EndServices>> {
  const env = await withGitHubCredentials(ctx, output);
  const withEnv = { ...ctx, env };
  if (loadSecrets(env, ['github']).ok) {
    const runtime = cliRuntime(withEnv, ['github'], output, options);
    const deps: FullServices = { ...coreServices(runtime), queue: testRunQueue(runtime) };
    return { deps, github: true, close: () => runtime.firestore().terminate() };
  }
  if (github === 'required') {
    throw new CliFailure(
      `No GitHub credentials: set GITHUB_TOKEN or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY, or let gcloud read the vmci-github-* secrets of ${ctx.config.project}`,
    );
  }
  const runtime = cliRuntime(withEnv, [], output, options);
  const deps: EndServices = {
    config: runtime.config,
    store: createFirestoreStore({ db: runtime.firestore() }),
    log: runtime.log,
    now: () => new Date(),
    // Nothing is posted: the test's final status is left for the sweeps (DESIGN §3.7).
    statuses: {
      post: async () => ({ ok: false, retriable: true, detail: 'no GitHub credentials' }),
    },
    statusContext: runtime.config.statusContext,
    publicUrl: runtime.config.publicUrl,
    queue: testRunQueue(runtime),
  };
  return { deps, github: false, close: () => runtime.firestore().terminate() };
}

/** GCP mode: GitHub credentials from Secret Manager when the environment has none. */
async function withGitHubCredentials(ctx: CliContext, output: Output): Promise<CliContext['env']> {
  if (ctx.mode !== 'gcp' || loadSecrets(ctx.env, ['github']).ok) return ctx.env;
  const found = await githubSecretsFromGcloud(ctx);
  if (!found.ok) {
    output.err(`note: ${found.reason}`);
    return ctx.env;
  }
  return { ...ctx.env, ...found.env };
}

function cliRuntime<K extends SecretName>(
  ctx: CliContext,
  needs: readonly K[],
  output: Output,
  options: CliOptions,
): Runtime<K> {
  const runtime = loadRuntime('cli', needs, ctx.env);
  const log = createLogger({
    service: 'vmci',
    secrets: secretValues(runtime.secrets),
    write: (line) => logLine(line, output, options),
  });
  const emulator = ctx.mode === 'local' ? ctx.env.FIRESTORE_EMULATOR_HOST : undefined;
  let db: Firestore | undefined;
  const firestore = emulator
    ? () =>
        (db ??= new Firestore({
          projectId: ctx.env.VMCI_FIRESTORE_PROJECT ?? runtime.config.project,
          host: emulator,
          ssl: false,
          ignoreUndefinedProperties: true,
          authClient: new PassThroughClient(),
        }))
    : runtime.firestore;
  return { ...runtime, log, firestore };
}

/** A domain log line on stderr: all of them as JSON with --verbose, else warnings as one line. */
function logLine(line: string, output: Output, options: CliOptions): void {
  if (options.verbose) {
    output.err(line);
    return;
  }
  let entry: { severity?: string; message?: string; 'logging.googleapis.com/labels'?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return;
  }
  if (entry.severity !== 'WARNING' && entry.severity !== 'ERROR' && entry.severity !== 'CRITICAL') {
    return;
  }
  const labels = (entry['logging.googleapis.com/labels'] ?? {}) as Record<string, string>;
  const about = labels.testId ? ` (${labels.testId})` : '';
  output.err(`warning: ${entry.message ?? 'something went wrong'}${about}`);
}
