// Where the operator CLI (`vmci`) runs, and how it talks to people. Shared by
// every command (and `vmci doctor`): the functions' environment and
// configuration, so the CLI builds its services exactly as the functions do.
import type { VmciConfig } from '../../shared/config';

export interface CliContext {
  mode: 'local' | 'gcp';
  /** The environment the functions' runtime reads (shared/runtime/env.ts loadRuntime). */
  env: Record<string, string | undefined>;
  configPath: string;
  config: VmciConfig;
  /** local: the local cloud's base URL */
  localUrl?: string;
  /** gcp: the gcloud binary to run (default 'gcloud'; tests pass the fake one) */
  gcloud: string;
  /** The operator: git config user.email, $USER, or the gcloud account. */
  who: string;
}

/** Where a command writes: `out` for results (stdout), `err` for progress and errors (stderr). */
export interface Output {
  out(line: string): void;
  err(line: string): void;
  /** The terminal's width, for tables (80 when not a terminal). */
  columns: number;
}
