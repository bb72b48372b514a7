// Environ builders: the PEP 333-shaped record (`Environ`) of one request, from
// whatever request object the host framework hands out. `new Handler().post(environ)`
// only ever sees an Environ, so custom task routes work the same in every framework.
//
// The raw body goes under `wsgi.input`, whether or not a body parser ran:
//   1. bytes captured by `wrapApp` (Fastify task requests) or by the framework
//      (`req.rawBody`, `ctx.request.rawBody`);
//   2. the request stream itself when nothing has read it yet;
//   3. a parsed body that is still bytes or text (`express.raw()`, `express.text()`);
//   4. last resort: a parsed JSON object re-encoded as JSON (a JSON body, or a task's
//      application/octet-stream body that an app-wide `express.json({ type: '*/*' })`
//      parsed, as the legacy webapp router re-encoded it). That is not always the
//      bytes that were sent, so the production signature check fails and the
//      Handler answers 403 (the task is retried, not lost). Mount `wrapApp`
//      before body parsers, or give the task route a raw parser.
// Anything else (a consumed stream with nothing recoverable) is a clear error,
// never an empty body that would drop the task.
import type { IncomingMessage } from 'node:http';
import type { DeliveryRequest, Environ } from '../api/types.js';
import { environKeyOf } from '../runtime/header-names.js';
import { getRuntime } from '../runtime/runtime.js';

/** The version `SERVER_SOFTWARE` reports in production mode (kept equal to package.json by a test). */
export const SHIM_VERSION = '0.1.0';

/** Where adapters park a raw body they captured, on the Node request object. */
export const RAW_BODY = Symbol.for('deferred-migrate.rawBody');

export interface EnvironOptions {
  /** The raw body, when the caller already has it (overrides every other source). */
  body?: Uint8Array | string;
  /** A body a framework parsed, for the fallbacks above. */
  parsedBody?: unknown;
  /** Raw body text or bytes a framework kept beside the parsed body. */
  rawBody?: unknown;
  /** Client address when the request object does not carry a socket (fetch). */
  remoteAddr?: string;
  /**
   * `SCRIPT_NAME`, the mount point of a WSGI-style app: PATH_INFO is then the rest of
   * the path (`/tasks` and `/tasks/mail` give `/mail`), as a webapp table mounted with
   * `app.use('/tasks', table)` saw it. Default empty: PATH_INFO is the whole path.
   */
  scriptName?: string;
  /** The request target as the client sent it, when a router rewrote `req.url` (Koa's `ctx.originalUrl`). */
  originalUrl?: string;
  /** Overrides the runtime-derived `SERVER_SOFTWARE`. */
  serverSoftware?: string;
}

const encoder = new TextEncoder();

/**
 * `SERVER_SOFTWARE` for the runtime's mode: the Handler treats a value starting
 * with `Devel` as the development server (task-name header suffices), anything
 * else as production (the backend's signature is required too).
 */
export function serverSoftware(): string {
  return getRuntime().mode === 'development'
    ? 'Development/deferred-migrate'
    : `deferred-migrate/${SHIM_VERSION}`;
}

