// Secrets come only from environment variables (Secret Manager fills them in
// production), are never defaulted, and never appear in a problem message.
import { z } from 'zod';

export type GitHubAuth =
  | { kind: 'token'; token: string }
  /** Without installationId, the installation is looked up per repository. */
  | { kind: 'app'; appId: string; privateKey: string; installationId?: number };

const APP_VARS = ['GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_INSTALLATION_ID'] as const;
// A numeric App id, or the App's client id, which GitHub also accepts as the JWT issuer.
const APP_ID = /^(\d+|Iv[0-9A-Za-z.]+)$/;
const PEM_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----/;

/** Unset, empty and blank all mean "not set"; Secret Manager values often end in a newline. */
const envValue = z
  .string()
  .optional()
  .transform((value) => value?.trim() || undefined);

const envSchema = z.object({
  GITHUB_WEBHOOK_SECRET: envValue,
  GITHUB_TOKEN: envValue,
  GITHUB_APP_ID: envValue,
  // Keys pasted into one-line env values carry literal "\n"s.
  GITHUB_APP_PRIVATE_KEY: envValue.transform((key) => key?.replace(/\\n/g, '\n')),
  GITHUB_APP_INSTALLATION_ID: envValue,
  VMCI_TOKEN_KEY: envValue,
});
type Env = z.output<typeof envSchema>;

type EnvIssue = { code: 'custom'; path: [string]; message: string };
const issue = (name: string, message: string): EnvIssue => ({
  code: 'custom',
  path: [name],
  message,
});

/** The GitHub App variables' problems; empty when they are usable. */
function appIssues(env: Env): EnvIssue[] {
  const issues: EnvIssue[] = [];
  const add = (name: string, message: string) => issues.push(issue(name, message));
  const required = 'required with the other GitHub App variables';
  const { GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: privateKey } = env;
  const installationId = env.GITHUB_APP_INSTALLATION_ID;
  if (appId === undefined) add('GITHUB_APP_ID', required);
  else if (!APP_ID.test(appId)) add('GITHUB_APP_ID', 'expected the App id or client id');
  if (privateKey === undefined) add('GITHUB_APP_PRIVATE_KEY', required);
  else if (!PEM_KEY.test(privateKey)) add('GITHUB_APP_PRIVATE_KEY', 'expected a PEM private key');
  if (installationId !== undefined && !/^\d+$/.test(installationId)) {
    add('GITHUB_APP_INSTALLATION_ID', 'expected a number');
  }
  return issues;
}

/** Exactly one way to authenticate to GitHub: a token, or a GitHub App. */
function readAuth(env: Env): GitHubAuth | EnvIssue[] {
  const { GITHUB_TOKEN: token, GITHUB_APP_ID: appId, GITHUB_APP_PRIVATE_KEY: privateKey } = env;
  const installationId = env.GITHUB_APP_INSTALLATION_ID;
  const appVars = APP_VARS.filter((name) => env[name] !== undefined);
  if (token !== undefined && appVars.length > 0) {
    const both = `set either GITHUB_TOKEN or the GitHub App variables (${appVars.join(', ')})`;
    return [issue('GITHUB_TOKEN', `${both}, not both`)];
  }
  if (token !== undefined) {
    return /\s/.test(token)
      ? [issue('GITHUB_TOKEN', 'must not contain whitespace')]
      : { kind: 'token', token };
  }
  if (appVars.length === 0) {
    const ways = 'set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY for a GitHub App';
    return [issue('GITHUB_TOKEN', `no GitHub authentication: ${ways}`)];
  }
  const issues = appIssues(env);
  if (issues.length > 0 || appId === undefined || privateKey === undefined) return issues;
  return installationId === undefined
    ? { kind: 'app', appId, privateKey }
    : { kind: 'app', appId, privateKey, installationId: Number(installationId) };
}

/** Every secret vm-ci knows; each function asks only for those it uses. */
export interface Secrets {
  /** GITHUB_WEBHOOK_SECRET: checks X-Hub-Signature-256 (webhook). */
  webhookSecret: string;
  /** GITHUB_TOKEN or the GitHub App: posts statuses and asks GitHub. */
  github: GitHubAuth;
  /** VMCI_TOKEN_KEY: derives each VM's progress token (runTest). */
  tokenKey: string;
}

export type SecretName = keyof Secrets;
export const ALL_SECRETS: readonly SecretName[] = ['webhookSecret', 'github', 'tokenKey'];

/** A token key shorter than this is refused: it is the only thing a VM token rests on. */
export const MIN_TOKEN_KEY_LENGTH = 32;

/** The schema of the secrets `needs` names; variables of the others are not read. */
export function secretsSchemaFor<K extends SecretName>(needs: readonly K[]) {
  const need = (name: SecretName) => (needs as readonly SecretName[]).includes(name);
  return envSchema.transform((env, ctx) => {
    const out: Partial<Secrets> = {};
    let failed = false;
    const fail = (name: string, message: string) => {
      ctx.addIssue(issue(name, message));
      failed = true;
    };
    if (need('webhookSecret')) {
      if (env.GITHUB_WEBHOOK_SECRET === undefined) {
        fail('GITHUB_WEBHOOK_SECRET', 'required: the secret of the GitHub webhook');
      } else out.webhookSecret = env.GITHUB_WEBHOOK_SECRET;
    }
    if (need('github')) {
      const github = readAuth(env);
      if (!Array.isArray(github)) out.github = github;
      else for (const problem of github) fail(problem.path[0], problem.message);
    }
    if (need('tokenKey')) {
      const key = env.VMCI_TOKEN_KEY;
      const make = 'for example the output of `openssl rand -hex 32`';
      if (key === undefined) {
        fail('VMCI_TOKEN_KEY', `required: the key of the VMs' tokens, ${make}`);
      } else if (key.length < MIN_TOKEN_KEY_LENGTH) {
        fail('VMCI_TOKEN_KEY', `too short: at least ${MIN_TOKEN_KEY_LENGTH} characters, ${make}`);
      } else out.tokenKey = key;
    }
    return failed ? z.NEVER : (out as Pick<Secrets, K>);
  });
}

export const secretsSchema = secretsSchemaFor(ALL_SECRETS);

const isKeyBodyLine = (line: string) => line.length >= 16 && !line.startsWith('-----');

/**
 * Every secret string, for the logger to redact. A private key is also listed
 * line by line, so that a log quoting part of it is redacted too.
 */
export function secretValues(secrets: Partial<Secrets>): string[] {
  const { github } = secrets;
  const values =
    github === undefined
      ? []
      : github.kind === 'token'
        ? [github.token]
        : [
            github.privateKey,
            ...github.privateKey
              .split('\n')
              .map((line) => line.trim())
              .filter(isKeyBodyLine),
          ];
  const own = [secrets.webhookSecret, secrets.tokenKey].filter((v): v is string => v !== undefined);
  return [...new Set([...own, ...values])];
}
