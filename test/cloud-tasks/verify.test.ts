// Authenticity of incoming task requests: OIDC tokens on HTTP targets (signature,
// issuer, expiry, audience, service account) and the App Engine task headers, first
// against `verify` directly, then over HTTP through the Handler: a request that does
// not prove it comes from Cloud Tasks gets 403 and runs nothing.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defer } from '../../shim/api/defer.js';
import { register } from '../../shim/api/registry.js';
import type { Environ } from '../../shim/api/types.js';
import { wrapApp } from '../../shim/adapters/wrap-app.js';
import { CloudTasksBackend } from '../../shim/backends/cloud-tasks/backend.js';
import { getTaskContext } from '../../shim/runtime/context.js';
import { SERVICE_ACCOUNT, startWorld, type World } from './harness.js';
import { SigningKey, TestOidcIssuer, type IdTokenClaims } from './server/oidc-issuer.js';

const BASE_URL = 'https://app.example.run.app';
const AUDIENCE = 'https://tasks.example.com/deferred';

describe('verify() on an HTTP target', () => {
  let issuer: TestOidcIssuer;
  let backend: CloudTasksBackend;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    issuer = await new TestOidcIssuer().start();
    backend = new CloudTasksBackend(
      { project: 'p', location: 'l', target: 'http', baseUrl: BASE_URL, serviceAccountEmail: SERVICE_ACCOUNT, audience: AUDIENCE, oidcCertsUrls: { pem: issuer.pemCertsUrl } },
      { env: {} },
    );
  });
  afterAll(async () => {
    await backend.close();
    await issuer.close();
  });

  function environ(token: string | undefined, extra: Record<string, string> = {}): Environ {
    return {
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/_ah/queue/deferred',
      HTTP_X_CLOUDTASKS_TASKNAME: 'task-1',
      HTTP_X_CLOUDTASKS_QUEUENAME: 'default',
      HTTP_X_CLOUDTASKS_TASKRETRYCOUNT: '2',
      HTTP_X_CLOUDTASKS_TASKEXECUTIONCOUNT: '1',
      ...(token !== undefined ? { HTTP_AUTHORIZATION: `Bearer ${token}` } : {}),
      ...extra,
    };
  }
  const claims = (over: Partial<IdTokenClaims> = {}): IdTokenClaims => ({ aud: AUDIENCE, email: SERVICE_ACCOUNT, email_verified: true, ...over });

  it('accepts a token Cloud Tasks would send, and exposes the X-CloudTasks-* values under the App Engine names', async () => {
    const env = environ(issuer.sign(claims()));
    await expect(backend.verify(env, new Uint8Array())).resolves.toEqual({ ok: true });
    expect(env).toMatchObject({
      HTTP_X_APPENGINE_TASKNAME: 'task-1',
      HTTP_X_APPENGINE_QUEUENAME: 'default',
      HTTP_X_APPENGINE_TASKRETRYCOUNT: '2',
      HTTP_X_APPENGINE_TASKEXECUTIONCOUNT: '1',
    });
  });

  it.each([
    ['a wrong audience', () => issuer.sign(claims({ aud: 'https://someone-else.example.com' })), /Wrong recipient/],
    ['an expired token', () => issuer.sign(claims({ iat: now() - 7200, exp: now() - 3600 })), /too late/],
    ['a bad signature (another key claiming the trusted kid)', () => new SigningKey(issuer.key.kid).sign(claims()), /Invalid token signature/],
    ['a key the issuer does not publish', () => new SigningKey().sign(claims()), /No pem found/],
    ['another issuer', () => issuer.sign(claims({ iss: 'https://evil.example.com' })), /Invalid issuer/],
    ['another service account', () => issuer.sign(claims({ email: 'intruder@p.iam.gserviceaccount.com' })), /not the configured service account/],
    ['an unverified email', () => issuer.sign(claims({ email_verified: false })), /not verified/],
  ])('rejects %s', async (_label, token, reason) => {
    const result = await backend.verify(environ(token()), new Uint8Array());
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toMatch(reason);
  });

  it('rejects a missing token, a non-Bearer header and a request without X-CloudTasks-TaskName', async () => {
    await expect(backend.verify(environ(undefined), new Uint8Array())).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/no Authorization header/) });
    await expect(backend.verify(environ(undefined, { HTTP_AUTHORIZATION: 'Basic dXNlcjpwYXNz' }), new Uint8Array())).resolves.toMatchObject({ ok: false });
    const noName = environ(issuer.sign(claims()));
    delete noName.HTTP_X_CLOUDTASKS_TASKNAME;
    await expect(backend.verify(noName, new Uint8Array())).resolves.toMatchObject({ ok: false, reason: expect.stringMatching(/X-CloudTasks-TaskName/) });
  });

  it('does not alias forged App Engine headers when the token is bad', async () => {
    const env = environ(new SigningKey().sign(claims()));
    await backend.verify(env, new Uint8Array());
    expect(env.HTTP_X_APPENGINE_TASKNAME).toBeUndefined();
  });

  it('fetches the signing keys once and caches them', async () => {
    const before = issuer.certFetches;
    for (let i = 0; i < 3; i++) await backend.verify(environ(issuer.sign(claims())), new Uint8Array());
    expect(issuer.certFetches - before).toBeLessThanOrEqual(1);
  });

  it('without a configured audience, expects the full URL of the request (the Cloud Tasks default)', async () => {
    const byUrl = new CloudTasksBackend(
      { project: 'p', location: 'l', target: 'http', baseUrl: `${BASE_URL}/`, serviceAccountEmail: SERVICE_ACCOUNT, oidcCertsUrls: { jwk: issuer.jwkCertsUrl, pem: issuer.pemCertsUrl } },
      { env: {} },
    );
    const path = { PATH_INFO: '/custom/path' };
    await expect(byUrl.verify(environ(issuer.sign(claims({ aud: `${BASE_URL}/custom/path` })), path), new Uint8Array())).resolves.toEqual({ ok: true });
    await expect(byUrl.verify(environ(issuer.sign(claims({ aud: `${BASE_URL}/_ah/queue/deferred` })), path), new Uint8Array())).resolves.toMatchObject({ ok: false });
    // Under a mount point (environFrom(req, { scriptName })), the full URL is SCRIPT_NAME + PATH_INFO.
    const mounted = { SCRIPT_NAME: '/tasks', PATH_INFO: '/mail' };
    await expect(byUrl.verify(environ(issuer.sign(claims({ aud: `${BASE_URL}/tasks/mail` })), mounted), new Uint8Array())).resolves.toEqual({ ok: true });
    await expect(byUrl.verify(environ(issuer.sign(claims({ aud: `${BASE_URL}/mail` })), mounted), new Uint8Array())).resolves.toMatchObject({ ok: false });
  });

  it('a verifier without the service account to check against is a config error, unless told not to check', async () => {
    const unchecked = { project: 'p', location: 'l', target: 'http' as const, audience: AUDIENCE, oidcCertsUrls: { pem: issuer.pemCertsUrl } };
    await expect(new CloudTasksBackend(unchecked, { env: {} }).verify(environ(issuer.sign(claims())), new Uint8Array())).rejects.toThrow(
      /serviceAccountEmail \(DEFERRED_CLOUD_TASKS_SERVICE_ACCOUNT\)/,
    );
    const any = new CloudTasksBackend({ ...unchecked, requireServiceAccountEmail: false }, { env: {} });
    await expect(any.verify(environ(issuer.sign(claims({ email: 'other@x.iam.gserviceaccount.com' }))), new Uint8Array())).resolves.toEqual({ ok: true });
  });
});

