// Splitting `defer(fn, ...args, options?)` and validating the `_` options, with
// the Task Queue rules the Python library inherited from `taskqueue.Task`.
import { InvalidEtaError, InvalidQueueNameError, InvalidTaskError, InvalidTaskNameError, InvalidTaskRetryOptionsError, InvalidUrlError } from './errors.js';
import type { DeferOptions, RetryOptions } from './types.js';

export const DEFAULT_URL = '/_ah/queue/deferred';
export const DEFAULT_QUEUE = 'default';
export const QUEUE_URL_PREFIX = '/_ah/queue';
export const TASKQUEUE_HEADERS: Readonly<Record<string, string>> = { 'Content-Type': 'application/octet-stream' };
/** `_MAX_COUNTDOWN_SECONDS` of the Task Queue API: 30 days. */
export const MAX_COUNTDOWN_MS = 30 * 24 * 3600 * 1000;
const MAX_URL_LENGTH = 2083;
const TASK_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,500}$/;
const QUEUE_NAME_PATTERN = /^[a-zA-Z0-9-]{1,100}$/;

const OPTION_KEYS: ReadonlySet<string> = new Set([
  '_countdown',
  '_eta',
  '_name',
  '_queue',
  '_url',
  '_transactional',
  '_target',
  '_retry_options',
  '_headers',
]);
const RETRY_KEYS: ReadonlySet<string> = new Set([
  'task_retry_limit',
  'task_age_limit',
  'min_backoff_seconds',
  'max_backoff_seconds',
  'max_doublings',
]);

/** True when `value` is the options object of a defer call: a plain object whose own keys (one or more) all begin with `_`. */
export function isOptionsObject(value: unknown): value is DeferOptions {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Reflect.ownKeys(value);
  return keys.length > 0 && keys.every((key) => typeof key === 'string' && key.startsWith('_'));
}

/** Separates the trailing options object (if any) from the function's arguments. */
export function splitDeferArgs(rest: readonly unknown[]): { args: unknown[]; options: DeferOptions } {
  const last = rest[rest.length - 1];
  if (rest.length > 0 && isOptionsObject(last)) return { args: rest.slice(0, -1), options: last };
  return { args: [...rest], options: {} };
}

/** The validated, defaulted options: everything `defer` needs to build a TaskSpec. */
export interface ResolvedOptions {
  name?: string;
  queue: string;
  url: string;
  etaMs: number;
  headers: Record<string, string>;
  retry?: RetryOptions;
  target?: string;
  transactional?: boolean;
}

export function resolveOptions(options: DeferOptions, nowMs: number): ResolvedOptions {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new InvalidTaskError(`Unknown defer option ${key}; the options are ${[...OPTION_KEYS].join(', ')}.`);
    }
  }
  const queue = options._queue ?? DEFAULT_QUEUE;
  if (typeof queue !== 'string' || !QUEUE_NAME_PATTERN.test(queue)) {
    throw new InvalidQueueNameError(`_queue must match ${QUEUE_NAME_PATTERN}, got ${JSON.stringify(queue)}.`);
  }
  const resolved: ResolvedOptions = {
    queue,
    url: resolveUrl(options, queue),
    etaMs: resolveEta(options, nowMs),
    headers: resolveHeaders(options),
  };
  // `null` is absent for the options the legacy defer() took null for (Python's None
  // defaults): _name (a named task otherwise), _target, _retry_options, _transactional.
  if (options._name !== undefined && options._name !== null) {
    if (typeof options._name !== 'string' || !TASK_NAME_PATTERN.test(options._name)) {
      throw new InvalidTaskNameError(`_name must match ${TASK_NAME_PATTERN}, got ${JSON.stringify(options._name)}.`);
    }
    resolved.name = options._name;
  }
  if (options._target !== undefined && options._target !== null) {
    if (typeof options._target !== 'string' || options._target.length === 0) {
      throw new InvalidTaskError('_target must be a non-empty string.');
    }
    if (Object.keys(resolved.headers).some((h) => h.toLowerCase() === 'host')) {
      throw new InvalidTaskError('Cannot use _target together with a Host header in _headers.');
    }
    resolved.target = options._target;
  }
  if (options._transactional !== undefined && options._transactional !== null) {
    if (typeof options._transactional !== 'boolean') throw new InvalidTaskError('_transactional must be a boolean.');
    if (options._transactional && resolved.name !== undefined) {
      throw new InvalidTaskNameError('A task bound to a transaction cannot be named (_name with _transactional).');
    }
    resolved.transactional = options._transactional;
  }
  if (options._retry_options !== undefined && options._retry_options !== null) resolved.retry = resolveRetryOptions(options._retry_options);
  return resolved;
}

