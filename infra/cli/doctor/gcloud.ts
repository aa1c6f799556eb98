// gcloud as doctor runs it: the binary the context names (tests pass the fake
// one), never with a prompt, in this process's environment plus the context's.
import { spawn } from 'node:child_process';
import type { Gcloud } from '../../gcp/deploy/gcloud';

export function gcloudAt(binary: string, env: Record<string, string | undefined>): Gcloud {
  const childEnv = { ...process.env, ...env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };
  return (args) =>
    new Promise((resolve) => {
      const child = spawn(binary, [...args], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', (error) => resolve({ code: 127, stdout, stderr: String(error) }));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
}
