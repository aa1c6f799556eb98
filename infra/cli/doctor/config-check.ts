// Check 1: the configuration file, re-read and validated as the functions do
// at cold start (shared/config parseConfig), its problems path by path.
import { readFileSync } from 'node:fs';
import { parseConfig } from '../../../shared/config/load';
import { fail, firstOf, messageOf, pass, type CheckResult } from './report';

const SHOWN = 5;

export function checkConfig(configPath: string): CheckResult {
  const what = `configuration ${configPath}`;
  let text: string;
  try {
    text = readFileSync(configPath, 'utf8');
  } catch (error) {
    return fail(
      what,
      `cannot read it (${messageOf(error)})`,
      'point vmci at the configuration file the functions run with (--config)',
    );
  }
  const parsed = parseConfig(text, configPath);
  if (parsed.ok) return pass(`${what} is valid`);
  const count = parsed.problems.length;
  return fail(
    what,
    `${count} ${count === 1 ? 'problem' : 'problems'}`,
    `correct each path listed in ${configPath} (README "Configuration" describes every key)`,
    firstOf(parsed.problems, SHOWN),
  );
}
