// The build's plugins that make bundles cheaper to start (infra/build/bundle-plugins.ts).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import type { Lockfile } from '../../infra/build/bundle-lockfile';
import {
  canonicalCopies,
  dedupePackages,
  JSON_PARSE_MIN_BYTES,
  jsonAsParse,
} from '../../infra/build/bundle-plugins';

const pkgs = (packages: Lockfile['packages']): Lockfile['packages'] => ({ '': {}, ...packages });

describe('canonicalCopies', () => {
  it('maps copies of one version with the same dependencies to the shortest path', () => {
    const map = canonicalCopies(
      pkgs({
        'node_modules/db': { version: '1.0.0' },
        'node_modules/a/node_modules/types': { version: '3.0.2', dependencies: { db: '^1' } },
        'node_modules/b/node_modules/types': { version: '3.0.2', dependencies: { db: '^1' } },
        'node_modules/zz/node_modules/types': { version: '3.0.2', dependencies: { db: '^1' } },
        'node_modules/types': { version: '2.0.0' },
      }),
    );
    expect(Object.fromEntries(map)).toEqual({
      'node_modules/b/node_modules/types': 'node_modules/a/node_modules/types',
      'node_modules/zz/node_modules/types': 'node_modules/a/node_modules/types',
    });
  });

  it('keeps copies apart when a dependency of theirs resolves to different versions', () => {
    const map = canonicalCopies(
      pkgs({
        'node_modules/db': { version: '1.0.0' },
        'node_modules/a/node_modules/types': { version: '3.0.2', dependencies: { db: '*' } },
        'node_modules/b/node_modules/types': { version: '3.0.2', dependencies: { db: '*' } },
        'node_modules/b/node_modules/db': { version: '2.0.0' },
      }),
    );
    expect(map.size).toBe(0);
  });

  it('deduplicates nested copies whose own dependencies are interchangeable too', () => {
    const map = canonicalCopies(
      pkgs({
        'node_modules/a/node_modules/types': { version: '3.0.2', dependencies: { db: '*' } },
        'node_modules/a/node_modules/db': { version: '1.54.0' },
        'node_modules/b/node_modules/types': { version: '3.0.2', dependencies: { db: '*' } },
        'node_modules/b/node_modules/db': { version: '1.54.0' },
      }),
    );
    expect(Object.fromEntries(map)).toEqual({
      'node_modules/b/node_modules/types': 'node_modules/a/node_modules/types',
      'node_modules/b/node_modules/db': 'node_modules/a/node_modules/db',
    });
  });
});

describe('the plugins in a build', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmci-plugins-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  };

  it.each([
    ['in the folder', false],
    ['linked from elsewhere', true],
  ])(
    'bundles one copy of a package npm installed twice (node_modules %s), and the code still runs',
    async (_, linked) => {
      if (linked) {
        mkdirSync(join(dir, 'elsewhere'));
        symlinkSync(join(dir, 'elsewhere'), join(dir, 'node_modules'), 'dir');
      }
      const lock: Lockfile = {
        lockfileVersion: 3,
        packages: pkgs({
          'node_modules/a': { version: '1.0.0', dependencies: { types: '*' } },
          'node_modules/a/node_modules/types': { version: '3.0.2' },
          'node_modules/b': { version: '1.0.0', dependencies: { types: '*' } },
          'node_modules/b/node_modules/types': { version: '3.0.2' },
        }),
      };
      for (const at of ['a', 'b']) {
        write(`node_modules/${at}/index.js`, `module.exports = require('types').name + '${at}';`);
        write(
          `node_modules/${at}/node_modules/types/index.js`,
          `module.exports = { name: require('./name.json').n };`,
        );
        write(`node_modules/${at}/node_modules/types/name.json`, `{"n": "types@3.0.2 via "}`);
      }
      write('entry.js', `module.exports = [require('a'), require('b')];`);
      const result = await build({
        entryPoints: [join(dir, 'entry.js')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        write: false,
        metafile: true,
        absWorkingDir: dir,
        plugins: [dedupePackages(dir, lock)],
      });
      const inputs = Object.keys(result.metafile.inputs).filter((f) => f.includes('types/'));
      const modules = linked ? 'elsewhere' : 'node_modules';
      expect(inputs.sort()).toEqual([
        `${modules}/a/node_modules/types/index.js`,
        `${modules}/a/node_modules/types/name.json`,
      ]);
      const mod = { exports: {} as unknown };
      new Function('module', 'exports', 'require', result.outputFiles[0]!.text)(mod, mod.exports);
      expect(mod.exports).toEqual(['types@3.0.2 via a', 'types@3.0.2 via b']);
    },
  );

  it('bundles a large JSON file as JSON.parse of a string, with the same value', async () => {
    const big = { list: Array.from({ length: 2000 }, (_, i) => ({ i, s: `x${i}` })), u: '\u2028"' };
    write('big.json', JSON.stringify(big, null, 2));
    write('small.json', '{"small": true}');
    write('entry.js', `module.exports = [require('./big.json'), require('./small.json')];`);
    expect(readFileSync(join(dir, 'big.json')).length).toBeGreaterThan(JSON_PARSE_MIN_BYTES);
    const result = await build({
      entryPoints: [join(dir, 'entry.js')],
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      plugins: [jsonAsParse()],
    });
    const code = result.outputFiles[0]!.text;
    expect(code.match(/JSON\.parse\(/g)).toHaveLength(1);
    const mod = { exports: {} as unknown };
    new Function('module', 'exports', 'require', code)(mod, mod.exports);
    expect(mod.exports).toEqual([big, { small: true }]);
  });
});