function resolveUrl(options: DeferOptions, queue: string): string {
  if (!('_url' in options) || options._url === undefined) return DEFAULT_URL;
  // `_url: null` explicitly: the queue's own URL, as Task Queue did.
  if (options._url === null) return `${QUEUE_URL_PREFIX}/${queue}`;
  const url = options._url;
  if (typeof url !== 'string' || !url.startsWith('/') || url.startsWith('//')) {
    throw new InvalidUrlError(`_url must be a relative URL starting with "/", got ${JSON.stringify(url)}.`);
  }
  if (url.length > MAX_URL_LENGTH) throw new InvalidUrlError(`_url is longer than ${MAX_URL_LENGTH} characters.`);
  if (url.includes('#')) throw new InvalidUrlError(`_url must not have a fragment: ${JSON.stringify(url)}.`);
  if (url.includes('?')) {
    throw new InvalidTaskError(`_url must not have a query string (tasks are POSTed; put the data in the arguments): ${JSON.stringify(url)}.`);
  }
  return url;
}

function resolveEta(options: DeferOptions, nowMs: number): number {
  const { _countdown: countdown, _eta: eta } = options;
  if (countdown !== undefined && eta !== undefined) throw new InvalidTaskError('Cannot use a countdown and ETA together.');
  let etaMs = nowMs;
  if (countdown !== undefined) {
    if (typeof countdown !== 'number' || !Number.isFinite(countdown)) {
      throw new InvalidTaskError(`_countdown must be a finite number of seconds, got ${String(countdown)}.`);
    }
    etaMs = nowMs + countdown * 1000;
  } else if (eta !== undefined) {
    // A number is epoch seconds, as in the legacy API.
    etaMs = eta instanceof Date ? eta.getTime() : typeof eta === 'number' ? eta * 1000 : Number.NaN;
    if (!Number.isFinite(etaMs)) throw new InvalidEtaError(`_eta must be a valid Date or epoch seconds, got ${String(eta)}.`);
  }
  if (etaMs - nowMs > MAX_COUNTDOWN_MS) {
    throw new InvalidEtaError('ETA too far in the future: a task may be scheduled at most 30 days ahead.');
  }
  // A past ETA (a negative _countdown) is due at once, as Python's taskqueue computed
  // eta = now + countdown and the service accepted it; only an ETA before the epoch
  // was refused (INVALID_ETA, raised as InvalidEtaError).
  if (etaMs < 0) throw new InvalidEtaError(`ETA before 1970-01-01 (epoch milliseconds ${etaMs}): the task queue refuses it.`);
  return Math.round(etaMs);
}

function resolveHeaders(options: DeferOptions): Record<string, string> {
  const user = options._headers ?? {};
  if (user === null || typeof user !== 'object' || Array.isArray(user)) throw new InvalidTaskError('_headers must be an object of strings.');
  const headers: Record<string, string> = { ...TASKQUEUE_HEADERS };
  for (const [name, value] of Object.entries(user)) {
    if (typeof value !== 'string') throw new InvalidTaskError(`_headers["${name}"] must be a string, got ${typeof value}.`);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new InvalidTaskError(`_headers has an invalid header name ${JSON.stringify(name)}.`);
    if (/[\r\n\0]/.test(value)) throw new InvalidTaskError(`_headers["${name}"] contains a line break or NUL.`);
    // User values win, whatever the case of the name.
    for (const existing of Object.keys(headers)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete headers[existing];
    }
    headers[name] = value;
  }
  return headers;
}

function resolveRetryOptions(retry: RetryOptions): RetryOptions {
  if (retry === null || typeof retry !== 'object') throw new InvalidTaskRetryOptionsError('_retry_options must be an object.');
  const out: RetryOptions = {};
  for (const [key, value] of Object.entries(retry)) {
    if (!RETRY_KEYS.has(key)) {
      throw new InvalidTaskRetryOptionsError(`Unknown _retry_options key ${key}; the keys are ${[...RETRY_KEYS].join(', ')}.`);
    }
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidTaskRetryOptionsError(`_retry_options.${key} must be a non-negative number, got ${String(value)}.`);
    }
    if ((key === 'task_retry_limit' || key === 'max_doublings') && !Number.isInteger(value)) {
      throw new InvalidTaskRetryOptionsError(`_retry_options.${key} must be an integer, got ${value}.`);
    }
    out[key as keyof RetryOptions] = value;
  }
  if (out.min_backoff_seconds !== undefined && out.max_backoff_seconds !== undefined && out.min_backoff_seconds > out.max_backoff_seconds) {
    throw new InvalidTaskRetryOptionsError('_retry_options.min_backoff_seconds cannot exceed max_backoff_seconds.');
  }
  return out;
}
