// The per-queue limits of queue.yaml as the local dispatcher applies them: a
// token bucket per rate-limited queue (App Engine's rate and bucket_size: the
// bucket starts full, each task started takes a token, tokens come back at
// `rate`), a cap on deliveries in flight (max_concurrent_requests) and the
// queue's retry parameters. Limits hold per process: processes sharing one
// queue file each apply them.
import type { RetryOptions } from '../../api/types.js';
import type { QueueLimits } from '../../operations/types.js';
import { QUEUE_DEFAULTS, type QueueConfig } from '../../queues/queue-yaml.js';

/** Resolved limits per queue name. No config: none (every queue unlimited, as before queue.yaml). */
export function queueLimitsFrom(config: QueueConfig | undefined): Map<string, QueueLimits> {
  const limits = new Map<string, QueueLimits>();
  if (!config) return limits;
  for (const queue of config.queues) {
    if (queue.mode === 'pull') continue;
    const entry: QueueLimits = { retry: { ...queue.retryParameters } };
    entry.ratePerSecond = queue.rate?.perSecond ?? QUEUE_DEFAULTS.ratePerSecond;
    entry.bucketSize = queue.bucketSize ?? QUEUE_DEFAULTS.bucketSize;
    if (queue.maxConcurrentRequests !== undefined) entry.maxConcurrentRequests = queue.maxConcurrentRequests;
    limits.set(queue.name, entry);
  }
  // App Engine's `default` queue exists even when queue.yaml does not name it.
  if (!limits.has('default')) {
    limits.set('default', { ratePerSecond: QUEUE_DEFAULTS.ratePerSecond, bucketSize: QUEUE_DEFAULTS.bucketSize, retry: {} });
  }
  return limits;
}

/** A task's retry options over its queue's: the task's own `_retry_options` win, field by field. */
export function effectiveRetry(queueRetry: RetryOptions | undefined, taskRetry: RetryOptions | undefined): RetryOptions | undefined {
  if (!queueRetry || Object.keys(queueRetry).length === 0) return taskRetry;
  return { ...queueRetry, ...taskRetry };
}

/** Tokens below this are rounding noise, not a missing token. */
const EPSILON = 1e-9;

export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly size: number,
    nowMs: number,
  ) {
    this.tokens = size;
    this.updatedMs = nowMs;
  }

  /** Whole tokens available at `nowMs`. */
  available(nowMs: number): number {
    this.refill(nowMs);
    return Math.floor(this.tokens + EPSILON);
  }

  take(count: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= count;
  }

  /** When the next whole token is there; undefined for a rate of 0 (never). */
  nextTokenMs(nowMs: number): number | undefined {
    this.refill(nowMs);
    if (this.tokens + EPSILON >= 1) return nowMs;
    if (this.ratePerSecond <= 0) return undefined;
    return nowMs + Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond - EPSILON));
  }

  private refill(nowMs: number): void {
    // A clock that goes back (ManualClock.set) refills nothing.
    if (nowMs > this.updatedMs) {
      this.tokens = Math.min(this.size, this.tokens + ((nowMs - this.updatedMs) * this.ratePerSecond) / 1000);
    }
    this.updatedMs = Math.max(this.updatedMs, nowMs);
  }
}
