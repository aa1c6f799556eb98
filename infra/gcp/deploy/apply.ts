// Runs a plan's steps in order. The first failure stops it with ONE line a
// person can act on; a rerun reads the project again and carries on from there.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatCall, type Step } from './plan';
import type { Call } from './resources';
import { explainFailure } from './errors';
import type { Clients } from './observe';
import type { Gcloud } from './gcloud';

export interface ApplyPorts extends Clients {
  gcloud: Gcloud;
  project: string;
}

export type ApplyResult =
  { ok: true; applied: number } | { ok: false; applied: number; lines: string[] };

function parentOf(name: string | null | undefined): string {
  return (name ?? '').split('/').slice(0, 4).join('/');
}

/** Runs one call; undefined on success, else the failure's text. */
export async function runCall(call: Call, ports: ApplyPorts): Promise<string | undefined> {
  try {
    switch (call.via) {
      case 'gcloud': {
        if (call.file) {
          mkdirSync(dirname(call.file.path), { recursive: true });
          writeFileSync(call.file.path, call.file.content);
        }
        const result = await ports.gcloud(call.args);
        return result.code === 0 ? undefined : result.stderr || `exit ${result.code}`;
      }
      case 'tasks':
        if (call.method === 'createQueue') {
          await ports.tasks.createQueue({ parent: parentOf(call.queue.name), queue: call.queue });
        } else if (call.method === 'deleteQueue') {
          await ports.tasks.deleteQueue({ name: call.queue.name });
        } else {
          const paths = call.updateMask ?? [];
          await ports.tasks.updateQueue({ queue: call.queue, updateMask: { paths } });
        }
        return undefined;
      case 'scheduler':
        if (call.method === 'createJob') {
          await ports.scheduler.createJob({ parent: parentOf(call.job.name), job: call.job });
        } else if (call.method === 'deleteJob') {
          await ports.scheduler.deleteJob({ name: call.job.name });
        } else await ports.scheduler.updateJob({ job: call.job });
        return undefined;
    }
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

export async function applySteps(
  steps: readonly Step[],
  ports: ApplyPorts,
  log: (line: string) => void,
): Promise<ApplyResult> {
  let applied = 0;
  for (const step of steps) {
    const { kind, name } = step.resource;
    // A secret without a value blocks only the functions that read it: the rest goes ahead.
    if (step.action === 'blocked' && kind === 'secret value') continue;
    if (step.action === 'blocked') {
      const lines = steps
        .filter((s) => s.action === 'blocked' && s.resource.kind === 'secret value')
        .map((s) => s.resource.blocked ?? '');
      return { ok: false, applied, lines: [...lines, step.resource.blocked ?? ''] };
    }
    for (const call of step.calls) {
      log(`${step.action} ${kind} ${name}: ${formatCall(call)}`);
      const failure = await runCall(call, ports);
      if (failure !== undefined) {
        return {
          ok: false,
          applied,
          lines: [explainFailure(`${step.action} ${kind} ${name}`, failure, ports.project)],
        };
      }
    }
    if (step.calls.length > 0) applied += 1;
  }
  return { ok: true, applied };
}
