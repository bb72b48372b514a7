// Shared contracts of the runtime shim. Every part of shim/ (API, serialization,
// backends, adapters) codes against these types, never against another part's
// internals. See ../../../shared/spec/shim-api.md (copied into docs/shim-api.md).
import type { QueueOperations } from '../operations/types.js';

/** The PEP 333-shaped record of one request (`environ` in the Python API). */
export interface Environ {
  REQUEST_METHOD: string;
  PATH_INFO: string;
  QUERY_STRING?: string;
  CONTENT_TYPE?: string;
  /** Decimal string, as in WSGI. Missing means "read the whole body". */
  CONTENT_LENGTH?: string;
  REMOTE_ADDR?: string;
  /** Starts with `Devel` on the development server: the task-name header then suffices. */
  SERVER_SOFTWARE?: string;
  /** Raw request body: bytes, or a readable stream not yet consumed. */
  'wsgi.input'?: Uint8Array | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;
  /** One `HTTP_*` key per header, e.g. `HTTP_X_APPENGINE_TASKNAME`. */
  [key: string]: unknown;
}

/** `[body, status, headers]`, what `Handler.post(environ)` resolves to. */
export type HandlerResult = [body: string, status: number, headers: Record<string, string>];

/** Per-task retry settings (`_retry_options`), named as in App Engine's TaskRetryOptions. */
export interface RetryOptions {
  task_retry_limit?: number;
  task_age_limit?: number;
  min_backoff_seconds?: number;
  max_backoff_seconds?: number;
  max_doublings?: number;
}

/** The reserved keyword options of `defer(fn, ...args, options)`. */
export interface DeferOptions {
  _countdown?: number;
  _eta?: Date | number;
  _name?: string;
  _queue?: string;
  _url?: string | null;
  _transactional?: boolean;
  _target?: string;
  _retry_options?: RetryOptions;
  _headers?: Record<string, string>;
}

/** A task ready for a backend: `defer` has validated options and encoded the payload. */
export interface TaskSpec {
  /** User-chosen name (`_name`); the backend assigns one when absent. */
  name?: string;
  queue: string;
  /** Relative URL the task is POSTed to. */
  url: string;
  /** Absolute due time in epoch milliseconds (from the runtime clock). */
  etaMs: number;
  /** Headers to send with the task (Content-Type already merged, user values win). */
  headers: Record<string, string>;
  body: Uint8Array;
  retry?: RetryOptions;
  target?: string;
  transactional?: boolean;
  /** Set when the payload lives in the overflow store: backends delete it when the task dies. */
  overflowKey?: string;
}

/** What became of an enqueue that a backend settled at process exit (`Backend.settleOnExit`). */
export type ExitOutcome = { task: EnqueuedTask } | { error: unknown };

/** What `defer()` resolves to. */
export interface EnqueuedTask {
  name: string;
  queue: string;
  eta: Date;
  url: string;
  headers: Record<string, string>;
}

/** Large payloads live beside the queue; the task carries only the key. */
export interface OverflowStore {
  put(data: Uint8Array, meta: { queue: string; taskName?: string }): Promise<string>;
  get(key: string): Promise<Uint8Array | undefined>;
  delete(key: string): Promise<void>;
}

/** A request as delivered to the app by a dispatcher (in-process or over HTTP). */
export interface DeliveryRequest {
  method: 'POST';
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

export interface DeliveryResponse {
  status: number;
  body: string;
}

/** Something that can deliver a task request to the application (set by `wrapApp`). */
export type DeliveryTarget = (request: DeliveryRequest) => Promise<DeliveryResponse>;

/** Outcome of the backend's authenticity check on an incoming task request. */
export type Verification = { ok: true } | { ok: false; reason: string };

/** Metadata of the task being run, available through `getTaskContext()`. */
export interface TaskContext {
  name: string;
  queue: string;
  retryCount: number;
  executionCount: number;
  eta?: Date;
  previousResponse?: number;
  headers: Record<string, string>;
}

/** A queue backend: embedded (SQLite), in-memory, or Google Cloud Tasks. */
export interface Backend {
  readonly kind: 'embedded' | 'memory' | 'cloud-tasks' | (string & {});
  /** Size limit of one task as counted by `taskSize()`; larger payloads go to `overflow`. */
  readonly maxTaskSizeBytes: number;
  readonly overflow: OverflowStore;
  /** Enqueue; rejects with `TaskAlreadyExistsError` for a duplicate name. */
  enqueue(task: TaskSpec): Promise<EnqueuedTask>;
  /**
   * Production-mode authenticity check of an incoming task request (the
   * development server only needs the task-name header). Called before any
   * byte of the body is decoded.
   */
  verify(environ: Environ, body: Uint8Array): Promise<Verification>;
  /** Start delivering due tasks to `target` (embedded/memory); a no-op where the service delivers. */
  attach(target: DeliveryTarget): void;
  /** Deliver every task due now and wait for the deliveries (tests, shutdown). Resolves to the number delivered. */
  drain(): Promise<number>;
  close(): Promise<void>;
  /**
   * Graceful shutdown (SIGTERM): stop claiming, let deliveries in flight finish for
   * up to `deadlineMs`, hand the rest back to the queue, close. Backends without
   * local deliveries need not have it (close() is used).
   */
  shutdown?(deadlineMs: number): Promise<void>;
  /**
   * Called from the process's 'exit' event (`process.exit()`, an uncaught exception),
   * after which no promise settles and no timer runs: stores now, synchronously, the
   * enqueues accepted and not yet stored, and says what became of each enqueue it knows
   * the end of (keyed by the TaskSpec given to `enqueue`). Backends that cannot finish
   * an enqueue synchronously (a network call) leave it out: the runtime then logs each
   * enqueue still in flight at exit as not enqueued (shim/runtime/exit-guard.ts).
   */
  settleOnExit?(): ReadonlyMap<TaskSpec, ExitOutcome>;
  /** The operations surface (queues ls, tasks retry...), where the backend has one. See shim/operations/types.ts. */
  readonly operations?: QueueOperations;
}

/** Where the runtime gets time from; tests use `ManualClock` to skip countdowns. */
export interface Clock {
  now(): number;
  /** Calls `listener` whenever the clock jumps (manual clocks); returns an unsubscribe function. */
  onAdvance?(listener: () => void): () => void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
