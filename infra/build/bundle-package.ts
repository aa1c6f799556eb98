// The package.json written next to each function's bundle: the externals that
// bundle imports, at the versions installed here (the lockfile's), and a start
// script. No `build` script: Google's Node.js runtime would run it on deploy.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface BundlePackageJson {
  name: string;
  version: string;
  private: true;
  description: string;
  engines: { node: string };
  main: 'index.js';
  scripts: { start: 'node index.js' };
  dependencies: Record<string, string>;
}

interface Lockfile {
  packages?: Record<string, { version?: string }>;
}

/** Reads the exact installed version of each top-level package from package-lock.json. */
export function lockedVersions(root: string): (name: string) => string {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
  return (name) => {
    const version = lock.packages?.[`node_modules/${name}`]?.version;
    if (!version) {
      throw new Error(`${name} is imported by a bundle but is not in package-lock.json`);
    }
    return version;
  };
}

export function bundlePackageJson(
  fn: string,
  externals: readonly string[],
  versionOf: (name: string) => string,
  version = '0.0.0',
): BundlePackageJson {
  const dependencies: Record<string, string> = {};
  for (const name of [...externals].sort()) dependencies[name] = versionOf(name);
  return {
    name: `vm-ci-${fn.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    version,
    private: true,
    description: `vm-ci's ${fn} function, built by npm run build (DESIGN §8a).`,
    engines: { node: '>=22' },
    main: 'index.js',
    scripts: { start: 'node index.js' },
    dependencies,
  };
}
