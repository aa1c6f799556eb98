// Protobuf JSON times as the Cloud Tasks REST API writes them. Timestamps are
// kept as integer microseconds since the epoch (Cloud Tasks truncates schedule
// times to the microsecond), durations as milliseconds.
import { HttpError } from '../http';

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;
const DURATION = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/;

/** RFC 3339 → microseconds since the epoch, truncated. */
export function parseTimestamp(value: unknown, field: string): number {
  const match = typeof value === 'string' ? TIMESTAMP.exec(value) : null;
  const wholeMs = match ? Date.parse(`${match[1]}${match[3]}`) : NaN;
  if (!match || Number.isNaN(wholeMs)) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `${field}: not an RFC 3339 timestamp`);
  }
  const micros = Number((match[2] ?? '').padEnd(9, '0').slice(0, 6));
  return wholeMs * 1000 + micros;
}

/** Microseconds since the epoch → "2026-01-02T03:04:05.123456Z" (0, 3 or 6 digits). */
export function formatTimestamp(us: number): string {
  const whole = Math.floor(us / 1_000_000);
  const fraction = us - whole * 1_000_000;
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  if (fraction === 0) return `${base}Z`;
  if (fraction % 1000 === 0) return `${base}.${String(fraction / 1000).padStart(3, '0')}Z`;
  return `${base}.${String(fraction).padStart(6, '0')}Z`;
}

/** "10s", "0.100s", "1.5s" → milliseconds. */
export function parseDuration(value: unknown, field: string): number {
  const match = typeof value === 'string' ? DURATION.exec(value) : null;
  if (!match) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `${field}: not a duration like "10s"`);
  }
  const ms = Number(match[2]) * 1000 + Number((match[3] ?? '').padEnd(9, '0')) / 1_000_000;
  return match[1] === '-' ? -ms : ms;
}

/** Milliseconds → "600s", "0.100s", "1.000500s" (0, 3, 6 or 9 fraction digits). */
export function formatDuration(ms: number): string {
  const totalNanos = Math.round(ms * 1_000_000);
  const sign = totalNanos < 0 ? '-' : '';
  const abs = Math.abs(totalNanos);
  const seconds = Math.floor(abs / 1_000_000_000);
  const nanos = abs - seconds * 1_000_000_000;
  if (nanos === 0) return `${sign}${seconds}s`;
  const digits = nanos % 1_000_000 === 0 ? 3 : nanos % 1000 === 0 ? 6 : 9;
  const fraction = String(nanos).padStart(9, '0').slice(0, digits);
  return `${sign}${seconds}.${fraction}s`;
}

/** Microseconds since the epoch → "1767225600.123456", the form of X-CloudTasks-TaskETA. */
export function formatEpochSeconds(us: number): string {
  const whole = Math.floor(us / 1_000_000);
  return `${whole}.${String(us - whole * 1_000_000).padStart(6, '0')}`;
}

export function nowMicros(): number {
  return Date.now() * 1000;
}
