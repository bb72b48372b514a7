// The queues of the test Cloud Tasks server and their admin RPCs (GetQueue,
// ListQueues, CreateQueue, UpdateQueue, PauseQueue, ResumeQueue; PurgeQueue's
// queue half) with the service's rules as `queue.proto` and `cloudtasks.proto`
// document them: resource names, output-only fields, update masks, limits.
// Messages are the plain-object form @grpc/proto-loader gives and takes
// (camelCase fields, enums as names, durations as { seconds, nanos }).
import * as grpc from '@grpc/grpc-js';

/** Queue-level retry settings (`RetryConfig`); Cloud Tasks has no per-task retry options. */
export interface QueueRetryConfig {
  /** -1: unlimited. */
  maxAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  maxDoublings: number;
  /** 0: no age limit (`max_retry_duration`). */
  maxRetryDurationMs: number;
}

export interface QueueRateLimits {
  maxDispatchesPerSecond: number;
  maxConcurrentDispatches: number;
  /** Output only: the service picks it from the rate, except for queues made by queue.yaml (its bucket_size). */
  maxBurstSize: number;
}

export type QueueState = 'RUNNING' | 'PAUSED' | 'DISABLED';

export interface AppEngineRoutingOverride {
  service?: string;
  version?: string;
  instance?: string;
}

/** How a test seeds a queue: retry settings (as before), plus what queue.yaml could have set. */
export interface QueueSeed extends Partial<QueueRetryConfig> {
  maxDispatchesPerSecond?: number;
  maxConcurrentDispatches?: number;
  /** Set only for a queue "created by queue.yaml": kept until an UpdateQueue resets it from the rate. */
  maxBurstSize?: number;
  appEngineRoutingOverride?: AppEngineRoutingOverride;
  state?: QueueState;
}

export interface StoredQueue {
  id: string;
  retry: QueueRetryConfig;
  rate: QueueRateLimits;
  routingOverride?: AppEngineRoutingOverride;
  state: QueueState;
  purgeTimeMs?: number;
  samplingRatio?: number;
}

/** The values a queue gets when CreateQueue leaves a field unset (what `gcloud tasks queues describe` shows for a new queue). */
export const DEFAULT_RETRY: QueueRetryConfig = { maxAttempts: 100, minBackoffMs: 100, maxBackoffMs: 3600_000, maxDoublings: 16, maxRetryDurationMs: 0 };
export const DEFAULT_RATE = { maxDispatchesPerSecond: 500, maxConcurrentDispatches: 1000 } as const;
/** Documented maxima (queue.proto). */
export const MAX_DISPATCHES_PER_SECOND = 500;
export const MAX_CONCURRENT_DISPATCHES = 5000;
export const MAX_BURST_SIZE = 500;
const MAX_QUEUES_PAGE = 9800;

/**
 * The service picks max_burst_size from the rate and does not document how; this
 * server takes the rate rounded up, between 1 and 100 (a 500/s queue shows 100).
 */
export function derivedBurstSize(maxDispatchesPerSecond: number): number {
  return Math.min(100, Math.max(1, Math.ceil(maxDispatchesPerSecond)));
}

const LOCATION_PATH = /^projects\/([A-Za-z0-9:.-]+)\/locations\/([A-Za-z0-9-]+)$/;
const QUEUE_PATH = /^projects\/([A-Za-z0-9:.-]+)\/locations\/([A-Za-z0-9-]+)\/queues\/([A-Za-z0-9-]{1,100})$/;

interface Duration {
  seconds?: string | number;
  nanos?: number;
}

/** Queue as it arrives in CreateQueue/UpdateQueue (fields absent when unset). */
export interface WireQueue {
  name?: string;
  appEngineRoutingOverride?: AppEngineRoutingOverride & { host?: string };
  rateLimits?: { maxDispatchesPerSecond?: number; maxBurstSize?: number; maxConcurrentDispatches?: number };
  retryConfig?: { maxAttempts?: number; maxRetryDuration?: Duration; minBackoff?: Duration; maxBackoff?: Duration; maxDoublings?: number };
  state?: string;
  purgeTime?: unknown;
  stackdriverLoggingConfig?: { samplingRatio?: number };
}

/**
 * Mask paths UpdateQueue accepts, in proto (snake_case) form; a message path
 * covers its fields. Output-only fields (`state`, `purge_time`,
 * `rate_limits.max_burst_size`) are accepted and ignored, as the service ignores
 * values of output-only fields.
 */
