// What every function reads at cold start: the configuration file, the secrets,
// and where the Google services are (the real ones, or the local cloud's).
// A bad file or a missing secret throws a ConfigError listing every problem,
// which stops the function before it serves anything (DESIGN §7).
import { Firestore } from '@google-cloud/firestore';
import { PassThroughClient } from 'google-auth-library';
import {
  loadConfig,
  requireSecrets,
  secretValues,
  type SecretName,
  type Secrets,
  type VmciConfig,
} from '../config';
import { localClientOptions, type LocalClientOptions } from '../gcp/client-options';
import { createLogger, type Logger } from '../log';

export interface Runtime<K extends SecretName = never> {
  config: VmciConfig;
  /** Only the secrets this function asked for (DESIGN §1: `status` gets none). */
  secrets: Pick<Secrets, K>;
  log: Logger;
  /** Options for the Google REST clients: the local cloud's endpoint when VMCI_LOCAL_ENDPOINT is set. */
  googleClientOptions(): LocalClientOptions | Record<string, never>;
  firestore(): Firestore;
  /** Set in local mode: the secret the local cloud's OIDC stand-in tokens are signed with. */
  localTokenSecret?: string;
}

export type Env = Readonly<Record<string, string | undefined>>;

/** host:port of the local cloud (`npm start`, tests); unset in production. */
export function localEndpoint(env: Env): { host: string; port: number } | undefined {
  const value = env.VMCI_LOCAL_ENDPOINT;
  if (!value) return undefined;
  const match = /^([^:]+):(\d+)$/.exec(value);
  if (!match)
    throw new Error(`VMCI_LOCAL_ENDPOINT must be host:port, got ${JSON.stringify(value)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

/** What a function reads at cold start; `needs` names the secrets it uses, and only those are read. */
export function loadRuntime<K extends SecretName = never>(
  service: string,
  needs: readonly K[],
  env: Env = process.env,
): Runtime<K> {
  const config = loadConfig(env);
  const secrets = needs.length > 0 ? requireSecrets(env, needs) : ({} as Pick<Secrets, K>);
  const log = createLogger({ service, secrets: secretValues(secrets) });
  const local = localEndpoint(env);
  let db: Firestore | undefined;
  return {
    config,
    secrets,
    log,
    googleClientOptions: () => (local ? localClientOptions(local) : {}),
    firestore: () =>
      (db ??= new Firestore({
        // Local mode may keep each test file's data in a project of its own.
        projectId: env.VMCI_FIRESTORE_PROJECT ?? config.project,
        ignoreUndefinedProperties: true,
        // On the emulator: no credentials, and no probe of the metadata server.
        ...(env.FIRESTORE_EMULATOR_HOST ? { authClient: new PassThroughClient() } : {}),
      })),
    ...(local && env.VMCI_LOCAL_TOKEN_SECRET
      ? { localTokenSecret: env.VMCI_LOCAL_TOKEN_SECRET }
      : {}),
  };
}
