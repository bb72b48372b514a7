// A stand-in for Google's ID-token issuer: an RSA key pair made by the test, RS256
// tokens with a `kid`, and the two certificate endpoints Google serves
// (`/oauth2/v1/certs`: kid -> PEM, `/oauth2/v3/certs`: JWKS), so that
// google-auth-library's OAuth2Client.verifyIdToken can be pointed at it unchanged.
import { createSign, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface IdTokenClaims {
  aud: string;
  email?: string;
  email_verified?: boolean;
  iss?: string;
  sub?: string;
  /** Seconds since the epoch; default: now. */
  iat?: number;
  /** Seconds since the epoch; default: iat + 3600. */
  exp?: number;
  [claim: string]: unknown;
}

export const GOOGLE_ISSUER = 'https://accounts.google.com';

export class SigningKey {
  readonly kid: string;
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;

  /** A fresh RSA-2048 key pair unless `pair` is given (key generation costs ~0.3 s of CPU). */
  constructor(kid: string = randomUUID(), pair: { privateKey: KeyObject; publicKey: KeyObject } = generateKeyPairSync('rsa', { modulusLength: 2048 })) {
    this.kid = kid;
    this.privateKey = pair.privateKey;
    this.publicKey = pair.publicKey;
  }

  /** An RS256 JWT over `claims`, Google-style defaults filled in (real wall-clock time, as Google's tokens). */
  sign(claims: IdTokenClaims): string {
    const iat = claims.iat ?? Math.floor(Date.now() / 1000);
    const payload = {
      iss: GOOGLE_ISSUER,
      sub: '100000000000000000001',
      ...claims,
      iat,
      exp: claims.exp ?? iat + 3600,
    };
    const header = { alg: 'RS256', typ: 'JWT', kid: this.kid };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(this.privateKey);
    return `${signingInput}.${base64url(signature)}`;
  }
}

// One key pair per test process is enough for the issuers: each issuer still gets its own kid.
let sharedPair: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

/** Serves the public half of `trusted` keys; keys not in the list sign tokens that must fail. */
export class TestOidcIssuer {
  readonly key = new SigningKey(randomUUID(), (sharedPair ??= generateKeyPairSync('rsa', { modulusLength: 2048 })));
  private readonly trusted: SigningKey[] = [this.key];
  private server: Server | undefined;
  private baseUrl = '';
  /** How many times the certificate endpoints were fetched (the verifier should cache). */
  certFetches = 0;

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      let body: unknown;
      if (path === '/oauth2/v1/certs') {
        body = Object.fromEntries(
          this.trusted.map((k) => [k.kid, k.publicKey.export({ type: 'spki', format: 'pem' }).toString()]),
        );
      } else if (path === '/oauth2/v3/certs') {
        body = { keys: this.trusted.map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: 'RS256', use: 'sig' })) };
      } else {
        res.writeHead(404).end();
        return;
      }
      this.certFetches++;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  get pemCertsUrl(): string {
    return `${this.baseUrl}/oauth2/v1/certs`;
  }

  get jwkCertsUrl(): string {
    return `${this.baseUrl}/oauth2/v3/certs`;
  }

  sign(claims: IdTokenClaims): string {
    return this.key.sign(claims);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}