const MASK_FIELDS = [
  'app_engine_routing_override',
  'rate_limits.max_dispatches_per_second',
  'rate_limits.max_concurrent_dispatches',
  'retry_config.max_attempts',
  'retry_config.max_retry_duration',
  'retry_config.min_backoff',
  'retry_config.max_backoff',
  'retry_config.max_doublings',
  'stackdriver_logging_config.sampling_ratio',
] as const;
type MaskField = (typeof MASK_FIELDS)[number];
const OUTPUT_ONLY = ['state', 'purge_time', 'rate_limits.max_burst_size', 'app_engine_routing_override.host'];

export class QueueRegistry {
  private readonly queues = new Map<string, StoredQueue>();

  constructor(
    readonly project: string,
    readonly location: string,
  ) {}

  get locationPath(): string {
    return `projects/${this.project}/locations/${this.location}`;
  }

  path(id: string): string {
    return `${this.locationPath}/queues/${id}`;
  }

  seed(id: string, seed: QueueSeed = {}): void {
    const { maxDispatchesPerSecond, maxConcurrentDispatches, maxBurstSize, appEngineRoutingOverride, state, ...retry } = seed;
    const rate = maxDispatchesPerSecond ?? DEFAULT_RATE.maxDispatchesPerSecond;
    this.queues.set(id, {
      id,
      retry: { ...DEFAULT_RETRY, ...retry },
      rate: {
        maxDispatchesPerSecond: rate,
        maxConcurrentDispatches: maxConcurrentDispatches ?? DEFAULT_RATE.maxConcurrentDispatches,
        maxBurstSize: maxBurstSize ?? derivedBurstSize(rate),
      },
      ...(appEngineRoutingOverride ? { routingOverride: appEngineRoutingOverride } : {}),
      state: state ?? 'RUNNING',
    });
  }

  has(id: string): boolean {
    return this.queues.has(id);
  }

  stored(id: string): StoredQueue | undefined {
    return this.queues.get(id);
  }

  /** The queue id of a full queue name, or NOT_FOUND / INVALID_ARGUMENT as the service answers. */
  require(name: string): string {
    const match = QUEUE_PATH.exec(name ?? '');
    if (!match) throw rpcError(grpc.status.INVALID_ARGUMENT, `Invalid queue name "${name}": want projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID`);
    const [, project, location, id] = match as unknown as [string, string, string, string];
    if (project !== this.project || location !== this.location || !this.queues.has(id)) {
      throw rpcError(grpc.status.NOT_FOUND, `Queue does not exist: ${name}`);
    }
    return id;
  }

  // --- RPCs -------------------------------------------------------------------

  get(name: string): object {
    return this.message(this.require(name));
  }

  /** Lexicographic order, as documented; `filter` supports `state: X` / `state = X` only. */
  list(req: { parent?: string; filter?: string; pageSize?: number; pageToken?: string }): object {
    this.requireLocation(req.parent);
    const size = req.pageSize ?? 0;
    if (size < 0) throw rpcError(grpc.status.INVALID_ARGUMENT, 'page_size must be non-negative.');
    let ids = [...this.queues.keys()].sort();
    if (req.filter) {
      const match = /^\s*state\s*[:=]\s*(RUNNING|PAUSED|DISABLED)\s*$/.exec(req.filter);
      if (!match) throw rpcError(grpc.status.INVALID_ARGUMENT, `Unsupported filter "${req.filter}" (this test server understands "state: RUNNING|PAUSED|DISABLED").`);
      ids = ids.filter((id) => this.queues.get(id)!.state === match[1]);
    }
    const start = req.pageToken ? Number(req.pageToken) : 0;
    if (!Number.isInteger(start) || start < 0 || start > ids.length) throw rpcError(grpc.status.INVALID_ARGUMENT, 'Invalid page token.');
    const limit = Math.min(size || MAX_QUEUES_PAGE, MAX_QUEUES_PAGE);
    const page = ids.slice(start, start + limit);
    return { queues: page.map((id) => this.message(id)), nextPageToken: start + limit < ids.length ? String(start + limit) : '' };
  }

  create(req: { parent?: string; queue?: WireQueue }): object {
    this.requireLocation(req.parent);
    const queue = req.queue;
    if (!queue) throw rpcError(grpc.status.INVALID_ARGUMENT, 'Queue is required.');
    const id = this.newQueueId(req.parent!, queue.name);
    if (this.queues.has(id)) throw rpcError(grpc.status.ALREADY_EXISTS, `Queue already exists: ${queue.name}`);
    const stored = this.defaults(id);
    this.apply(stored, queue, MASK_FIELDS);
    this.queues.set(id, stored);
    return this.message(id);
  }

