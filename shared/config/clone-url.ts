// Where a test's VM fetches the commit from (DESIGN §6 `vmci-clone-url`): the
// repository's configured clone source when there is one, else the clone URL
// the webhook carried (the PR head's repository for a fork).
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { VmciConfig } from './schema';

/** `sourceRoot` resolves relative paths, as it does for startup scripts. */
export function cloneUrlFor(
  config: Pick<VmciConfig, 'cloneUrls'>,
  test: { repo: string; cloneUrl: string },
  sourceRoot: string,
): string {
  const wanted = test.repo.toLowerCase();
  const entry = Object.entries(config.cloneUrls).find(([repo]) => repo.toLowerCase() === wanted);
  if (!entry) return test.cloneUrl;
  const source = entry[1];
  if (/^(https?|file):\/\//i.test(source)) return source;
  return pathToFileURL(isAbsolute(source) ? source : resolve(sourceRoot, source)).href;
}
