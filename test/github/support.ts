// Helpers shared by the GitHub tests: a logger that keeps what it is given
// (unredacted, so a leak shows), waits that only record, and fetch doubles.

export { captureLog, type LogEntry } from '../support/capture-log';

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
