// The direct in-process path for the default URL (inject.ts, withDirectDefaultPath):
// a task for /_ah/queue/deferred on a wrapped app goes to the endpoint with an
// environ built in process; custom URLs go through the app; nothing from outside
// the process can take the direct path.
import express from 'express';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Handler } from '../../../shim/api/handler.js';
import type { DeliveryRequest, Environ, HandlerResult } from '../../../shim/api/types.js';
import { DeferredEndpoint } from '../../../shim/adapters/endpoint.js';
import { nodeListenerTarget, withDirectDefaultPath } from '../../../shim/adapters/inject.js';
import { defer, getTaskContext, register, serialize, wrapApp } from '../../../shim/index.js';
import { getRuntime } from '../../../shim/runtime/runtime.js';
import { calls, devTaskRequest, listen, logs, useMemoryRuntime } from './support.js';

/** A Handler that keeps every environ it answers (what `wsgi.input` was, before it is read). */
class RecordingHandler extends Handler {
  readonly environs: Environ[] = [];
  override post(environ: Environ): Promise<HandlerResult> {
    this.environs.push({ ...environ });
    return super.post(environ);
  }
}

const explode = register(function explode() {
  throw new Error('boom');
}, 'direct.explode');

function deliveryRequest(url = '/_ah/queue/deferred'): DeliveryRequest {
  const { headers, body } = devTaskRequest('direct', 7, 'task-direct');
  return { method: 'POST', url, headers, body };
}

afterEach(() => vi.restoreAllMocks());

describe('the direct path of the default URL', () => {
  useMemoryRuntime('development');

  it('gives the Handler the environ the in-process HTTP path gives it, with the body as bytes', async () => {
    const handler = new RecordingHandler();
    const app = wrapApp(express(), { useDeferred: true, handler, deliver: false });
    const viaHttp = nodeListenerTarget(app as never);
    const direct = withDirectDefaultPath(new DeferredEndpoint(handler), viaHttp);

    expect(await direct(deliveryRequest())).toEqual({ status: 200, body: 'Success' });
    expect(await viaHttp(deliveryRequest())).toEqual({ status: 200, body: 'Success' });
    expect(calls).toEqual([
      ['recordTask', 'direct', 7],
      ['recordTask', 'direct', 7],
    ]);
    const [directEnviron, httpEnviron] = handler.environs as [Environ, Environ];
    expect(directEnviron['wsgi.input']).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(directEnviron['wsgi.input'] as Uint8Array)).toEqual(deliveryRequest().body);
    expect(httpEnviron['wsgi.input']).not.toBeInstanceOf(Uint8Array); // the request stream
    const { 'wsgi.input': _a, ...directRest } = directEnviron;
    // Node's HTTP client adds `Connection: close` on the wire; nothing else may differ.
    const { 'wsgi.input': _b, HTTP_CONNECTION: connection, ...httpRest } = httpEnviron;
    expect(connection).toBe('close');
    expect(directRest).toEqual(httpRest);
    expect(directRest.REMOTE_ADDR).toBe('0.1.0.2');
  });

  it('answers with the same status mapping and logging as the HTTP path', async () => {
    const handler = new RecordingHandler();
    const direct = withDirectDefaultPath(new DeferredEndpoint(handler), () => Promise.reject(new Error('not the app')));
    const request = deliveryRequest();
    const { 'X-AppEngine-TaskName': _dropped, ...withoutName } = request.headers;
    expect(await direct({ ...request, headers: withoutName })).toEqual({ status: 403, body: expect.stringMatching(/XSRF/) });
    expect(await direct({ ...request, body: Buffer.from(serialize(explode)) })).toEqual({ status: 500, body: 'Internal Server Error' });
    expect(await direct({ ...request, body: Buffer.from('not an envelope') })).toEqual({ status: 200, body: 'PermanentTaskFailure' });
    expect(logs.filter((entry) => entry.level === 'error').map((entry) => entry.message)).toEqual([
      expect.stringMatching(/X-AppEngine-Taskname/),
      'Task failed with an error; it will be retried',
      'Permanent failure attempting to execute task',
    ]);
    expect(calls).toEqual([]);
  });

  it('sends custom URLs through the app, as real requests', async () => {
    const seen: IncomingMessage[] = [];
    const app = express();
    app.post('/tasks/custom', (req, res) => {
      seen.push(req);
      res.status(202).send('custom');
    });
    const wrapped = wrapApp(app, { useDeferred: true, deliver: false });
    const direct = withDirectDefaultPath(new DeferredEndpoint(new Handler()), nodeListenerTarget(wrapped as never));
    const deliver = vi.spyOn(DeferredEndpoint.prototype, 'deliver');
    expect(await direct(deliveryRequest('/tasks/custom'))).toEqual({ status: 202, body: 'custom' });
    expect(seen).toHaveLength(1);
    expect(deliver).not.toHaveBeenCalled();
  });
});

describe('a wrapped app delivering its own tasks', () => {
  useMemoryRuntime('production');

  it('runs default-URL tasks on the direct path, with the task context, and never for requests from outside', async () => {
    const deliver = vi.spyOn(DeferredEndpoint.prototype, 'deliver');
    const handler = new RecordingHandler();
    const app = wrapApp(express(), { useDeferred: true, handler });
    const server = await listen(app as never);
    try {
      // From outside: forged (403), other methods (405), a query string; all on the HTTP path.
      const forged = devTaskRequest('forged', 1);
      expect((await fetch(`${server.baseUrl}/_ah/queue/deferred`, forged)).status).toBe(403);
      expect((await fetch(`${server.baseUrl}/_ah/queue/deferred?x=1`, forged)).status).toBe(403);
      expect((await fetch(`${server.baseUrl}/_ah/queue/deferred`)).status).toBe(405);
      expect(deliver).not.toHaveBeenCalled();
      expect(handler.environs.map((environ) => environ.REMOTE_ADDR)).toEqual(['127.0.0.1', '127.0.0.1']);

      const names: Array<string | undefined> = [];
      const withContext = register(function withContext() {
        names.push(getTaskContext()?.name);
      }, 'direct.withContext');
      const enqueued = await defer(withContext, { _name: 'ctx-task' });
      await getRuntime().drain();
      expect(names).toEqual([enqueued.name]);
      expect(deliver).toHaveBeenCalledTimes(1);
      expect(handler.environs.at(-1)!.REMOTE_ADDR).toBe('0.1.0.2');
      expect(calls).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("runs a task outside the enqueuing request's AsyncLocalStorage stores, as an HTTP delivery would", async () => {
    const tenant = new AsyncLocalStorage<string>();
    const app = express();
    app.use((_req, _res, next) => tenant.run('request-tenant', next));
    app.get('/go', async (_req, res) => {
      await defer(readTenant, 'in-request');
      res.send('ok');
    });
    const seen: string[] = [];
    const readTenant = register(function readTenant(label: string) {
      seen.push(`${label}:${tenant.getStore() ?? 'none'}`);
    }, 'direct.readTenant');
    const wrapped = wrapApp(app, { useDeferred: true });
    const server = await listen(wrapped as never);
    try {
      expect(await (await fetch(`${server.baseUrl}/go`)).text()).toBe('ok');
      await tenant.run('caller-tenant', () => defer(readTenant, 'in-run'));
      await getRuntime().drain();
      expect(seen.sort()).toEqual(['in-request:none', 'in-run:none']);
    } finally {
      await server.close();
    }
  });
});
