// Where paths in the configuration that are relative to the source tree
// (platforms' startupScript, a local cloneSource) are resolved. From source it
// is the repository's root; in a bundle built by `npm run build` it is the
// bundle's own folder, which holds those files at the same relative paths
// (infra/build/build.ts defines VMCI_BUNDLE there).
import { join } from 'node:path';

declare const VMCI_BUNDLE: boolean | undefined;

/** True in a bundle written by `npm run build`. */
export const IN_BUNDLE = typeof VMCI_BUNDLE !== 'undefined' && VMCI_BUNDLE === true;

export const SOURCE_ROOT = IN_BUNDLE ? __dirname : join(__dirname, '..', '..');
