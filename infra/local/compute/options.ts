// The Compute stand-in's options and their defaults.

export interface ComputeStandInOptions {
  /** Serve only this project (others answer 404); any project when unset. */
  project?: string;
  /** The project number the metadata server reports. Default 123456789012. */
  projectNumber?: string;
  /** Scales maxRunDuration and the default operation delay. Default 1. */
  timeScale?: number;
  /** Run each VM's startup-script as a local process. Default true. */
  boot?: boolean;
  /** How long an insert or delete operation takes. Default 50 ms × timeScale. */
  operationDelayMs?: number;
  /** How long operations.wait waits for DONE before answering anyway. Default 1000 ms. */
  waitBudgetMs?: number;
  /** Between SIGTERM and SIGKILL when a VM is stopped. Default 2000 ms. */
  killGraceMs?: number;
  /** Serial console kept per VM. Default 256 KiB. */
  consoleLimitBytes?: number;
  log?: (line: string) => void;
  /** Extra environment for VM processes. */
  env?: Record<string, string>;
}

export type ResolvedOptions = Required<Omit<ComputeStandInOptions, 'project'>> & {
  project?: string;
};

export function resolveOptions(options: ComputeStandInOptions): ResolvedOptions {
  const timeScale = options.timeScale ?? 1;
  return {
    ...(options.project ? { project: options.project } : {}),
    projectNumber: options.projectNumber ?? '123456789012',
    timeScale,
    boot: options.boot ?? true,
    operationDelayMs: options.operationDelayMs ?? 50 * timeScale,
    waitBudgetMs: options.waitBudgetMs ?? 1000,
    killGraceMs: options.killGraceMs ?? 2000,
    consoleLimitBytes: options.consoleLimitBytes ?? 256 * 1024,
    log: options.log ?? (() => {}),
    env: options.env ?? {},
  };
}
