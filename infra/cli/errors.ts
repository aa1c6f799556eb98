// The CLI's two kinds of failure, each shown as ONE line that says what to do:
// a usage error (exit 2: the command line is wrong) and a failure (exit 1: the
// command was right but could not be done).
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 2;
}

export class CliFailure extends Error {
  override readonly name = 'CliFailure';
  readonly exitCode = 1;
}

/** The one line shown for anything thrown: its first line, never a stack. */
export function oneLine(error: unknown): string {
  // Duck-typed: an Error of another realm (Node's own, under Jest) fails instanceof.
  const own = (error as { message?: unknown } | null)?.message;
  const message = typeof own === 'string' ? own : String(error);
  return message.split('\n')[0]!.trim() || 'unexpected error';
}
