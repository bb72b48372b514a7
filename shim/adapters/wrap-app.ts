// `wrapApp(app, { useDeferred })`: the counterpart of Python's
// `wrap_wsgi_app(app, use_deferred=True)`. Returns an app of the kind it was
// given, which answers every request whose path is exactly `/_ah/queue/deferred`
// with the deferred `Handler` and passes every other request through untouched.
//
// Kinds, detected in this order (or named with the `kind` option):
//   'fastify'      an object with addHook, addContentTypeParser, inject, ready, route -> the same instance (hooks)
//   'koa'          an object with a `middleware` array, use, callback, context -> the same app (first middleware)
//   'connect'      a function with `use` and `handle` (Express 4/5, Connect) -> the same app (`handle` replaced)
//   'fetch-object' an object with a `fetch` method (Hono, `{ fetch }` exports) -> the same object, `fetch` wrapped
//   'fetch'        a function of one parameter `(request) => Response` -> a Proxy of it
//   'node'         any other function: a Node listener `(req, res)` -> a Proxy of it
// Anything else is a TypeError. Wrapping a wrapped app (or its original) again
// returns the wrapped app: there is only ever one deferred endpoint per app.
//
// With `useDeferred: true` the app also becomes the runtime's delivery target:
// the local backends inject due tasks into it in process (inject.ts), so an app
// that is wrapped and listening runs its tasks with no further setup. The
// runtime's backend is started here, so that tasks left from an earlier run are
// delivered even before this process defers anything: call `configure()` first.
// With `useDeferred: false` (the default, as in Python) nothing is intercepted and
// the app is returned as it is.
//
// `dashboard: true | { path, auth, token }` also serves the task dashboard under
// its path (default /_ah/deferred/dashboard) through the same interception; see
// docs/dashboard.md.
import type { RequestListener } from 'node:http';
import { Handler } from '../api/handler.js';
import type { DeliveryTarget } from '../api/types.js';
import { getRuntime } from '../runtime/runtime.js';
import { dashboardFromOption, type DashboardOptions } from '../dashboard/mount.js';
import { DeferredEndpoint, type TaskPoster } from './endpoint.js';
import { isConnectLikeApp, wrapConnectApp, type ConnectLikeApp } from './express.js';
import { isFastifyLikeApp, wrapFastifyApp } from './fastify.js';
import { isFetchObjectApp, wrapFetchHandler, wrapFetchObject, type FetchHandler } from './fetch.js';
import { fastifyTarget, fetchTarget, koaTarget, nodeListenerTarget, withDirectDefaultPath } from './inject.js';
import { isKoaLikeApp, wrapKoaApp } from './koa.js';
import { WRAPPED, wrapNodeListener, type NodeListener } from './node.js';

export type AppKind = 'fastify' | 'koa' | 'connect' | 'fetch-object' | 'fetch' | 'node';

const APP_KINDS: readonly AppKind[] = ['fastify', 'koa', 'connect', 'fetch-object', 'fetch', 'node'];

export interface WrapAppOptions {
  /** Serve `/_ah/queue/deferred` and receive in-process deliveries (Python's `use_deferred`). Default false. */
  useDeferred?: boolean;
  /** Skip detection (e.g. 'fetch' for a fetch handler declared with more than one parameter). */
  kind?: AppKind;
  /** What answers the deferred path; default `new Handler()`. A Handler subclass instance works. */
  handler?: TaskPoster;
  /** Make this app the runtime's delivery target (default true). False: serve the path only. */
  deliver?: boolean;
  /** Serve the task dashboard (needs useDeferred). `true`: at /_ah/deferred/dashboard, open in development mode on loopback only. */
  dashboard?: boolean | DashboardOptions;
}

interface Wrapping {
  wrapped: object;
  target: DeliveryTarget;
  kind: AppKind;
  handler: TaskPoster;
  hasDashboard: boolean;
}

/** Originals and wrapped apps -> their wrapping (a Proxy cannot be found from its original otherwise). */
const wrappings = new WeakMap<object, Wrapping>();

