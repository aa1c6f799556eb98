// `npm run build`: one self-contained folder per function, `<out>/<function>/`,
// ready to deploy as is (DESIGN §8a):
//   index.js      our code and the pure-JS libraries, bundled by esbuild (Node 22, CommonJS);
//                 `node index.js` serves the function on $PORT
//   package.json  only the externals (./externals.ts) this bundle imports, at the
//                 lockfile's exact versions; start = `node index.js`; no build script
//   vmci.yaml     the configuration (--config); deploy sets VMCI_CONFIG=vmci.yaml
//   runTest only: each platform's startup script, at its path relative to the source root
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { build, type BuildOptions as EsbuildOptions, type Metafile } from 'esbuild';
import { parseConfig } from '../../shared/config/load';
import { FUNCTION_NAMES, type FunctionName } from '../local/functions';
import { bundleLockfile, readLockfile, type Lockfile } from './bundle-lockfile';
import { bundlePackageJson, lockedVersions } from './bundle-package';
import { dedupePackages, jsonAsParse } from './bundle-plugins';
import { computeClients } from './compute-clients';
import { EXTERNAL_PATTERNS, isExternalPackage, packageNameOf } from './externals';

export const ROOT = resolve(__dirname, '..', '..');
export const DEFAULT_OUT_DIR = join(ROOT, '.deploy');
export const DEFAULT_CONFIG = join(ROOT, 'config', 'vmci.example.yaml');
/** The configuration's name inside each bundle: deploy sets VMCI_CONFIG to it. */
export const BUNDLE_CONFIG = 'vmci.yaml';

/**
 * How every function is bundled. VMCI_BUNDLE tells shared/runtime/source-root.ts
 * that the files the configuration names are in the bundle's own folder.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: [...EXTERNAL_PATTERNS],
  define: { VMCI_BUNDLE: 'true' },
  logLevel: 'error',
  // `require.main === module` in an entry with imports: a CommonJS bundle keeps its meaning.
  logOverride: { 'commonjs-variable-in-esm': 'silent' },
} satisfies EsbuildOptions;

export interface BuildOptions {
  outDir?: string;
  config?: string;
  functions?: readonly FunctionName[];
}

export interface BuiltFunction {
  name: FunctionName;
  dir: string;
  externals: string[];
  files: string[];
  bytes: number;
}

/** The external packages an output file imports, from esbuild's metafile. */
export function externalsOf(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external) continue;
      const name = packageNameOf(imported.path);
      if (name === undefined) continue;
      if (!isExternalPackage(name)) {
        throw new Error(`${imported.path} was left out of the bundle but is not an external`);
      }
      names.add(name);
    }
  }
  return [...names].sort();
}

/** Reads and checks the configuration: a bad file fails the build, not the cold start. */
function readConfig(path: string) {
  const result = parseConfig(readFileSync(path, 'utf8'), path);
  if (!result.ok) {
    throw new Error([`Invalid configuration ${path}:`, ...result.problems].join('\n  '));
  }
  return result.config;
}

/** The startup scripts the configuration names, relative to the source root. */
export function startupScriptPaths(configPath: string): string[] {
  const config = readConfig(configPath);
  const paths = new Set<string>();
  for (const [name, platform] of Object.entries(config.platforms)) {
    const path = platform.startupScript;
    if (isAbsolute(path) || relative(ROOT, join(ROOT, path)).startsWith('..')) {
      throw new Error(
        `platforms.${name}.startupScript: ${path} must be a path inside the source tree to be bundled`,
      );
    }
    paths.add(path);
  }
  return [...paths].sort();
}

async function buildOne(
  name: FunctionName,
  dir: string,
  configPath: string,
  versionOf: (pkg: string) => string,
  version: string,
  lock: Lockfile,
): Promise<BuiltFunction> {
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'index.js');
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(ROOT, 'functions', name, 'index.ts')],
    outfile,
    sourcemap: true,
    metafile: true,
    // Less for Node to compile at each cold start (./bundle-plugins.ts).
    plugins: [computeClients(), dedupePackages(ROOT, lock), jsonAsParse()],
  });
  const externals = externalsOf(result.metafile);
  const pkg = bundlePackageJson(name, externals, versionOf, version);
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  const bundleLock = bundleLockfile(lock, pkg);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(bundleLock, null, 2)}\n`);
  copyFileSync(configPath, join(dir, BUNDLE_CONFIG));
  const files = ['index.js', 'index.js.map', 'package.json', 'package-lock.json', BUNDLE_CONFIG];
  if (name === 'runTest') {
    for (const path of startupScriptPaths(configPath)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      copyFileSync(join(ROOT, path), join(dir, path));
      files.push(path);
    }
  }
  return { name, dir, externals, files, bytes: statSync(outfile).size };
}

/** Wipes `outDir` and writes one folder per function into it. */
export async function buildFunctions(options: BuildOptions = {}): Promise<BuiltFunction[]> {
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const configPath = resolve(options.config ?? DEFAULT_CONFIG);
  if (outDir === ROOT || ROOT.startsWith(`${outDir}/`)) {
    throw new Error(`refusing to wipe ${outDir}: it holds the source tree`);
  }
  readConfig(configPath);
  const versionOf = lockedVersions(ROOT);
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const names = options.functions ?? FUNCTION_NAMES;
  const lock = readLockfile(ROOT);
  return Promise.all(
    names.map((name) => buildOne(name, join(outDir, name), configPath, versionOf, version, lock)),
  );
}
