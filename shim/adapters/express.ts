// Express 4/5 and Connect apps: functions `(req, res, next)` with `use` and
// `handle`. The app function itself only calls `app.handle(req, res, next)`,
// and so does a parent Express/Connect app on a mounted sub-app
// (`parent.use('/tasks', app)`, where the path is relative to the mount point,
// as PATH_INFO is relative to SCRIPT_NAME under WSGI). So `handle` is replaced
// on the app itself and the same app is returned: no Proxy in front of every
// request (measured: a bare apply-only Proxy cost about 2% of an Express app's
// CPU per request; docs/performance.md).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeferredEndpoint } from './endpoint.js';
import { refuseFetchRequest, replaceAppMethod } from './node.js';

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
  const handle = function (this: unknown, req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) {
    if (endpoint.claims(req.url)) return endpoint.serveNode(req, res);
    refuseFetchRequest(req);
    return originalHandle.call(this ?? app, req, res, next);
  };
  replaceAppMethod(app, 'handle', handle, endpoint);
  return app;
}
