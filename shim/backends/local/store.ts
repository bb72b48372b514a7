// The storage contract behind the local backends (embedded SQLite and in-memory).
// One dispatcher and one LocalBackend serve both; only the store differs.
// Synchronous on purpose: better-sqlite3 is synchronous, and a synchronous
// claim/complete keeps every state change a single atomic step.
import type { RetryOptions } from '../../api/types.js';
import type { TaskAttempt, TaskState } from '../../operations/types.js';

export interface StoredTask {
  /** Store-internal id (stable across restarts). */
  id: string;
  name: string;
  queue: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  etaMs: number;
  createdMs: number;
  /** Failed attempts so far (X-AppEngine-TaskRetryCount). */
  retryCount: number;
  /** Attempts that reached the app (X-AppEngine-TaskExecutionCount). */
  executionCount: number;
  retry?: RetryOptions;
  previousResponse?: number;
  overflowKey?: string;
}

export type NewTask = Omit<StoredTask, 'id' | 'retryCount' | 'executionCount' | 'previousResponse'>;

/**
 * Which due tasks a claim may take, beyond "due and not leased" (paused queues
 * are always skipped, by the store). `caps[queue]` is the most tasks of that
 * queue the claim may take (0: none); queues not named are not capped.
 */
export interface ClaimPolicy {
  caps: Record<string, number>;
}

/** A task as the operations surface sees it, in any state. */
export interface TaskRecord extends StoredTask {
  state: TaskState;
  leaseUntilMs?: number;
  completedMs?: number;
  failedMs?: number;
  /** Recorded failed attempts, oldest first (at most MAX_RECORDED_ATTEMPTS, the latest). */
  attempts: TaskAttempt[];
}

/** Failed attempts kept per task: enough to see a pattern, bounded for a task that retries forever. */
export const MAX_RECORDED_ATTEMPTS = 20;

export interface TaskFilter {
  queue?: string;
  state?: TaskState;
  limit: number;
  offset: number;
}

export interface QueueStateCounts {
  queue: string;
  state: TaskState;
  count: number;
}

/**
 * Why a name is taken: 'duplicate' while its task is queued (or failed, waiting for a
 * retry), 'tombstoned' once it finished (its tombstone kept until swept).
 */
export type TakenName = 'duplicate' | 'tombstoned';

/** One task's outcome in `insertMany`: stored, a taken name, or the error its insert alone failed with. */
export type InsertResult = StoredTask | TakenName | { error: unknown };

export interface QueueStore {
  /** Insert a task; 'duplicate' when the (queue, name) pair is queued, 'tombstoned' when its task finished. */
  insert(task: NewTask): StoredTask | TakenName;
  /**
   * Insert a batch in one transaction (group commit); results in the same order. A
   * task whose own insert fails is left out and the others still commit; throws,
   * committing nothing, when the transaction itself fails.
   */
  insertMany(tasks: readonly NewTask[]): InsertResult[];
  /**
   * Atomically lease up to `limit` tasks whose eta is due at `nowMs` and whose
   * previous lease (if any) has expired. A leased task that is never completed
   * or rescheduled (the process died) becomes due again when its lease ends:
   * that is what makes delivery at-least-once across a crash.
   */
  claimDue(nowMs: number, limit: number, leaseMs: number, policy?: ClaimPolicy): StoredTask[];
  /** Remove a task for good (success) and its overflow blob; keep its name as a tombstone. */
  complete(id: string, nowMs: number): void;
  /** `complete` for a batch, in one transaction. */
  completeMany(completions: ReadonlyArray<{ id: string; nowMs: number }>): void;
  /** Release the lease after a failed attempt and make it due again at `etaMs`; `attempt` is recorded for the operations surface. */
  reschedule(id: string, etaMs: number, lastStatus: number, executed: boolean, attempt?: TaskAttempt): void;
  /** The task failed for good (retries exhausted, permanent failure): keep it, payload and attempts included, in the failed state. */
  fail(id: string, nowMs: number, attempt: TaskAttempt, executed: boolean): void;
  /** Drop the leases of these tasks (shutdown): another process may claim them at once. */
  release(ids: readonly string[], nowMs: number): void;
  /** Earliest time a task of a queue not excluded (nor paused) can be claimed, for the dispatcher's timer. */
  nextDueMs(nowMs: number, excludeQueues?: readonly string[]): number | undefined;
  /** Tasks in the store, leased or not (failed tasks and tombstones are not counted). */
  size(): number;
  putBlob(key: string, data: Uint8Array, nowMs: number): void;
  getBlob(key: string): Uint8Array | undefined;
  deleteBlob(key: string): void;
  /**
   * Drop blobs no task references that are older than `olderThanMs` and tombstones older than that, and failed
   * tasks that failed before `failedBeforeMs` (default: `olderThanMs`); returns how many rows went.
   */
  sweep(olderThanMs: number, failedBeforeMs?: number): number;

  // The operations surface (CLI, dashboard). Not on the delivery path.
  /** Task counts per queue and state. */
  countByState(nowMs: number): QueueStateCounts[];
  /** Per queue, the smallest eta among tasks due at `nowMs` and not leased. */
  oldestDueEta(nowMs: number): Map<string, number>;
  pausedQueues(): string[];
  setPaused(queue: string, paused: boolean): void;
  listTasks(filter: TaskFilter, nowMs: number): TaskRecord[];
  /** Tasks (any state) with this name, in one queue or all. */
  findTasks(name: string, queue: string | undefined, nowMs: number): TaskRecord[];
  /** Make a task that is not leased (nor done) due at `nowMs`, out of the failed state; false when it is not in such a state. */
  retryNow(id: string, nowMs: number): boolean;
  /** Delete a task that is not leased, with its overflow blob; false when it is leased or gone. */
  deleteTask(id: string, nowMs: number): boolean;
  /** Delete the queue's tasks that are not leased nor done; returns how many. */
  purge(queue: string, nowMs: number): number;
  /** Tasks that reached done / failed at or after `sinceMs`, per minute. */
  finishedPerMinute(sinceMs: number, queue?: string): Array<{ minute: number; done: number; failed: number }>;
  close(): void;
}
