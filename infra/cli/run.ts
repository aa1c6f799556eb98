// Runs a helper program (git, gcloud) without a shell and without a prompt;
// its output is returned, never printed (it may be a secret).
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type Run = (
  command: string,
  args: readonly string[],
  env?: Record<string, string | undefined>,
) => Promise<RunResult>;

export const run: Run = (command, args, env) =>
  new Promise((resolve) => {
    const child = spawn(command, [...args], {
      env: { ...(env ?? process.env), CLOUDSDK_CORE_DISABLE_PROMPTS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => resolve({ code: 127, stdout, stderr: String(error) }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
