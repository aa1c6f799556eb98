// Jest global setup: make sure a Firestore emulator is up for the integration
// tests. Workers are forked after this runs, so they inherit the env var.
import {
  ensureFirestoreEmulator,
  type RunningEmulator,
} from '../../infra/local/firestore-emulator';

declare global {
  var __vmciEmulator: RunningEmulator | undefined;
}

export default async function globalSetup(): Promise<void> {
  const emulator = await ensureFirestoreEmulator({
    log: (line) => process.stderr.write(`\n${line}\n`),
  });
  process.env.FIRESTORE_EMULATOR_HOST = emulator.host;
  globalThis.__vmciEmulator = emulator;
}
