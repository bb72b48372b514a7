// Verification of the OIDC token Cloud Tasks puts on HTTP-target requests
// (`Authorization: Bearer <ID token>`): signature against Google's published keys
// (or configured ones), issuer, expiry, audience, and the service account's email.
// google-auth-library is loaded on first use only.
import type { Environ } from '../../api/types.js';

export const GOOGLE_ID_TOKEN_ISSUER = 'https://accounts.google.com';

export interface IdTokenVerifierOptions {
  /** Expected `email` claim; unchecked when undefined. */
  serviceAccountEmail?: string;
  certsUrls?: { pem?: string; jwk?: string };
}

type VerifyResult = { ok: true; email?: string } | { ok: false; reason: string };

interface OAuth2ClientLike {
  verifyIdToken(options: { idToken: string; audience: string }): Promise<{ getPayload(): Record<string, unknown> | undefined }>;
}

export class IdTokenVerifier {
  private client: Promise<OAuth2ClientLike> | undefined;

  constructor(private readonly options: IdTokenVerifierOptions) {}

  async verify(environ: Environ, audience: string): Promise<VerifyResult> {
    const header = environ.HTTP_AUTHORIZATION;
    if (typeof header !== 'string' || header === '') return { ok: false, reason: 'no Authorization header (Cloud Tasks OIDC token missing)' };
    const match = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/i.exec(header);
    if (!match) return { ok: false, reason: 'the Authorization header is not "Bearer <JWT>"' };
    const client = await (this.client ??= this.createClient());
    let payload: Record<string, unknown> | undefined;
    try {
      payload = (await client.verifyIdToken({ idToken: match[1]!, audience })).getPayload();
    } catch (error) {
      // The library's messages include the whole token: keep only the first sentence.
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, reason: `OIDC token rejected: ${message.split(/[:.]\s/)[0]}` };
    }
    if (!payload) return { ok: false, reason: 'OIDC token has no payload' };
    const expected = this.options.serviceAccountEmail;
    if (expected !== undefined) {
      if (payload.email !== expected) return { ok: false, reason: `OIDC token email ${JSON.stringify(payload.email)} is not the configured service account` };
      if (payload.email_verified !== true) return { ok: false, reason: 'OIDC token email is not verified' };
    }
    return typeof payload.email === 'string' ? { ok: true, email: payload.email } : { ok: true };
  }

  private async createClient(): Promise<OAuth2ClientLike> {
    const { OAuth2Client } = await import('google-auth-library');
    const endpoints: Record<string, string> = {};
    if (this.options.certsUrls?.pem) endpoints.oauth2FederatedSignonPemCertsUrl = this.options.certsUrls.pem;
    if (this.options.certsUrls?.jwk) endpoints.oauth2FederatedSignonJwkCertsUrl = this.options.certsUrls.jwk;
    // The client caches the keys for the max-age the certificate endpoint announces.
    return new OAuth2Client({ endpoints, issuers: [GOOGLE_ID_TOKEN_ISSUER] }) as unknown as OAuth2ClientLike;
  }
}
