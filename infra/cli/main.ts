// `vmci`: the operator's CLI (README "The operator CLI"). main() is the whole
// program, injectable for tests: the argv, where output goes, and the
// context (or the environment it is resolved from). It resolves to the exit
// code: 0 done, 1 failed, 2 usage error; every error is one line on stderr.
import { parseArgs } from 'node:util';
import type { Command, ParsedArgs } from './command';
import { cancelCommand } from './commands/cancel';
import { maintenanceCommand } from './commands/maintenance';
import { queueCommand } from './commands/queue';
import { rerunCommand } from './commands/rerun';
import { showCommand } from './commands/show';
import { testsCommand } from './commands/tests';
import type { CliContext, Output } from './context';
import { runDoctor } from './doctor';
import { oneLine, UsageError } from './errors';
import { resolveContext } from './resolve';

export interface MainOptions {
  /** The context to act in, as is (tests); default resolved from the flags and `env`. */
  context?: CliContext;
  /** The environment the context is resolved from; default process.env. */
  env?: Record<string, string | undefined>;
}

const GLOBAL_OPTIONS = {
  local: { type: 'boolean' },
  project: { type: 'string' },
  config: { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const GLOBAL_HELP = `Where: the local cloud of a running \`npm start\` when there is one (or --local),
else the deployed project of --config <file> (or VMCI_CONFIG), --project <id>
to check it is that one. --verbose: the domain's log lines on stderr.`;

const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check that everything vm-ci needs is in place',
  usage: `vmci doctor

Checks the configuration, the secrets, the services and the queue, and says
what to fix. Exit code 1 when something is wrong.`,
  options: {},
  check({ positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  },
  async run(_args, ctx, output) {
    const { ok } = await runDoctor(ctx, output);
    return ok ? 0 : 1;
  },
};

export const COMMANDS: readonly Command[] = [
  testsCommand,
  showCommand,
  cancelCommand,
  rerunCommand,
  queueCommand,
  maintenanceCommand,
  doctorCommand,
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: vmci <command> [options]   (vmci <command> --help for one)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    GLOBAL_HELP,
  ].join('\n');
}

/** Wide enough for any message (140 characters) and id: a pipe gets whole lines. */
const PIPED_COLUMNS = 400;

export function processOutput(): Output {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    // A terminal's width; piped into a file or another program, lines are not cut.
    columns:
      Number(process.env.COLUMNS) ||
      (process.stdout.isTTY ? process.stdout.columns || 80 : PIPED_COLUMNS),
  };
}

export async function main(
  argv: readonly string[],
  output: Output = processOutput(),
  options: MainOptions = {},
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    output.err(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    output.out(usage());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    output.err(`vmci: unknown command '${name}': see \`vmci --help\``);
    return 2;
  }
  let verbose = false;
  try {
    const args = parse(command, rest);
    verbose = args.values.verbose === true;
    if (args.values.help) {
      output.out(`usage: ${command.usage}\n\n${GLOBAL_HELP}`);
      return 0;
    }
    command.check?.(args);
    const ctx =
      options.context ??
      (await resolveContext(
        {
          ...(args.values.local ? { local: true } : {}),
          ...(typeof args.values.project === 'string' ? { project: args.values.project } : {}),
          ...(typeof args.values.config === 'string' ? { config: args.values.config } : {}),
        },
        { env: options.env ?? process.env },
      ));
    return await command.run(args, ctx, output, { verbose });
  } catch (error) {
    const code = (error as { exitCode?: unknown }).exitCode;
    output.err(`vmci ${command.name}: ${oneLine(error)}`);
    if (verbose && error instanceof Error && error.stack) output.err(error.stack);
    return code === 2 ? 2 : 1;
  }
}

function parse(command: Command, args: readonly string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as ParsedArgs['values'], positionals };
  } catch (error) {
    // Node's own text, to its first sentence: "Unknown option '--x'", "Option '--repo <value>' argument missing".
    const first = oneLine(error).split(/\.\s/)[0]!.replace(/\.$/, '');
    throw new UsageError(`${first}: see \`vmci ${command.name} --help\``);
  }
}