/** WSGI servers hand out a percent-decoded PATH_INFO; keep the raw text when it does not decode. */
function decodePath(path: string): string {
  if (!path.includes('%')) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function splitUrl(url: string): { path: string; query: string } {
  // Absolute-form request targets (`GET http://host/p HTTP/1.1`) are legal HTTP.
  if (!url.startsWith('/') && /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    const parsed = new URL(url);
    return { path: parsed.pathname, query: parsed.search.slice(1) };
  }
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function serverNameAndPort(host: string | undefined, secure: boolean): [string, string] {
  const fallbackPort = secure ? '443' : '80';
  if (!host) return ['localhost', fallbackPort];
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  return m ? [m[1] || 'localhost', m[2] ?? fallbackPort] : [host, fallbackPort];
}

/**
 * SCRIPT_NAME and PATH_INFO as WSGI has them: given the mount point of the app (a
 * route prefix), PATH_INFO is the rest of the path, so SCRIPT_NAME + PATH_INFO is the
 * whole path. A path that is not under the mount keeps it whole (and SCRIPT_NAME empty).
 * The prefix is matched without regard to case, and SCRIPT_NAME is the request's own
 * spelling of it: Express matches a mount (`app.use('/Tasks', table)`) and a route
 * case-insensitively by default, so `/tasks/mail` reached the table as `/mail`; a
 * case-sensitive router never lets such a request reach the route.
 */
function splitMount(path: string, mount: string | undefined): { scriptName: string; pathInfo: string } {
  const prefix = (mount ?? '').replace(/\/+$/, '');
  const head = path.slice(0, prefix.length);
  if (prefix === '' || head.toLowerCase() !== prefix.toLowerCase() || !(path.length === prefix.length || path[prefix.length] === '/')) return { scriptName: '', pathInfo: path };
  return { scriptName: head, pathInfo: path.slice(prefix.length) || '/' };
}

/** The fields every builder shares; `headers` are lower-case name -> value. */
function baseEnviron(fields: {
  method: string;
  url: string;
  headers: Iterable<[string, string]>;
  remoteAddr: string | undefined;
  secure: boolean;
  httpVersion: string;
  scriptName: string | undefined;
  serverSoftware: string | undefined;
  /** Host when the headers have none (a fetch Request carries it in its URL). */
  defaultHost?: string;
}): Environ {
  const { path, query } = splitUrl(fields.url);
  const { scriptName, pathInfo } = splitMount(decodePath(path), fields.scriptName);
  const environ: Environ = {
    REQUEST_METHOD: fields.method.toUpperCase(),
    SCRIPT_NAME: scriptName,
    PATH_INFO: pathInfo,
    QUERY_STRING: query,
    SERVER_PROTOCOL: `HTTP/${fields.httpVersion}`,
    SERVER_SOFTWARE: fields.serverSoftware ?? serverSoftware(),
    'wsgi.url_scheme': fields.secure ? 'https' : 'http',
  };
  if (fields.remoteAddr !== undefined) environ.REMOTE_ADDR = fields.remoteAddr;
  let host = fields.defaultHost;
  for (const [name, value] of fields.headers) {
    // As in CGI and every WSGI server: these two are not duplicated as HTTP_* keys.
    if (name === 'content-type') environ.CONTENT_TYPE = value;
    else if (name === 'content-length') environ.CONTENT_LENGTH = value;
    else {
      if (name === 'host') host = value;
      environ[environKeyOf(name)] = value;
    }
  }
  const [serverName, serverPort] = serverNameAndPort(host, fields.secure);
  environ.SERVER_NAME = serverName;
  environ.SERVER_PORT = serverPort;
  return environ;
}

function* nodeHeaders(headers: IncomingMessage['headers']): Iterable<[string, string]> {
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    // WSGI folds repeated headers into one comma-separated value.
    yield [name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value];
  }
}

function isBytes(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array;
}

function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

/**
 * The Content-Type task requests carry (their body is the JSON envelope): a parsed object
 * there comes from an app-wide JSON parser given a broad type (`express.json({ type: '*\/*' })`),
 * which the legacy webapp router also re-encoded as JSON.
 */
function isTaskContentType(contentType: string | undefined): boolean {
  return !!contentType && contentType.split(';')[0]!.trim().toLowerCase() === 'application/octet-stream';
}

/** True once anything (a body parser, `for await`) has read from the request stream. */
function streamConsumed(req: IncomingMessage): boolean {
  const flags = req as IncomingMessage & { readableDidRead?: boolean; _body?: unknown };
  return flags.readableDidRead === true || req.readableEnded || flags._body === true;
}

/** Picks the raw body of a Node request, by the order documented at the top of this file. */
function nodeBody(req: IncomingMessage, options: EnvironOptions): Uint8Array | IncomingMessage {
  if (options.body !== undefined) return toBytes(options.body);
  const captured = (req as unknown as Record<symbol, unknown>)[RAW_BODY];
  if (isBytes(captured)) return captured;
  const rawBody = options.rawBody ?? (req as IncomingMessage & { rawBody?: unknown }).rawBody;
  if (isBytes(rawBody) || typeof rawBody === 'string') return toBytes(rawBody);
  if (!streamConsumed(req)) return req;
  const parsed = options.parsedBody;
  if (isBytes(parsed) || typeof parsed === 'string') return toBytes(parsed);
  if (parsed !== null && typeof parsed === 'object' && (isJsonContentType(req.headers['content-type']) || isTaskContentType(req.headers['content-type']))) {
    // Last resort, see the top of this file: fine in development mode, refused (403) in production.
    return encoder.encode(JSON.stringify(parsed));
  }
  throw new Error(
    `environFrom: the body of ${req.method} ${req.url} was already read by a body parser and ` +
      'cannot be recovered. Call wrapApp() before registering body parsers, or give this route a ' +
      "raw parser (e.g. express.raw({ type: '*/*' }))",
  );
}

function toBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === 'string' ? encoder.encode(body) : body;
}

