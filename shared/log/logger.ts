// Structured logs in Cloud Logging's format: one JSON object per line, with
// `severity`, `message`, and labels under `logging.googleapis.com/labels`, so
// Logs Explorer can filter one test's whole story (DESIGN §9).

export const SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Labels that identify what a line is about. Values must be strings for Cloud Logging. */
export interface LogLabels {
  testId?: string;
  deliveryId?: string;
  platform?: string;
  instance?: string;
  [key: string]: string | undefined;
}

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  /** Logs at ERROR; an Error in `fields.error` is shaped so Error Reporting picks it up. */
  error(message: string, fields?: LogFields): void;
  /** A logger for one request or one test: the labels are added to every line it writes. */
  child(labels: LogLabels): Logger;
}

export interface LoggerOptions {
  /** Where lines go; default process.stdout. */
  write?: (line: string) => void;
  /** Secret values to blank out wherever they appear. */
  secrets?: readonly string[];
  labels?: LogLabels;
  /** Reported to Error Reporting as the service name. */
  service?: string;
  minSeverity?: Severity;
  now?: () => Date;
}

export const REDACTED = '[REDACTED]';
// Keys whose values are always secret, whatever the value looks like.
const SECRET_KEY = /(secret|token|password|passwd|authorization|private_?key|api_?key|credential)/i;
// Minimum length of a configured secret value that is searched for in lines: shorter
// values would blank out ordinary words.
const MIN_SECRET_LENGTH = 6;
const BEARER = /\b(Bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}/g;

export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(line + '\n'));
  const secrets = (options.secrets ?? [])
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    // Longest first, so a secret that contains another is blanked whole.
    .sort((a, b) => b.length - a.length)
    .map((s) => JSON.stringify(s).slice(1, -1));
  const minRank = SEVERITIES.indexOf(options.minSeverity ?? 'DEBUG');
  const now = options.now ?? (() => new Date());

  const make = (labels: LogLabels): Logger => {
    const emit = (severity: Severity, message: string, fields: LogFields = {}) => {
      if (SEVERITIES.indexOf(severity) < minRank) return;
      // Fields come first so none of them can replace the line's own severity, message or time.
      const entry: Record<string, unknown> = {
        ...serializeFields(fields),
        severity,
        message,
        time: now().toISOString(),
      };
      const definedLabels = Object.fromEntries(
        Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === 'string'),
      );
      if (Object.keys(definedLabels).length) entry['logging.googleapis.com/labels'] = definedLabels;
      const err = fields.error;
      if (severity === 'ERROR' || severity === 'CRITICAL') {
        if (err instanceof Error && err.stack) {
          // Error Reporting groups entries that carry a stack trace and this type.
          entry['@type'] =
            'type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent';
          entry.stack_trace = err.stack;
          if (options.service) entry.serviceContext = { service: options.service };
        }
      }
      write(redact(safeStringify(entry), secrets));
    };
    return {
      debug: (m, f) => emit('DEBUG', m, f),
      info: (m, f) => emit('INFO', m, f),
      warn: (m, f) => emit('WARNING', m, f),
      error: (m, f) => emit('ERROR', m, f),
      child: (more) => make({ ...labels, ...more }),
    };
  };
  return make(options.labels ?? {});
}

/** A logger that writes nothing: for code paths whose caller did not pass one. */
export const silentLogger: Logger = createLogger({ write: () => {} });

export function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: err.name, message: err.message, stack: err.stack };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (err.cause !== undefined) {
    out.cause = err.cause instanceof Error ? serializeError(err.cause) : err.cause;
  }
  return out;
}

function serializeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? serializeError(value) : value;
  }
  return out;
}

function safeStringify(entry: Record<string, unknown>): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(entry, (key, value: unknown) => {
    if (key && SECRET_KEY.test(key) && (typeof value === 'string' || typeof value === 'number')) {
      return REDACTED;
    }
    if (value instanceof Error) return serializeError(value);
    if (typeof value === 'bigint') return value.toString();
    if (value && typeof value === 'object') {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  });
}

function redact(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out.replace(BEARER, `$1 ${REDACTED}`);
}
