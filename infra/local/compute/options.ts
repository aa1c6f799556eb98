// The Compute stand-in's options and their defaults.
import {
  resolveTimerVmOptions,
  type ResolvedTimerVmOptions,
  type TimerVmOptions,
} from './timer-vm';

export interface ComputeStandInOptions {
  /** Serve only this project (others answer 404); any project when unset. */
  project?: string;
  /** The project number the metadata server reports. Default 123456789012. */
  projectNumber?: string;
  /** Scales maxRunDuration and the default operation delay. Default 1. */
  timeScale?: number;
  /**
   * What a VM does once RUNNING: `true` (default) runs its startup-script as a
   * local process; `false` nothing; `'timer'` runs no process and reports
   * `preparation`, `testing`, `completed` to its `vmci-callback-url` on timers,
   * then powers off (timer-vm.ts; tuned by `timerVm`).
   */
  boot?: boolean | 'timer';
  /** The timer VMs' delays, retries and result (boot: 'timer'). */
  timerVm?: TimerVmOptions;
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

export type ResolvedOptions = Required<Omit<ComputeStandInOptions, 'project' | 'timerVm'>> & {
  project?: string;
  timerVm: ResolvedTimerVmOptions;
};

export function resolveOptions(options: ComputeStandInOptions): ResolvedOptions {
  const timeScale = options.timeScale ?? 1;
  return {
    ...(options.project ? { project: options.project } : {}),
    projectNumber: options.projectNumber ?? '123456789012',
    timeScale,
    boot: options.boot ?? true,
    timerVm: resolveTimerVmOptions(options.timerVm ?? {}, timeScale),
    operationDelayMs: options.operationDelayMs ?? 50 * timeScale,
    waitBudgetMs: options.waitBudgetMs ?? 1000,
    killGraceMs: options.killGraceMs ?? 2000,
    consoleLimitBytes: options.consoleLimitBytes ?? 256 * 1024,
    log: options.log ?? (() => {}),
    env: options.env ?? {},
  };
}