/**
 * The environ of a Node request (also an Express request, whose body fields it
 * reads). PATH_INFO is the path the client sent (Express `req.originalUrl`), not
 * the rest left by a router mount: as `request.environ` in Flask. Only a `scriptName`
 * the caller gives splits it (SCRIPT_NAME + PATH_INFO, what the Cloud Tasks audience
 * check compares against).
 */
export function environFromNode(req: IncomingMessage, options: EnvironOptions = {}): Environ {
  const expressLike = req as IncomingMessage & { originalUrl?: unknown; body?: unknown };
  const socket = req.socket as (IncomingMessage['socket'] & { encrypted?: boolean }) | undefined;
  const environ = baseEnviron({
    method: req.method ?? 'GET',
    url: options.originalUrl ?? (typeof expressLike.originalUrl === 'string' ? expressLike.originalUrl : req.url ?? '/'),
    headers: nodeHeaders(req.headers),
    remoteAddr: options.remoteAddr ?? socket?.remoteAddress,
    secure: socket?.encrypted === true,
    httpVersion: req.httpVersion || '1.1',
    scriptName: options.scriptName,
    serverSoftware: options.serverSoftware,
  });
  const input = nodeBody(req, 'parsedBody' in options ? options : { ...options, parsedBody: expressLike.body });
  environ['wsgi.input'] = input;
  // The Handler reads CONTENT_LENGTH bytes: it must describe the bytes we hand over.
  if (isBytes(input)) environ.CONTENT_LENGTH = String(input.byteLength);
  return environ;
}

/**
 * The environ of a task delivered in process on the default URL (no HTTP request
 * exists): what `environFromNode` makes of the same request sent through Node's HTTP
 * client (inject.ts), with the body as bytes. Only the local dispatcher builds it;
 * nothing that arrives over a socket can.
 */
export function environFromDelivery(request: DeliveryRequest, remoteAddr: string): Environ {
  const environ = baseEnviron({
    method: request.method,
    url: request.url,
    headers: deliveryHeaders(request.headers),
    remoteAddr,
    secure: false,
    httpVersion: '1.1',
    scriptName: undefined,
    serverSoftware: undefined,
    defaultHost: IN_PROCESS_HOST,
  });
  environ['wsgi.input'] = request.body;
  environ.CONTENT_LENGTH = String(request.body.byteLength);
  return environ;
}

/** The `Host` header Node's HTTP client sends when it is given no host (the in-process HTTP path). */
const IN_PROCESS_HOST = 'localhost:80';

function* deliveryHeaders(headers: Record<string, string>): Iterable<[string, string]> {
  yield ['host', IN_PROCESS_HOST];
  for (const name of Object.keys(headers)) yield [name.toLowerCase(), headers[name]!];
}

