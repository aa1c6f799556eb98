// The functions log JSON lines to stdout. In-process runs of the local cloud
// (tests, the bench) take them out of the terminal: each such line goes to
// `onLine` instead; any other output passes through.
export function interceptLogLines(onLine: (line: string) => void): () => void {
  const stdout = process.stdout;
  const original = stdout.write;
  stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
    if (text.startsWith('{"')) {
      onLine(text);
      const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof stdout.write;
  return () => {
    stdout.write = original;
  };
}
