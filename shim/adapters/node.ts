// Node request listeners `(req, res)` (Express and Connect apps are wrapped in
// place instead; see express.ts). The wrapped app is a Proxy of the
// original: calling it (as `http.createServer(app)` and `app.listen()` do) goes
// through the `apply` trap, which answers the deferred path and forwards
// everything else untouched; every property read, write and method call reaches
// the original app.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeferredEndpoint } from './endpoint.js';
import { isFetchRequest } from './environ.js';

/** Read through a wrapped app: its endpoint (also marks the app as wrapped). */
export const WRAPPED = Symbol.for('deferred-migrate.wrapped');

export type NodeListener = (req: IncomingMessage, res: ServerResponse, ...rest: unknown[]) => unknown;

const SLASH = 47;

type AnyFunction = (...args: never[]) => unknown;

/**
 * Marks `app` as wrapped with its endpoint, then makes `change` to it. All or nothing:
 * if the app refuses the marker (frozen, not extensible) nothing is changed, and if
 * `change` throws the marker is taken back, so a failed wrapApp leaves the app as it was.
 */
export function wrapInPlace<T>(app: object, endpoint: DeferredEndpoint, change: () => T): T {
  try {
    Object.defineProperty(app, WRAPPED, { value: endpoint, configurable: true });
  } catch (error) {
    throw new Error('wrapApp: cannot wrap this app in place (frozen or not extensible); it is left unwrapped', { cause: error });
  }
  try {
    return change();
  } catch (error) {
    delete (app as Record<symbol, unknown>)[WRAPPED];
    throw error;
  }
}

/**
 * Wraps an app in place by replacing its method `key` (an own property stays as
 * enumerable as it was; an inherited one becomes a non-enumerable own one, so
 * `Object.keys` is unchanged).
 */
export function replaceAppMethod(app: object, key: string, method: unknown, endpoint: DeferredEndpoint): void {
  const enumerable = Object.getOwnPropertyDescriptor(app, key)?.enumerable ?? false;
  wrapInPlace(app, endpoint, () => {
    try {
      Object.defineProperty(app, key, { value: method, writable: true, configurable: true, enumerable });
    } catch (error) {
      throw new Error(`wrapApp: cannot replace ${key} on this app (frozen or non-configurable ${key} property); it is left unwrapped`, {
        cause: error,
      });
    }
  });
}

/** A fetch `Request` given to an app wrapped as a Node listener: say how to wrap it instead. */
export function refuseFetchRequest(req: IncomingMessage): void {
  // Node request targets start with '/'; only then is the (slower) fetch check worth making.
  if (req.url?.charCodeAt(0) !== SLASH && isFetchRequest(req)) {
    throw new TypeError(
      'wrapApp: this app was wrapped as a Node request listener (req, res) but was called with a fetch ' +
        "Request; wrap fetch-style handlers with wrapApp(app, { useDeferred: true, kind: 'fetch' })",
    );
  }
}

/** Wraps a Node request listener in a Proxy that answers the deferred path. */
export function wrapNodeListener<T extends AnyFunction>(app: T, endpoint: DeferredEndpoint): T {
  return new Proxy(app, {
    apply(target, thisArg, args: unknown[]) {
      const req = args[0] as IncomingMessage | undefined;
      if (req !== undefined && endpoint.claims(req.url)) {
        return endpoint.serveNode(req, args[1] as ServerResponse);
      }
      if (req !== undefined) refuseFetchRequest(req);
      return Reflect.apply(target, thisArg, args);
    },
    get(target, property, receiver) {
      if (property === WRAPPED) return endpoint;
      return Reflect.get(target, property, receiver);
    },
  });
}