  /** Creates the queue when it does not exist (as the service does); an empty mask updates every field. */
  update(req: { queue?: WireQueue; updateMask?: { paths?: string[] } }): object {
    const queue = req.queue;
    if (!queue?.name) throw rpcError(grpc.status.INVALID_ARGUMENT, 'The queue name must be specified.');
    const match = QUEUE_PATH.exec(queue.name);
    if (!match) throw rpcError(grpc.status.INVALID_ARGUMENT, `Invalid queue name "${queue.name}": want projects/PROJECT_ID/locations/LOCATION_ID/queues/QUEUE_ID`);
    this.requireLocation(queue.name.slice(0, queue.name.indexOf('/queues/')));
    const id = match[3]!;
    const fields = this.maskFields(req.updateMask?.paths ?? []);
    const existing = this.queues.get(id);
    const next: StoredQueue = existing ? structuredClone(existing) : this.defaults(id);
    this.apply(next, queue, fields);
    // max_burst_size is output only: any UpdateQueue resets it from the rate, even for queue.yaml queues (queue.proto).
    next.rate.maxBurstSize = derivedBurstSize(next.rate.maxDispatchesPerSecond);
    this.queues.set(id, next);
    return this.message(id);
  }

  setState(name: string, state: 'RUNNING' | 'PAUSED'): object {
    const id = this.require(name);
    this.queues.get(id)!.state = state;
    return this.message(id);
  }

  /** The queue half of PurgeQueue: records the purge time (the server deletes the tasks). */
  markPurged(name: string, now: number): string {
    const id = this.require(name);
    this.queues.get(id)!.purgeTimeMs = now;
    return id;
  }

  message(id: string): object {
    const q = this.queues.get(id)!;
    return {
      name: this.path(id),
      ...(q.routingOverride ? { appEngineRoutingOverride: q.routingOverride } : {}),
      rateLimits: { ...q.rate },
      retryConfig: {
        maxAttempts: q.retry.maxAttempts,
        maxRetryDuration: msDuration(q.retry.maxRetryDurationMs),
        minBackoff: msDuration(q.retry.minBackoffMs),
        maxBackoff: msDuration(q.retry.maxBackoffMs),
        maxDoublings: q.retry.maxDoublings,
      },
      state: q.state,
      ...(q.purgeTimeMs !== undefined ? { purgeTime: msDuration(q.purgeTimeMs) } : {}),
      ...(q.samplingRatio !== undefined ? { stackdriverLoggingConfig: { samplingRatio: q.samplingRatio } } : {}),
    };
  }

  // --- rules ------------------------------------------------------------------

  private requireLocation(parent: string | undefined): void {
    const match = LOCATION_PATH.exec(parent ?? '');
    if (!match) throw rpcError(grpc.status.INVALID_ARGUMENT, `Invalid location name "${parent}": want projects/PROJECT_ID/locations/LOCATION_ID`);
    if (match[1] !== this.project || match[2] !== this.location) throw rpcError(grpc.status.NOT_FOUND, `Location not found: ${parent}`);
  }

  private newQueueId(parent: string, name: string | undefined): string {
    if (!name) throw rpcError(grpc.status.INVALID_ARGUMENT, 'Queue.name is required.');
    const prefix = `${parent}/queues/`;
    const match = QUEUE_PATH.exec(name);
    if (!match || !name.startsWith(prefix)) {
      throw rpcError(grpc.status.INVALID_ARGUMENT, `Queue name must be "${prefix}QUEUE_ID" with QUEUE_ID matching [A-Za-z0-9-]{1,100}: "${name}"`);
    }
    return match[3]!;
  }

  private defaults(id: string): StoredQueue {
    return {
      id,
      retry: { ...DEFAULT_RETRY },
      rate: { ...DEFAULT_RATE, maxBurstSize: derivedBurstSize(DEFAULT_RATE.maxDispatchesPerSecond) },
      state: 'RUNNING',
    };
  }

  /** Mask paths (snake_case or camelCase) -> the leaf fields they cover; unknown paths are INVALID_ARGUMENT. */
  private maskFields(paths: string[]): readonly MaskField[] {
    if (paths.length === 0) return MASK_FIELDS;
    const fields = new Set<MaskField>();
    for (const raw of paths) {
      const path = raw.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      if (path === 'name') throw rpcError(grpc.status.INVALID_ARGUMENT, 'The queue name cannot be changed.');
      if (OUTPUT_ONLY.includes(path)) continue;
      const covered = MASK_FIELDS.filter((f) => f === path || f.startsWith(`${path}.`) || (path.startsWith('app_engine_routing_override.') && f === 'app_engine_routing_override'));
      if (covered.length === 0) throw rpcError(grpc.status.INVALID_ARGUMENT, `Invalid update_mask path "${raw}".`);
      covered.forEach((f) => fields.add(f));
    }
    return [...fields];
  }

