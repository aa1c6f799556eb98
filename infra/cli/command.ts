// One `vmci` command: its flags, its help, and what it does in a context.
import type { ParseArgsConfig } from 'node:util';
import type { CliContext, Output } from './context';
import type { CliOptions } from './services';

export interface ParsedArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `vmci --help`. */
  summary: string;
  /** `vmci <name> --help`: the synopsis line, a blank line, then what it does. */
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** Checks what needs no context (the flags' forms), before it is looked for: throws a UsageError. */
  check?(args: ParsedArgs): void;
  /** Resolves to the exit code: 0 done, 1 failed (2, usage, is thrown as a UsageError). */
  run(args: ParsedArgs, ctx: CliContext, output: Output, cli: CliOptions): Promise<number>;
}
