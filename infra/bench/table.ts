// The table `npm run bench` prints: one line per figure, with its target and
// whether it was met (✔ met, ✘ missed, – no target).
import type { Figure, ScenarioResult } from './scenario';

export function formatValue(value: number, unit: Figure['unit']): string {
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'ms':
      return value >= 10_000
        ? `${(value / 1000).toFixed(1)} s`
        : `${value.toFixed(value < 10 ? 1 : 0)} ms`;
    case 'count':
      return String(Math.round(value));
    case 'per_s':
      return `${value.toFixed(1)}/s`;
    case 'ratio':
      return value.toFixed(2);
  }
}

export function met(figure: Figure): '✔' | '✘' | '–' {
  if (!figure.target) return '–';
  const { op, value } = figure.target;
  return (op === '<=' ? figure.value <= value : figure.value >= value) ? '✔' : '✘';
}

function scenarioLabel(result: ScenarioResult): string {
  return result.mode ? `${result.scenario} (${result.mode})` : result.scenario;
}

/** Lines of an aligned text table: a header, a rule, and a line per figure. */
export function renderTable(header: string[], rows: string[][], rightAligned: number[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        rightAligned.includes(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** The results table: scenario, figure, value, target, met. */
export function resultsTable(results: readonly ScenarioResult[]): string[] {
  const rows = results.flatMap((result) =>
    result.figures.map((figure) => [
      scenarioLabel(result),
      figure.name,
      formatValue(figure.value, figure.unit),
      figure.target ? `${figure.target.op} ${formatValue(figure.target.value, figure.unit)}` : '',
      met(figure),
    ]),
  );
  const lines = renderTable(['scenario', 'figure', 'value', 'target', 'met'], rows, [2, 3]);
  const notes = results.flatMap((r) => (r.notes ?? []).map((n) => `  ${scenarioLabel(r)}: ${n}`));
  return notes.length ? [...lines, '', 'Notes:', ...notes] : lines;
}

/** Two runs side by side: the ratio new/old per figure found in both (or in one). */
export function compareTable(
  older: readonly ScenarioResult[],
  newer: readonly ScenarioResult[],
): string[] {
  const key = (r: ScenarioResult, f: Figure) => `${scenarioLabel(r)}\u0000${f.name}`;
  const before = new Map(older.flatMap((r) => r.figures.map((f) => [key(r, f), f] as const)));
  const rows: string[][] = [];
  const seen = new Set<string>();
  for (const result of newer) {
    for (const figure of result.figures) {
      const k = key(result, figure);
      seen.add(k);
      const old = before.get(k);
      const ratio = old && old.value !== 0 ? (figure.value / old.value).toFixed(2) : '';
      rows.push([
        scenarioLabel(result),
        figure.name,
        old ? formatValue(old.value, old.unit) : '',
        formatValue(figure.value, figure.unit),
        ratio,
        met(figure),
      ]);
    }
  }
  for (const result of older) {
    for (const figure of result.figures) {
      if (seen.has(key(result, figure))) continue;
      rows.push([
        scenarioLabel(result),
        figure.name,
        formatValue(figure.value, figure.unit),
        '',
        '',
        '',
      ]);
    }
  }
  return renderTable(['scenario', 'figure', 'old', 'new', 'new/old', 'met'], rows, [2, 3, 4]);
}