  /** Copies the masked fields of `queue` onto `target`, validated; an unset (zero) value means the service default. */
  private apply(target: StoredQueue, queue: WireQueue, fields: readonly MaskField[]): void {
    const rate = queue.rateLimits ?? {};
    const retry = queue.retryConfig ?? {};
    for (const field of fields) {
      switch (field) {
        case 'app_engine_routing_override': {
          const { service, version, instance } = queue.appEngineRoutingOverride ?? {};
          const override = { ...(service ? { service } : {}), ...(version ? { version } : {}), ...(instance ? { instance } : {}) };
          if (Object.keys(override).length > 0) target.routingOverride = override;
          else delete target.routingOverride;
          break;
        }
        case 'rate_limits.max_dispatches_per_second': {
          const value = rate.maxDispatchesPerSecond ?? 0;
          if (!(value >= 0) || value > MAX_DISPATCHES_PER_SECOND) {
            throw rpcError(grpc.status.INVALID_ARGUMENT, `RateLimits.max_dispatches_per_second must be in [0, ${MAX_DISPATCHES_PER_SECOND}], got ${value}.`);
          }
          target.rate.maxDispatchesPerSecond = value || DEFAULT_RATE.maxDispatchesPerSecond;
          target.rate.maxBurstSize = derivedBurstSize(target.rate.maxDispatchesPerSecond);
          break;
        }
        case 'rate_limits.max_concurrent_dispatches': {
          const value = rate.maxConcurrentDispatches ?? 0;
          if (!Number.isInteger(value) || value < 0 || value > MAX_CONCURRENT_DISPATCHES) {
            throw rpcError(grpc.status.INVALID_ARGUMENT, `RateLimits.max_concurrent_dispatches must be in [0, ${MAX_CONCURRENT_DISPATCHES}], got ${value}.`);
          }
          target.rate.maxConcurrentDispatches = value || DEFAULT_RATE.maxConcurrentDispatches;
          break;
        }
        case 'retry_config.max_attempts': {
          const value = retry.maxAttempts ?? 0;
          if (!Number.isInteger(value) || value < -1) throw rpcError(grpc.status.INVALID_ARGUMENT, `RetryConfig.max_attempts must be >= -1, got ${value}.`);
          target.retry.maxAttempts = value || DEFAULT_RETRY.maxAttempts;
          break;
        }
        case 'retry_config.max_retry_duration':
          // Zero is meaningful here (no age limit), and also what an unset duration reads as.
          target.retry.maxRetryDurationMs = wholeSeconds(durationMs(retry.maxRetryDuration, 'max_retry_duration'));
          break;
        case 'retry_config.min_backoff':
          target.retry.minBackoffMs = durationMs(retry.minBackoff, 'min_backoff') || DEFAULT_RETRY.minBackoffMs;
          break;
        case 'retry_config.max_backoff':
          target.retry.maxBackoffMs = durationMs(retry.maxBackoff, 'max_backoff') || DEFAULT_RETRY.maxBackoffMs;
          break;
        case 'retry_config.max_doublings': {
          const value = retry.maxDoublings ?? 0;
          if (!Number.isInteger(value) || value < 0) throw rpcError(grpc.status.INVALID_ARGUMENT, `RetryConfig.max_doublings must be >= 0, got ${value}.`);
          target.retry.maxDoublings = retry.maxDoublings === undefined ? DEFAULT_RETRY.maxDoublings : value;
          break;
        }
        case 'stackdriver_logging_config.sampling_ratio': {
          const value = queue.stackdriverLoggingConfig?.samplingRatio;
          if (value !== undefined && !(value >= 0 && value <= 1)) throw rpcError(grpc.status.INVALID_ARGUMENT, `sampling_ratio must be in [0, 1], got ${value}.`);
          if (value === undefined) delete target.samplingRatio;
          else target.samplingRatio = value;
          break;
        }
      }
    }
    if (target.retry.minBackoffMs > target.retry.maxBackoffMs) {
      throw rpcError(grpc.status.INVALID_ARGUMENT, `RetryConfig.min_backoff (${target.retry.minBackoffMs / 1000}s) must not exceed max_backoff (${target.retry.maxBackoffMs / 1000}s).`);
    }
  }
}

export function rpcError(code: grpc.status, details: string): Partial<grpc.ServiceError> {
  return { code, details, message: details };
}

export function msDuration(ms: number): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(ms / 1000)), nanos: Math.round((ms % 1000) * 1e6) };
}

function durationMs(duration: Duration | undefined, field: string): number {
  if (!duration) return 0;
  const ms = Number(duration.seconds ?? 0) * 1000 + (duration.nanos ?? 0) / 1e6;
  if (!(ms >= 0)) throw rpcError(grpc.status.INVALID_ARGUMENT, `RetryConfig.${field} must not be negative.`);
  return ms;
}

/** The service truncates max_retry_duration to whole seconds (queue.proto). */
function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}
