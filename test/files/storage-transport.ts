// Run before every test file (jest.config.js setupFiles), so the real
// @google-cloud/storage client works wherever a test drives it, directly or
// through the progress and status functions the local cloud mounts. Importing
// it again (a test file that says what it relies on) is harmless.
//
// The client sends its JSON API calls through teeny-request, which loads
// node-fetch with a dynamic import(); Jest's CommonJS sandbox cannot run one
// without --experimental-vm-modules (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG,
// retried for 15 s). teeny-request carries a node:http transport of its own,
// used when `'Bun' in globalThis`, so the tests mark each sandbox's global.
// Only the tests' sandboxes see the mark; production runs node-fetch as the
// library ships. Resumable uploads go through gaxios instead, which
// storageOptions (shared/files/cloud-storage.ts) hands the global fetch; gaxios
// reads the same mark and then uses the global fetch too (its own import of
// node-fetch fails in Jest alike), for every Google client a test loads.
const sandbox = globalThis as Record<string, unknown>;
if (!('Bun' in sandbox)) sandbox.Bun = {};

export {};
