// Each bundle's package-lock.json: the root lockfile cut down to what the
// bundle's externals need, at the same paths, versions and hashes.
import { join } from 'node:path';
import {
  bundleLockfile,
  neededPaths,
  readLockfile,
  resolveIn,
  type Lockfile,
} from '../../infra/build/bundle-lockfile';
import { bundlePackageJson, lockedVersions } from '../../infra/build/bundle-package';

const ROOT = join(__dirname, '..', '..');

const LOCK: Lockfile = {
  lockfileVersion: 3,
  packages: {
    '': { name: 'root' },
    'node_modules/a': { version: '1.0.0', dependencies: { b: '^2', c: '^1' } },
    // a wants b@2, nested under it; the top-level b is 1 (what d wants).
    'node_modules/a/node_modules/b': { version: '2.0.0', dependencies: { c: '^1' } },
    'node_modules/b': { version: '1.0.0' },
    'node_modules/c': {
      version: '1.0.0',
      optionalDependencies: { 'c-linux': '1', 'c-darwin': '1' },
      peerDependencies: { p: '*', q: '*' },
    },
    'node_modules/c-linux': { version: '1.0.0', optional: true },
    'node_modules/p': { version: '1.0.0', dev: true, devOptional: true },
    'node_modules/d': { version: '1.0.0', dependencies: { b: '^1' } },
    'node_modules/dev-only': { version: '1.0.0', dev: true },
  },
};

describe('resolveIn', () => {
  it('finds the nearest copy up the tree, as Node does', () => {
    expect(resolveIn(LOCK.packages, 'node_modules/a', 'b')).toBe('node_modules/a/node_modules/b');
    expect(resolveIn(LOCK.packages, 'node_modules/a/node_modules/b', 'c')).toBe('node_modules/c');
    expect(resolveIn(LOCK.packages, 'node_modules/d', 'b')).toBe('node_modules/b');
    expect(resolveIn(LOCK.packages, '', 'nowhere')).toBeUndefined();
  });
});

describe('neededPaths', () => {
  it('follows dependencies, optional ones and peers that are installed, and nothing else', () => {
    expect([...neededPaths(LOCK.packages, ['a'])].sort()).toEqual([
      'node_modules/a',
      'node_modules/a/node_modules/b',
      'node_modules/c',
      'node_modules/c-linux',
      'node_modules/p',
    ]);
  });

  it('a required dependency the lockfile lacks is an error that names it', () => {
    const broken = {
      ...LOCK.packages,
      'node_modules/e': { version: '1', dependencies: { x: '1' } },
    };
    expect(() => neededPaths(broken, ['e'])).toThrow(
      'package-lock.json has no x for node_modules/e',
    );
  });
});

describe('bundleLockfile', () => {
  it('the root is the bundle; what it needs is production there', () => {
    const pkg = bundlePackageJson('webhook', ['a'], () => '1.0.0', '0.1.0');
    const lock = bundleLockfile(LOCK, pkg);
    expect(lock.packages['']).toEqual({
      name: 'vm-ci-webhook',
      version: '0.1.0',
      dependencies: { a: '1.0.0' },
      engines: { node: '>=22' },
    });
    expect(lock.packages['node_modules/p']).toEqual({ version: '1.0.0', optional: true });
    expect(lock.packages['node_modules/dev-only']).toBeUndefined();
    expect(lock.packages['node_modules/d']).toBeUndefined();
  });

  it('on the real lockfile: every entry the webhook needs, as the root lock has it', () => {
    const root = readLockfile(ROOT);
    const externals = ['@google-cloud/firestore', '@google-cloud/tasks', 'google-auth-library'];
    const lock = bundleLockfile(
      root,
      bundlePackageJson('webhook', externals, lockedVersions(ROOT)),
    );
    const paths = Object.keys(lock.packages).filter((p) => p !== '');
    expect(paths).toEqual(expect.arrayContaining(externals.map((n) => `node_modules/${n}`)));
    expect(paths).not.toContain('node_modules/@google-cloud/compute');
    expect(paths).not.toContain('node_modules/jest');
    for (const path of paths) {
      expect([path, lock.packages[path]!.version, lock.packages[path]!.integrity]).toEqual([
        path,
        root.packages[path]!.version,
        root.packages[path]!.integrity,
      ]);
    }
  });
});
