// Helpers shared by the GitHub tests: a logger that keeps what it is given
// (unredacted, so a leak shows), waits that only record, and fetch doubles.
import type { LogFields, LogLabels, Logger } from '../../shared/log';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
  labels: LogLabels;
}

export function captureLog(): { log: Logger; entries: LogEntry[]; text(): string } {
  const entries: LogEntry[] = [];
  const make = (labels: LogLabels): Logger => {
    const at =
      (level: LogEntry['level']) =>
      (message: string, fields: LogFields = {}) =>
        entries.push({ level, message, fields, labels });
    return {
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
      child: (more) => make({ ...labels, ...more }),
    };
  };
  return {
    log: make({}),
    entries,
    text: () =>
      entries
        .map((e) => `${e.message} ${JSON.stringify(e.fields)} ${JSON.stringify(e.labels)}`)
        .join('\n'),
  };
}

/** A sleep that returns at once, and a clock that moves by what was slept. */
export function fakeTime(): { sleep(ms: number): Promise<void>; now(): number; waits: number[] } {
  const waits: number[] = [];
  let slept = 0;
  return {
    waits,
    sleep: async (ms) => {
      waits.push(ms);
      slept += ms;
    },
    now: () => Date.now() + slept,
  };
}

export interface ScriptedReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * A fetch that answers from a script, one entry per call (an Error entry is
 * thrown, as fetch does for a network failure), and 201 once the script ends.
 */
export function scriptedFetch(script: (ScriptedReply | Error)[]): {
  fetch: typeof globalThis.fetch;
  requests: { url: string; init: RequestInit | undefined }[];
} {
  const requests: { url: string; init: RequestInit | undefined }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    requests.push({ url: String(input), init });
    const next = script.shift() ?? { status: 201, body: { id: 1 } };
    if (next instanceof Error) throw next;
    return new Response(next.body === undefined ? null : JSON.stringify(next.body), {
      status: next.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...next.headers },
    });
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

export const SHA40 = 'c'.repeat(39) + '7';
