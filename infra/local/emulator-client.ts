// A Firestore client for a project on the local emulator: no TLS, and
// PassThroughClient, so no credentials are looked for and the metadata server
// (which stalls off Google Cloud) is never probed.
import { Firestore } from '@google-cloud/firestore';
import { PassThroughClient } from 'google-auth-library';

export function emulatorFirestore(where: { host: string; projectId: string }): Firestore {
  return new Firestore({
    projectId: where.projectId,
    host: where.host,
    ssl: false,
    ignoreUndefinedProperties: true,
    authClient: new PassThroughClient(),
  });
}
