// The in-memory QueueStore (the memory backend, tests): the same contract as the
// SQLite store, without durability.
import type { InsertResult, NewTask, QueueStore, StoredTask } from './store.js';

interface Row {
  task: StoredTask;
  seq: number;
  leaseUntilMs: number | undefined;
}

export class MemoryStore implements QueueStore {
  private readonly rows = new Map<string, Row>();
  private readonly idsByName = new Map<string, string>();
  private readonly tombstones = new Map<string, number>();
  private readonly blobs = new Map<string, { data: Uint8Array; createdMs: number }>();
  private nextSeq = 1;

  insert(task: NewTask): StoredTask | 'duplicate' {
    const nameKey = keyOf(task.queue, task.name);
    if (this.idsByName.has(nameKey) || this.tombstones.has(nameKey)) return 'duplicate';
    const seq = this.nextSeq++;
    const stored: StoredTask = { ...task, headers: { ...task.headers }, id: String(seq), retryCount: 0, executionCount: 0 };
    if (task.retry !== undefined) stored.retry = { ...task.retry };
    this.rows.set(stored.id, { task: stored, seq, leaseUntilMs: undefined });
    this.idsByName.set(nameKey, stored.id);
    return copy(stored);
  }

  insertMany(tasks: readonly NewTask[]): InsertResult[] {
    return tasks.map((task) => this.insert(task));
  }

  claimDue(nowMs: number, limit: number, leaseMs: number): StoredTask[] {
    if (limit <= 0) return [];
    // The `limit` earliest due rows in one pass (no full sort: the dispatcher
    // claims a few at a time from a possibly long queue).
    const due: Row[] = [];
    for (const row of this.rows.values()) {
      if (availableAt(row) > nowMs) continue;
      if (due.length === limit && !claimsBefore(row, due[limit - 1]!)) continue;
      let i = due.length;
      while (i > 0 && claimsBefore(row, due[i - 1]!)) i -= 1;
      due.splice(i, 0, row);
      if (due.length > limit) due.pop();
    }
    for (const row of due) row.leaseUntilMs = nowMs + leaseMs;
    return due.sort((a, b) => a.task.etaMs - b.task.etaMs || a.seq - b.seq).map((row) => copy(row.task));
  }

  complete(id: string, nowMs: number): void {
    const row = this.rows.get(id);
    if (!row) return;
    this.rows.delete(id);
    const nameKey = keyOf(row.task.queue, row.task.name);
    this.idsByName.delete(nameKey);
    this.tombstones.set(nameKey, nowMs);
    if (row.task.overflowKey !== undefined) this.blobs.delete(row.task.overflowKey);
  }

  completeMany(completions: ReadonlyArray<{ id: string; nowMs: number }>): void {
    for (const { id, nowMs } of completions) this.complete(id, nowMs);
  }

  reschedule(id: string, etaMs: number, lastStatus: number, executed: boolean): void {
    const row = this.rows.get(id);
    if (!row) return;
    row.leaseUntilMs = undefined;
    row.task.etaMs = etaMs;
    row.task.retryCount += 1;
    if (executed) row.task.executionCount += 1;
    row.task.previousResponse = lastStatus;
  }

  nextDueMs(_nowMs: number): number | undefined {
    let next: number | undefined;
    for (const row of this.rows.values()) {
      const at = availableAt(row);
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  size(): number {
    return this.rows.size;
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

  sweep(olderThanMs: number): number {
    const referenced = new Set<string>();
    for (const row of this.rows.values()) if (row.task.overflowKey !== undefined) referenced.add(row.task.overflowKey);
    let removed = 0;
    for (const [key, blob] of this.blobs) {
      if (blob.createdMs < olderThanMs && !referenced.has(key)) {
        this.blobs.delete(key);
        removed += 1;
      }
    }
    for (const [nameKey, completedMs] of this.tombstones) {
      if (completedMs < olderThanMs) {
        this.tombstones.delete(nameKey);
        removed += 1;
      }
    }
    return removed;
  }

  close(): void {}
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
