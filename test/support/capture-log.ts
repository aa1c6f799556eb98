// A Logger that keeps what it is given, unredacted, so a test can see a leak.
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
