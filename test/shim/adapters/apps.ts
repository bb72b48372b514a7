// The same small app built on every supported host framework, wrapped with
// `wrapApp(app, { useDeferred: true })`. Routes:
//   GET  /hello            -> "hello"                      (pass-through)
//   POST /echo             -> the JSON body sent, as JSON  (pass-through, body intact)
//   POST /custom/path      -> new Handler().post(environFrom(request))
//   POST /custom/subclass  -> a Handler subclass overriding post()
// Variants add the framework's body parsers in front of the routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { bodyParser as koaBodyParser } from '@koa/bodyparser';
import express5 from 'express';
import express4 from 'express4';
import fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { environFrom, Handler, wrapApp, type Environ, type HandlerResult } from '../../../shim/index.js';
import { listen, serverHandle, type Listening } from './support.js';

/** PATH_INFO of every request the subclass saw. */
export const subclassSaw: string[] = [];

export class RecordingHandler extends Handler {
  override async post(environ: Environ): Promise<HandlerResult> {
    subclassSaw.push(String(environ.PATH_INFO));
    return super.post(environ);
  }
}

export interface AppFixture {
  name: string;
  start(): Promise<Listening>;
}

async function readText(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function sendResult(res: ServerResponse, [body, status, headers]: HandlerResult): void {
  res.writeHead(status, headers).end(body);
}

// --- node:http ---------------------------------------------------------------

function nodeApp(): AppFixture {
  const subclass = new RecordingHandler();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const route = `${req.method} ${req.url}`;
    if (route === 'GET /hello') return void res.end('hello');
    if (route === 'POST /echo') return void readText(req).then((text) => res.end(text));
    if (route === 'POST /custom/path') return void new Handler().post(environFrom(req)).then((r) => sendResult(res, r));
    // A Handler (subclass) instance is itself a Node request listener.
    if (route === 'POST /custom/subclass') return subclass(req, res);
    res.writeHead(404).end('no route');
  };
  return { name: 'node:http', start: () => listen(wrapApp(listener, { useDeferred: true })) };
}

// --- Express 4 and 5 -----------------------------------------------------------

type ExpressVariant = 'no parser' | 'express.json()' | "express.raw({ type: '*/*' })";

