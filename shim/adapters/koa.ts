// Koa apps: a middleware placed first in `app.middleware`, ahead of body parsers
// and everything the app registered before or after `wrapApp`. Koa composes the
// middleware list when `app.callback()` runs (`app.listen()` calls it), so wrap
// before `listen()`/`callback()`. The same app object is returned.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeferredEndpoint } from './endpoint.js';
import { wrapInPlace } from './node.js';

interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
}

export interface KoaLikeApp {
  middleware: unknown[];
  use: (...args: never[]) => unknown;
  callback: () => (req: IncomingMessage, res: ServerResponse) => unknown;
  context: object;
}

export function isKoaLikeApp(app: unknown): app is KoaLikeApp {
  if (typeof app !== 'object' || app === null) return false;
  const candidate = app as Record<string, unknown>;
  return (
    Array.isArray(candidate.middleware) &&
    typeof candidate.use === 'function' &&
    typeof candidate.callback === 'function' &&
    typeof candidate.context === 'object'
  );
}

export function wrapKoaApp<T extends KoaLikeApp>(app: T, endpoint: DeferredEndpoint): T {
  const deferredMiddleware = function deferredMiddleware(ctx: KoaContextLike, next: () => Promise<unknown>) {
    if (!endpoint.claims(ctx.req.url)) return next();
    // The endpoint writes the Node response itself; Koa must leave it alone.
    ctx.respond = false;
    return endpoint.serveNode(ctx.req, ctx.res);
  };
  wrapInPlace(app, endpoint, () => app.middleware.unshift(deferredMiddleware));
  return app;
}
