// wrapApp itself: kind detection and its errors, useDeferred: false, wrapping twice,
// the transparency of the returned app, mounting, and the delivery target it attaches.
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';
import express4 from 'express4';
import fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { defer, environFrom, getRuntime, Handler, wrapApp, type Environ, type HandlerResult } from '../../../shim/index.js';
import { detectAppKind } from '../../../shim/adapters/wrap-app.js';
import { configure, resetRuntime } from '../../../shim/runtime/runtime.js';
import { send } from '../../support/send.js';
import { calls, devTaskRequest, logs, recordingLogger, recordTask, useMemoryRuntime } from './support.js';

const DEFERRED = '/_ah/queue/deferred';

function nodeListener(_req: IncomingMessage, res: ServerResponse): void {
  res.end('app');
}

/** A new listener function: wrapApp remembers the functions it wrapped. */
function freshListener() {
  return (_req: IncomingMessage, res: ServerResponse): void => void res.end('app');
}

/** A Handler subclass that counts the requests it answers. */
class CountingHandler extends Handler {
  environs: Environ[] = [];
  override async post(environ: Environ): Promise<HandlerResult> {
    this.environs.push(environ);
    return super.post(environ);
  }
}

describe('kind detection', () => {
  it('recognises each supported kind', () => {
    expect(detectAppKind(fastify())).toBe('fastify');
    expect(detectAppKind(new Koa())).toBe('koa');
    expect(detectAppKind(express())).toBe('connect');
    expect(detectAppKind(new Hono())).toBe('fetch-object');
    expect(detectAppKind({ fetch: (_request: Request) => new Response('') })).toBe('fetch-object');
    expect(detectAppKind((_request: Request) => new Response(''))).toBe('fetch');
    expect(detectAppKind(nodeListener)).toBe('node');
  });

  it('refuses anything else with a clear error, whatever useDeferred says', () => {
    for (const app of [42, null, undefined, 'app', {}, { listen() {} }]) {
      expect(() => wrapApp(app, { useDeferred: true })).toThrow(/wrapApp: unsupported app .*Expected a Node request listener/);
      expect(() => wrapApp(app, { useDeferred: false })).toThrow(/unsupported app/);
    }
  });

  it('refuses bad options', () => {
    expect(() => wrapApp(nodeListener, { useDeferred: 'yes' as unknown as boolean })).toThrow(/useDeferred must be true or false/);
    expect(() => wrapApp(nodeListener, { useDeferred: true, kind: 'django' as never })).toThrow(/kind must be one of/);
    expect(() => wrapApp(nodeListener, { useDeferred: true, kind: 'koa' })).toThrow(/kind 'koa' was given but the app is not a Koa app/);
  });
});

describe('useDeferred: false', () => {
  useMemoryRuntime('development');

  it('returns the app itself and intercepts nothing', async () => {
    const app = express();
    app.post(DEFERRED, (_req, res) => void res.send('the app route'));
    expect(wrapApp(app, { useDeferred: false })).toBe(app);
    expect(wrapApp(app)).toBe(app);
    const task = devTaskRequest('x', 1);
    const response = await send(app, { method: 'POST', url: DEFERRED, headers: task.headers, payload: task.body });
    expect(response.payload).toBe('the app route');
    expect(calls).toEqual([]);
  });
});

