// Runs a helper program (git, gcloud) as deploy does (infra/gcp/deploy/gcloud.ts):
// no shell, no prompt, its output returned and never printed (it may be a secret).
import { runProgram, type GcloudResult } from '../gcp/deploy/gcloud';

export type RunResult = GcloudResult;

export type Run = (
  command: string,
  args: readonly string[],
  env?: Record<string, string | undefined>,
) => Promise<RunResult>;

export const run: Run = (command, args, env) => runProgram(command, args, env ?? process.env);
