// The dashboard as one framework-neutral request handler: routing, access
// control, CSRF, actions. `http.ts` bridges Node and fetch requests to it; wrapApp
// and the standalone CLI mount it.
//
// Routes, under the base path (default /_ah/deferred/dashboard):
//   GET  /                                   queues
//   GET  /queues/:queue[?state=&cursor=]     a queue's tasks
//   GET  /queues/:queue/tasks/:task          one task
//   GET  /queues/:queue/purge                purge confirmation
//   POST /queues/:queue/{pause,resume,purge,retry-failed}
//   POST /queues/:queue/tasks/:task/{retry,delete}
//   GET  /assets/dashboard.{css,js}
//   GET|POST /login, POST /logout            token sessions
import { DASHBOARD_CSS, DASHBOARD_JS } from './assets.js';
import type { SafeHtml } from './html.js';
import { TASK_STATES, TaskNotFoundError, TaskStateError, type QueueOperations, type TaskState, type ThroughputBucket } from '../operations/types.js';
import {
  loginPage,
  messagePage,
  purgeConfirmPage,
  queuePage,
  queuePath,
  queuesPage,
  taskPage,
  taskPath,
  type Flash,
  type PageContext,
} from './pages.js';
import {
  cookie,
  CSRF_COOKIE,
  CsrfGuard,
  decideAccess,
  isConfigured,
  readCookie,
  SECURITY_HEADERS,
  SESSION_COOKIE,
  constantTimeEqual,
  sameOriginRequest,
  sessionValue,
  type AccessPolicy,
  type RequestFacts,
} from './security.js';

export const DEFAULT_DASHBOARD_PATH = '/_ah/deferred/dashboard';
export const PAGE_SIZE = 50;
const THROUGHPUT_MINUTES = 15;
/** Forms are a few short fields; anything longer is not ours. */
const MAX_FORM_BYTES = 16 * 1024;

export interface DashboardRequest extends RequestFacts {
  /** The request target: path and query, e.g. `/_ah/deferred/dashboard/queues/default?state=failed`. */
  target: string;
  /** The body as text, refusing more than `limit` bytes. */
  readBody(limit: number): Promise<string>;
}

export interface DashboardResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
}

export interface DashboardSettings {
  /** Where it is served, e.g. `/_ah/deferred/dashboard` (no trailing slash). */
  path: string;
  policy: AccessPolicy | (() => AccessPolicy);
  /** The operations surface of the queue to show (resolved per request: the runtime's backend may change). */
  operations: () => QueueOperations;
  now: () => number;
  /** Where an unexpected failure is reported (the page only says that it happened: it may be an unauthenticated visitor's). */
  onError: (error: unknown) => void;
}

/** A form body larger than the limit. */
class BodyTooLarge extends Error {}

/** The queue has no operations surface to show (a backend without one): said on the page, not logged as a failure. */
export class OperationsUnavailableError extends Error {
  override name = 'OperationsUnavailableError';
}

export class Dashboard {
  readonly path: string;
  private readonly csrfGuards = new Map<string | undefined, CsrfGuard>();

  constructor(private readonly settings: DashboardSettings) {
    this.path = normalisePath(settings.path);
  }

  /** Whether `target` (a path, query allowed) is under the dashboard's path. */
  isUnderPath(target: string | undefined): boolean {
    if (target === undefined || !target.startsWith(this.path)) return false;
    const next = target.charCodeAt(this.path.length);
    return Number.isNaN(next) || next === 47 /* / */ || next === 63 /* ? */;
  }

  /**
   * Whether the dashboard answers `target`: under its path, and on. It is off (the
   * app answers, as if there were no dashboard) when no way in is configured and
   * loopback clients may not come in either: production without auth or token.
   */
  serves(target: string | undefined): boolean {
    if (!this.isUnderPath(target)) return false;
    const policy = this.policy();
    return isConfigured(policy) || policy.openOnLoopback;
  }

  policy(): AccessPolicy {
    const { policy } = this.settings;
    return typeof policy === 'function' ? policy() : policy;
  }

