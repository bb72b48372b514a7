// The operations surface of a queue backend: what the `queues` / `tasks` CLI
// commands and the dashboard see and do. Backend-neutral: the embedded and
// memory backends implement it over their store (local-operations.ts), Cloud
// Tasks over its admin API. Times are epoch milliseconds (JSON-safe); every
// method is async because remote backends are.
import type { RetryOptions } from '../api/types.js';

/**
 * Where a task is in its life:
 *   pending → leased → done            (the attempt succeeded)
 *                    → retry → leased   (the attempt failed; waiting for its backoff)
 *                    → failed           (retries exhausted, or PermanentTaskFailure)
 * `pending` has never been attempted; `retry` is pending after at least one failed
 * attempt. `done` is a tombstone (name, queue, times; no payload) kept until the
 * retention ends; `failed` keeps everything, attempts included, for the retention.
 * `tasks retry` moves a failed task back to `pending`.
 */
export type TaskState = 'pending' | 'leased' | 'retry' | 'done' | 'failed';
export const TASK_STATES: readonly TaskState[] = ['pending', 'leased', 'retry', 'done', 'failed'];

/** The limits a backend applies to a queue (queue.yaml, or the backend's defaults). */
export interface QueueLimits {
  /** Tasks started per second; undefined: unlimited. */
  ratePerSecond?: number;
  /** Token-bucket size (burst). */
  bucketSize?: number;
  /** Deliveries in flight at once; undefined: unlimited (the process-wide concurrency still applies). */
  maxConcurrentRequests?: number;
  /** The queue's retry parameters (a task's own `_retry_options` win, field by field). */
  retry: RetryOptions;
}

export interface QueueSummary {
  name: string;
  /** Tasks per state; every state present (0 when none). */
  counts: Record<TaskState, number>;
  /** How long the oldest task that is due (pending or retry, eta reached) has waited; undefined: none is due. */
  oldestDueAgeMs?: number;
  paused: boolean;
  /** True when queue.yaml (or the service) defines the queue; false for a queue only seen through its tasks. */
  defined: boolean;
  limits: QueueLimits;
}

/** One delivery of a task. */
export interface TaskAttempt {
  /** 1 for the first attempt. */
  number: number;
  /** When the attempt started (the task was leased); undefined when not recorded. */
  startedMs?: number;
  finishedMs: number;
  /** HTTP status the task endpoint answered; undefined when the request never reached it. */
  status?: number;
  /** The error as logged by the task endpoint (message, stack), or the delivery error. */
  error?: { message: string; stack?: string };
}

export interface TaskSummary {
  name: string;
  queue: string;
  state: TaskState;
  /** The registered function's name, from the payload; undefined for tombstones and undecodable payloads. */
  function?: string;
  /** When the task is (or was last) due. */
  etaMs: number;
  createdMs: number;
  /** Attempts made so far. */
  attempts: number;
  lastStatus?: number;
  /** First line of the last attempt's error message. */
  lastError?: string;
  /** When it reached done or failed. */
  finishedMs?: number;
}

export interface TaskDetails extends TaskSummary {
  url: string;
  headers: Record<string, string>;
  /** Arguments decoded by the shim's codec (Dates, Maps, Buffers as such); undefined when there is no payload. */
  args?: unknown[];
  /** Set instead of `args` when the payload cannot be decoded (or lives in an overflow blob that is gone). */
  payloadError?: string;
  /** The task's own `_retry_options`. */
  retryOptions?: RetryOptions;
  /** Attempts in order (the most recent ones when a task made very many). */
  attemptLog: TaskAttempt[];
}

export interface TaskQuery {
  queue?: string;
  state?: TaskState;
  /** Page size (default 50). */
  limit?: number;
  /** Opaque cursor of the previous page's `nextCursor`. */
  cursor?: string;
}

export interface TaskPage {
  tasks: TaskSummary[];
  /** Pass as `cursor` for the next page; undefined on the last page. */
  nextCursor?: string;
}

/** Outcomes per minute, oldest first, for a throughput chart. */
export interface ThroughputBucket {
  /** Start of the minute. */
  startMs: number;
  /** Tasks that reached done in this minute. */
  done: number;
  /** Tasks that reached failed in this minute. */
  failed: number;
}

/** A named task does not exist (or the name is ambiguous across queues and no queue was given). */
export class TaskNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskNotFoundError';
  }
}

/** The operation does not apply to the task in its state (e.g. retrying a leased task). */
export class TaskStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskStateError';
  }
}

export interface QueueOperations {
  /** 'embedded', 'memory', 'cloud-tasks'... */
  readonly backend: string;
  /** Every queue defined or holding tasks, by name. */
  listQueues(): Promise<QueueSummary[]>;
  /** Stop delivering the queue's tasks (enqueueing still works); takes effect in running processes within a second. */
  pauseQueue(queue: string): Promise<void>;
  resumeQueue(queue: string): Promise<void>;
  /** Delete every pending, retry and failed task of the queue (leased ones finish); resolves to how many went. */
  purgeQueue(queue: string): Promise<number>;
  /** Tasks by eta (failed and done: most recently finished first). */
  listTasks(query?: TaskQuery): Promise<TaskPage>;
  /** Everything about one task; `queue` disambiguates a name used in several queues. Throws TaskNotFoundError. */
  getTask(name: string, queue?: string): Promise<TaskDetails>;
  /** Make a failed (or retry/pending) task due now with its attempt count kept. Throws TaskNotFoundError or TaskStateError. */
  retryTask(name: string, queue?: string): Promise<void>;
  /** `retryTask` for every failed task (of one queue); resolves to how many. */
  retryAllFailed(queue?: string): Promise<number>;
  /** Delete a task that is not leased; a done tombstone goes too (its name becomes free). */
  deleteTask(name: string, queue?: string): Promise<void>;
  /** Outcomes per minute over the last `minutes` (default 60). */
  throughput(options?: { minutes?: number; queue?: string }): Promise<ThroughputBucket[]>;
  /** Release what the implementation holds (a database handle of its own). */
  close(): Promise<void>;
}
