// The shape every `npm run bench` scenario has (issue 16, item 1): a scenario runs,
// in its own local cloud, and returns figures; the harness prints and stores them.

export interface BenchContext {
  /** The small variant (CI, `--short`). */
  short: boolean;
  log(line: string): void;
  /** progress 0..1 with a label */
  progress(label: string, done: number, total: number): void;
}

export interface Figure {
  name: string;
  value: number;
  unit: 'ms' | 'count' | 'per_s' | 'ratio';
  target?: { op: '<=' | '>='; value: number };
}

export interface ScenarioResult {
  scenario: string;
  /** For example the Compute stand-in's mode the figures were measured in. */
  mode?: string;
  figures: Figure[];
  notes?: string[];
}

export interface Scenario {
  name: string;
  run(ctx: BenchContext): Promise<ScenarioResult[]>;
}
