// The storage contract behind the local backends (embedded SQLite and in-memory).
// One dispatcher and one LocalBackend serve both; only the store differs.
// Synchronous on purpose: better-sqlite3 is synchronous, and a synchronous
// claim/complete keeps every state change a single atomic step.
import type { RetryOptions } from '../../api/types.js';

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

/** One task's outcome in `insertMany`: stored, a taken name, or the error its insert alone failed with. */
export type InsertResult = StoredTask | 'duplicate' | { error: unknown };

export interface QueueStore {
  /** Insert a task; 'duplicate' when the (queue, name) pair is queued or tombstoned. */
  insert(task: NewTask): StoredTask | 'duplicate';
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
  claimDue(nowMs: number, limit: number, leaseMs: number): StoredTask[];
  /** Remove a task for good (success, permanent failure, retries exhausted) and its overflow blob; keep its name as a tombstone. */
  complete(id: string, nowMs: number): void;
  /** `complete` for a batch, in one transaction. */
  completeMany(completions: ReadonlyArray<{ id: string; nowMs: number }>): void;
  /** Release the lease after a failed attempt and make it due again at `etaMs`. */
  reschedule(id: string, etaMs: number, lastStatus: number, executed: boolean): void;
  /** Earliest eta among tasks not currently leased (or the earliest lease expiry), for the dispatcher's timer. */
  nextDueMs(nowMs: number): number | undefined;
  /** Tasks in the store, leased or not. */
  size(): number;
  putBlob(key: string, data: Uint8Array, nowMs: number): void;
  getBlob(key: string): Uint8Array | undefined;
  deleteBlob(key: string): void;
  /** Drop blobs no task references that are older than `olderThanMs` and tombstones older than that; returns how many rows went. */
  sweep(olderThanMs: number): number;
  close(): void;
}
