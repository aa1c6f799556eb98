// npm run build [-- --config <file>] [--out <dir>]: see ./build-functions.ts.
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFunctions, DEFAULT_CONFIG, DEFAULT_OUT_DIR } from './build-functions';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG },
      out: { type: 'string', default: DEFAULT_OUT_DIR },
    },
  });
  const built = await buildFunctions({ config: values.config, outDir: values.out });
  for (const fn of built) {
    const deps = fn.externals.length ? fn.externals.join(', ') : '(none)';
    const kib = Math.round(fn.bytes / 1024);
    console.log(`${relative(process.cwd(), fn.dir) || '.'}/: index.js ${kib} KiB; npm: ${deps}`);
  }
  console.log(`configuration: ${values.config} (as vmci.yaml; deploy sets VMCI_CONFIG=vmci.yaml)`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
