// Who may see the dashboard and which POSTs count. The rules (docs/dashboard.md):
// - an `auth(req)` hook the app provides, or a bearer token from configuration
//   (`token` option or DEFERRED_DASHBOARD_TOKEN): the `Authorization: Bearer` header,
//   or the session cookie the login form sets (an HMAC of the token, not the token);
// - neither configured: open only where `openOnLoopback` says so (the runtime's
//   development mode, the standalone CLI) and only to a client whose *socket* is on
//   loopback, with a loopback Host (a DNS-rebinding page has its own host name);
//   otherwise the dashboard is off;
// - every action is a POST carrying a CSRF token bound to a per-browser cookie, from
//   a same-origin page (Sec-Fetch-Site / Origin, when the browser sends them).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What the auth hook gets besides the request: the same facts for every framework. */
export interface AuthInfo {
  /** A request header (lower or any case); repeated headers joined with ", ". */
  header(name: string): string | undefined;
  cookie(name: string): string | undefined;
  /** The socket's peer address. */
  remoteAddress: string | undefined;
}

/**
 * The app's decision: `request` is what the server received (Node's IncomingMessage
 * for Node, Express, Koa and Fastify apps; the fetch Request for fetch-style apps),
 * before any of the app's middleware ran.
 */
export type AuthHook = (request: IncomingMessage | Request, info: AuthInfo) => boolean | Promise<boolean>;

export interface AccessPolicy {
  auth?: AuthHook;
  token?: string;
  /** Let loopback clients in without credentials (development mode, standalone CLI). */
  openOnLoopback: boolean;
}

/** What the dashboard knows about one request, whatever the framework. */
export interface RequestFacts {
  method: string;
  header(name: string): string | undefined;
  /** The socket's peer address (never a forwarded header). */
  remoteAddress: string | undefined;
  /** Whether the connection is TLS (or a proxy says https): cookies get `Secure`. */
  secure: boolean;
  /** The framework's own request object, for the auth hook. */
  native: unknown;
}

export type Access =
  | { allowed: true }
  | { allowed: false; status: 401 | 403; reason: string }
  /** No way in is configured: the dashboard does not exist for this request. */
  | { allowed: false; status: 404; reason: string };

export const SESSION_COOKIE = 'dmdash_session';
export const CSRF_COOKIE = 'dmdash_csrf';

export function isConfigured(policy: AccessPolicy): boolean {
  return policy.auth !== undefined || policy.token !== undefined;
}

export async function decideAccess(policy: AccessPolicy, request: RequestFacts): Promise<Access> {
  if (policy.token !== undefined && hasValidToken(policy.token, request)) return { allowed: true };
  if (policy.auth !== undefined) {
    const info: AuthInfo = {
      header: (name) => request.header(name.toLowerCase()),
      cookie: (name) => readCookie(request.header('cookie'), name),
      remoteAddress: request.remoteAddress,
    };
    const verdict = await policy.auth(request.native as IncomingMessage | Request, info);
    if (verdict === true) return { allowed: true };
    return { allowed: false, status: 403, reason: 'The dashboard\u2019s auth hook refused this request.' };
  }
  if (policy.token !== undefined) {
    return { allowed: false, status: 401, reason: 'Sign in with the dashboard token.' };
  }
  if (policy.openOnLoopback) {
    if (isLoopbackAddress(request.remoteAddress) && isLoopbackHost(request.header('host'))) return { allowed: true };
    return { allowed: false, status: 403, reason: 'Without auth or a token the dashboard is open to this machine (loopback) only.' };
  }
  return { allowed: false, status: 404, reason: 'The dashboard is off: configure auth or a token to serve it in production.' };
}

function hasValidToken(token: string, request: RequestFacts): boolean {
  const authorization = request.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match && constantTimeEqual(match[1]!, token)) return true;
  }
  const session = readCookie(request.header('cookie'), SESSION_COOKIE);
  return session !== undefined && constantTimeEqual(session, sessionValue(token));
}

/** Equal strings, in time independent of where they differ (digests make the lengths equal). */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** The login cookie's value: derived from the token, so the cookie never holds the token itself. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('deferred-migrate dashboard session').digest('base64url');
}

/** 127.0.0.0/8, ::1 and their IPv4-mapped forms: the socket's own address, not a header. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || address === '::1';
}

/** Host header naming this machine; anything else on a loopback socket is a rebinding attack. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true; // HTTP/1.0 clients; a browser always sends Host
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name.endsWith('.localhost') || isLoopbackAddress(name);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function cookie(name: string, value: string, options: { path: string; secure: boolean; maxAgeSeconds?: number }): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`, 'HttpOnly', 'SameSite=Strict'];
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

/**
 * CSRF tokens: an HMAC of the browser's CSRF cookie (random, HttpOnly, SameSite=Strict)
 * and of its sign-in session cookie, if any, under a key of this dashboard. A page
 * from another site can neither read the cookies nor compute the token, and signing
 * out voids the forms of the session. The key comes from the token when there is one
 * (every instance behind a load balancer agrees), else it is random per process.
 */
export class CsrfGuard {
  private readonly key: Buffer;

  constructor(token: string | undefined) {
    this.key = token === undefined ? randomBytes(32) : createHmac('sha256', token).update('deferred-migrate dashboard csrf').digest();
  }

  newCookieValue(): string {
    return randomBytes(18).toString('base64url');
  }

  tokenFor(cookieValue: string, session: string | undefined): string {
    return createHmac('sha256', this.key).update(`${cookieValue}\n${session ?? ''}`).digest('base64url');
  }

  check(cookieValue: string | undefined, session: string | undefined, given: string | undefined): boolean {
    if (cookieValue === undefined || given === undefined || cookieValue === '') return false;
    return constantTimeEqual(this.tokenFor(cookieValue, session), given);
  }
}

/**
 * Whether a state-changing request comes from a page of this origin. Browsers send
 * Sec-Fetch-Site (all current ones) and Origin on POSTs; a client sending neither
 * (curl, scripts) still needs the CSRF token.
 */
export function sameOriginRequest(request: RequestFacts): { ok: true } | { ok: false; reason: string } {
  const site = request.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin') return { ok: false, reason: `a ${site} request (Sec-Fetch-Site)` };
  const origin = request.header('origin');
  if (origin !== undefined) {
    if (origin === 'null') return { ok: false, reason: 'a request from an opaque origin' };
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return { ok: false, reason: `an unreadable Origin (${origin})` };
    }
    if (host !== request.header('host')) return { ok: false, reason: `a request from ${origin}` };
  }
  return { ok: true };
}

/** Headers of every dashboard response: no inline script or style, no framing, no caching, no sniffing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};
