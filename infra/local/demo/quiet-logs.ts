// The functions of a cloud started in this process write their structured JSON
// logs to stdout (shared/log), where they would bury the demo's lines: while
// the demo runs, those lines go to a file instead.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

function isLogLine(text: string): boolean {
  if (!text.startsWith('{') || !text.includes('"severity"')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Diverts JSON log lines written to stdout into `file`; returns the function that undoes it. */
export function divertJsonLogs(file: string): () => void {
  mkdirSync(dirname(file), { recursive: true });
  const original = process.stdout.write;
  process.stdout.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString() : '';
    const lines = text.split('\n').filter((line) => line !== '');
    if (lines.length > 0 && lines.every(isLogLine)) {
      try {
        appendFileSync(file, text);
      } catch {
        // a log line is not worth failing the demo for
      }
      const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
  } as typeof process.stdout.write;
  return () => {
    process.stdout.write = original;
  };
}
