// What deploy learns before it plans: the project number, the bundles' hashes,
// which secrets have an enabled version (numbers only), and the GitHub auth mode.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FUNCTION_NAMES, type FunctionName } from '../../../shared/config/urls';
import type { Facts } from './desired';
import { newestEnabledVersion, readJson, ReadError, type ReadPorts } from './observe';
import { allSecrets, APP_MARKER_SECRET, type GitHubAuthMode } from './secrets';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** A hash of a folder: every file's path and bytes. */
export function folderHash(dir: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(dir)) {
    hash
      .update(`${relative(dir, file)}\0`)
      .update(readFileSync(file))
      .update('\0');
  }
  return hash.digest('hex');
}

/** Each function's bundle hash; a missing bundle is a ReadError saying how to build it. */
export function bundleHashes(bundleRoot: string): Record<FunctionName, string> {
  const missing = FUNCTION_NAMES.filter((fn) => !existsSync(join(bundleRoot, fn, 'index.js')));
  if (missing.length > 0) {
    throw new ReadError(
      `no bundle of ${missing.join(', ')} in ${bundleRoot}: run npm run build -- --config <file> --out ${bundleRoot}, or deploy without --prebuilt`,
    );
  }
  return Object.fromEntries(
    FUNCTION_NAMES.map((fn) => [fn, folderHash(join(bundleRoot, fn))]),
  ) as Record<FunctionName, string>;
}

export async function projectNumber(ports: Pick<ReadPorts, 'gcloud' | 'project'>) {
  const project = await readJson<{ projectNumber?: string }>(ports, [
    ...['projects', 'describe', ports.project, '--format=json'],
  ]);
  if (!project?.projectNumber) {
    throw new ReadError(
      `project ${ports.project} not found: create it (with billing) or fix "project" in the configuration`,
    );
  }
  return String(project.projectNumber);
}

export async function gatherFacts(
  ports: Pick<ReadPorts, 'gcloud' | 'project'>,
  bundles: { root: string; hashes: Record<FunctionName, string> },
): Promise<Facts> {
  const number = await projectNumber(ports);
  const githubAuth: GitHubAuthMode =
    (await newestEnabledVersion(ports, APP_MARKER_SECRET)) === null ? 'token' : 'app';
  const secretVersions: Record<string, number> = {};
  for (const spec of allSecrets(githubAuth)) {
    const version = await newestEnabledVersion(ports, spec.secret);
    if (typeof version === 'number') secretVersions[spec.secret] = version;
  }
  return {
    projectNumber: number,
    bundleHashes: bundles.hashes,
    bundleRoot: bundles.root,
    secretVersions,
    githubAuth,
  };
}
