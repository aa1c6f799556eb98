// Which packages a function bundle leaves to `npm install` instead of bundling.
// Bundling the Google client libraries breaks their proto loading
// (nodejs-firestore#1493, gax-nodejs#948); everything else (Express, zod, yaml,
// Octokit) is bundled, and works bundled (test/build/build.test.ts starts each bundle).
// One exception: the two Compute client modules runTest and sweepExpired import
// are bundled, with protos cut down to their services (./compute-clients.ts);
// google-gax, which they require, stays external.
import { isBuiltin } from 'node:module';

/** esbuild `external` patterns: each also covers the package's subpaths. */
export const EXTERNAL_PATTERNS: readonly string[] = [
  '@google-cloud/*',
  'google-gax',
  'google-auth-library',
  '@grpc/*',
  'protobufjs',
];

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`; a relative path or builtin → undefined. */
export function packageNameOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || isBuiltin(specifier)) {
    return undefined;
  }
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return name || undefined;
}

/** Whether a package name is one the bundles leave external. */
export function isExternalPackage(name: string): boolean {
  return EXTERNAL_PATTERNS.some((pattern) =>
    pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}
