// The one way deploy reaches gcloud: argv in, {code, stdout, stderr} out.
// Failures are data; the caller decides. Secret values never pass through here.
import { spawn } from 'node:child_process';

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Gcloud = (args: readonly string[]) => Promise<GcloudResult>;

export interface SpawnGcloudOptions {
  /** The environment gcloud runs in (its PATH decides which gcloud); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Called with each argv before it runs (the CLI's --verbose, tests). */
  onCall?: (args: readonly string[]) => void;
}

/** Runs `gcloud` from PATH, never with a prompt. */
export function spawnGcloud(options: SpawnGcloudOptions = {}): Gcloud {
  const env = { ...(options.env ?? process.env), CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
  return (args) =>
    new Promise((resolve) => {
      options.onCall?.(args);
      const child = spawn('gcloud', [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (error) => resolve({ code: 127, stdout, stderr: String(error) }));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}

/** Whether a failed gcloud call says the thing it asked about does not exist. */
export function isNotFound(result: GcloudResult): boolean {
  return result.code !== 0 && /NOT_FOUND|not found|Cannot find|does not exist/i.test(result.stderr);
}
