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
  /** The gcloud to run; default `gcloud` from PATH (vmci doctor's tests pass a fake one). */
  binary?: string;
  /** The environment gcloud runs in (its PATH decides which gcloud); default this process's. */
  env?: NodeJS.ProcessEnv;
  /** Called with each argv before it runs (the CLI's --verbose, tests). */
  onCall?: (args: readonly string[]) => void;
}

/** Runs gcloud, never with a prompt. */
export function spawnGcloud(options: SpawnGcloudOptions = {}): Gcloud {
  return (args) => {
    options.onCall?.(args);
    return runProgram(options.binary ?? 'gcloud', args, options.env ?? process.env);
  };
}

/**
 * Runs a program (gcloud, git) without a shell and without gcloud's prompts;
 * its output is returned, never printed (it may hold a secret).
 */
export function runProgram(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<GcloudResult> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], {
      env: { ...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
