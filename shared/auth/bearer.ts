// The token of an `Authorization: Bearer <token>` header (RFC 6750), for every
// door that takes one: the OIDC callers of runTest and the sweeps, and the VMs.

// RFC 6750 b64token; the scheme name is case-insensitive.
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/** The token, or null for a missing header or one that is not a Bearer token. */
export function bearerToken(authorization: string | string[] | undefined): string | null {
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  const match = value ? BEARER.exec(value.trim()) : null;
  return match ? match[1]! : null;
}
