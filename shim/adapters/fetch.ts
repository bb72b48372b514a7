// Fetch-style apps: a handler `(request: Request, ...rest) => Response` (returned
// as a Proxy of the same function), or an object with such a `fetch` method, e.g.
// a Hono app or a Bun/Deno-style `{ fetch }` export (the same object is returned
// with its own `fetch` replaced: Hono keeps state in private fields, which a
// Proxy would break).
import { pathOfAbsoluteUrl, type DeferredEndpoint } from './endpoint.js';
import { remoteAddrFromEnv } from './environ.js';
import { replaceAppMethod, WRAPPED } from './node.js';

export type FetchHandler = (request: Request, ...rest: never[]) => Response | Promise<Response>;

export interface FetchObjectApp {
  fetch: FetchHandler;
}

export function isFetchObjectApp(app: unknown): app is FetchObjectApp {
  return typeof app === 'object' && app !== null && typeof (app as Record<string, unknown>).fetch === 'function';
}

function isClaimedRequest(endpoint: DeferredEndpoint, request: unknown): request is Request {
  return request instanceof Request && endpoint.claims(pathOfAbsoluteUrl(request.url));
}

/** The wrapped call: `rest[0]` is the `env` of Hono/@hono/node-server (client address). */
function interceptFetch(original: FetchHandler, endpoint: DeferredEndpoint, thisArg: unknown, args: unknown[]) {
  const request = args[0];
  if (isClaimedRequest(endpoint, request)) {
    const remoteAddr = remoteAddrFromEnv(args[1]);
    return endpoint.serveFetch(request, remoteAddr === undefined ? {} : { remoteAddr });
  }
  return Reflect.apply(original, thisArg, args);
}

export function wrapFetchHandler<T extends FetchHandler>(handler: T, endpoint: DeferredEndpoint): T {
  return new Proxy(handler, {
    apply: (target, thisArg, args: unknown[]) => interceptFetch(target, endpoint, thisArg, args),
    get: (target, property, receiver) => (property === WRAPPED ? endpoint : Reflect.get(target, property, receiver)),
  });
}

export function wrapFetchObject<T extends FetchObjectApp>(app: T, endpoint: DeferredEndpoint): T {
  const original = app.fetch;
  const fetch = function (this: unknown, ...args: unknown[]) {
    return interceptFetch(original, endpoint, this, args);
  };
  replaceAppMethod(app, 'fetch', fetch, endpoint);
  return app;
}