  async handle(request: DashboardRequest): Promise<DashboardResponse> {
    try {
      return await this.route(request);
    } catch (error) {
      if (error instanceof BodyTooLarge) return plain(413, 'Form too large');
      if (error instanceof OperationsUnavailableError) return respond(501, messagePage(this.context('', false), 'Not available', error.message));
      this.settings.onError(error);
      return respond(500, messagePage(this.context('', false), 'Error', 'The dashboard could not answer this request; the error is in the server\u2019s log.'));
    }
  }

  private async route(request: DashboardRequest): Promise<DashboardResponse> {
    const url = new URL(request.target, 'http://dashboard.invalid');
    const rest = url.pathname.slice(this.path.length);
    const method = request.method.toUpperCase();
    if (method === 'GET' && rest === '/assets/dashboard.css') return asset(DASHBOARD_CSS, 'text/css; charset=utf-8');
    if (method === 'GET' && rest === '/assets/dashboard.js') return asset(DASHBOARD_JS, 'text/javascript; charset=utf-8');

    const policy = this.policy();
    const guard = this.csrfGuard(policy.token);
    // Every page carries a CSRF token bound to this browser's cookie; a first visit gets one.
    const setCookies: string[] = [];
    let csrfCookie = readCookie(request.header('cookie'), CSRF_COOKIE);
    if (csrfCookie === undefined || !/^[\w-]{16,64}$/.test(csrfCookie)) {
      csrfCookie = guard.newCookieValue();
      setCookies.push(cookie(CSRF_COOKIE, csrfCookie, { path: this.path, secure: request.secure }));
    }
    const withCookies = (response: DashboardResponse) => {
      if (setCookies.length > 0) response.headers['Set-Cookie'] = [...setCookies, ...asList(response.headers['Set-Cookie'])];
      return response;
    };
    const session = readCookie(request.header('cookie'), SESSION_COOKIE);
    const signedIn = policy.token !== undefined && session !== undefined;
    const ctx = this.context(guard.tokenFor(csrfCookie, session), signedIn);

    if (rest === '/login' && policy.token !== undefined) return withCookies(await this.login(request, method, policy.token, guard, ctx));

    const access = await decideAccess(policy, request);
    if (!access.allowed) {
      if (access.status === 401) {
        const response = respond(401, loginPage(ctx));
        response.headers['WWW-Authenticate'] = 'Bearer realm="deferred-migrate dashboard"';
        return withCookies(response);
      }
      return withCookies(respond(access.status, messagePage(ctx, access.status === 403 ? 'Forbidden' : 'Not found', access.reason)));
    }

    if (method === 'POST') {
      const origin = sameOriginRequest(request);
      if (!origin.ok) return withCookies(respond(403, messagePage(ctx, 'Forbidden', `Refused ${origin.reason}: actions come from the dashboard's own pages.`)));
      const form = new URLSearchParams(await readForm(request));
      if (!guard.check(readCookie(request.header('cookie'), CSRF_COOKIE), session, form.get('csrf') ?? undefined)) {
        return withCookies(respond(403, messagePage(ctx, 'Forbidden', 'The form is missing its CSRF token or it has expired: reload the page and try again.')));
      }
      return withCookies(await this.act(rest, form, ctx, request));
    }
    if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { ...SECURITY_HEADERS, Allow: 'GET, POST', 'Content-Type': 'text/plain' }, body: 'Method Not Allowed' };
    return withCookies(await this.show(rest, url.searchParams, ctx));
  }

  private async login(request: DashboardRequest, method: string, token: string, guard: CsrfGuard, ctx: PageContext): Promise<DashboardResponse> {
    if (method !== 'POST') return respond(200, loginPage(ctx));
    const origin = sameOriginRequest(request);
    const form = new URLSearchParams(await readForm(request));
    if (!origin.ok || !guard.check(readCookie(request.header('cookie'), CSRF_COOKIE), readCookie(request.header('cookie'), SESSION_COOKIE), form.get('csrf') ?? undefined)) {
      return respond(403, loginPage(ctx, 'The sign-in form expired or came from another site: try again.'));
    }
    if (!constantTimeEqual(form.get('token') ?? '', token)) return respond(401, loginPage(ctx, 'That is not the dashboard token.'));
    const response = redirect(`${this.path}/`);
    response.headers['Set-Cookie'] = [cookie(SESSION_COOKIE, sessionValue(token), { path: this.path, secure: request.secure, maxAgeSeconds: 12 * 3600 })];
    return response;
  }

  private async show(rest: string, query: URLSearchParams, ctx: PageContext): Promise<DashboardResponse> {
    const ops = this.settings.operations();
    const flash = flashFrom(query);
    if (rest === '' || rest === '/') {
      const queues = await ops.listQueues();
      const throughput = new Map<string, ThroughputBucket[]>();
      await Promise.all(queues.map(async (q) => throughput.set(q.name, await ops.throughput({ queue: q.name, minutes: THROUGHPUT_MINUTES }))));
      return respond(200, queuesPage(ctx, queues, throughput, flash));
    }
    const parts = splitPath(rest);
    if (parts === undefined || parts[0] !== 'queues' || parts.length < 2) return this.notFound(ctx);
    const queueName = parts[1]!;
    if (parts.length === 2 || (parts.length === 3 && parts[2] === 'purge')) {
      const queue = (await ops.listQueues()).find((q) => q.name === queueName);
      if (!queue) return this.notFound(ctx, `There is no queue named ${queueName}.`);
      if (parts.length === 3) return respond(200, purgeConfirmPage(ctx, queue));
      const stateParam = query.get('state') ?? '';
      const state = (TASK_STATES as readonly string[]).includes(stateParam) ? (stateParam as TaskState) : undefined;
      const cursor = query.get('cursor') || undefined;
      const [page, throughput] = await Promise.all([
        ops.listTasks({ queue: queueName, ...(state && { state }), ...(cursor !== undefined && { cursor }), limit: PAGE_SIZE }).catch((error: unknown) => {
          // A cursor is opaque and only valid for the listing it came from: a hand-edited or stale one is the visitor's mistake.
          if (cursor !== undefined && error instanceof TypeError) return undefined;
          throw error;
        }),
        ops.throughput({ queue: queueName, minutes: THROUGHPUT_MINUTES }),
      ]);
      if (page === undefined) {
        return respond(400, messagePage(ctx, 'Bad page link', 'That page link is not valid for this listing; start again from its first page.'));
      }
      return respond(200, queuePage(ctx, { queue, state, page, cursor, throughput }, flash));
    }
    if (parts.length === 4 && parts[2] === 'tasks') {
      try {
        return respond(200, taskPage(ctx, await ops.getTask(parts[3]!, queueName), flash));
      } catch (error) {
        if (!(error instanceof TaskNotFoundError)) throw error;
        return this.notFound(ctx, `There is no task ${parts[3]} in queue ${queueName} (deleted, or finished and swept).`);
      }
    }
    return this.notFound(ctx);
  }

  private async act(rest: string, form: URLSearchParams, ctx: PageContext, request: DashboardRequest): Promise<DashboardResponse> {
    if (rest === '/logout') {
      const response = redirect(`${this.path}/`);
      response.headers['Set-Cookie'] = [cookie(SESSION_COOKIE, '', { path: this.path, secure: request.secure, maxAgeSeconds: 0 })];
      return response;
    }
    const parts = splitPath(rest);
    if (parts === undefined || parts[0] !== 'queues' || parts.length < 3) return this.notFound(ctx);
    const ops = this.settings.operations();
    const queue = parts[1]!;
    const back = queuePath(ctx, queue);
    if (parts.length === 3) {
      switch (parts[2]) {
        case 'pause':
          await ops.pauseQueue(queue);
          return redirect(`${back}?done=paused`);
        case 'resume':
          await ops.resumeQueue(queue);
          return redirect(`${back}?done=resumed`);
        case 'retry-failed':
          return redirect(`${back}?done=retried-failed&n=${await ops.retryAllFailed(queue)}`);
        case 'purge':
          if (form.get('confirm') !== 'yes') return redirect(`${back}/purge`);
          return redirect(`${back}?done=purged&n=${await ops.purgeQueue(queue)}`);
      }
    }
    if (parts.length === 5 && parts[2] === 'tasks') {
      const name = parts[3]!;
      const here = taskPath(ctx, queue, name);
      try {
        switch (parts[4]) {
          case 'retry':
            await ops.retryTask(name, queue);
            return redirect(`${here}?done=retried`);
          case 'delete':
            await ops.deleteTask(name, queue);
            return redirect(`${back}?done=deleted`);
        }
      } catch (error) {
        if (error instanceof TaskNotFoundError) return redirect(`${back}?done=missing`);
        if (error instanceof TaskStateError) return redirect(`${here}?done=wrong-state`);
        throw error;
      }
    }
    return this.notFound(ctx);
  }

  private notFound(ctx: PageContext, message = 'There is no such page in the dashboard.'): DashboardResponse {
    return respond(404, messagePage(ctx, 'Not found', message));
  }

  private context(csrf: string, canLogOut: boolean): PageContext {
    return { base: this.path, csrf, nowMs: this.settings.now(), canLogOut };
  }

  private csrfGuard(token: string | undefined): CsrfGuard {
    let guard = this.csrfGuards.get(token);
    if (!guard) this.csrfGuards.set(token, (guard = new CsrfGuard(token)));
    return guard;
  }
}

