// Where runTest reads startup scripts from (and resolves a relative clone
// source): the repository's root from source, the bundle's own folder in a
// bundle (npm run build copies the scripts there at the same relative paths).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../../infra/build/build-functions';
import { DEFAULT_STARTUP_SCRIPT } from '../../shared/config/schema';
import { IN_BUNDLE, SOURCE_ROOT } from '../../shared/runtime/source-root';

const ROOT = join(__dirname, '..', '..');

describe('SOURCE_ROOT', () => {
  it('from source: the repository root, which holds the default startup scripts', () => {
    expect(IN_BUNDLE).toBe(false);
    expect(SOURCE_ROOT).toBe(ROOT);
    for (const path of Object.values(DEFAULT_STARTUP_SCRIPT)) {
      expect(existsSync(join(SOURCE_ROOT, path))).toBe(true);
    }
  });

  it("bundled as npm run build bundles: the bundle's own folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmci-source-root-'));
    try {
      const outfile = join(dir, 'some-function', 'index.js');
      await build({
        ...BUNDLE_OPTIONS,
        entryPoints: [join(ROOT, 'shared', 'runtime', 'source-root.ts')],
        outfile,
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle just written
      const bundled = require(outfile) as { IN_BUNDLE: boolean; SOURCE_ROOT: string };
      expect(bundled).toEqual({ IN_BUNDLE: true, SOURCE_ROOT: join(dir, 'some-function') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
