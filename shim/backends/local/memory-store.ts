// The in-memory QueueStore (the memory backend, tests): the same contract as the
// SQLite store, without durability.
import type { TaskAttempt, TaskState } from '../../operations/types.js';
import {
  MAX_RECORDED_ATTEMPTS,
  type ClaimPolicy,
  type InsertResult,
  type NewTask,
  type QueueStateCounts,
  type QueueStore,
  type StoredTask,
  type TakenName,
  type TaskFilter,
  type TaskRecord,
} from './store.js';

interface Row {
  task: StoredTask;
  seq: number;
  leaseUntilMs: number | undefined;
  /** Set: the task failed for good and waits in the failed state (never claimed). */
  failedMs?: number;
  attempts: TaskAttempt[];
}

/** A finished task's name, kept until swept. */
interface Tombstone {
  task: StoredTask;
  seq: number;
  completedMs: number;
}

export class MemoryStore implements QueueStore {
  private readonly rows = new Map<string, Row>();
  private readonly idsByName = new Map<string, string>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly blobs = new Map<string, { data: Uint8Array; createdMs: number }>();
  private readonly paused = new Set<string>();
  private nextSeq = 1;

  insert(task: NewTask): StoredTask | TakenName {
    const nameKey = keyOf(task.queue, task.name);
    if (this.idsByName.has(nameKey)) return 'duplicate';
    if (this.tombstones.has(nameKey)) return 'tombstoned';
    const seq = this.nextSeq++;
    const stored: StoredTask = { ...task, headers: { ...task.headers }, id: String(seq), retryCount: 0, executionCount: 0 };
    if (task.retry !== undefined) stored.retry = { ...task.retry };
    this.rows.set(stored.id, { task: stored, seq, leaseUntilMs: undefined, attempts: [] });
    this.idsByName.set(nameKey, stored.id);
    return copy(stored);
  }

  insertMany(tasks: readonly NewTask[]): InsertResult[] {
    return tasks.map((task) => this.insert(task));
  }

  claimDue(nowMs: number, limit: number, leaseMs: number, policy?: ClaimPolicy): StoredTask[] {
    if (limit <= 0) return [];
    // The `limit` earliest due rows in one pass (no full sort: the dispatcher
    // claims a few at a time from a possibly long queue); a capped queue takes at most its cap.
    const due: Row[] = [];
    const taken = new Map<string, number>();
    const underCap = (row: Row) => {
      const cap = policy?.caps[row.task.queue];
      return cap === undefined || (taken.get(row.task.queue) ?? 0) < cap;
    };
    if (policy) {
      const candidates = [...this.rows.values()].filter((row) => this.claimable(row) && availableAt(row) <= nowMs);
      candidates.sort((a, b) => (claimsBefore(a, b) ? -1 : 1));
      for (const row of candidates) {
        if (due.length === limit) break;
        if (!underCap(row)) continue;
        taken.set(row.task.queue, (taken.get(row.task.queue) ?? 0) + 1);
        due.push(row);
      }
    } else {
      for (const row of this.rows.values()) {
        if (!this.claimable(row) || availableAt(row) > nowMs) continue;
        if (due.length === limit && !claimsBefore(row, due[limit - 1]!)) continue;
        let i = due.length;
        while (i > 0 && claimsBefore(row, due[i - 1]!)) i -= 1;
        due.splice(i, 0, row);
        if (due.length > limit) due.pop();
      }
    }
    for (const row of due) row.leaseUntilMs = nowMs + leaseMs;
    return due.sort((a, b) => a.task.etaMs - b.task.etaMs || a.seq - b.seq).map((row) => copy(row.task));
  }

  complete(id: string, nowMs: number): void {
    const row = this.rows.get(id);
    if (!row || row.failedMs !== undefined) return;
    this.rows.delete(id);
    const nameKey = keyOf(row.task.queue, row.task.name);
    this.idsByName.delete(nameKey);
    this.tombstones.set(nameKey, { task: row.task, seq: row.seq, completedMs: nowMs });
    if (row.task.overflowKey !== undefined) this.blobs.delete(row.task.overflowKey);
  }

  completeMany(completions: ReadonlyArray<{ id: string; nowMs: number }>): void {
    for (const { id, nowMs } of completions) this.complete(id, nowMs);
  }

