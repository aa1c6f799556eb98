// The per-test token a VM uses to report its progress (DESIGN §6). It is
// derived, not stored: the test id, a dot, and HMAC(secret, test id + VM name).
// So a handler that crashed after inserting the VM, or a retry that adopts it,
// hands out the token that VM already holds; only its hash is written to the
// test. The id in front lets the progress door check the token against its
// test before it reads a byte of the body.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const PURPOSE = 'vmci/vm-token/v2';
// Test ids are [a-z0-9-] (shared/domain/naming.ts); the MAC is base64url.
const VM_TOKEN = /^([A-Za-z0-9-]{1,200})\.([A-Za-z0-9_-]{43})$/;

export function deriveVmToken(secret: string, testId: string, vmName: string): string {
  const mac = createHmac('sha256', secret)
    .update(JSON.stringify([PURPOSE, testId, vmName]))
    .digest('base64url');
  return `${testId}.${mac}`;
}

/** The test a token claims to be for, or undefined when it is not shaped like one. */
export function testIdOfVmToken(token: string): string | undefined {
  return VM_TOKEN.exec(token)?.[1];
}

/** SHA-256, hex: what the test document keeps. */
export function hashVmToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time check of a presented token against the stored hash. */
export function vmTokenMatches(token: string, storedHash: string | null): boolean {
  if (!storedHash) return false;
  const given = Buffer.from(hashVmToken(token), 'hex');
  const wanted = Buffer.from(storedHash, 'hex');
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}
