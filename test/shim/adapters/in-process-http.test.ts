// In-process delivery to Node listeners: the app gets real Node request and response
// objects, its failures fail the delivery (so the task is retried), and delivering a
// task leaves nothing behind that changes how the app serves its ordinary traffic.
import { IncomingMessage, ServerResponse, type RequestListener } from 'node:http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { defer, Handler, wrapApp } from '../../../shim/index.js';
import { requestInProcess, type InProcessRequest } from '../../../shim/adapters/in-process-http.js';
import { drain } from '../../../shim/runtime/runtime.js';
import { calls, listen, recordTask, useMemoryRuntime } from './support.js';

function postTo(url: string, body: string, headers: Record<string, string> = {}): InProcessRequest {
  return { method: 'POST', url, headers, body: Buffer.from(body), remoteAddress: '0.1.0.2' };
}

describe('requestInProcess', () => {
  it('hands the listener a real IncomingMessage and ServerResponse, with the body and the remote address', async () => {
    let seen: { req: boolean; res: boolean; body: string; address: string | undefined; url: string | undefined } | undefined;
    const listener: RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen = {
          req: req instanceof IncomingMessage,
          res: res instanceof ServerResponse,
          body: Buffer.concat(chunks).toString(),
          address: req.socket.remoteAddress,
          url: req.url,
        };
        res.writeHead(201, { 'Content-Type': 'text/plain' });
        res.end('made');
      });
    };
    const response = await requestInProcess(listener, postTo('/things?x=1', 'payload', { 'X-AppEngine-TaskName': 't1' }));
    expect(response).toEqual({ status: 201, body: 'made' });
    expect(seen).toEqual({ req: true, res: true, body: 'payload', address: '0.1.0.2', url: '/things?x=1' });
  });

  it('reads a streamed (chunked) response of 1 MiB to its end', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const listener: RequestListener = (_req, res) => {
      for (let i = 0; i < 16; i += 1) res.write(chunk);
      res.end();
    };
    const response = await requestInProcess(listener, postTo('/', ''));
    expect(response.status).toBe(200);
    expect(response.body).toHaveLength(16 * chunk.length);
  });

  it('rejects when the listener throws or its promise rejects, so the delivery fails and the task is retried', async () => {
    const throwing: RequestListener = () => {
      throw new Error('listener threw');
    };
    const rejecting = (async () => {
      throw new Error('listener rejected');
    }) as unknown as RequestListener;
    await expect(requestInProcess(throwing, postTo('/', ''))).rejects.toThrow('listener threw');
    await expect(requestInProcess(rejecting, postTo('/', ''))).rejects.toThrow('listener rejected');
  });

  it('rejects a request Node refuses to send (a newline in a header) without calling the listener', async () => {
    let called = false;
    const listener: RequestListener = (_req, res) => {
      called = true;
      res.end();
    };
    await expect(requestInProcess(listener, postTo('/', '', { 'X-Bad': 'a\r\nInjected: yes' }))).rejects.toThrow(/Invalid character/);
    expect(called).toBe(false);
  });

  it('rejects when the app destroys the response before it ends', async () => {
    const listener: RequestListener = (_req, res) => {
      res.write('partial');
      res.destroy();
    };
    await expect(requestInProcess(listener, postTo('/', ''))).rejects.toThrow();
  });
});

describe('delivery into a wrapped Express app', () => {
  useMemoryRuntime('production');

  it('gives the app request and response objects shaped like its real traffic, and leaves Express as it was', async () => {
    const app = express();
    const ownKeys: { req: string[]; res: string[] }[] = [];
    app.use((req, res, next) => {
      ownKeys.push({ req: Object.keys(req).sort(), res: Object.keys(res).sort() });
      next();
    });
    // A custom task URL routed by the app itself, so the delivery goes through Express.
    app.post('/tasks/custom', new Handler());
    app.get('/ok', (_req, res) => void res.json({ ok: true }));
    const prototypeChain = (proto: object | null): object[] => (proto ? [proto, ...prototypeChain(Object.getPrototypeOf(proto))] : []);
    const chainBefore = prototypeChain(app.response);
    const wrapped = wrapApp(app, { useDeferred: true });

    await defer(recordTask, 'in-process', 1, { _url: '/tasks/custom' });
    await drain();
    expect(calls).toEqual([['recordTask', 'in-process', 1]]);
    expect(prototypeChain(app.response)).toEqual(chainBefore);
    expect(chainBefore).toContain(ServerResponse.prototype);

    const server = await listen(wrapped);
    try {
      const ok = await fetch(`${server.baseUrl}/ok`);
      expect([ok.status, await ok.json()]).toEqual([200, { ok: true }]);
      // finalhandler writes its 404 with res.write/_implicitHeader.
      const missing = await fetch(`${server.baseUrl}/missing`);
      expect(missing.status).toBe(404);
      expect(await missing.text()).toMatch(/Cannot GET \/missing/);
    } finally {
      await server.close();
    }
    const [delivered, real] = ownKeys;
    expect(delivered).toEqual(real);
  });
});
