// Import first in a test file that drives the real @google-cloud/storage client.
//
// The client sends its JSON API calls through teeny-request, which loads
// node-fetch with a dynamic import(); Jest's CommonJS sandbox cannot run one
// without --experimental-vm-modules (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG,
// retried for 15 s). teeny-request carries a node:http transport of its own,
// used when `'Bun' in globalThis`, so the tests mark this sandbox's global.
// Only this test file's sandbox sees the mark; production runs node-fetch as
// the library ships. Resumable uploads go through gaxios instead, which
// storageOptions (shared/files/cloud-storage.ts) hands the global fetch.
const sandbox = globalThis as Record<string, unknown>;
if (!('Bun' in sandbox)) sandbox.Bun = {};

export {};
