// Secret Manager secrets: fixed names, one per variable (README "Deploy to
// Google Cloud"). Deploy checks names and enabled versions only; it never
// reads, writes or prints a value.
import type { FunctionName } from '../../../shared/config/urls';

export type GitHubAuthMode = 'token' | 'app';

export interface SecretSpec {
  /** The environment variable the function reads (shared/config/secrets.ts). */
  variable: string;
  /** The Secret Manager secret that fills it. */
  secret: string;
  /** Not needed to run: set only when it exists with an enabled version. */
  optional?: boolean;
}

const spec = (variable: string, secret: string, optional = false): SecretSpec =>
  optional ? { variable, secret, optional } : { variable, secret };

export const WEBHOOK_SECRET = spec('GITHUB_WEBHOOK_SECRET', 'vmci-github-webhook-secret');
export const TOKEN_KEY = spec('VMCI_TOKEN_KEY', 'vmci-token-key');
export const GITHUB_TOKEN = spec('GITHUB_TOKEN', 'vmci-github-token');
export const GITHUB_APP = [
  spec('GITHUB_APP_ID', 'vmci-github-app-id'),
  spec('GITHUB_APP_PRIVATE_KEY', 'vmci-github-app-private-key'),
  spec('GITHUB_APP_INSTALLATION_ID', 'vmci-github-app-installation-id', true),
] as const;
/** Its existence chooses GitHub App authentication; otherwise GITHUB_TOKEN. */
export const APP_MARKER_SECRET = GITHUB_APP[0].secret;

export function githubAuthSecrets(mode: GitHubAuthMode): SecretSpec[] {
  return mode === 'app' ? [...GITHUB_APP] : [GITHUB_TOKEN];
}

/** The secrets each function is given (README "Secrets"). */
export function secretsOf(fn: FunctionName, mode: GitHubAuthMode): SecretSpec[] {
  const github = githubAuthSecrets(mode);
  if (fn === 'status') return [];
  if (fn === 'webhook') return [WEBHOOK_SECRET, ...github];
  if (fn === 'runTest') return [TOKEN_KEY, ...github];
  return github;
}

/** Every secret any function needs, without repeats, in a stable order. */
export function allSecrets(mode: GitHubAuthMode): SecretSpec[] {
  return [WEBHOOK_SECRET, TOKEN_KEY, ...githubAuthSecrets(mode)];
}

/** What a person runs to store a value: never a value itself. */
export function addValueCommand(secret: string, project: string): string {
  return `printf %s "$VALUE" | gcloud secrets versions add ${secret} --data-file=- --project=${project}`;
}
