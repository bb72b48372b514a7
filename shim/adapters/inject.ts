// In-process delivery of task requests to a wrapped app: the local backends'
// dispatcher calls the `DeliveryTarget` built here instead of opening a socket,
// so custom `_url` routes are the app's own routes and no port is configured.
// Requests come from the Task Queue's source address, 0.1.0.2, as on App Engine.
// Node listeners (Express, Connect, Koa's callback) get real Node request and
// response objects (in-process-http.ts); Fastify its own `inject`.
import type { RequestListener } from 'node:http';
import type { DeliveryRequest, DeliveryResponse, DeliveryTarget } from '../api/types.js';
import { isDeferredUrl, type DeferredEndpoint } from './endpoint.js';
import type { FastifyLikeApp } from './fastify.js';
import type { FetchHandler } from './fetch.js';
import { requestInProcess } from './in-process-http.js';
import type { KoaLikeApp } from './koa.js';

export const TASK_QUEUE_REMOTE_ADDR = '0.1.0.2';

/** Origin given to fetch `Request`s, which need absolute URLs. */
const FETCH_ORIGIN = 'http://localhost';

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** The injection options Fastify's `inject` takes. */
function injectOptions(request: DeliveryRequest) {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    payload: asBuffer(request.body),
    remoteAddress: TASK_QUEUE_REMOTE_ADDR,
  };
}

function injectInto(listener: RequestListener, request: DeliveryRequest): Promise<DeliveryResponse> {
  return requestInProcess(listener, { ...request, remoteAddress: TASK_QUEUE_REMOTE_ADDR });
}

/**
 * Tasks for the default URL go straight to the endpoint that answers that path
 * ahead of the app anyway (every adapter intercepts it before the framework), with
 * an environ built in process instead of an HTTP request written and parsed
 * (measured: most of the CPU of a no-op task; docs/performance.md). Custom `_url`s
 * are the app's own routes and keep going through `appTarget`. Only the dispatcher
 * holds this function: no request from outside the process can take this path.
 */
export function withDirectDefaultPath(endpoint: DeferredEndpoint, appTarget: DeliveryTarget): DeliveryTarget {
  return (request) => (isDeferredUrl(request.url) ? endpoint.deliver(request, TASK_QUEUE_REMOTE_ADDR) : appTarget(request));
}

/** A wrapped Node listener or Express/Connect app (so the deferred path is intercepted). */
export function nodeListenerTarget(listener: RequestListener): DeliveryTarget {
  return (request) => injectInto(listener, request);
}

/** A Koa app: its middleware list is composed per delivery, so routes added after wrapApp are served. */
export function koaTarget(app: KoaLikeApp): DeliveryTarget {
  return (request) => injectInto(app.callback() as RequestListener, request);
}

/** A Fastify instance, once `ready` resolves (see fastify.ts). */
export function fastifyTarget(app: FastifyLikeApp, ready: Promise<void>): DeliveryTarget {
  return async (request) => {
    await ready;
    const response = await app.inject(injectOptions(request));
    return { status: response.statusCode, body: response.payload };
  };
}

/** A fetch handler; `call` invokes it (`app.fetch(request)` for objects, so `this` is right). */
export function fetchTarget(call: FetchHandler): DeliveryTarget {
  return async (request) => {
    const response = await call(
      new Request(FETCH_ORIGIN + request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body as unknown as BodyInit,
      }),
    );
    return { status: response.status, body: await response.text() };
  };
}