describe('verify() on an App Engine target', () => {
  it('needs the X-AppEngine queue and task name headers App Engine strips from outside requests', async () => {
    const backend = new CloudTasksBackend({ project: 'p', location: 'l', target: 'appengine' }, { env: {} });
    const base = { REQUEST_METHOD: 'POST', PATH_INFO: '/_ah/queue/deferred' };
    await expect(backend.verify({ ...base, HTTP_X_APPENGINE_TASKNAME: 't' }, new Uint8Array())).resolves.toMatchObject({ ok: false });
    await expect(backend.verify({ ...base, HTTP_X_APPENGINE_QUEUENAME: 'default' }, new Uint8Array())).resolves.toMatchObject({ ok: false });
    await expect(backend.verify({ ...base, HTTP_X_APPENGINE_TASKNAME: 't', HTTP_X_APPENGINE_QUEUENAME: 'default' }, new Uint8Array())).resolves.toEqual({ ok: true });
  });
});

// --- over HTTP, through the Handler ------------------------------------------------

const runs: Array<{ value: number; retryCount?: number; executionCount?: number; previousResponse?: number; queue?: string }> = [];
let failFirst = false;
function remember(value: number): void {
  const context = getTaskContext();
  if (failFirst && context?.retryCount === 0) throw new Error('first attempt fails on purpose');
  runs.push({ value, retryCount: context?.retryCount, executionCount: context?.executionCount, previousResponse: context?.previousResponse, queue: context?.queue });
}
register(remember, 'cloudTasksVerifyTest.remember');

