// The package-lock.json written next to each bundle: the root lockfile cut
// down to what the bundle's externals need, at the same paths, versions and
// integrity hashes. So `npm ci --omit=dev` in the bundle's folder (what the
// Node.js buildpack runs) installs exactly what the tests ran with, down to
// the transitive dependencies, instead of whatever their ranges allow that day.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundlePackageJson } from './bundle-package';

export interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [key: string]: unknown;
}

export interface Lockfile {
  name?: string;
  version?: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

export function readLockfile(root: string): Lockfile {
  return JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
}

/**
 * Where Node finds `name` when required from the package at `from` (a lockfile
 * path such as `node_modules/a/node_modules/b`, or '' for the root): the
 * nearest node_modules/<name> up the tree that the lockfile holds.
 */
export function resolveIn(
  packages: Lockfile['packages'],
  from: string,
  name: string,
): string | undefined {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

/** Every lockfile path the packages `roots` need, themselves included (their own dependencies too). */
export function neededPaths(packages: Lockfile['packages'], roots: readonly string[]): Set<string> {
  const needed = new Set<string>();
  const visit = (from: string, name: string, optional: boolean) => {
    const path = resolveIn(packages, from, name);
    if (path === undefined) {
      if (optional) return; // an optional dependency not installed here (another platform's)
      throw new Error(`package-lock.json has no ${name} for ${from || 'the root'}`);
    }
    if (needed.has(path)) return;
    needed.add(path);
    const entry = packages[path]!;
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, true);
    // npm installs peers; one the root install does not hold is not needed here either.
    for (const dep of Object.keys(entry.peerDependencies ?? {})) visit(path, dep, true);
  };
  for (const name of roots) visit('', name, false);
  return needed;
}

/** The bundle's lockfile: its package.json as the root, and the root lockfile's entries it needs. */
export function bundleLockfile(root: Lockfile, pkg: BundlePackageJson): Lockfile {
  const paths = [...neededPaths(root.packages, Object.keys(pkg.dependencies))].sort();
  const packages: Lockfile['packages'] = {
    '': {
      name: pkg.name,
      version: pkg.version,
      dependencies: pkg.dependencies,
      engines: pkg.engines,
    },
  };
  for (const path of paths) {
    // Everything a bundle needs is a production dependency there.
    const { dev: _dev, devOptional, ...entry } = root.packages[path]!;
    packages[path] = devOptional ? { ...entry, optional: true } : entry;
  }
  return { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages };
}
