// Verification before user code, over HTTP with the Cloud Tasks backend: a Handler
// subclass on a custom URL whose runFromRequest override does work before
// `super.runFromRequest` does nothing for forged requests (403), and a genuine
// delivery runs once with its OIDC token (or App Engine headers) checked once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { wrapApp } from '../../shim/adapters/wrap-app.js';
import { defer } from '../../shim/api/defer.js';
import { Handler } from '../../shim/api/handler.js';
import { register } from '../../shim/api/registry.js';
import type { Environ, HandlerResult } from '../../shim/api/types.js';
import { SERVICE_ACCOUNT, startWorld, type World } from './harness.js';
import { SigningKey } from './server/oidc-issuer.js';

const CUSTOM_URL = '/tasks/audited';
const sideEffects: string[] = [];
const runs: number[] = [];

function auditedWork(value: number): void {
  runs.push(value);
}
register(auditedWork, 'handlerOverrideTest.auditedWork');

class AuditingHandler extends Handler {
  override async runFromRequest(environ: Environ): Promise<HandlerResult> {
    sideEffects.push('audit');
    return super.runFromRequest(environ);
  }
}

function appWithCustomRoute() {
  const custom = new AuditingHandler();
  return wrapApp(
    (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === CUSTOM_URL) return custom(req, res);
      res.statusCode = 404;
      res.end('not found');
    },
    { useDeferred: true },
  );
}

describe.each(['http', 'appengine'] as const)('a runFromRequest override on a custom URL (%s target)', (target) => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld(appWithCustomRoute, { target });
  });
  afterAll(() => world.close());
  afterEach(() => {
    sideEffects.length = 0;
    runs.length = 0;
    vi.restoreAllMocks();
  });

  it('forged requests get 403 and the override does nothing; the genuine task runs once, verified once', async () => {
    const verify = vi.spyOn(world.backend, 'verify');
    await defer(auditedWork, 5, { _url: CUSTOM_URL, _countdown: 60 });
    const created = world.server.created.at(-1)!;
    const body = Buffer.from((created.httpRequest ?? created.appEngineHttpRequest)!.body!);
    const forge = async (headers: Record<string, string>) =>
      (await fetch(`${world.appUrl}${CUSTOM_URL}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers }, body })).status;
    const taskHeaders: Record<string, string> = target === 'http' ? { 'X-CloudTasks-TaskName': 'forged', 'X-CloudTasks-QueueName': 'default' } : {};
    const aud = `${world.appUrl}${CUSTOM_URL}`;
    const forged = [
      await forge({}),
      await forge({ ...taskHeaders, 'X-AppEngine-TaskName': 'forged' }),
      await forge({ ...taskHeaders, authorization: `Bearer ${new SigningKey(world.issuer.key.kid).sign({ aud, email: SERVICE_ACCOUNT, email_verified: true })}` }),
    ];
    expect(forged).toEqual([403, 403, 403]);
    expect(sideEffects).toEqual([]);
    expect(runs).toEqual([]);
    const forgedVerifications = verify.mock.calls.length;

    await world.advance(60_000);
    expect(runs).toEqual([5]);
    expect(sideEffects).toEqual(['audit']);
    expect(world.server.deliveries.at(-1)).toMatchObject({ status: 200, responseBody: 'Success' });
    expect(verify.mock.calls.length - forgedVerifications).toBe(1);
  });
});