function minimalApp() {
  return wrapApp(
    (_req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      res.statusCode = 404;
      res.end('not found');
    },
    { useDeferred: true },
  );
}

describe.each(['http', 'appengine'] as const)('task requests over HTTP (%s target)', (target) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(minimalApp, { target, queues: { default: { minBackoffMs: 1000 } } });
  });
  afterAll(() => world.close());
  afterEach(() => {
    runs.length = 0;
    failFirst = false;
  });

  it('a genuine delivery runs; forged copies of it get 403 and run nothing', async () => {
    await defer(remember, 7, { _countdown: 60 });
    const created = world.server.created.at(-1)!;
    const body = Buffer.from((created.httpRequest ?? created.appEngineHttpRequest)!.body!);
    const forge = async (headers: Record<string, string>) => {
      const response = await fetch(`${world.appUrl}/_ah/queue/deferred`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers }, body });
      return response.status;
    };
    const taskHeaders: Record<string, string> = target === 'http' ? { 'X-CloudTasks-TaskName': 'forged', 'X-CloudTasks-QueueName': 'default' } : {};
    const aud = `${world.appUrl}/_ah/queue/deferred`;
    const forged = [
      await forge({ ...taskHeaders }),
      await forge({ ...taskHeaders, 'X-AppEngine-TaskName': 'forged' }),
      await forge({ ...taskHeaders, authorization: `Bearer ${world.issuer.sign({ aud: 'https://elsewhere.example.com', email: SERVICE_ACCOUNT, email_verified: true })}` }),
      await forge({ ...taskHeaders, authorization: `Bearer ${new SigningKey(world.issuer.key.kid).sign({ aud, email: SERVICE_ACCOUNT, email_verified: true })}` }),
      await forge({ ...taskHeaders, authorization: `Bearer ${world.issuer.sign({ aud, email: SERVICE_ACCOUNT, email_verified: true, iat: 1e9, exp: 1e9 + 3600 })}` }),
    ];
    expect(forged).toEqual([403, 403, 403, 403, 403]);
    expect(runs).toEqual([]);
    await world.advance(60_000);
    expect(runs).toEqual([{ value: 7, retryCount: 0, executionCount: 0, previousResponse: undefined, queue: 'default' }]);
    expect(world.server.deliveries.at(-1)).toMatchObject({ status: 200, responseBody: 'Success' });
  });

  it('a failed attempt is retried with backoff, and the retry sees the counts in getTaskContext()', async () => {
    failFirst = true;
    await defer(remember, 8);
    await world.advance(0);
    expect(world.server.deliveries.at(-1)).toMatchObject({ status: 500 });
    expect(runs).toEqual([]);
    await world.advance(999);
    expect(runs).toEqual([]);
    await world.advance(1);
    expect(runs).toEqual([{ value: 8, retryCount: 1, executionCount: 1, previousResponse: 500, queue: 'default' }]);
    expect(world.server.queued()).toEqual([]);
  });
});
