// environFrom / environFromNode / environFromFetch: the PEP 333 keys, SERVER_SOFTWARE
// from the runtime mode, and the raw body under wsgi.input whichever body parser ran.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import inject from 'light-my-request';
import { describe, expect, it } from 'vitest';
import type { Environ } from '../../../shim/api/types.js';
import {
  environFrom,
  environFromFetch,
  environFromNode,
  SHIM_VERSION,
} from '../../../shim/adapters/environ.js';
import { configure } from '../../../shim/runtime/runtime.js';
import { wrapApp } from '../../../shim/index.js';
import { send } from '../../support/send.js';
import { useMemoryRuntime } from './support.js';

async function readInput(input: Environ['wsgi.input']): Promise<string> {
  if (input instanceof Uint8Array) return Buffer.from(input).toString('utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of input as AsyncIterable<Uint8Array | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Injects one request into `listener` and resolves with what it captured. */
async function capture<T>(
  options: inject.InjectOptions,
  build: (req: IncomingMessage, res: ServerResponse) => Promise<T> | T,
): Promise<T> {
  let result: { value: T } | { error: unknown } | undefined;
  await inject(async (req, res) => {
    try {
      result = { value: await build(req, res) };
    } catch (error) {
      result = { error };
    }
    res.end();
  }, options);
  if (result === undefined) throw new Error('the listener never ran');
  if ('error' in result) throw result.error;
  return result.value;
}

describe('environFromNode', () => {
  useMemoryRuntime('development');

  it('builds the PEP 333 keys and one HTTP_* key per header', async () => {
    const environ = await capture(
      {
        method: 'post',
        url: '/a%20path/x?y=1&z=%20',
        headers: {
          'Content-Type': 'application/octet-stream',
          'X-AppEngine-TaskName': 'task7',
          'X-Multi': ['one', 'two'],
          Host: 'example.test:8081',
        },
        payload: 'abc',
        remoteAddress: '0.1.0.2',
      },
      (req) => environFromNode(req),
    );
    expect(environ).toMatchObject({
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/a path/x',
      QUERY_STRING: 'y=1&z=%20',
      CONTENT_TYPE: 'application/octet-stream',
      CONTENT_LENGTH: '3',
      REMOTE_ADDR: '0.1.0.2',
      SERVER_NAME: 'example.test',
      SERVER_PORT: '8081',
      SERVER_PROTOCOL: 'HTTP/1.1',
      SCRIPT_NAME: '',
      'wsgi.url_scheme': 'http',
      HTTP_X_APPENGINE_TASKNAME: 'task7',
      HTTP_X_MULTI: expect.stringMatching(/^one,\s?two$/), // joined as the request carries it (light-my-request 6.6 gives 'one,two')
      HTTP_HOST: 'example.test:8081',
    });
    // As in CGI/WSGI, Content-Type and Content-Length are not repeated as HTTP_* keys.
    expect(environ).not.toHaveProperty('HTTP_CONTENT_TYPE');
    expect(environ).not.toHaveProperty('HTTP_CONTENT_LENGTH');
  });

  it('keeps a PATH_INFO that does not percent-decode as it came', async () => {
    const environ = await capture({ url: '/bad%E0%A4%A' }, (req) => environFromNode(req));
    expect(environ.PATH_INFO).toBe('/bad%E0%A4%A');
  });

  it('hands over the unread request stream as wsgi.input', async () => {
    const body = await capture({ method: 'POST', url: '/t', payload: 'stream body' }, async (req) => {
      const environ = environFromNode(req);
      expect(environ['wsgi.input']).toBe(req);
      return readInput(environ['wsgi.input']);
    });
    expect(body).toBe('stream body');
  });

  it('prefers a raw body a framework kept (req.rawBody) and makes CONTENT_LENGTH describe it', async () => {
    const environ = await capture({ method: 'POST', url: '/t', payload: 'ignored' }, (req) => {
      Object.assign(req, { rawBody: 'héllo' });
      return environFromNode(req);
    });
    expect(await readInput(environ['wsgi.input'])).toBe('héllo');
    expect(environ.CONTENT_LENGTH).toBe(String(Buffer.byteLength('héllo')));
  });

  it('uses a parsed Buffer or string body once a parser has read the stream', async () => {
    for (const parsed of [Buffer.from('as bytes'), 'as bytes']) {
      const environ = await capture({ method: 'POST', url: '/t', payload: 'as bytes' }, async (req) => {
        for await (const _chunk of req); // a body parser ran
        return environFromNode(req, { parsedBody: parsed });
      });
      expect(await readInput(environ['wsgi.input'])).toBe('as bytes');
    }
  });

  it('re-encodes a parsed JSON object only as a last resort', async () => {
    const environ = await capture(
      { method: 'POST', url: '/t', headers: { 'content-type': 'application/json' }, payload: '{ "a" : 1 }' },
      async (req) => {
        for await (const _chunk of req);
        return environFromNode(req, { parsedBody: { a: 1 } });
      },
    );
    // Not the bytes sent ('{ "a" : 1 }'): in production the signature check refuses it.
    expect(await readInput(environ['wsgi.input'])).toBe('{"a":1}');
    expect(environ.CONTENT_LENGTH).toBe('7');
  });

  it("re-encodes a task's octet-stream body that an app-wide JSON parser with a broad type parsed (row 172)", async () => {
    const payload = '{"v":1,"fn":"index","args":["custom"]}';
    const environ = await capture(
      { method: 'POST', url: '/tasks/index', headers: { 'content-type': 'application/octet-stream' }, payload },
      async (req) => {
        for await (const _chunk of req); // express.json({ type: '*/*' }) ran
        return environFromNode(req, { parsedBody: JSON.parse(payload) });
      },
    );
    expect(await readInput(environ['wsgi.input'])).toBe(payload);
  });

  it('refuses a body that a parser consumed and that cannot be recovered, saying what to do', async () => {
    const attempt = capture(
      { method: 'POST', url: '/form', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' },
      async (req) => {
        for await (const _chunk of req);
        return environFromNode(req, { parsedBody: { a: '1' } });
      },
    );
    await expect(attempt).rejects.toThrow(/already read by a body parser.*wrapApp\(\) before registering body parsers/);
  });
});

describe('SERVER_SOFTWARE follows the runtime mode', () => {
  useMemoryRuntime('development');

  it('starts with "Devel" in development mode and names the shim version in production', async () => {
    const dev = await capture({ url: '/' }, (req) => environFromNode(req));
    expect(dev.SERVER_SOFTWARE).toBe('Development/deferred-migrate');
    configure({ mode: 'production' });
    const prod = await capture({ url: '/' }, (req) => environFromNode(req));
    expect(prod.SERVER_SOFTWARE).toBe(`deferred-migrate/${SHIM_VERSION}`);
  });

  it('reports the version of package.json', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SHIM_VERSION).toBe(pkg.version);
  });
});

describe('environFromFetch', () => {
  useMemoryRuntime('development');

  it('builds the keys from a Request and streams its body', async () => {
    const request = new Request('https://example.test/p%C3%A4th?q=1', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', 'X-AppEngine-TaskName': 't1' },
      body: 'fetch body',
    });
    const environ = environFromFetch(request, { remoteAddr: '0.1.0.2' });
    expect(environ).toMatchObject({
      REQUEST_METHOD: 'POST',
      PATH_INFO: '/päth',
      QUERY_STRING: 'q=1',
      CONTENT_TYPE: 'text/plain',
      REMOTE_ADDR: '0.1.0.2',
      SERVER_NAME: 'example.test',
      SERVER_PORT: '443',
      'wsgi.url_scheme': 'https',
      HTTP_X_APPENGINE_TASKNAME: 't1',
    });
    expect(await readInput(environ['wsgi.input'])).toBe('fetch body');
  });

  it('gives an empty body for a request without one, and an error for a body already read', async () => {
    const empty = environFromFetch(new Request('http://x/'));
    expect(empty.CONTENT_LENGTH).toBe('0');
    expect(await readInput(empty['wsgi.input'])).toBe('');
    const used = new Request('http://x/', { method: 'POST', body: 'once' });
    await used.text();
    expect(() => environFromFetch(used)).toThrow(/already read; pass request.clone\(\)/);
  });
});

