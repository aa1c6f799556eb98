// Small text formats of the status pages: times (UTC), durations, state names.
import type { TestStatus } from '../domain/test';
import { html, type SafeHtml } from './escape';

/** "2026-11-02 10:00:05 UTC" in a <time> element; "—" for none. */
export function timeHtml(iso: string | null): SafeHtml {
  if (iso === null) return html`<span class="none">—</span>`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`<span class="none">—</span>`;
  const text = `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return html`<time datetime="${date.toISOString()}">${text}</time>`;
}

/** A duration in words: "850 ms", "12 s", "3 min 05 s", "2 h 04 min". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** "1 test", "3 tests". */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** Between two ISO times; to `now` while the second is missing and `live`. */
export function elapsedMs(
  from: string | null,
  to: string | null,
  now: Date,
  live: boolean,
): number | null {
  if (from === null) return null;
  const start = Date.parse(from);
  const end = to !== null ? Date.parse(to) : live ? now.getTime() : NaN;
  return Number.isNaN(start) || Number.isNaN(end) ? null : Math.max(0, end - start);
}

const LABELS: Record<TestStatus, string> = {
  waiting: 'waiting',
  pending: 'pending',
  queued: 'queued',
  starting: 'starting',
  running: 'running',
  passed: 'passed',
  failed: 'failed',
  error: 'error',
  timed_out: 'timed out',
  canceled: 'canceled',
};

/** The state as a coloured badge with its name (colour is never the only sign). */
export function badge(status: TestStatus, stage?: string | null): SafeHtml {
  const label = LABELS[status] ?? status;
  const detail = status === 'running' && stage ? ` · ${stage}` : '';
  return html`<span class="badge s-${status}" data-status="${status}">${label}${detail}</span>`;
}

export const shortSha = (sha: string): string => sha.slice(0, 7);

/** refs/heads/main → main; anything else as it is. */
export function refName(ref: string | null): string | null {
  if (ref === null) return null;
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}
