// Running `vmci` in-process against a local cloud of the tests: the cloud is
// found as `npm start`'s is, through a state file with the functions'
// environment (here one of the test's own, named by VMCI_LOCAL_STATE_FILE).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Output } from '../../infra/cli/context';
import { main } from '../../infra/cli/main';
import { writeStateFile } from '../../infra/local/demo/state-file';
import type { WebhookCloud } from '../functions/webhook-support';

export const OPERATOR = 'ops@example.com';

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
}

/** Runs main() with its output kept, in an environment of `env` only. */
export async function runCli(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  columns = 200,
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = {
    out: (line) => out.push(...line.split('\n')),
    err: (line) => err.push(...line.split('\n')),
    columns,
  };
  const code = await main(argv, output, { env });
  return { code, out, err };
}

export type Vmci = ((...argv: string[]) => Promise<CliRun>) & {
  /** The same, in a terminal `columns` wide. */
  columns(columns: number): (...argv: string[]) => Promise<CliRun>;
};

/** `vmci …` against the cloud of `h`, found through a state file written once it runs. */
export function useCli(h: WebhookCloud): Vmci {
  let dir: string | undefined;
  let file = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmci-cli-'));
    file = join(dir, 'local-cloud.json');
    const { cloud } = h;
    writeStateFile(file, {
      url: cloud.url,
      webhookSecret: cloud.webhookSecret,
      pid: process.pid,
      env: { ...cloud.env },
    });
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({
    VMCI_LOCAL_STATE_FILE: file,
    VMCI_OPERATOR: OPERATOR,
    PATH: process.env.PATH,
  });
  const at =
    (columns: number) =>
    (...argv: string[]) =>
      runCli(argv, env(), columns);
  return Object.assign(at(200), { columns: at });
}

/** Polls `probe` until it gives a value (60 s at most). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
