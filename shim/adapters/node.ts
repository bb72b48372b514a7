// Node request listeners `(req, res)`, and the function-shaped apps built on
// them (Express, Connect; see express.ts). The wrapped app is a Proxy of the
// original: calling it (as `http.createServer(app)` and `app.listen()` do) goes
// through the `apply` trap, which answers the deferred path and forwards
// everything else untouched; every property read, write and method call reaches
// the original app.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDeferredUrl, type DeferredEndpoint } from './endpoint.js';
import { isFetchRequest } from './environ.js';

/** Read through a wrapped app: its endpoint (also marks the app as wrapped). */
export const WRAPPED = Symbol.for('deferred-migrate.wrapped');

export type NodeListener = (req: IncomingMessage, res: ServerResponse, ...rest: unknown[]) => unknown;

const SLASH = 47;

type AnyFunction = (...args: never[]) => unknown;

/**
 * Wraps a function-shaped app. `overrides` are properties read from the wrapper instead
 * of the app: Express uses it to intercept `app.handle`
 * (the entry point a parent Express app calls on a mounted sub-app).
 */
export function wrapNodeListener<T extends AnyFunction>(
  app: T,
  endpoint: DeferredEndpoint,
  overrides: Partial<Record<string | symbol, unknown>> = {},
): T {
  return new Proxy(app, {
    apply(target, thisArg, args: unknown[]) {
      const req = args[0] as IncomingMessage | undefined;
      if (req !== undefined && isDeferredUrl(req.url)) {
        return endpoint.serveNode(req, args[1] as ServerResponse);
      }
      // Node request targets start with '/'; only then is the (slower) fetch check worth making.
      if (req !== undefined && req.url?.charCodeAt(0) !== SLASH && isFetchRequest(req)) {
        throw new TypeError(
          'wrapApp: this app was wrapped as a Node request listener (req, res) but was called with a fetch ' +
            "Request; wrap fetch-style handlers with wrapApp(app, { useDeferred: true, kind: 'fetch' })",
        );
      }
      return Reflect.apply(target, thisArg, args);
    },
    get(target, property, receiver) {
      if (property === WRAPPED) return endpoint;
      if (Object.prototype.hasOwnProperty.call(overrides, property)) return overrides[property];
      return Reflect.get(target, property, receiver);
    },
  });
}
