// Checking what a command line says: each bad value is a usage error (exit 2)
// that names the flag and what it expects.
import { REPOSITORY, type VmciConfig } from '../../shared/config';
import { TEST_STATUSES, type TestStatus } from '../../shared/domain/test';
import { UsageError } from './errors';

export function repoArg(value: string | undefined, config: VmciConfig): string | undefined {
  if (value === undefined) return undefined;
  if (!REPOSITORY.test(value)) throw new UsageError(`--repo: expected owner/name, got '${value}'`);
  // Tests are keyed by the configured spelling (GitHub names are case-insensitive).
  const configured = config.repositories.find((r) => r.toLowerCase() === value.toLowerCase());
  if (!configured) {
    throw new UsageError(
      `--repo ${value} is not configured: configured are ${config.repositories.join(', ')}`,
    );
  }
  return configured;
}

export function shaArg(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9a-f]{4,40}$/i.test(value)) {
    throw new UsageError(`--sha: expected a commit sha (4 to 40 hex characters), got '${value}'`);
  }
  return value.toLowerCase();
}

export function countArg(
  flag: string,
  value: string | undefined,
  max = 1_000_000_000,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(value) || Number(value) > max) {
    throw new UsageError(`--${flag}: expected a whole number from 1 to ${max}, got '${value}'`);
  }
  return Number(value);
}

export function statusArg(value: string | undefined): TestStatus | undefined {
  if (value === undefined) return undefined;
  if (!(TEST_STATUSES as readonly string[]).includes(value)) {
    throw new UsageError(`--state: expected one of ${TEST_STATUSES.join(', ')}, got '${value}'`);
  }
  return value as TestStatus;
}

export function platformArg(
  value: string | undefined,
  config: VmciConfig,
  flag = '--platform',
): string | undefined {
  if (value === undefined) return undefined;
  if (!Object.hasOwn(config.platforms, value)) {
    throw new UsageError(
      `${flag}: unknown platform '${value}': configured are ${Object.keys(config.platforms).join(', ')}`,
    );
  }
  return value;
}

/** The one positional a command takes (a test id), or none. */
export function onePositional(positionals: readonly string[], what: string): string | undefined {
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one ${what}, got ${positionals.length}: ${positionals.join(' ')}`,
    );
  }
  return positionals[0];
}
