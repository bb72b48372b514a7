// The `dashboard` option of wrapApp: `true` or `{ path, auth, token }`, resolved
// into a Dashboard over the runtime's backend. The access policy is read per
// request, so `configure({ mode })` and DEFERRED_DASHBOARD_TOKEN apply to an app
// wrapped earlier.
import type { QueueOperations } from '../operations/types.js';
import { getRuntime } from '../runtime/runtime.js';
import { Dashboard, DEFAULT_DASHBOARD_PATH } from './dashboard.js';
import type { AccessPolicy, AuthHook } from './security.js';
import { runtimeOperations } from './runtime-operations.js';

export interface DashboardOptions {
  /** Where the dashboard is served (default `/_ah/deferred/dashboard`). */
  path?: string;
  /**
   * Decides who may use it: gets the request as the server received it (Node's
   * IncomingMessage, or the fetch Request), before any of the app's middleware,
   * and `info` to read headers, cookies and the client address whatever the framework.
   */
  auth?: AuthHook;
  /** A bearer token (else env DEFERRED_DASHBOARD_TOKEN): `Authorization: Bearer <token>`, or the sign-in form. */
  token?: string;
}

export const DASHBOARD_TOKEN_ENV = 'DEFERRED_DASHBOARD_TOKEN';

/** The Dashboard a `dashboard` option asks for; undefined for `false`/absent. */
export function dashboardFromOption(option: boolean | DashboardOptions | undefined, operations?: () => QueueOperations): Dashboard | undefined {
  if (option === undefined || option === false) return undefined;
  if (option !== true && (typeof option !== 'object' || option === null)) {
    throw new TypeError(`wrapApp: dashboard must be true, false or { path, auth, token }, got ${JSON.stringify(option)}`);
  }
  const { path = DEFAULT_DASHBOARD_PATH, auth, token } = option === true ? {} : option;
  if (auth !== undefined && typeof auth !== 'function') throw new TypeError('wrapApp: dashboard.auth must be a function (request) => boolean | Promise<boolean>');
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    throw new TypeError('wrapApp: dashboard.token must be a string of at least 16 characters');
  }
  const policy = (): AccessPolicy => {
    const configuredToken = token ?? (process.env[DASHBOARD_TOKEN_ENV] || undefined);
    return {
      ...(auth !== undefined && { auth }),
      ...(configuredToken !== undefined && { token: configuredToken }),
      openOnLoopback: getRuntime().mode === 'development',
    };
  };
  return new Dashboard({
    path,
    policy,
    operations: operations ?? runtimeOperations,
    now: () => getRuntime().clock.now(),
    onError: (error) => getRuntime().logger.error('dashboard: cannot answer a request', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  });
}
