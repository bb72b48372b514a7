// wrapApp(app, { useDeferred: true, dashboard }) on every kind of app it supports:
// the dashboard's requests are answered before the framework (its own routes,
// body parsers and 404s never see them), everything else passes through, and in
// production without auth or token the dashboard does not exist.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import express5 from 'express';
import express4 from 'express4';
import fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { afterEach, describe, expect, it } from 'vitest';
import { wrapApp } from '../../../shim/index.js';
import type { DashboardOptions } from '../../../shim/dashboard/mount.js';
import { configure, resetRuntime, type Mode } from '../../../shim/runtime/runtime.js';
import { listen, serverHandle, type Listening } from '../../support/listen.js';

const BASE = '/_ah/deferred/dashboard';
const TOKEN = 'wrap-app-dashboard-token';
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

type Start = (dashboard: true | DashboardOptions) => Promise<Listening>;

const kinds: Record<string, Start> = {
  'node:http listener': (dashboard) =>
    listen(
      wrapApp(
        (req: IncomingMessage, res: ServerResponse) => {
          if (req.url === '/hello') return void res.end('hello');
          res.writeHead(404).end('app 404');
        },
        { useDeferred: true, dashboard },
      ),
    ),
  'Express 5 with body parsers': async (dashboard) => {
    const app = wrapApp(express5(), { useDeferred: true, dashboard });
    app.use(express5.json(), express5.urlencoded({ extended: false }));
    app.get('/hello', (_req, res) => void res.send('hello'));
    app.use((_req, res) => void res.status(404).send('app 404'));
    return listen(app as unknown as (req: IncomingMessage, res: ServerResponse) => void);
  },
  'Express 4': async (dashboard) => {
    const app = wrapApp(express4(), { useDeferred: true, dashboard });
    app.use(express4.urlencoded({ extended: false }));
    app.get('/hello', (_req, res) => void res.send('hello'));
    app.use((_req, res) => void res.status(404).send('app 404'));
    return listen(app as unknown as (req: IncomingMessage, res: ServerResponse) => void);
  },
  Koa: async (dashboard) => {
    const app = wrapApp(new Koa(), { useDeferred: true, dashboard });
    app.use(async (ctx) => {
      if (ctx.path === '/hello') ctx.body = 'hello';
      else {
        ctx.status = 404;
        ctx.body = 'app 404';
      }
    });
    return listen(app.callback());
  },
  Fastify: async (dashboard) => {
    const app = wrapApp(fastify(), { useDeferred: true, dashboard });
    app.get('/hello', async () => 'hello');
    app.setNotFoundHandler(async (_request, reply) => reply.code(404).send('app 404'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { baseUrl: serverHandle(app.server).baseUrl, close: () => app.close() };
  },
  'Hono on @hono/node-server': async (dashboard) => {
    const app = wrapApp(new Hono(), { useDeferred: true, dashboard });
    app.get('/hello', (c) => c.text('hello'));
    app.notFound((c) => c.text('app 404', 404));
    return listen(createAdaptorServer({ fetch: app.fetch }) as ReturnType<typeof import('node:http').createServer>);
  },
  'fetch handler': async (dashboard) => {
    const handler = wrapApp(
      async (request: Request) => (new URL(request.url).pathname === '/hello' ? new Response('hello') : new Response('app 404', { status: 404 })),
      { useDeferred: true, dashboard },
    );
    return listen(createAdaptorServer({ fetch: handler }) as ReturnType<typeof import('node:http').createServer>);
  },
};

let server: Listening | undefined;

/** fetch() sets Host itself; node:http sends the one given. */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

function runtime(mode: Mode): void {
  configure({ backend: 'memory', mode, logger: quiet });
}

afterEach(async () => {
  await server?.close();
  server = undefined;
  await resetRuntime();
});

describe.each(Object.entries(kinds))('%s', (_name, start) => {
  it('with a token: 401 and a sign-in form without it; assets and the app\u2019s own routes unaffected', async () => {
    runtime('production');
    server = await start({ token: TOKEN });
    const refused = await fetch(`${server.baseUrl}${BASE}/`);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('Dashboard token');
    expect(refused.headers.get('content-security-policy')).toContain("default-src 'none'");
    const bearer = await fetch(`${server.baseUrl}${BASE}/`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect([bearer.status, (await bearer.text()).includes('<h1>Queues</h1>')]).toEqual([200, true]);
    const css = await fetch(`${server.baseUrl}${BASE}/assets/dashboard.css`);
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect(await (await fetch(`${server.baseUrl}/hello`)).text()).toBe('hello');
    const post = await fetch(`${server.baseUrl}${BASE}/queues/default/purge`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${TOKEN}` },
      body: 'confirm=yes',
    });
    expect(post.status).toBe(403);
  });

  it('with an auth hook: its verdict, from the headers and cookies of any framework’s request (403 when it refuses)', async () => {
    runtime('production');
    server = await start({ auth: async (_req, info) => info.cookie('role') === 'admin' });
    expect((await fetch(`${server.baseUrl}${BASE}/`)).status).toBe(403);
    const allowed = await fetch(`${server.baseUrl}${BASE}/`, { headers: { Cookie: 'role=admin' } });
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('<h1>Queues</h1>');
  });

  it('in production with neither: the app answers the path (no dashboard)', async () => {
    runtime('production');
    server = await start(true);
    const response = await fetch(`${server.baseUrl}${BASE}/`);
    expect([response.status, await response.text()]).toEqual([404, 'app 404']);
  });

  it('in development: a loopback client gets in without credentials', async () => {
    runtime('development');
    server = await start(true);
    const page = await fetch(`${server.baseUrl}${BASE}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Queues</h1>');
    // Any request of another host name is a rebinding page, even on loopback.
    expect(await statusWithHost(`${server.baseUrl}${BASE}/`, 'attacker.example')).toBe(403);
  });
});

describe('wrapApp dashboard option', () => {
  it('says so (501) when the backend has no operations surface', async () => {
    const backend = { kind: 'custom', maxTaskSizeBytes: 1, overflow: {}, enqueue: async () => {}, verify: async () => ({ ok: true }), attach() {}, drain: async () => 0, close: async () => {} };
    configure({ backend: backend as never, mode: 'development', logger: quiet });
    server = await listen(wrapApp((_req: IncomingMessage, res: ServerResponse) => void res.end('app'), { useDeferred: true, dashboard: true }));
    const response = await fetch(`${server.baseUrl}${BASE}/`);
    expect(response.status).toBe(501);
    expect(await response.text()).toContain('The custom backend offers no queue operations');
  });

  it('is refused without useDeferred, and checked', () => {
    expect(() => wrapApp((_req: IncomingMessage, _res: ServerResponse) => {}, { dashboard: true })).toThrow(/useDeferred: true/);
    expect(() => wrapApp((_req: IncomingMessage, _res: ServerResponse) => {}, { useDeferred: true, dashboard: { token: 'short' } })).toThrow(/at least 16/);
    expect(() => wrapApp((_req: IncomingMessage, _res: ServerResponse) => {}, { useDeferred: true, dashboard: { path: 'relative' } })).toThrow(/absolute path/);
    const app = wrapApp((_req: IncomingMessage, _res: ServerResponse) => {}, { useDeferred: true, deliver: false });
    expect(() => wrapApp(app, { useDeferred: true, dashboard: true })).toThrow(/already wrapped without a dashboard/);
  });
});
