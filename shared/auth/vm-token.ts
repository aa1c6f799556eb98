// The per-test token a VM uses to report its progress (DESIGN §6). It is
// derived, not stored: HMAC(secret, test id + VM name). So a handler that
// crashed after inserting the VM, or a retry that adopts it, hands out the
// token that VM already holds; only its hash is written to the test.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const PURPOSE = 'vmci/vm-token/v1';

export function deriveVmToken(secret: string, testId: string, vmName: string): string {
  return createHmac('sha256', secret)
    .update(JSON.stringify([PURPOSE, testId, vmName]))
    .digest('base64url');
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