describe('environFrom recognises each framework request object', () => {
  useMemoryRuntime('development');
  const taskHeaders = { 'content-type': 'application/json', 'x-appengine-taskname': 'tn' };

  it('an Express request in a mounted router, after express.json() parsed the body', async () => {
    const app = express();
    app.use(express.json());
    const router = express.Router();
    let environ: Environ | undefined;
    router.post('/e', (req, res) => {
      environ = environFrom(req);
      res.end();
    });
    app.use('/tasks', router);
    await send(app, { method: 'POST', url: '/tasks/e?q=1', headers: taskHeaders, payload: '{"k":[1,2]}' });
    // The whole path, as the client sent it, not the rest after the router's mount point.
    expect(environ).toMatchObject({ SCRIPT_NAME: '', PATH_INFO: '/tasks/e', QUERY_STRING: 'q=1', HTTP_X_APPENGINE_TASKNAME: 'tn' });
    expect(await readInput(environ!['wsgi.input'])).toBe('{"k":[1,2]}');
  });

  it('a mount point the caller names splits the path as WSGI does: SCRIPT_NAME, then PATH_INFO', async () => {
    const app = express();
    const seen: Environ[] = [];
    // What the codemod writes for a webapp table that was mounted with app.use('/tasks', table).
    app.post('/tasks/mail', (req, res) => {
      seen.push(environFrom(req, { scriptName: '/tasks' }), environFrom(req, { scriptName: '/tasks/' }), environFrom(req, { scriptName: '/other' }));
      res.end();
    });
    await send(app, { method: 'POST', url: '/tasks/mail?q=1', headers: taskHeaders, payload: '{}' });
    expect(seen[0]).toMatchObject({ SCRIPT_NAME: '/tasks', PATH_INFO: '/mail', QUERY_STRING: 'q=1' });
    expect(seen[1]).toMatchObject({ SCRIPT_NAME: '/tasks', PATH_INFO: '/mail' });
    // Not under that mount point: the whole path, nothing claimed for SCRIPT_NAME.
    expect(seen[2]).toMatchObject({ SCRIPT_NAME: '', PATH_INFO: '/tasks/mail' });
  });

  it('a mount point spelt in another case: Express matched it case-insensitively, and PATH_INFO is what webapp saw', async () => {
    const app = express();
    const seen: Environ[] = [];
    // What the codemod writes for app.use('/Tasks', table): Express routes ignore case by default.
    app.post('/Tasks/mail', (req, res) => {
      seen.push(environFrom(req, { scriptName: '/Tasks' }), environFrom(req, { scriptName: '/Task' }));
      res.end();
    });
    await send(app, { method: 'POST', url: '/tasks/mail', headers: taskHeaders, payload: '{}' });
    expect(seen[0]).toMatchObject({ SCRIPT_NAME: '/tasks', PATH_INFO: '/mail' });
    // A prefix of a segment is no mount point.
    expect(seen[1]).toMatchObject({ SCRIPT_NAME: '', PATH_INFO: '/tasks/mail' });
  });

  it('a Koa context and a Koa request', async () => {
    const app = new Koa();
    const seen: Environ[] = [];
    app.use((ctx) => {
      seen.push(environFrom(ctx), environFrom(ctx.request));
      ctx.body = 'ok';
    });
    await inject(app.callback(), { method: 'POST', url: '/k?x=2', headers: taskHeaders, payload: '{}' });
    expect(seen).toHaveLength(2);
    for (const environ of seen) {
      expect(environ).toMatchObject({ REQUEST_METHOD: 'POST', PATH_INFO: '/k', QUERY_STRING: 'x=2', HTTP_X_APPENGINE_TASKNAME: 'tn' });
    }
  });

  it('a Fastify request whose body the JSON parser read', async () => {
    const app = fastify();
    let environ: Environ | undefined;
    app.post('/f', async (request) => {
      environ = environFrom(request);
      return 'ok';
    });
    await app.inject({ method: 'POST', url: '/f', headers: taskHeaders, payload: '{"f":true}' });
    await app.close();
    expect(environ).toMatchObject({ PATH_INFO: '/f', HTTP_X_APPENGINE_TASKNAME: 'tn' });
    expect(await readInput(environ!['wsgi.input'])).toBe('{"f":true}');
  });

  it('the exact bytes of a JSON-typed task in a wrapped Fastify app, not the JSON parser\'s re-encoding', async () => {
    const sent = '{ "spaced" :  [1, 2] }';
    const received: string[] = [];
    for (const wrap of [true, false]) {
      const app = wrap ? wrapApp(fastify(), { useDeferred: true, deliver: false }) : fastify();
      app.post('/f', async (request) => {
        received.push(await readInput(environFrom(request)['wsgi.input']));
        return 'ok';
      });
      await app.inject({ method: 'POST', url: '/f', headers: taskHeaders, payload: sent });
      await app.close();
    }
    // Unwrapped, only the last resort is left: the parsed object re-encoded.
    expect(received).toEqual([sent, '{"spaced":[1,2]}']);
  });

  it('a Hono context and a Hono request', async () => {
    const app = new Hono();
    const seen: Environ[] = [];
    app.post('/h', (c) => {
      seen.push(environFrom(c), environFrom(c.req));
      return c.text('ok');
    });
    await app.request('/h', { method: 'POST', headers: taskHeaders, body: '{}' });
    expect(seen.map((environ) => environ.PATH_INFO)).toEqual(['/h', '/h']);
  });

  it('a clear TypeError for anything else', () => {
    for (const value of [null, undefined, 'GET /', {}, { headers: {} }]) {
      expect(() => environFrom(value)).toThrow(/unsupported request object/);
    }
  });
});