/** `/_ah/deferred/dashboard/` -> `/_ah/deferred/dashboard`; must start with `/`. */
export function normalisePath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
    throw new TypeError(`dashboard path must be an absolute path like ${DEFAULT_DASHBOARD_PATH}, got ${JSON.stringify(path)}`);
  }
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') throw new TypeError('dashboard path cannot be the root path /: the app needs it');
  return trimmed;
}

/** Path segments after the base, decoded; undefined for a malformed escape. */
function splitPath(rest: string): string[] | undefined {
  try {
    return rest.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The message for `?done=` after an action: fixed texts, only the count comes from the URL (digits). */
function flashFrom(query: URLSearchParams): Flash | undefined {
  const n = /^\d{1,9}$/.test(query.get('n') ?? '') ? Number(query.get('n')) : undefined;
  switch (query.get('done')) {
    case 'paused':
      return { text: 'Queue paused: no task of it is delivered until it is resumed.' };
    case 'resumed':
      return { text: 'Queue resumed.' };
    case 'retried':
      return { text: 'Task queued to run now.' };
    case 'retried-failed':
      return { text: `${n ?? 0} failed task(s) queued to run again.` };
    case 'purged':
      return { text: `Queue purged: ${n ?? 0} task(s) deleted.` };
    case 'deleted':
      return { text: 'Task deleted.' };
    case 'missing':
      return { text: 'That task no longer exists (it finished, or was deleted).', error: true };
    case 'wrong-state':
      return { text: 'The task is running now: wait for the attempt to end, then try again.', error: true };
    default:
      return undefined;
  }
}

async function readForm(request: DashboardRequest): Promise<string> {
  const type = request.header('content-type') ?? '';
  const text = await request.readBody(MAX_FORM_BYTES).catch((error: unknown) => {
    if (error instanceof RangeError) throw new BodyTooLarge();
    throw error;
  });
  return type.startsWith('application/x-www-form-urlencoded') ? text : '';
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function respond(status: number, page: SafeHtml): DashboardResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8' }, body: page.value };
}

function redirect(location: string): DashboardResponse {
  return { status: 303, headers: { ...SECURITY_HEADERS, Location: location, 'Content-Type': 'text/plain' }, body: '' };
}

function plain(status: number, text: string): DashboardResponse {
  return { status, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' }, body: text };
}

function asset(body: string, type: string): DashboardResponse {
  // Public, versionless, tiny: revalidate rather than cache long.
  return { status: 200, headers: { ...SECURITY_HEADERS, 'Content-Type': type, 'Cache-Control': 'no-cache' }, body };
}
