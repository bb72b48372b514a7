// The built-in deferred endpoint that `wrapApp(app, { useDeferred: true })` puts in
// front of an app: requests whose path is exactly `/_ah/queue/deferred` (query
// ignored, every method, as Python's `AddDeferredMiddleware`) are answered here and
// never reach the framework. One endpoint per wrapped app; every adapter uses it.
// With `dashboard` set, requests under the dashboard's path are answered here too
// (while it is on: see shim/dashboard/security.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeliveryRequest, DeliveryResponse, Environ, HandlerResult } from '../api/types.js';
import { getRuntime } from '../runtime/runtime.js';
import type { Dashboard } from '../dashboard/dashboard.js';
import { serveDashboardFetch, serveDashboardNode } from '../dashboard/http.js';
import { environFromDelivery, environFromFetch, environFromNode, type EnvironOptions } from './environ.js';

export const DEFERRED_PATH = '/_ah/queue/deferred';

const QUESTION_MARK = 63;

/** Exactly `/_ah/queue/deferred`, with or without a query: the per-request test, kept cheap. */
export function isDeferredUrl(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(DEFERRED_PATH)) return false;
  return url.length === DEFERRED_PATH.length || url.charCodeAt(DEFERRED_PATH.length) === QUESTION_MARK;
}

/** The path of an absolute URL (`Request.url`) without building a `URL` object. */
export function pathOfAbsoluteUrl(url: string): string {
  const schemeEnd = url.indexOf('://');
  const pathStart = url.indexOf('/', schemeEnd < 0 ? 0 : schemeEnd + 3);
  if (pathStart < 0) return '/';
  let end = url.length;
  for (let i = pathStart; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === QUESTION_MARK || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(pathStart, end);
}

/** What answers task requests: a `Handler` (or subclass) instance. */
export interface TaskPoster {
  post(environ: Environ): Promise<HandlerResult>;
}

const METHOD_NOT_ALLOWED: HandlerResult = ['', 405, { Allow: 'POST', 'Content-Type': 'text/plain' }];

export class DeferredEndpoint {
  constructor(
    readonly handler: TaskPoster,
    readonly dashboard?: Dashboard,
  ) {}

  /** Whether a request for `url` (path, query allowed) is answered here rather than by the app. */
  claims(url: string | undefined): boolean {
    return isDeferredUrl(url) || (this.dashboard !== undefined && this.dashboard.serves(url));
  }

  /** 405 with `Allow: POST` for other methods; otherwise the Handler's answer. */
  async answer(environ: Environ): Promise<HandlerResult> {
    if (environ.REQUEST_METHOD !== 'POST') return [...METHOD_NOT_ALLOWED];
    return this.handler.post(environ);
  }

  /** Answers a Node request; a failure to even build the environ is a 500 (the task is retried). */
  async serveNode(req: IncomingMessage, res: ServerResponse, options?: EnvironOptions): Promise<void> {
    if (this.dashboard !== undefined && !isDeferredUrl(req.url)) return serveDashboardNode(this.dashboard, req, res);
    const [body, status, headers] = await this.answerOrFail(() => environFromNode(req, options), req.method, req.url);
    if (res.headersSent) return;
    res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }

  /**
   * Answers a task the local dispatcher delivers in process on the default URL, with
   * no HTTP request in between (inject.ts): the same Handler, checks, status and logging.
   */
  async deliver(request: DeliveryRequest, remoteAddr: string): Promise<DeliveryResponse> {
    const [body, status] = await this.answerOrFail(() => environFromDelivery(request, remoteAddr), request.method, request.url);
    return { status, body };
  }

  /** Answers a fetch `Request` with a `Response`. */
  async serveFetch(request: Request, options?: EnvironOptions): Promise<Response> {
    if (this.dashboard !== undefined && !isDeferredUrl(pathOfAbsoluteUrl(request.url))) {
      return serveDashboardFetch(this.dashboard, request, options?.remoteAddr);
    }
    const [body, status, headers] = await this.answerOrFail(() => environFromFetch(request, options), request.method, request.url);
    return new Response(body, { status, headers });
  }

  /** `answer` for the environ `build` makes; a failure to build it or to answer is a logged 500 (the task is retried). */
  private async answerOrFail(build: () => Environ, method: string | undefined, url: string | undefined): Promise<HandlerResult> {
    try {
      return await this.answer(build());
    } catch (error) {
      return internalError(error, method, url);
    }
  }
}

function internalError(error: unknown, method: string | undefined, url: string | undefined): HandlerResult {
  getRuntime().logger.error(`deferred endpoint: cannot answer ${method} ${url}`, {
    error: error instanceof Error ? error.stack ?? error.message : String(error),
  });
  return ['Internal Server Error', 500, { 'Content-Type': 'text/plain' }];
}
