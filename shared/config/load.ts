// Reading and checking the configuration. parseConfig and loadSecrets return
// problems as data; loadConfig and requireSecrets throw a ConfigError, which is
// right at cold start: a function with a bad configuration must not serve.
import fs from 'node:fs';
import YAML from 'yaml';
import { describeIssue, formatIssues } from './problems';
import { configSchema, type VmciConfig } from './schema';
import { ALL_SECRETS, secretsSchemaFor, type SecretName, type Secrets } from './secrets';

export type ConfigResult = { ok: true; config: VmciConfig } | { ok: false; problems: string[] };
export type SecretsResult<K extends SecretName = SecretName> =
  { ok: true; secrets: Pick<Secrets, K> } | { ok: false; problems: string[] };
export type Env = Readonly<Record<string, string | undefined>>;
export type ReadFile = (path: string, encoding: 'utf8') => string;

type Parsed = { ok: true; data: unknown } | { ok: false; problems: string[] };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(
    readonly problems: string[],
    /** The config file's path, or where else the problems come from. */
    readonly source: string,
    options?: ErrorOptions,
  ) {
    const lines = problems.map((problem) => `  ${problem}`);
    super([`Invalid vm-ci configuration in ${source}:`, ...lines].join('\n'), options);
  }
}

// Duck-typed: errors from another realm (Node's fs under Jest) fail `instanceof Error`.
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

function yamlProblem(error: YAML.YAMLError): string {
  // With prettyErrors the first line ends in " at line L, column C:"; we lead with it instead.
  const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:$/, '');
  const at = error.linePos?.[0];
  return at ? `line ${at.line}, column ${at.col}: ${message}` : `(root): ${message}`;
}

/** `.json` files are JSON; anything else is YAML, which also reads JSON. */
function parseText(text: string, source: string): Parsed {
  try {
    if (/\.json$/i.test(source)) return { ok: true, data: JSON.parse(text) };
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map(yamlProblem) };
    return { ok: true, data: doc.toJS() };
  } catch (error) {
    // JSON syntax errors, and YAML aliases that point nowhere.
    return { ok: false, problems: [`(root): ${messageOf(error)}`] };
  }
}

export function parseConfig(text: string, source: string): ConfigResult {
  const parsed = parseText(text, source);
  if (!parsed.ok) return parsed;
  if (parsed.data === null || parsed.data === undefined) {
    return { ok: false, problems: ['(root): the file is empty'] };
  }
  const result = configSchema.safeParse(parsed.data, { error: describeIssue });
  return result.success
    ? { ok: true, config: result.data }
    : { ok: false, problems: formatIssues(result.error.issues) };
}

/** The secrets `needs` names (default: all), from the environment; problems as data. */
export function loadSecrets<K extends SecretName = SecretName>(
  env: Env = process.env,
  needs: readonly K[] = ALL_SECRETS as readonly K[],
): SecretsResult<K> {
  const result = secretsSchemaFor(needs).safeParse(env, { error: describeIssue });
  return result.success
    ? { ok: true, secrets: result.data }
    : { ok: false, problems: formatIssues(result.error.issues) };
}

/** Reads and checks the file named by VMCI_CONFIG; throws a ConfigError listing every problem. */
export function loadConfig(
  env: Env = process.env,
  readFile: ReadFile = fs.readFileSync,
): VmciConfig {
  const path = env.VMCI_CONFIG?.trim();
  if (!path) {
    const problem = 'VMCI_CONFIG: required: the path of the YAML or JSON configuration file';
    throw new ConfigError([problem], 'the environment');
  }
  let text: string;
  try {
    text = readFile(path, 'utf8');
  } catch (error) {
    const problem = `VMCI_CONFIG: cannot read the file: ${messageOf(error)}`;
    throw new ConfigError([problem], path, { cause: error });
  }
  const result = parseConfig(text, path);
  if (!result.ok) throw new ConfigError(result.problems, path);
  return result.config;
}

/** The secrets `needs` names (default: all); throws a ConfigError naming each wrong variable. */
export function requireSecrets<K extends SecretName = SecretName>(
  env: Env = process.env,
  needs: readonly K[] = ALL_SECRETS as readonly K[],
): Pick<Secrets, K> {
  const result = loadSecrets(env, needs);
  if (!result.ok) throw new ConfigError(result.problems, 'the environment');
  return result.secrets;
}
