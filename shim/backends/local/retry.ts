// Retry policy of the local backends, as App Engine's push queues apply
// TaskRetryOptions: the interval starts at min_backoff, doubles max_doublings
// times, then grows linearly by 2^max_doublings * min_backoff, capped at
// max_backoff. A task gives up when its retry limit is exceeded and its age limit
// is exceeded (both, when both are set).
import type { RetryOptions } from '../../api/types.js';

export const APP_ENGINE_RETRY_DEFAULTS = {
  min_backoff_seconds: 0.1,
  max_backoff_seconds: 3600,
  max_doublings: 16,
} as const;

/** Seconds to wait before retry number `retryCount` (1 for the first retry). */
export function backoffSeconds(retryCount: number, options: RetryOptions = {}): number {
  const min = options.min_backoff_seconds ?? APP_ENGINE_RETRY_DEFAULTS.min_backoff_seconds;
  const max = Math.max(min, options.max_backoff_seconds ?? APP_ENGINE_RETRY_DEFAULTS.max_backoff_seconds);
  const doublings = options.max_doublings ?? APP_ENGINE_RETRY_DEFAULTS.max_doublings;
  const n = Math.max(1, retryCount);
  const interval = n <= doublings + 1 ? min * 2 ** (n - 1) : min * 2 ** doublings * (n - doublings);
  return Math.min(max, interval);
}

/** True when a task that has now failed `retryCount` times, created `ageMs` ago, must not run again. */
export function retriesExhausted(retryCount: number, ageMs: number, options: RetryOptions = {}): boolean {
  const { task_retry_limit: retryLimit, task_age_limit: ageLimitSeconds } = options;
  const overRetries = retryLimit === undefined ? undefined : retryCount > retryLimit;
  const overAge = ageLimitSeconds === undefined ? undefined : ageMs > ageLimitSeconds * 1000;
  if (overRetries === undefined) return overAge ?? false;
  if (overAge === undefined) return overRetries;
  return overRetries && overAge;
}
