// Bridges between the framework-neutral Dashboard and the two request shapes the
// adapters see: Node's IncomingMessage/ServerResponse and fetch's Request/Response.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Dashboard, DashboardRequest, DashboardResponse } from './dashboard.js';

export async function serveDashboardNode(dashboard: Dashboard, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const request: DashboardRequest = {
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    remoteAddress: req.socket?.remoteAddress,
    secure: (req.socket as TLSSocket | undefined)?.encrypted === true || req.headers['x-forwarded-proto'] === 'https',
    native: req,
    readBody: (limit) => readNodeBody(req, limit),
  };
  const response = await dashboard.handle(request);
  if (res.headersSent) return;
  res.writeHead(response.status, { ...response.headers, 'Content-Length': Buffer.byteLength(response.body) });
  res.end(request.method === 'HEAD' ? undefined : response.body);
}

export async function serveDashboardFetch(dashboard: Dashboard, request: Request, remoteAddress: string | undefined): Promise<Response> {
  const url = new URL(request.url);
  const response = await dashboard.handle({
    method: request.method,
    target: url.pathname + url.search,
    header: (name) => request.headers.get(name) ?? undefined,
    remoteAddress,
    secure: url.protocol === 'https:',
    native: request,
    readBody: (limit) => readFetchBody(request, limit),
  });
  return toFetchResponse(response, request.method === 'HEAD');
}

function toFetchResponse(response: DashboardResponse, head: boolean): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) {
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const body = head || response.status === 303 ? null : response.body;
  return new Response(body, { status: response.status, headers });
}

/** The request body as UTF-8 text; a RangeError past `limit` bytes (the rest is not read). */
async function readNodeBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) throw new RangeError(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}

async function readFetchBody(request: Request, limit: number): Promise<string> {
  if (!request.body) return '';
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel();
      throw new RangeError(`request body over ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, length).toString('utf8');
}
