// A local "VM": the instance's `startup-script` run as a child process in its
// own process group (so deleting the VM reaches everything it started), with
// stdout and stderr captured to a serial-console buffer.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, sleepUnref } from './timers';

/** The serial console: the last `limitBytes` of output, addressed by byte offset like getSerialPortOutput. */
export class ConsoleBuffer {
  private buffer = Buffer.alloc(0);
  private total = 0;

  constructor(private readonly limitBytes: number) {}

  append(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += bytes.length;
    this.buffer = Buffer.concat([this.buffer, bytes]);
    if (this.buffer.length > this.limitBytes) {
      this.buffer = this.buffer.subarray(this.buffer.length - this.limitBytes);
    }
  }

  /** From byte `start` on (clamped to what is still kept), as the API pages it. */
  read(start = 0): { contents: string; start: number; next: number } {
    const first = this.total - this.buffer.length;
    const from = Math.min(Math.max(start, first), this.total);
    return {
      contents: this.buffer.subarray(from - first).toString('utf8'),
      start: from,
      next: this.total,
    };
  }

  text(): string {
    return this.buffer.toString('utf8');
  }
}

/** Pids of the group's processes that are still running (zombies count as gone). */
export function liveGroupMembers(pgid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    // No /proc (not Linux): ask the kernel whether the group has any member.
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const live: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const info = processInfo(Number(entry));
    if (info && info.pgrp === pgid) live.push(Number(entry));
  }
  return live;
}

/** True while the process exists and is not a zombie. */
export function isProcessRunning(pid: number): boolean {
  try {
    readdirSync('/proc');
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
  return processInfo(pid) !== undefined;
}

function processInfo(pid: number): { pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return undefined;
    return { pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** SIGTERM to the group, then SIGKILL to whatever is left after `graceMs`. */
export async function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (liveGroupMembers(pgid).length === 0) return;
  signalGroup(pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (liveGroupMembers(pgid).length > 0) {
    if (Date.now() >= deadline) {
      signalGroup(pgid, 'SIGKILL');
      const hard = Date.now() + 2000;
      while (liveGroupMembers(pgid).length > 0 && Date.now() < hard) await sleep(10);
      return;
    }
    await sleep(10);
  }
}

export interface VmExit {
  exitCode: number | null;
  signal: string | null;
}

export interface VmProcessOptions {
  /** The startup-script text. `#!` scripts run as themselves, others with bash. */
  script: string;
  /** The VM's own directory: the script is written there and runs there. */
  dir: string;
  env: Record<string, string>;
  console: ConsoleBuffer;
  killGraceMs: number;
}

export class VmProcess {
  readonly pid: number;
  /** Resolves when the script has exited, the rest of its group is gone and its output is read. */
  readonly exited: Promise<VmExit>;
  private readonly child: ChildProcess;
  /** Its group is gone: never signal that group id again (it may be reused). */
  private finished = false;

  constructor(private readonly options: VmProcessOptions) {
    const file = join(options.dir, 'startup-script');
    writeFileSync(file, options.script);
    chmodSync(file, 0o700);
    const [command, args] = options.script.startsWith('#!') ? [file, []] : ['bash', [file]];
    this.child = spawn(command, args, {
      cwd: options.dir,
      env: options.env,
      detached: true, // its own process group
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let spawnError: Error | undefined;
    this.child.on('error', (err) => (spawnError = err));
    if (this.child.pid === undefined) throw new Error('the startup script did not start');
    this.pid = this.child.pid;
    const outputDone = Promise.all(
      [this.child.stdout, this.child.stderr].map(
        (stream) =>
          new Promise<void>((resolve) => {
            stream?.on('data', (chunk: Buffer) => options.console.append(chunk));
            stream?.on('close', resolve);
            stream?.on('error', () => resolve());
          }),
      ),
    );
    this.exited = new Promise<VmExit>((resolve) => {
      this.child.once('exit', (exitCode, signal) => {
        // A VM that powers off takes everything it started with it.
        // A process that left the group may still hold the pipes: stop reading after a while.
        void killGroup(this.pid, options.killGraceMs)
          .then(() => {
            this.finished = true;
            return Promise.race([outputDone, sleepUnref(2000)]);
          })
          .then(() => {
            this.child.stdout?.destroy();
            this.child.stderr?.destroy();
            if (spawnError)
              options.console.append(`startup-script failed: ${spawnError.message}\n`);
            resolve({ exitCode, signal });
          });
      });
    });
  }

  /** Stops the whole process group (SIGTERM, then SIGKILL) and waits for the exit. */
  async kill(): Promise<VmExit> {
    if (!this.finished) await killGroup(this.pid, this.options.killGraceMs);
    return this.exited;
  }
}
