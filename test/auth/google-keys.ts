// Offline Google ID tokens: an RSA key pair made here signs RS256 JWTs shaped
// like Cloud Tasks' OIDC tokens, and an OAuth2Client whose key fetch returns
// that key verifies them through the library's own code path.
import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicPem: string;
}

export function makeSigningKey(kid: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

export function signJwt(key: SigningKey, claims: Record<string, unknown>): string {
  const signed = `${b64url({ alg: 'RS256', typ: 'JWT', kid: key.kid })}.${b64url(claims)}`;
  const signature = createSign('RSA-SHA256').update(signed).sign(key.privateKey, 'base64url');
  return `${signed}.${signature}`;
}

type CertsResponse = Awaited<ReturnType<OAuth2Client['getFederatedSignonCertsAsync']>>;

/** An OAuth2Client that knows the given keys instead of fetching Google's. */
export class FixedKeysClient extends OAuth2Client {
  constructor(private readonly keys: SigningKey[]) {
    super();
  }

  override async getFederatedSignonCertsAsync(): Promise<CertsResponse> {
    return {
      certs: Object.fromEntries(this.keys.map((k) => [k.kid, k.publicPem])),
      format: 'PEM' as CertsResponse['format'],
    };
  }
}