export function detectAppKind(app: unknown): AppKind {
  if (isFastifyLikeApp(app)) return 'fastify';
  if (isKoaLikeApp(app)) return 'koa';
  if (isConnectLikeApp(app)) return 'connect';
  if (isFetchObjectApp(app)) return 'fetch-object';
  if (typeof app === 'function') return app.length === 1 ? 'fetch' : 'node';
  throw new TypeError(
    `wrapApp: unsupported app (${describe(app)}). Expected a Node request listener (req, res), an Express/Connect ` +
      'app, a Koa app, a Fastify instance, a fetch handler (request) => Response, or an object with a fetch method (Hono)',
  );
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}`;
  return typeof value;
}

/** Whether `app` is an app `wrapApp` returned with `useDeferred: true`. */
export function isWrappedApp(app: unknown): boolean {
  if (!isObjectLike(app)) return false;
  // A read, not `in`: the Proxies answer WRAPPED from their `get` trap. Any value counts, so
  // that an app wrapped by the other build (ESM vs CommonJS) of the shim is recognised too.
  return (app as Record<symbol, unknown>)[WRAPPED] !== undefined;
}

export function wrapApp<T>(app: T, options: WrapAppOptions = {}): T {
  const { useDeferred = false, kind, handler, deliver = true, dashboard } = options;
  if (typeof useDeferred !== 'boolean') {
    throw new TypeError(`wrapApp: useDeferred must be true or false, got ${JSON.stringify(useDeferred)}`);
  }
  if (kind !== undefined && !APP_KINDS.includes(kind)) {
    throw new TypeError(`wrapApp: kind must be one of ${APP_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  }
  const known = isObjectLike(app) ? wrappings.get(app) : undefined;
  if (known) {
    if ((kind !== undefined && kind !== known.kind) || (handler !== undefined && handler !== known.handler)) {
      throw new TypeError(
        `wrapApp: this app is already wrapped (as '${known.kind}', with its own handler); ` +
          'wrap the original app once, with the kind and handler it needs',
      );
    }
    if (dashboard !== undefined && dashboard !== false && !known.hasDashboard) {
      throw new TypeError('wrapApp: this app is already wrapped without a dashboard; pass the dashboard option to the first wrapApp');
    }
    // Wrapping again serves nothing twice; it only makes the app the delivery target again.
    if (useDeferred && deliver) attachDelivery(known.target);
    return known.wrapped as T;
  }
  if (isWrappedApp(app)) return app;
  const appKind = kind ?? detectAppKind(app);
  if (!useDeferred) {
    if (dashboard !== undefined && dashboard !== false) throw new TypeError('wrapApp: the dashboard is served with useDeferred: true only');
    return app;
  }

  const endpoint = new DeferredEndpoint(handler ?? new Handler(), dashboardFromOption(dashboard));
  const { wrapped, target: appTarget } = wrapByKind(app, appKind, endpoint);
  const target = withDirectDefaultPath(endpoint, appTarget);
  const wrapping: Wrapping = { wrapped: wrapped as object, target, kind: appKind, handler: endpoint.handler, hasDashboard: endpoint.dashboard !== undefined };
  wrappings.set(app as object, wrapping);
  wrappings.set(wrapped as object, wrapping);
  if (deliver) attachDelivery(target);
  return wrapped;
}

function isObjectLike(value: unknown): value is object {
  return typeof value === 'function' || (typeof value === 'object' && value !== null);
}

function attachDelivery(target: DeliveryTarget): void {
  const runtime = getRuntime();
  runtime.attach(target);
  // Start the backend now: tasks persisted by an earlier run are due for delivery.
  void runtime.backend;
}

function wrapByKind<T>(app: T, kind: AppKind, endpoint: DeferredEndpoint): { wrapped: T; target: DeliveryTarget } {
  const mismatch = (expected: string) =>
    new TypeError(`wrapApp: kind '${kind}' was given but the app is not ${expected}`);
  switch (kind) {
    case 'fastify': {
      if (!isFastifyLikeApp(app)) throw mismatch('a Fastify instance');
      const { ready } = wrapFastifyApp(app, endpoint);
      return { wrapped: app, target: fastifyTarget(app, ready) };
    }
    case 'koa': {
      if (!isKoaLikeApp(app)) throw mismatch('a Koa app');
      return { wrapped: wrapKoaApp(app, endpoint), target: koaTarget(app) };
    }
    case 'connect': {
      if (!isConnectLikeApp(app)) throw mismatch('an Express/Connect app');
      const wrapped = wrapConnectApp(app as T & ConnectLikeApp, endpoint);
      return { wrapped, target: nodeListenerTarget(wrapped as unknown as RequestListener) };
    }
    case 'fetch-object': {
      if (!isFetchObjectApp(app)) throw mismatch('an object with a fetch method');
      const wrapped = wrapFetchObject(app, endpoint);
      return { wrapped, target: fetchTarget((request) => wrapped.fetch(request)) };
    }
    case 'fetch': {
      if (typeof app !== 'function') throw mismatch('a function');
      const wrapped = wrapFetchHandler(app as T & FetchHandler, endpoint);
      return { wrapped, target: fetchTarget(wrapped) };
    }
    case 'node': {
      if (typeof app !== 'function') throw mismatch('a function');
      const wrapped = wrapNodeListener(app as T & NodeListener, endpoint);
      return { wrapped, target: nodeListenerTarget(wrapped as unknown as RequestListener) };
    }
  }
}
