// Pure: desired resources + what was observed → ordered steps, and their text.
import type { Call, Observed, Resource } from './resources';

export type Action = 'create' | 'update' | 'unchanged' | 'blocked';

export interface Change {
  what: string;
  old: string | undefined;
  new: string;
}

export interface Step {
  action: Action;
  resource: Resource;
  changes: Change[];
  calls: Call[];
  /** What deploy saw and leaves alone, for a person to judge. */
  warning?: string;
}

function changesOf(resource: Resource, observed: Observed): Change[] {
  return Object.entries(resource.want)
    .filter(([what, value]) => observed?.[what] !== value)
    .map(([what, value]) => ({ what, old: observed?.[what], new: value }));
}

export function planSteps(resources: readonly Resource[], observed: readonly Observed[]): Step[] {
  return resources.map((resource, index) => {
    const step = stepOf(resource, observed[index]);
    const warning = resource.warn?.(observed[index]);
    return warning === undefined ? step : { ...step, warning };
  });
}

function stepOf(resource: Resource, seen: Observed): Step {
  const changes = changesOf(resource, seen);
  if (changes.length === 0 || (seen === undefined && resource.onlyIfPresent)) {
    return { action: 'unchanged', resource, changes: [], calls: [] };
  }
  if (resource.blocked !== undefined) return { action: 'blocked', resource, changes, calls: [] };
  if (seen === undefined) {
    return { action: 'create', resource, changes, calls: resource.create };
  }
  if (resource.immutable !== undefined) {
    return {
      action: 'blocked',
      resource: { ...resource, blocked: resource.immutable },
      changes,
      calls: [],
    };
  }
  const calls = resource.update ? resource.update(changes.map((c) => c.what)) : resource.create;
  return { action: 'update', resource, changes, calls };
}

/** Whether a step changes something when applied. */
export function isChange(step: Step): boolean {
  return step.calls.length > 0;
}

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

export function shellWord(word: string): string {
  return SAFE_WORD.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function formatCall(call: Call): string {
  switch (call.via) {
    case 'gcloud': {
      const command = ['gcloud', ...call.args].map(shellWord).join(' ');
      if (!call.file) return command;
      return `printf %s ${shellWord(call.file.content)} > ${shellWord(call.file.path)} && ${command}`;
    }
    case 'tasks': {
      const mask = call.updateMask ? ` (updateMask ${call.updateMask.join(',')})` : '';
      return `tasks.${call.method} ${JSON.stringify(call.queue)}${mask}`;
    }
    case 'scheduler':
      return `scheduler.${call.method} ${JSON.stringify(call.job)}`;
  }
}

const SIGN: Record<Action, string> = {
  create: '+ create',
  update: '~ update',
  unchanged: '= unchanged',
  blocked: '! blocked',
};

/** The plan as people read it: one line per resource, then its changes and calls. */
export function formatPlan(steps: readonly Step[]): string[] {
  const lines: string[] = [];
  for (const step of steps) {
    const { kind, name, blocked } = step.resource;
    lines.push(`${SIGN[step.action]} ${kind} ${name}`);
    if (step.action === 'update') {
      for (const c of step.changes) lines.push(`    ${c.what}: ${c.old ?? '(none)'} → ${c.new}`);
      if (step.resource.why) lines.push(`    why: ${step.resource.why}`);
    }
    if (step.action === 'blocked') lines.push(`    ${blocked}`);
    if (step.warning) lines.push(`    warning: ${step.warning}`);
    for (const call of step.calls) lines.push(`    $ ${formatCall(call)}`);
  }
  const count = (action: Action) => steps.filter((s) => s.action === action).length;
  const warnings = steps.filter((s) => s.warning).length;
  const warned = warnings === 0 ? '' : `, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}`;
  lines.push(
    `Plan: ${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged, ${count('blocked')} blocked${warned}.`,
  );
  return lines;
}
