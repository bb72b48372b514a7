// Express 4/5 and Connect apps: functions `(req, res, next)` with `use` and
// `handle`. Wrapped as Node listeners (node.ts), plus `app.handle`, which a
// parent Express/Connect app calls when the wrapped app is mounted as a
// sub-app (`parent.use('/tasks', wrapped)`): there the path is relative to the
// mount point, as PATH_INFO is relative to SCRIPT_NAME under WSGI.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDeferredUrl, type DeferredEndpoint } from './endpoint.js';
import { wrapNodeListener } from './node.js';

export interface ConnectLikeApp {
  (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void): unknown;
  use: (...args: never[]) => unknown;
  handle: (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => unknown;
}

export function isConnectLikeApp(app: unknown): app is ConnectLikeApp {
  if (typeof app !== 'function') return false;
  const candidate = app as unknown as Record<string, unknown>;
  return typeof candidate.use === 'function' && typeof candidate.handle === 'function';
}

export function wrapConnectApp<T extends ConnectLikeApp>(app: T, endpoint: DeferredEndpoint): T {
  const originalHandle = app.handle;
  let proxy: T;
  const handle = function (this: unknown, req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) {
    if (isDeferredUrl(req.url)) return endpoint.serveNode(req, res);
    return Reflect.apply(originalHandle, this === undefined ? proxy : this, [req, res, next]);
  };
  proxy = wrapNodeListener(app, endpoint, { handle });
  return proxy;
}