/** The environ of a fetch `Request` (Hono, @hono/node-server, Deno/Bun-style handlers). */
export function environFromFetch(request: Request, options: EnvironOptions = {}): Environ {
  const url = new URL(request.url);
  const environ = baseEnviron({
    method: request.method,
    url: url.pathname + url.search,
    headers: request.headers.entries(),
    remoteAddr: options.remoteAddr,
    secure: url.protocol === 'https:',
    httpVersion: '1.1',
    scriptName: options.scriptName,
    serverSoftware: options.serverSoftware,
    defaultHost: url.host,
  });
  if (options.body !== undefined) {
    const bytes = toBytes(options.body);
    environ['wsgi.input'] = bytes;
    environ.CONTENT_LENGTH = String(bytes.byteLength);
  } else if (request.bodyUsed) {
    throw new Error(
      `environFrom: the body of ${request.method} ${url.pathname} was already read; pass request.clone() ` +
        'or read the body first and call environFrom(request, { body })',
    );
  } else if (request.body === null) {
    environ['wsgi.input'] = new Uint8Array(0);
    environ.CONTENT_LENGTH = '0';
  } else {
    // Node's web ReadableStream is async-iterable; the Handler reads it like a Node stream.
    environ['wsgi.input'] = request.body as unknown as AsyncIterable<Uint8Array>;
  }
  return environ;
}

type Obj = Record<string | symbol, unknown>;

function isObject(value: unknown): value is Obj {
  return (typeof value === 'object' || typeof value === 'function') && value !== null;
}

/** Duck-typed: light-my-request and other test doubles are Readables, not IncomingMessages. */
export function isNodeRequest(value: unknown): value is IncomingMessage {
  return (
    isObject(value) &&
    typeof value.method === 'string' &&
    typeof value.url === 'string' &&
    isObject(value.headers) &&
    typeof value.pipe === 'function' &&
    typeof value.on === 'function'
  );
}

export function isFetchRequest(value: unknown): value is Request {
  return typeof Request !== 'undefined' && value instanceof Request;
}

/** The client address @hono/node-server puts in a Hono app's `env` (`env.incoming`). */
export function remoteAddrFromEnv(env: unknown): string | undefined {
  if (!isObject(env) || !isObject(env.incoming)) return undefined;
  const socket = env.incoming.socket;
  return isObject(socket) && typeof socket.remoteAddress === 'string' ? socket.remoteAddress : undefined;
}

/**
 * The environ of any supported request object. Detection, in this order:
 * - a fetch `Request`;
 * - a Hono context (`c`, whose `c.req.raw` is a `Request`) or Hono request (`c.req`);
 * - a Koa context or Koa request (`.req` is the Node request; body fields from
 *   `ctx.request.rawBody` / `ctx.request.body`);
 * - a Fastify request (`.raw` is the Node request; body from `request.body`);
 * - a Node `IncomingMessage`, including an Express request (`req.rawBody`, `req.body`).
 */
export function environFrom(request: unknown, options: EnvironOptions = {}): Environ {
  if (isFetchRequest(request)) return environFromFetch(request, options);
  if (isObject(request)) {
    // Hono context: `c.req.raw`; Hono request: `.raw`.
    const honoRequest = isObject(request.req) && isFetchRequest(request.req.raw) ? request.req : request;
    if (isFetchRequest(honoRequest.raw)) {
      const remoteAddr = options.remoteAddr ?? remoteAddrFromEnv(request.env);
      return environFromFetch(honoRequest.raw, { ...options, remoteAddr });
    }
    // Koa: a context has `.request` (Koa's) and `.req`; a Koa request has `.req` and `.ctx`.
    if (isNodeRequest(request.req) && !isNodeRequest(request)) {
      const koaRequest = isObject(request.request) ? request.request : request;
      const originalUrl = typeof koaRequest.originalUrl === 'string' ? koaRequest.originalUrl : undefined;
      return environFromNode(request.req, {
        originalUrl,
        rawBody: koaRequest.rawBody,
        parsedBody: koaRequest.body,
        ...options,
      });
    }
    // Fastify request: the Node request is `.raw`.
    if (isNodeRequest(request.raw) && !isNodeRequest(request)) {
      return environFromNode(request.raw, { parsedBody: request.body, ...options });
    }
    if (isNodeRequest(request)) return environFromNode(request, options);
  }
  throw new TypeError(
    'environFrom: unsupported request object. Pass a Node IncomingMessage, an Express request, ' +
      'a Koa context or request, a Fastify request, a Hono context, or a fetch Request',
  );
}
