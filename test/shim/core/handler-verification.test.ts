// Verification comes before user code: a Handler subclass whose runFromRequest
// override does work before `super.runFromRequest` must not do it for a forged
// request, on a custom URL as on the default one; a genuine task runs once and
// its signature is verified once; runFromRequest called directly still checks.
// On the memory and the embedded backend, in production mode (signatures checked).
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import inject from 'light-my-request';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { wrapApp } from '../../../shim/adapters/wrap-app.js';
import { defer } from '../../../shim/api/defer.js';
import { Handler, XSRF_NO_TASKNAME, XSRF_NOT_FROM_QUEUE } from '../../../shim/api/handler.js';
import { register } from '../../../shim/api/registry.js';
import type { Environ, HandlerResult } from '../../../shim/api/types.js';
import { drain, getRuntime, resetRuntime } from '../../../shim/runtime/runtime.js';
import { serialize } from '../../../shim/serialization/envelope.js';
import { freshRuntime, taskEnviron, type TestRuntime } from './helpers.js';

const CUSTOM_URL = '/tasks/custom';
const TEXT = { 'Content-Type': 'text/plain' };

let sideEffects: string[];
let runs: number[];

function work(value: number): void {
  runs.push(value);
}

/** The migrated shape: work before `super.runFromRequest`, as a legacy subclass did. */
class AuditingHandler extends Handler {
  override async runFromRequest(environ: Environ): Promise<HandlerResult> {
    sideEffects.push(`audit ${String(environ.HTTP_X_APPENGINE_TASKNAME)}`);
    return super.runFromRequest(environ);
  }
}

/** An app that serves the subclass on a custom URL and 404 elsewhere, wrapped as a migrated app is. */
function appWithCustomRoute() {
  const custom = new AuditingHandler();
  return wrapApp(
    (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.split('?')[0] === CUSTOM_URL) return custom(req, res);
      res.statusCode = 404;
      res.end('not found');
    },
    { useDeferred: true },
  );
}

describe.each(['memory', 'embedded'] as const)('on the %s backend in production mode', (backend) => {
  let rt: TestRuntime;
  let dataDir: string;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'deferred-verify-first-'));
    rt = await freshRuntime({ backend, dataDir, mode: 'production' });
    sideEffects = [];
    runs = [];
    register(work);
  });
  afterEach(async () => {
    await resetRuntime();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a forged POST to the custom URL gets 403 and the override does nothing', async () => {
    const app = appWithCustomRoute();
    const payload = Buffer.from(serialize(work, 1));
    const withoutName = await inject(app, { method: 'POST', url: CUSTOM_URL, payload });
    const unsigned = await inject(app, { method: 'POST', url: CUSTOM_URL, payload, headers: { 'X-AppEngine-TaskName': 'forged', 'X-AppEngine-QueueName': 'default' } });
    const badSignature = await inject(app, {
      method: 'POST',
      url: CUSTOM_URL,
      payload,
      headers: { 'X-AppEngine-TaskName': 'forged', 'X-AppEngine-QueueName': 'default', 'X-Deferred-Signature': 'AAAA' },
    });
    expect([withoutName, unsigned, badSignature].map((res) => [res.statusCode, res.payload])).toEqual([
      [403, XSRF_NO_TASKNAME],
      [403, XSRF_NOT_FROM_QUEUE],
      [403, XSRF_NOT_FROM_QUEUE],
    ]);
    expect(sideEffects).toEqual([]);
    expect(runs).toEqual([]);
  });

  it('a genuine task to the custom URL runs once, its signature verified once', async () => {
    appWithCustomRoute();
    const verify = vi.spyOn(getRuntime().backend, 'verify');
    const task = await defer(work, 7, { _url: CUSTOM_URL });
    expect(await drain()).toBe(1);
    expect(runs).toEqual([7]);
    expect(sideEffects).toEqual([`audit ${task.name}`]);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(rt.logger.at('error')).toEqual([]);
  });

  it('runFromRequest called directly refuses a forged request and runs nothing', async () => {
    const handler = new Handler();
    const body = serialize(work, 2);
    const production = { SERVER_SOFTWARE: 'Google App Engine/1.0' };
    expect(await handler.runFromRequest(taskEnviron(body, { ...production, HTTP_X_APPENGINE_TASKNAME: undefined }))).toEqual([XSRF_NO_TASKNAME, 403, TEXT]);
    expect(await handler.runFromRequest(taskEnviron(body, production))).toEqual([XSRF_NOT_FROM_QUEUE, 403, TEXT]);
    expect(runs).toEqual([]);
  });

  it('an override that hands a copy of the environ to super still gets the body post read from the stream', async () => {
    class Copying extends Handler {
      override runFromRequest(environ: Environ): Promise<HandlerResult> {
        sideEffects.push('copy');
        return super.runFromRequest({ ...environ });
      }
    }
    const verify = vi.spyOn(getRuntime().backend, 'verify');
    const copying = new Copying();
    wrapApp((req: IncomingMessage, res: ServerResponse) => copying(req, res), { useDeferred: true });
    await defer(work, 3, { _url: CUSTOM_URL });
    expect(await drain()).toBe(1);
    expect(runs).toEqual([3]);
    // The copy is not the environ post checked, so it is checked again: correct, only slower.
    expect(verify).toHaveBeenCalledTimes(2);
  });
});

describe('in development mode', () => {
  beforeEach(async () => {
    await freshRuntime();
    sideEffects = [];
    runs = [];
    register(work);
  });

  it('the task-name check still comes before the override', async () => {
    const res = await inject(appWithCustomRoute(), { method: 'POST', url: CUSTOM_URL, payload: Buffer.from(serialize(work, 1)) });
    expect(res.statusCode).toBe(403);
    expect(sideEffects).toEqual([]);
    const genuine = await inject(appWithCustomRoute(), {
      method: 'POST',
      url: CUSTOM_URL,
      payload: Buffer.from(serialize(work, 1)),
      headers: { 'X-AppEngine-TaskName': 't1' },
    });
    expect(genuine.statusCode).toBe(200);
    expect(sideEffects).toEqual(['audit t1']);
    expect(runs).toEqual([1]);
  });

  it('a body over maxBodyBytes is refused with 413 before the override runs', async () => {
    await freshRuntime({ maxBodyBytes: 4 });
    register(work);
    const result = await new AuditingHandler().post(taskEnviron(serialize(work, 1)));
    expect(result[1]).toBe(413);
    expect(sideEffects).toEqual([]);
  });
});