function expressApp(major: 4 | 5, variant: ExpressVariant): AppFixture {
  const express = major === 4 ? express4 : express5;
  return {
    name: `Express ${major}, ${variant}`,
    async start() {
      const app = wrapApp(express(), { useDeferred: true });
      if (variant === 'express.json()') app.use(express.json());
      if (variant === "express.raw({ type: '*/*' })") app.use(express.raw({ type: '*/*' }));
      const subclass = new RecordingHandler();
      app.get('/hello', (_req, res) => void res.send('hello'));
      app.post('/echo', async (req, res) => {
        const body: unknown = req.body;
        const text = Buffer.isBuffer(body) ? body.toString('utf8') : body && typeof body === 'object' && Object.keys(body).length > 0 ? JSON.stringify(body) : await readText(req);
        res.type('application/json').send(text);
      });
      app.post('/custom/path', async (req, res) => {
        const [body, status, headers] = await new Handler().post(environFrom(req));
        res.status(status).set(headers).send(body);
      });
      app.post('/custom/subclass', async (req, res) => {
        const [body, status, headers] = await subclass.post(environFrom(req));
        res.status(status).set(headers).send(body);
      });
      // app.listen() goes through the wrapped app (http.createServer(this)).
      const server = await new Promise<ReturnType<typeof app.listen>>((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      return serverHandle(server);
    },
  };
}

// --- Koa ---------------------------------------------------------------------

type KoaVariant = 'no parser' | '@koa/bodyparser reading task bodies as text';

function koaApp(variant: KoaVariant): AppFixture {
  return {
    name: `Koa, ${variant}`,
    async start() {
      const app = new Koa();
      if (variant !== 'no parser') {
        app.use(koaBodyParser({ enableTypes: ['json', 'text'], extendTypes: { text: ['application/octet-stream'] } }));
      }
      // Wrapped after the parser was registered: the deferred middleware still goes first.
      const wrapped = wrapApp(app, { useDeferred: true });
      const subclass = new RecordingHandler();
      wrapped.use(async (ctx) => {
        const route = `${ctx.method} ${ctx.path}`;
        if (route === 'GET /hello') ctx.body = 'hello';
        else if (route === 'POST /echo') {
          const parsed = (ctx.request as unknown as { body?: unknown }).body;
          ctx.type = 'application/json';
          ctx.body = parsed === undefined ? await readText(ctx.req) : JSON.stringify(parsed);
        } else if (route === 'POST /custom/path' || route === 'POST /custom/subclass') {
          const handler = route === 'POST /custom/path' ? new Handler() : subclass;
          const [body, status, headers] = await handler.post(environFrom(ctx));
          ctx.status = status;
          ctx.set(headers);
          ctx.body = body;
        } else ctx.status = 404;
      });
      return listen(wrapped.callback());
    },
  };
}

// --- Fastify -------------------------------------------------------------------

function fastifyApp(): AppFixture {
  return {
    name: 'Fastify, built-in parsers',
    async start() {
      const app = wrapApp(fastify(), { useDeferred: true });
      const subclass = new RecordingHandler();
      app.get('/hello', async () => 'hello');
      app.post('/echo', async (request) => request.body);
      app.post('/custom/path', async (request, reply) => {
        const [body, status, headers] = await new Handler().post(environFrom(request));
        return reply.code(status).headers(headers).send(body);
      });
      app.post('/custom/subclass', async (request, reply) => {
        const [body, status, headers] = await subclass.post(environFrom(request));
        return reply.code(status).headers(headers).send(body);
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const handle = serverHandle(app.server);
      return { baseUrl: handle.baseUrl, close: () => app.close() };
    },
  };
}

// --- Hono and plain fetch handlers -----------------------------------------------

function honoApp(): AppFixture {
  return {
    name: 'Hono on @hono/node-server',
    async start() {
      const app = wrapApp(new Hono(), { useDeferred: true });
      const subclass = new RecordingHandler();
      app.get('/hello', (c) => c.text('hello'));
      app.post('/echo', async (c) => c.json(await c.req.json()));
      app.post('/custom/path', async (c) => {
        const [body, status, headers] = await new Handler().post(environFrom(c));
        return new Response(body, { status, headers });
      });
      app.post('/custom/subclass', async (c) => {
        const [body, status, headers] = await subclass.post(environFrom(c.req.raw));
        return new Response(body, { status, headers });
      });
      return listen(createAdaptorServer({ fetch: app.fetch }) as ReturnType<typeof import('node:http').createServer>);
    },
  };
}

function fetchHandlerApp(): AppFixture {
  return {
    name: 'plain fetch handler (request) => Response',
    async start() {
      const subclass = new RecordingHandler();
      const handler = async (request: Request): Promise<Response> => {
        const route = `${request.method} ${new URL(request.url).pathname}`;
        if (route === 'GET /hello') return new Response('hello');
        if (route === 'POST /echo') return new Response(await request.text(), { headers: { 'Content-Type': 'application/json' } });
        if (route === 'POST /custom/path' || route === 'POST /custom/subclass') {
          const poster = route === 'POST /custom/path' ? new Handler() : subclass;
          const [body, status, headers] = await poster.post(environFrom(request));
          return new Response(body, { status, headers });
        }
        return new Response('no route', { status: 404 });
      };
      const wrapped = wrapApp(handler, { useDeferred: true });
      return listen(createAdaptorServer({ fetch: wrapped }) as ReturnType<typeof import('node:http').createServer>);
    },
  };
}

export const appFixtures: AppFixture[] = [
  nodeApp(),
  expressApp(5, 'no parser'),
  expressApp(5, 'express.json()'),
  expressApp(5, "express.raw({ type: '*/*' })"),
  expressApp(4, 'no parser'),
  expressApp(4, 'express.json()'),
  expressApp(4, "express.raw({ type: '*/*' })"),
  koaApp('no parser'),
  koaApp('@koa/bodyparser reading task bodies as text'),
  fastifyApp(),
  honoApp(),
  fetchHandlerApp(),
];