  reschedule(id: string, etaMs: number, lastStatus: number, executed: boolean, attempt?: TaskAttempt): void {
    const row = this.rows.get(id);
    if (!row || row.failedMs !== undefined) return;
    row.leaseUntilMs = undefined;
    row.task.etaMs = etaMs;
    row.task.retryCount += 1;
    if (executed) row.task.executionCount += 1;
    row.task.previousResponse = lastStatus;
    if (attempt) record(row, attempt);
  }

  fail(id: string, nowMs: number, attempt: TaskAttempt, executed: boolean): void {
    const row = this.rows.get(id);
    if (!row || row.failedMs !== undefined) return;
    row.leaseUntilMs = undefined;
    row.failedMs = nowMs;
    row.task.retryCount += 1;
    if (executed) row.task.executionCount += 1;
    if (attempt.status !== undefined) row.task.previousResponse = attempt.status;
    record(row, attempt);
  }

  release(ids: readonly string[], _nowMs: number): void {
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row && row.failedMs === undefined) row.leaseUntilMs = undefined;
    }
  }

  nextDueMs(_nowMs: number, excludeQueues: readonly string[] = []): number | undefined {
    let next: number | undefined;
    for (const row of this.rows.values()) {
      if (!this.claimable(row) || excludeQueues.includes(row.task.queue)) continue;
      const at = availableAt(row);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  size(): number {
    let n = 0;
    for (const row of this.rows.values()) if (row.failedMs === undefined) n += 1;
    return n;
  }

  putBlob(key: string, data: Uint8Array, nowMs: number): void {
    this.blobs.set(key, { data: Uint8Array.from(data), createdMs: nowMs });
  }

  getBlob(key: string): Uint8Array | undefined {
    const blob = this.blobs.get(key);
    return blob && Uint8Array.from(blob.data);
  }

  deleteBlob(key: string): void {
    this.blobs.delete(key);
  }

  sweep(olderThanMs: number, failedBeforeMs = olderThanMs): number {
    let removed = 0;
    for (const [id, row] of this.rows) {
      if (row.failedMs !== undefined && row.failedMs < failedBeforeMs) {
        this.forget(id, row);
        removed += 1;
      }
    }
    const referenced = new Set<string>();
    for (const row of this.rows.values()) if (row.task.overflowKey !== undefined) referenced.add(row.task.overflowKey);
    for (const [key, blob] of this.blobs) {
      if (blob.createdMs < olderThanMs && !referenced.has(key)) {
        this.blobs.delete(key);
        removed += 1;
      }
    }
    for (const [nameKey, tombstone] of this.tombstones) {
      if (tombstone.completedMs < olderThanMs) {
        this.tombstones.delete(nameKey);
        removed += 1;
      }
    }
    return removed;
  }

  countByState(nowMs: number): QueueStateCounts[] {
    const counts = new Map<string, QueueStateCounts>();
    for (const item of this.records(nowMs)) {
      const key = `${item.queue}\u0000${item.state}`;
      const entry = counts.get(key) ?? { queue: item.queue, state: item.state, count: 0 };
      entry.count += 1;
      counts.set(key, entry);
    }
    return [...counts.values()];
  }

  oldestDueEta(nowMs: number): Map<string, number> {
    const oldest = new Map<string, number>();
    for (const row of this.rows.values()) {
      if (row.failedMs !== undefined || availableAt(row) > nowMs) continue;
      const queue = row.task.queue;
      if (!oldest.has(queue) || row.task.etaMs < oldest.get(queue)!) oldest.set(queue, row.task.etaMs);
    }
    return oldest;
  }

  pausedQueues(): string[] {
    return [...this.paused].sort();
  }

  setPaused(queue: string, paused: boolean): void {
    if (paused) this.paused.add(queue);
    else this.paused.delete(queue);
  }

  listTasks(filter: TaskFilter, nowMs: number): TaskRecord[] {
    const finishedFirst = filter.state === 'done' || filter.state === 'failed';
    return this.records(nowMs)
      .filter((item) => (filter.queue === undefined || item.queue === filter.queue) && (filter.state === undefined || item.state === filter.state))
      .sort((a, b) =>
        finishedFirst ? (b.completedMs ?? b.failedMs ?? 0) - (a.completedMs ?? a.failedMs ?? 0) || Number(a.id) - Number(b.id) : a.etaMs - b.etaMs || Number(a.id) - Number(b.id),
      )
      .slice(filter.offset, filter.offset + filter.limit);
  }

  findTasks(name: string, queue: string | undefined, nowMs: number): TaskRecord[] {
    return this.records(nowMs)
      .filter((item) => item.name === name && (queue === undefined || item.queue === queue))
      .sort((a, b) => (a.queue < b.queue ? -1 : 1));
  }

  retryNow(id: string, nowMs: number): boolean {
    const row = this.rows.get(id);
    if (!row || (row.leaseUntilMs !== undefined && row.leaseUntilMs > nowMs)) return false;
    delete row.failedMs;
    row.leaseUntilMs = undefined;
    row.task.etaMs = nowMs;
    return true;
  }

  deleteTask(id: string, nowMs: number): boolean {
    const row = this.rows.get(id);
    if (row) {
      if (row.leaseUntilMs !== undefined && row.leaseUntilMs > nowMs) return false;
      this.forget(id, row);
      return true;
    }
    for (const [nameKey, tombstone] of this.tombstones) {
      if (tombstone.task.id === id) return this.tombstones.delete(nameKey);
    }
    return false;
  }

  purge(queue: string, nowMs: number): number {
    let removed = 0;
    for (const [id, row] of this.rows) {
      if (row.task.queue !== queue || (row.leaseUntilMs !== undefined && row.leaseUntilMs > nowMs)) continue;
      this.forget(id, row);
      removed += 1;
    }
    return removed;
  }

  finishedPerMinute(sinceMs: number, queue?: string): Array<{ minute: number; done: number; failed: number }> {
    const minutes = new Map<number, { minute: number; done: number; failed: number }>();
    const add = (atMs: number, kind: 'done' | 'failed') => {
      const minute = Math.floor(atMs / 60_000) * 60_000;
      const entry = minutes.get(minute) ?? { minute, done: 0, failed: 0 };
      entry[kind] += 1;
      minutes.set(minute, entry);
    };
    for (const tombstone of this.tombstones.values()) {
      if (tombstone.completedMs >= sinceMs && (queue === undefined || tombstone.task.queue === queue)) add(tombstone.completedMs, 'done');
    }
    for (const row of this.rows.values()) {
      if (row.failedMs !== undefined && row.failedMs >= sinceMs && (queue === undefined || row.task.queue === queue)) add(row.failedMs, 'failed');
    }
    return [...minutes.values()].sort((a, b) => a.minute - b.minute);
  }

  close(): void {}

  private claimable(row: Row): boolean {
    return row.failedMs === undefined && !this.paused.has(row.task.queue);
  }

  private forget(id: string, row: Row): void {
    this.rows.delete(id);
    this.idsByName.delete(keyOf(row.task.queue, row.task.name));
    if (row.task.overflowKey !== undefined) this.blobs.delete(row.task.overflowKey);
  }

  /** Every task and tombstone as a TaskRecord (operations only: a full scan). */
  private records(nowMs: number): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const row of this.rows.values()) {
      const leased = row.leaseUntilMs !== undefined && row.leaseUntilMs > nowMs;
      const state: TaskState = row.failedMs !== undefined ? 'failed' : leased ? 'leased' : row.task.retryCount > 0 ? 'retry' : 'pending';
      const item: TaskRecord = { ...copy(row.task), state, attempts: row.attempts.map((a) => ({ ...a })) };
      if (row.leaseUntilMs !== undefined) item.leaseUntilMs = row.leaseUntilMs;
      if (row.failedMs !== undefined) item.failedMs = row.failedMs;
      out.push(item);
    }
    for (const tombstone of this.tombstones.values()) {
      // As the SQLite store keeps it: the payload and headers are dropped.
      const { overflowKey: _dropped, ...task } = copy(tombstone.task);
      out.push({ ...task, headers: {}, body: new Uint8Array(0), state: 'done', completedMs: tombstone.completedMs, attempts: [] });
    }
    return out;
  }
}

function record(row: Row, attempt: TaskAttempt): void {
  row.attempts.push({ ...attempt });
  if (row.attempts.length > MAX_RECORDED_ATTEMPTS) row.attempts.shift();
}

/** When the row can next be claimed: its eta, or its lease expiry while leased. */
function availableAt(row: Row): number {
  return row.leaseUntilMs ?? row.task.etaMs;
}

function claimsBefore(a: Row, b: Row): boolean {
  const at = availableAt(a);
  const bt = availableAt(b);
  return at < bt || (at === bt && a.seq < b.seq);
}

function keyOf(queue: string, name: string): string {
  return `${queue}\u0000${name}`;
}

function copy(task: StoredTask): StoredTask {
  const out: StoredTask = { ...task, headers: { ...task.headers } };
  if (task.retry !== undefined) out.retry = { ...task.retry };
  return out;
}
