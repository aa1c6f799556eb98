// esbuild plugins that make a function's bundle cheaper to start (issue 16, cold
// start): Node compiles the whole of index.js before it runs a line of it, so
// every byte in it costs, used or not.
//   - dedupePackages: npm installs one package version several times when its
//     copies cannot be hoisted (express's mime-types and mime-db: four copies of
//     mime-db 1.54.0 under express, accepts, send and type-is). Each copy would be
//     bundled, compiled and run. A package is bundled once per set of copies that
//     are interchangeable: same name and version, and every dependency resolving
//     to interchangeable copies too (from package-lock.json).
//   - jsonAsParse: a large JSON file (mime-db's 230 KB, iconv-lite's code pages)
//     becomes `JSON.parse("…")` instead of an object literal. V8 scans a string
//     literal far faster than it parses the same data as JavaScript, and JSON.parse
//     is what Node itself does for a required .json file.
import { readFileSync, realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { Plugin } from 'esbuild';
import { resolveIn, type Lockfile } from './bundle-lockfile';

/** `node_modules/a/node_modules/@s/b` → `@s/b`. */
function nameAt(path: string): string {
  const rest = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  return rest;
}

/**
 * For each lockfile path whose package has an interchangeable copy elsewhere,
 * the copy every bundle uses instead: the shortest path (then the first in
 * sort order) among the interchangeable ones. Paths mapped to themselves are left out.
 */
export function canonicalCopies(packages: Lockfile['packages']): Map<string, string> {
  const signatures = new Map<string, string | null>();
  // A package's identity: name@version and, recursively, those of what its dependencies resolve to.
  const signature = (path: string): string | null => {
    const known = signatures.get(path);
    if (known !== undefined) return known;
    signatures.set(path, null); // a cycle: never deduplicated
    const entry = packages[path];
    if (!entry?.version) return null;
    const deps: string[] = [];
    for (const dep of Object.keys({
      ...entry.dependencies,
      ...entry.optionalDependencies,
    }).sort()) {
      const at = resolveIn(packages, path, dep);
      const sig = at === undefined ? '-' : signature(at);
      if (sig === null) return null;
      deps.push(`${dep}=${sig}`);
    }
    const sig = `${nameAt(path)}@${entry.version}(${deps.join(',')})`;
    signatures.set(path, sig);
    return sig;
  };
  const groups = new Map<string, string[]>();
  for (const path of Object.keys(packages)) {
    if (!path.includes('node_modules/') || packages[path]?.link) continue;
    const sig = signature(path);
    if (sig === null) continue;
    groups.set(sig, [...(groups.get(sig) ?? []), path]);
  }
  const canonical = new Map<string, string>();
  for (const paths of groups.values()) {
    if (paths.length < 2) continue;
    const [first] = [...paths].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
    for (const path of paths) if (path !== first) canonical.set(path, first!);
  }
  return canonical;
}

/**
 * The lockfile path of the package that holds `file`, if it is under `modules`
 * (the root's node_modules, as a real path: esbuild resolves symlinks).
 */
function packagePathOf(modules: string, file: string): { pkg: string; rest: string } | undefined {
  if (!file.startsWith(modules + sep)) return undefined;
  const rel =
    'node_modules/' +
    file
      .slice(modules.length + 1)
      .split(sep)
      .join('/');
  const cut = rel.lastIndexOf('node_modules/');
  const after = rel.slice(cut + 'node_modules/'.length).split('/');
  const length = after[0]?.startsWith('@') ? 2 : 1;
  const pkg = rel.slice(0, cut) + 'node_modules/' + after.slice(0, length).join('/');
  return { pkg, rest: after.slice(length).join('/') };
}

export function dedupePackages(root: string, lock: Lockfile): Plugin {
  const canonical = canonicalCopies(lock.packages);
  const modules = realpathSync(join(root, 'node_modules'));
  return {
    name: 'vmci-dedupe-packages',
    setup(build) {
      // Only a bare specifier enters a package; paths inside it then stay in the copy chosen.
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if ((args.pluginData as { dedupe?: boolean } | undefined)?.dedupe) return undefined;
        const result = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { dedupe: true },
        });
        if (result.errors.length > 0 || result.external || !result.path) return undefined;
        const at = packagePathOf(modules, result.path);
        const target = at && canonical.get(at.pkg);
        if (!at || !target) return undefined;
        const path = join(modules, target.slice('node_modules/'.length), at.rest);
        return { path, sideEffects: result.sideEffects };
      });
    },
  };
}

/** JSON files at least this big are bundled as JSON.parse of a string. */
export const JSON_PARSE_MIN_BYTES = 10 * 1024;

export function jsonAsParse(): Plugin {
  return {
    name: 'vmci-json-as-parse',
    setup(build) {
      build.onLoad({ filter: /\.json$/, namespace: 'file' }, (args) => {
        const text = readFileSync(args.path, 'utf8');
        if (Buffer.byteLength(text) < JSON_PARSE_MIN_BYTES) return undefined;
        const compact = JSON.stringify(JSON.parse(text));
        return {
          contents: `module.exports = JSON.parse(${JSON.stringify(compact)});\n`,
          loader: 'js',
        };
      });
    },
  };
}
