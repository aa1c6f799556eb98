// GitHub credentials for the CLI on a deployed project: the secrets deploy
// made (infra/gcp/deploy/secrets.ts), read with `gcloud secrets versions access`.
// A value goes into the environment handed to the runtime, never to output.
import { GITHUB_APP, GITHUB_TOKEN } from '../gcp/deploy/secrets';
import type { CliContext } from './context';
import { run as defaultRun, type Run } from './run';

export type GitHubSecretsResult =
  { ok: true; env: Record<string, string> } | { ok: false; reason: string };

export async function githubSecretsFromGcloud(
  ctx: Pick<CliContext, 'gcloud' | 'config' | 'env'>,
  run: Run = defaultRun,
): Promise<GitHubSecretsResult> {
  const project = ctx.config.project;
  const access = async (secret: string) => {
    const result = await run(
      ctx.gcloud,
      ['secrets', 'versions', 'access', 'latest', `--secret=${secret}`, `--project=${project}`],
      ctx.env,
    );
    return result.code === 0 ? result.stdout : undefined;
  };
  const env: Record<string, string> = {};
  // The App id's secret exists only for an App (deploy's marker); else a token.
  const appId = await access(GITHUB_APP[0].secret);
  if (appId !== undefined) {
    const key = await access(GITHUB_APP[1].secret);
    if (key === undefined) {
      return { ok: false, reason: `could not read secret ${GITHUB_APP[1].secret} of ${project}` };
    }
    env[GITHUB_APP[0].variable] = appId;
    env[GITHUB_APP[1].variable] = key;
    const installation = await access(GITHUB_APP[2].secret);
    if (installation !== undefined) env[GITHUB_APP[2].variable] = installation;
    return { ok: true, env };
  }
  const token = await access(GITHUB_TOKEN.secret);
  if (token === undefined) {
    return {
      ok: false,
      reason: `no GitHub credentials: gcloud could not read ${GITHUB_APP[0].secret} or ${GITHUB_TOKEN.secret} of ${project}`,
    };
  }
  env[GITHUB_TOKEN.variable] = token;
  return { ok: true, env };
}
