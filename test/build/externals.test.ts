// What the build leaves external, and what it refuses to bundle.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import YAML from 'yaml';
import {
  buildFunctions,
  DEFAULT_CONFIG,
  externalsOf,
  startupScriptPaths,
} from '../../infra/build/build-functions';
import { bundlePackageJson } from '../../infra/build/bundle-package';
import { isExternalPackage, packageNameOf } from '../../infra/build/externals';

describe('packageNameOf', () => {
  it.each([
    ['@google-cloud/firestore', '@google-cloud/firestore'],
    ['@google-cloud/compute/build/src/index.js', '@google-cloud/compute'],
    ['google-gax/build/src/fallback', 'google-gax'],
    ['protobufjs', 'protobufjs'],
    ['./local', undefined],
    ['/abs/path', undefined],
    ['node:fs', undefined],
    ['stream', undefined],
  ])('%s → %s', (specifier, name) => {
    expect(packageNameOf(specifier)).toBe(name);
  });
});

describe('isExternalPackage', () => {
  it('the Google clients and what their proto loading needs', () => {
    for (const name of [
      '@google-cloud/firestore',
      '@google-cloud/compute',
      'google-gax',
      'google-auth-library',
      '@grpc/grpc-js',
      'protobufjs',
    ]) {
      expect(isExternalPackage(name)).toBe(true);
    }
    for (const name of ['express', 'zod', 'yaml', '@octokit/rest', 'google-gax-extra']) {
      expect(isExternalPackage(name)).toBe(false);
    }
  });
});

describe('externalsOf', () => {
  const metafile = (paths: string[]): Metafile => ({
    inputs: {},
    outputs: {
      'index.js': {
        bytes: 1,
        inputs: {},
        exports: [],
        imports: paths.map((path) => ({ path, kind: 'require-call', external: true })),
      },
    },
  });

  it('the packages, once each, builtins left out', () => {
    const names = externalsOf(
      metafile(['node:fs', '@google-cloud/tasks', 'google-gax/build/x', '@google-cloud/tasks']),
    );
    expect(names).toEqual(['@google-cloud/tasks', 'google-gax']);
  });

  it('refuses a package left out that is not an external', () => {
    expect(() => externalsOf(metafile(['express']))).toThrow(/express/);
  });
});

describe('bundlePackageJson', () => {
  it('exact versions, a start script and nothing to build', () => {
    const pkg = bundlePackageJson('sweepPending', ['b', 'a'], (name) => `1.0.${name.length}`);
    expect(pkg).toEqual({
      name: 'vm-ci-sweep-pending',
      version: '0.0.0',
      private: true,
      description: expect.any(String),
      engines: { node: '>=22' },
      main: 'index.js',
      scripts: { start: 'node index.js' },
      dependencies: { a: '1.0.1', b: '1.0.1' },
    });
    expect(Object.keys(pkg.dependencies)).toEqual(['a', 'b']);
  });
});

describe('the configuration the build takes', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'vmci-build-config-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function configWith(edit: (config: Record<string, unknown>) => void): string {
    const config = YAML.parse(readFileSync(DEFAULT_CONFIG, 'utf8')) as Record<string, unknown>;
    edit(config);
    const path = join(dir, 'vmci.yaml');
    writeFileSync(path, YAML.stringify(config));
    return path;
  }

  it('a startup script outside the source tree cannot be bundled', () => {
    for (const script of ['/opt/startup.sh', '../elsewhere/startup.sh']) {
      const path = configWith((config) => {
        (config.platforms as Record<string, Record<string, unknown>>).linux!.startupScript = script;
      });
      expect(() => startupScriptPaths(path)).toThrow(/platforms\.linux\.startupScript/);
    }
  });

  it('a bad file fails the build before anything is written', async () => {
    const path = configWith((config) => delete config.project);
    const out = join(dir, 'out');
    await expect(buildFunctions({ config: path, outDir: out })).rejects.toThrow(/project/);
    expect(() => readFileSync(join(out, 'webhook', 'index.js'))).toThrow();
  });
});