describe('wrapping', () => {
  useMemoryRuntime('development');

  it('is a no-op the second time, from the wrapped app or from the original', async () => {
    const handler = new CountingHandler();
    const app = express();
    const wrapped = wrapApp(app, { useDeferred: true, handler });
    expect(wrapApp(wrapped, { useDeferred: true })).toBe(wrapped);
    expect(wrapApp(app, { useDeferred: true })).toBe(wrapped);
    const koa = new Koa();
    const koaWrapped = wrapApp(koa, { useDeferred: true });
    expect(wrapApp(koaWrapped, { useDeferred: true })).toBe(koa);
    expect(koa.middleware).toHaveLength(1);

    const task = devTaskRequest('once', 1);
    await send(wrapped, { method: 'POST', url: DEFERRED, headers: task.headers, payload: task.body });
    expect(handler.environs).toHaveLength(1);
    expect(calls).toEqual([['recordTask', 'once', 1]]);
  });

  it('refuses to wrap an app again with another kind or handler', () => {
    const listener = (_req: IncomingMessage, res: ServerResponse) => void res.end();
    wrapApp(listener, { useDeferred: true, deliver: false });
    expect(() => wrapApp(listener, { useDeferred: true, kind: 'fetch' })).toThrow(/already wrapped \(as 'node'/);
    expect(() => wrapApp(listener, { useDeferred: true, handler: new Handler() })).toThrow(/already wrapped/);
  });

  it('answers the deferred path with the given handler (a Handler subclass instance)', async () => {
    const handler = new CountingHandler();
    const wrapped = wrapApp(freshListener(), { useDeferred: true, handler });
    const task = devTaskRequest('custom handler', 2);
    const response = await send(wrapped, { method: 'POST', url: DEFERRED, headers: task.headers, payload: task.body });
    expect(response.payload).toBe('Success');
    expect(handler.environs.map((environ) => environ.PATH_INFO)).toEqual([DEFERRED]);
  });

  it('answers 500 (the queue retries) when the handler fails outside its own error mapping', async () => {
    const failing = { post: async (): Promise<HandlerResult> => Promise.reject(new Error('handler exploded')) };
    const wrapped = wrapApp(freshListener(), { useDeferred: true, handler: failing, deliver: false });
    const task = devTaskRequest('never', 1);
    const response = await send(wrapped, { method: 'POST', url: DEFERRED, headers: task.headers, payload: task.body });
    expect(response.statusCode).toBe(500);
    expect(response.payload).toBe('Internal Server Error');
    expect(response.payload).not.toMatch(/exploded/);
    expect(logs.filter((entry) => entry.level === 'error').map((entry) => String(entry.fields?.error))).toEqual([
      expect.stringMatching(/handler exploded/),
    ]);
  });

  it('wraps an Express app in place: the same app, its settings and routes, listen() serving the deferred path', async () => {
    const app = express();
    const ownKeys = Object.keys(app);
    const wrapped = wrapApp(app, { useDeferred: true });
    expect(wrapped).toBe(app);
    // `handle` is replaced, not added to or reordered among the app's enumerable keys.
    expect(Object.keys(app)).toEqual(ownKeys);
    wrapped.set('answer', 42);
    expect(app.get('answer')).toBe(42);
    wrapped.get('/x', (_req, res) => void res.send('x'));
    const server = wrapped.listen(0);
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as { port: number };
    expect(await (await fetch(`http://127.0.0.1:${port}/x`)).text()).toBe('x');
    expect((await fetch(`http://127.0.0.1:${port}/missing`)).status).toBe(404);
    const response = await fetch(`http://127.0.0.1:${port}${DEFERRED}`);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    server.close();
  });

  it('refuses an app it cannot change in place with a clear error, leaving it exactly as it was', async () => {
    const frozen = Object.freeze(express());
    expect(() => wrapApp(frozen, { useDeferred: true, deliver: false })).toThrow(/cannot wrap this app in place \(frozen or not extensible\)/);
    const frozenObject = Object.freeze({ fetch: (_request: Request) => new Response('own') });
    expect(() => wrapApp(frozenObject, { useDeferred: true, deliver: false })).toThrow(/cannot wrap this app in place/);
    // A frozen Koa app's middleware array is not frozen: it must not get the deferred middleware either.
    const frozenKoa = Object.freeze(new Koa());
    expect(() => wrapApp(frozenKoa, { useDeferred: true, deliver: false })).toThrow(/cannot wrap this app in place/);
    expect(frozenKoa.middleware).toEqual([]);

    // Not extensible, but `handle` itself could be replaced: nothing may be half done.
    const closed = Object.preventExtensions(express()) as Express & { handle: unknown };
    const closedHandle = closed.handle;
    expect(() => wrapApp(closed, { useDeferred: true, deliver: false })).toThrow(/cannot wrap this app in place/);
    expect(closed.handle).toBe(closedHandle);

    // Extensible, but `handle` cannot be redefined: the marker set first is taken back.
    const pinned = express() as Express & { handle: unknown };
    const pinnedHandle = pinned.handle;
    Object.defineProperty(pinned, 'handle', { value: pinnedHandle, writable: true, configurable: false });
    expect(() => wrapApp(pinned, { useDeferred: true, deliver: false })).toThrow(/cannot replace handle on this app \(frozen or non-configurable handle property\); it is left unwrapped/);
    expect(pinned.handle).toBe(pinnedHandle);
    expect(Object.getOwnPropertySymbols(pinned)).toEqual([]);
    for (const app of [closed, pinned]) {
      const task = devTaskRequest('never', 1);
      expect((await send(app, { method: 'POST', url: DEFERRED, headers: task.headers, payload: task.body })).statusCode).toBe(404);
    }
    expect(calls).toEqual([]);
  });

  it('replaces an inherited handle (an Express Router) with an own non-enumerable one: Object.keys unchanged', () => {
    const router = express.Router();
    const keys = Object.keys(router);
    expect(Object.getOwnPropertyDescriptor(router, 'handle')).toBeUndefined();
    wrapApp(router, { useDeferred: true, kind: 'connect', deliver: false });
    expect(Object.keys(router)).toEqual(keys);
    expect(Object.getOwnPropertyDescriptor(router, 'handle')?.enumerable).toBe(false);
  });

  for (const [version, makeExpress] of [['5', express], ['4', express4]] as const) {
    it(`serves the deferred path of a wrapped Express ${version} app mounted in a parent app, relative to the mount`, async () => {
      const parent = makeExpress();
      parent.use('/tasks', wrapApp(makeExpress(), { useDeferred: true }));
      const task = devTaskRequest('mounted', 5);
      const mounted = await send(parent, { method: 'POST', url: `/tasks${DEFERRED}`, headers: task.headers, payload: task.body });
      expect(mounted.payload).toBe('Success');
      const unmounted = await send(parent, { method: 'POST', url: DEFERRED, headers: task.headers, payload: task.body });
      expect(unmounted.statusCode).toBe(404);
      expect(calls).toEqual([['recordTask', 'mounted', 5]]);
    });
  }

  it('explains that a Fastify instance must be wrapped before ready()', async () => {
    const app = fastify();
    await app.ready();
    expect(() => wrapApp(app, { useDeferred: true })).toThrow(/before ready\(\), listen\(\) or inject\(\)/);
    await app.close();
  });

  it("keeps a Fastify app's own application/octet-stream parser", async () => {
    const app = fastify();
    app.addContentTypeParser('application/octet-stream', { parseAs: 'string' }, (_req, body, done) => done(null, `own:${String(body)}`));
    wrapApp(app, { useDeferred: true });
    app.post('/raw', async (request) => request.body);
    const response = await app.inject({ method: 'POST', url: '/raw', headers: { 'content-type': 'application/octet-stream' }, payload: 'b' });
    expect(response.payload).toBe('own:b');
    await app.close();
  });

  it('tells how to wrap a fetch handler that a Node listener detection misread', async () => {
    const fetchWithEnv = () => (request: Request, _env: unknown) => new Response(`fetch ${new URL(request.url).pathname}`);
    const misread = wrapApp(fetchWithEnv(), { useDeferred: true, deliver: false });
    expect(() => misread(new Request('http://x/a') as never, undefined as never)).toThrow(/kind: 'fetch'/);
    const fetchHandler = wrapApp(fetchWithEnv(), { useDeferred: true, kind: 'fetch', deliver: false });
    expect(await (await fetchHandler(new Request('http://x/a'), undefined)).text()).toBe('fetch /a');
  });

  it("routes Hono's own app.request() through the wrapped fetch", async () => {
    const app = wrapApp(new Hono(), { useDeferred: true });
    app.get('/h', (c) => c.text('hono'));
    expect(await (await app.request('/h')).text()).toBe('hono');
    const response = await app.request(DEFERRED);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });
});

describe('delivery target', () => {
  useMemoryRuntime('production');

  it('delivers in process from the Task Queue address with the task headers', async () => {
    const handler = new CountingHandler();
    wrapApp(freshListener(), { useDeferred: true, handler });
    await defer(recordTask, 'delivered', 7, { _name: 'named-task', _queue: 'default' });
    expect(await getRuntime().drain()).toBe(1);
    expect(calls).toEqual([['recordTask', 'delivered', 7]]);
    expect(handler.environs).toHaveLength(1);
    expect(handler.environs[0]).toMatchObject({
      REQUEST_METHOD: 'POST',
      PATH_INFO: DEFERRED,
      REMOTE_ADDR: '0.1.0.2',
      CONTENT_TYPE: 'application/octet-stream',
      HTTP_X_APPENGINE_TASKNAME: 'named-task',
      HTTP_X_APPENGINE_QUEUENAME: 'default',
      SERVER_SOFTWARE: expect.stringMatching(/^deferred-migrate\//),
    });
  });

  it('is attached again when an app is wrapped again after the runtime was reset', async () => {
    const listener = freshListener();
    const wrapped = wrapApp(listener, { useDeferred: true });
    await resetRuntime();
    configure({ backend: 'memory', mode: 'production', logger: recordingLogger });
    expect(wrapApp(listener, { useDeferred: true })).toBe(wrapped);
    await defer(recordTask, 'after reset', 8);
    expect(await getRuntime().drain()).toBe(1);
    expect(calls).toEqual([['recordTask', 'after reset', 8]]);
  });

  it('holds deliveries to a Fastify app until it is ready, so routes registered later still count', async () => {
    const app = wrapApp(fastify(), { useDeferred: true });
    await defer(recordTask, 'waited for ready', 10, { _url: '/late/route' });
    const drained = getRuntime().drain();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([]);
    // Injecting would have started the instance; it has not, so routes can still be added.
    app.post('/late/route', async (request, reply) => {
      const [body, status] = await new Handler().post(environFrom(request));
      return reply.code(status).send(body);
    });
    await app.ready();
    expect(await drained).toBe(1);
    expect(calls).toEqual([['recordTask', 'waited for ready', 10]]);
    await app.close();
  });

  it('with deliver: false, serves the path but leaves the delivery target alone', async () => {
    const delivering = new CountingHandler();
    const serving = new CountingHandler();
    wrapApp(freshListener(), { useDeferred: true, handler: delivering });
    wrapApp(freshListener(), { useDeferred: true, handler: serving, deliver: false });
    await defer(recordTask, 'to the first app', 9);
    await getRuntime().drain();
    expect(delivering.environs).toHaveLength(1);
    expect(serving.environs).toHaveLength(0);
  });
});
