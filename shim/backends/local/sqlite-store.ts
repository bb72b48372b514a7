// The embedded backend's durable queue: one SQLite file (better-sqlite3, WAL).
// Every state change is one transaction, so a process killed at any instant
// leaves either the old or the new state on disk, never half of one; a task
// leased by a process that died is claimable again once its lease ends.
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { RetryOptions } from '../../api/types.js';
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

export interface SqliteStoreOptions {
  /** Database file; its directory is created. `:memory:` gives a private, non-durable store. */
  path: string;
  /** How long a write waits for another process holding the file's write lock (default 5000). */
  busyTimeoutMs?: number;
}

export type QueueFileProblem = 'not-sqlite' | 'damaged' | 'foreign' | 'newer-schema' | 'no-wal' | 'locked';

/** The queue file cannot be used (not SQLite, damaged, foreign, too new, locked); nothing was written to it. */
export class QueueFileError extends Error {
  readonly path: string;
  readonly problem: QueueFileProblem;
  constructor(path: string, problem: QueueFileProblem, what: string, remedy: string, options?: { cause?: unknown }) {
    super(`deferred-migrate: the embedded queue file ${path} ${what}. It was left untouched. ${remedy}`, options);
    this.name = 'QueueFileError';
    this.path = path;
    this.problem = problem;
  }
}

/** 'DfMg': marks the file as a deferred-migrate queue (PRAGMA application_id). */
const APPLICATION_ID = 0x44664d67;
const SQLITE_HEADER = 'SQLite format 3\u0000';
const MOVE_ASIDE = 'Move it aside (keep it if it may hold tasks) or configure another path for the embedded queue.';

/** Migration i takes the schema from user_version i to i + 1; append, never edit. */
export const MIGRATIONS: readonly string[] = [
  `
  -- One row per task name. A finished task stays as a tombstone (completed_ms
  -- set, payload dropped) so that the unique (queue, name) constraint alone
  -- refuses a reused name, and finishing a task rewrites one row in place.
  CREATE TABLE tasks (
    -- Not AUTOINCREMENT (one page write less per insert): SQLite reuses only the
    -- largest id, and only after its row is deleted, which sweep() does to
    -- tombstones older than the retention (days), far beyond any lease, so a
    -- late complete() of a stale id cannot hit a newer task.
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    eta_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    retry_count INTEGER NOT NULL DEFAULT 0,
    execution_count INTEGER NOT NULL DEFAULT 0,
    retry TEXT,
    previous_response INTEGER,
    overflow_key TEXT,
    lease_until_ms INTEGER,
    -- When a live task can next be claimed: its eta, or its lease expiry while leased. NULL once finished.
    available_ms INTEGER,
    -- When the task finished; set means the row is a tombstone.
    completed_ms INTEGER,
    UNIQUE (queue, name)
  );
  CREATE INDEX tasks_by_available ON tasks (available_ms, id) WHERE available_ms IS NOT NULL;
  CREATE INDEX tombstones_by_age ON tasks (completed_ms) WHERE completed_ms IS NOT NULL;
  CREATE INDEX tasks_by_overflow_key ON tasks (overflow_key) WHERE overflow_key IS NOT NULL;
  CREATE TABLE blobs (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    created_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX blobs_by_age ON blobs (created_ms);
  -- A finished task's overflow payload goes in the same statement.
  CREATE TRIGGER drop_blob_of_finished_task AFTER UPDATE OF completed_ms ON tasks
  WHEN OLD.completed_ms IS NULL AND NEW.completed_ms IS NOT NULL AND OLD.overflow_key IS NOT NULL
  BEGIN
    DELETE FROM blobs WHERE key = OLD.overflow_key;
  END;
  `,
  `
  -- Failed tasks are kept (failed_ms set, available_ms NULL, payload kept) until
  -- the failed-task retention ends; attempts holds the recent failed attempts
  -- (JSON array of TaskAttempt). queue_state holds what an operator set on a
  -- queue (paused), shared by every process using the file.
  ALTER TABLE tasks ADD COLUMN failed_ms INTEGER;
  ALTER TABLE tasks ADD COLUMN attempts TEXT;
  CREATE INDEX failed_by_age ON tasks (failed_ms) WHERE failed_ms IS NOT NULL;
  CREATE TABLE queue_state (
    name TEXT PRIMARY KEY,
    paused INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  `,
];

/** The state of a row, as TaskState; `@now` decides whether a lease still holds. */
const STATE_SQL = `CASE WHEN completed_ms IS NOT NULL THEN 'done'
  WHEN failed_ms IS NOT NULL THEN 'failed'
  WHEN lease_until_ms IS NOT NULL AND lease_until_ms > @now THEN 'leased'
  WHEN retry_count > 0 THEN 'retry'
  ELSE 'pending' END`;
const NOT_PAUSED = 'queue NOT IN (SELECT name FROM queue_state WHERE paused = 1)';
/** Appends @attempt (JSON) to the attempts column, keeping the latest MAX_RECORDED_ATTEMPTS. */
const APPEND_ATTEMPT = `attempts = CASE WHEN @attempt IS NULL THEN attempts
  WHEN json_array_length(COALESCE(attempts, '[]')) >= ${MAX_RECORDED_ATTEMPTS}
    THEN json_insert(json_remove(attempts, '$[0]'), '$[#]', json(@attempt))
  ELSE json_insert(COALESCE(attempts, '[]'), '$[#]', json(@attempt)) END`;

interface TaskRow {
  id: number;
  queue: string;
  name: string;
  url: string;
  headers: string;
  body: Buffer;
  eta_ms: number;
  created_ms: number;
  retry_count: number;
  execution_count: number;
  retry: string | null;
  previous_response: number | null;
  overflow_key: string | null;
}

const TASK_COLUMNS =
  'id, queue, name, url, headers, body, eta_ms, created_ms, retry_count, execution_count, retry, previous_response, overflow_key';
const RECORD_COLUMNS = `${TASK_COLUMNS}, lease_until_ms, completed_ms, failed_ms, attempts, ${STATE_SQL} AS state`;

interface RecordRow extends TaskRow {
  lease_until_ms: number | null;
  completed_ms: number | null;
  failed_ms: number | null;
  attempts: string | null;
  state: TaskState;
}

/** SQLITE_NOTADB, SQLITE_CORRUPT and its extended codes (SQLITE_CORRUPT_INDEX, ...). */
function isCorruption(code: string): boolean {
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

export class SqliteStore implements QueueStore {
  readonly path: string;
  private readonly busyTimeoutMs: number;
  private readonly db: Database.Database;
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly claimTx: (nowMs: number, limit: number, leaseMs: number, policy?: ClaimPolicy) => StoredTask[];
  private readonly sweepTx: (olderThanMs: number, failedBeforeMs: number) => number;
  private readonly deleteTx: (sql: 'deleteTask' | 'purge', key: string | number, nowMs: number) => number;
  private readonly insertManyTx: (tasks: readonly NewTask[]) => InsertResult[];
  private readonly completeManyTx: (completions: ReadonlyArray<{ id: string; nowMs: number }>) => void;

  constructor(options: SqliteStoreOptions) {
    const inMemory = options.path === ':memory:';
    this.path = inMemory ? options.path : resolve(options.path);
    if (!inMemory) {
      mkdirSync(dirname(this.path), { recursive: true });
      assertSqliteHeader(this.path);
    }
    const busyTimeoutMs = (this.busyTimeoutMs = options.busyTimeoutMs ?? 5000);
    let db: Database.Database | undefined;
    try {
      db = new Database(this.path, { timeout: busyTimeoutMs });
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
      if (!inMemory) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (String(mode).toLowerCase() !== 'wal') {
          throw new QueueFileError(this.path, 'no-wal', `could not be switched to WAL mode (journal_mode is ${String(mode)})`, 'Put the queue on a local file system.');
        }
      }
      // NORMAL in WAL mode: a commit is in the OS page cache when it returns,
      // which survives the process being killed; see docs/performance.md.
      db.pragma('synchronous = NORMAL');
      migrate(db, this.path);
      this.db = db;
      this.statements = prepareStatements(db);
    } catch (error) {
      db?.close();
      throw this.explain(error);
    }

    const s = this.statements;
    this.claimTx = db.transaction((nowMs: number, limit: number, leaseMs: number, policy?: ClaimPolicy): StoredTask[] => {
      const leaseUntil = nowMs + leaseMs;
      // Row by row: one `UPDATE ... WHERE id IN (subquery) RETURNING` measured six times slower.
      const ids = policy ? dueIdsUnder(s, policy, nowMs, limit) : (s.dueIds.all(nowMs, limit) as number[]);
      const rows = ids.map((id) => s.lease.get(leaseUntil, leaseUntil, id) as TaskRow);
      return rows.sort((a, b) => a.eta_ms - b.eta_ms || a.id - b.id).map(toStoredTask);
    }).immediate;
    this.insertManyTx = db.transaction((tasks: readonly NewTask[]): InsertResult[] =>
      tasks.map((task) => {
        try {
          return this.insertRow(task);
        } catch (error) {
          // A statement error rolls back that statement only, unless SQLite had to end
          // the whole transaction (I/O error, disk full): then nothing commits.
          if (!db.inTransaction) throw error;
          return { error: this.explain(error) };
        }
      }),
    ).immediate;
    this.completeManyTx = db.transaction((completions: ReadonlyArray<{ id: string; nowMs: number }>): void => {
      for (const { id, nowMs } of completions) s.complete.run(nowMs, Number(id));
    }).immediate;
    this.sweepTx = db.transaction((olderThanMs: number, failedBeforeMs: number): number => {
      s.sweepFailedBlobs.run(failedBeforeMs);
      const failed = s.sweepFailed.run(failedBeforeMs).changes;
      return s.sweepBlobs.run(olderThanMs).changes + s.sweepTombstones.run(olderThanMs).changes + failed;
    }).immediate;
    this.deleteTx = db.transaction((which: 'deleteTask' | 'purge', key: string | number, nowMs: number): number => {
      const rows = s[which].all({ key, now: nowMs }) as Array<{ overflow_key: string | null }>;
      for (const row of rows) if (row.overflow_key !== null) s.deleteBlob.run(row.overflow_key);
      return rows.length;
    }).immediate;
  }

  insert(task: NewTask): StoredTask | TakenName {
    return this.guard(() => this.insertRow(task));
  }

  insertMany(tasks: readonly NewTask[]): InsertResult[] {
    if (tasks.length === 0) return [];
    return this.guard(() => this.insertManyTx(tasks));
  }

  private insertRow(task: NewTask): StoredTask | TakenName {
    // The unique (queue, name) constraint covers live tasks and tombstones alike.
    // all(), not get(): SQLite runs the WAL auto-checkpoint only when a statement
    // steps to its end, and get() resets an INSERT ... RETURNING after its first
    // row, which left the WAL growing without bound.
    const [row] = this.statements.insertTask.all({
      queue: task.queue,
      name: task.name,
      url: task.url,
      headers: JSON.stringify(task.headers),
      body: toBuffer(task.body),
      eta: task.etaMs,
      created: task.createdMs,
      retry: task.retry === undefined ? null : JSON.stringify(task.retry),
      overflowKey: task.overflowKey ?? null,
    }) as Array<{ id: number }>;
    // The name is taken: by a tombstone (completed_ms set) or a task still in the queue.
    if (!row) return this.statements.nameFinished.get(task.queue, task.name) === 1 ? 'tombstoned' : 'duplicate';
    const stored: StoredTask = {
      ...task,
      id: String(row.id),
      headers: { ...task.headers },
      retryCount: 0,
      executionCount: 0,
    };
    if (task.retry !== undefined) stored.retry = { ...task.retry };
    return stored;
  }

  claimDue(nowMs: number, limit: number, leaseMs: number, policy?: ClaimPolicy): StoredTask[] {
    if (limit <= 0) return [];
    return this.guard(() => {
      // The dispatcher asks on every wake; a read answers "nothing due" without taking the write lock.
      if (this.statements.anyDue.get(nowMs) === undefined) return [];
      return this.claimTx(nowMs, limit, leaseMs, policy);
    });
  }

  complete(id: string, nowMs: number): void {
    this.guard(() => this.statements.complete.run(nowMs, Number(id)));
  }

  completeMany(completions: ReadonlyArray<{ id: string; nowMs: number }>): void {
    if (completions.length > 0) this.guard(() => this.completeManyTx(completions));
  }

  reschedule(id: string, etaMs: number, lastStatus: number, executed: boolean, attempt?: TaskAttempt): void {
    this.guard(() =>
      this.statements.reschedule.run({
        eta: etaMs,
        executed: executed ? 1 : 0,
        status: lastStatus,
        id: Number(id),
        attempt: attempt === undefined ? null : JSON.stringify(attempt),
      }),
    );
  }

  fail(id: string, nowMs: number, attempt: TaskAttempt, executed: boolean): void {
    this.guard(() =>
      this.statements.fail.run({
        now: nowMs,
        executed: executed ? 1 : 0,
        status: attempt.status ?? null,
        id: Number(id),
        attempt: JSON.stringify(attempt),
      }),
    );
  }

  release(ids: readonly string[], _nowMs: number): void {
    if (ids.length === 0) return;
    this.guard(() => this.statements.release.run(JSON.stringify(ids.map(Number))));
  }

  nextDueMs(_nowMs: number, excludeQueues: readonly string[] = []): number | undefined {
    // The dispatcher asks after every wake; most of the time no queue is excluded.
    const next = this.guard(() =>
      excludeQueues.length === 0 ? this.statements.nextAvailableAll.get() : this.statements.nextAvailable.get(JSON.stringify(excludeQueues)),
    ) as number | undefined;
    return next ?? undefined;
  }

  size(): number {
    return (this.guard(() => this.statements.count.get()) as { n: number }).n;
  }

  putBlob(key: string, data: Uint8Array, nowMs: number): void {
    this.guard(() => this.statements.putBlob.run(key, toBuffer(data), nowMs));
  }

  getBlob(key: string): Uint8Array | undefined {
    const row = this.guard(() => this.statements.getBlob.get(key)) as { data: Buffer } | undefined;
    return row?.data;
  }

  deleteBlob(key: string): void {
    this.guard(() => this.statements.deleteBlob.run(key));
  }

  sweep(olderThanMs: number, failedBeforeMs = olderThanMs): number {
    return this.guard(() => this.sweepTx(olderThanMs, failedBeforeMs));
  }

  countByState(nowMs: number): QueueStateCounts[] {
    return this.guard(() => this.statements.countByState.all({ now: nowMs })) as QueueStateCounts[];
  }

  oldestDueEta(nowMs: number): Map<string, number> {
    const rows = this.guard(() => this.statements.oldestDue.all({ now: nowMs })) as Array<{ queue: string; eta: number }>;
    return new Map(rows.map((row) => [row.queue, row.eta]));
  }

  pausedQueues(): string[] {
    return this.guard(() => this.statements.paused.all()) as string[];
  }

  setPaused(queue: string, paused: boolean): void {
    this.guard(() => this.statements.setPaused.run(queue, paused ? 1 : 0));
  }

  listTasks(filter: TaskFilter, nowMs: number): TaskRecord[] {
    const rows = this.guard(() =>
      this.statements.listTasks.all({
        now: nowMs,
        queue: filter.queue ?? null,
        state: filter.state ?? null,
        limit: filter.limit,
        offset: filter.offset,
      }),
    ) as RecordRow[];
    return rows.map(toTaskRecord);
  }

  findTasks(name: string, queue: string | undefined, nowMs: number): TaskRecord[] {
    const rows = this.guard(() => this.statements.findTasks.all({ now: nowMs, name, queue: queue ?? null })) as RecordRow[];
    return rows.map(toTaskRecord);
  }

  retryNow(id: string, nowMs: number): boolean {
    return this.guard(() => this.statements.retryNow.run({ now: nowMs, id: Number(id) }).changes) === 1;
  }

  deleteTask(id: string, nowMs: number): boolean {
    return this.guard(() => this.deleteTx('deleteTask', Number(id), nowMs)) === 1;
  }

  purge(queue: string, nowMs: number): number {
    return this.guard(() => this.deleteTx('purge', queue, nowMs));
  }

  finishedPerMinute(sinceMs: number, queue?: string): Array<{ minute: number; done: number; failed: number }> {
    return this.guard(() => this.statements.finishedPerMinute.all({ since: sinceMs, queue: queue ?? null })) as Array<{
      minute: number;
      done: number;
      failed: number;
    }>;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Corruption found after opening gets the same clear error as at open time. */
  private guard<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw this.explain(error);
    }
  }

  private explain(error: unknown): unknown {
    if (error instanceof QueueFileError) return error;
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') return error;
    if (isCorruption(code)) {
      return new QueueFileError(this.path, 'damaged', `is not a readable SQLite database (${code}: ${(error as Error).message})`, MOVE_ASIDE, {
        cause: error,
      });
    }
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      return new QueueFileError(
        this.path,
        'locked',
        `is locked by another process: waited ${this.busyTimeoutMs} ms (busyTimeoutMs) for its lock (${code})`,
        'Retry later, or stop the process that holds the lock (another app instance, an sqlite3 shell in a transaction).',
        { cause: error },
      );
    }
    return error;
  }
}

function prepareStatements(db: Database.Database) {
  return {
    insertTask: db.prepare(
      `INSERT INTO tasks (queue, name, url, headers, body, eta_ms, created_ms, retry, overflow_key, available_ms)
       VALUES (@queue, @name, @url, @headers, @body, @eta, @created, @retry, @overflowKey, @eta)
       ON CONFLICT (queue, name) DO NOTHING
       RETURNING id`,
    ),
    nameFinished: db.prepare('SELECT completed_ms IS NOT NULL FROM tasks WHERE queue = ? AND name = ?').pluck(),
    anyDue: db.prepare(`SELECT 1 FROM tasks WHERE available_ms <= ? AND ${NOT_PAUSED} LIMIT 1`).pluck(),
    dueIds: db.prepare(`SELECT id FROM tasks WHERE available_ms <= ? AND ${NOT_PAUSED} ORDER BY available_ms, id LIMIT ?`).pluck(),
    // Claims under a policy: uncapped queues in one query, each capped queue in its own.
    dueUncapped: db.prepare(
      `SELECT id, available_ms AS at FROM tasks WHERE available_ms <= ? AND ${NOT_PAUSED}
         AND queue NOT IN (SELECT value FROM json_each(?)) ORDER BY available_ms, id LIMIT ?`,
    ),
    dueInQueue: db.prepare(
      `SELECT id, available_ms AS at FROM tasks WHERE available_ms <= ? AND queue = ? AND ${NOT_PAUSED}
         ORDER BY available_ms, id LIMIT ?`,
    ),
    lease: db.prepare(`UPDATE tasks SET lease_until_ms = ?, available_ms = ? WHERE id = ? RETURNING ${TASK_COLUMNS}`),
    complete: db.prepare(
      `UPDATE tasks SET completed_ms = ?, available_ms = NULL, lease_until_ms = NULL,
         body = x'', headers = '{}', overflow_key = NULL
       WHERE id = ? AND completed_ms IS NULL`,
    ),
    reschedule: db.prepare(
      `UPDATE tasks SET eta_ms = @eta, available_ms = @eta, lease_until_ms = NULL,
         retry_count = retry_count + 1, execution_count = execution_count + @executed, previous_response = @status,
         ${APPEND_ATTEMPT}
       WHERE id = @id AND completed_ms IS NULL`,
    ),
    fail: db.prepare(
      `UPDATE tasks SET failed_ms = @now, available_ms = NULL, lease_until_ms = NULL,
         retry_count = retry_count + 1, execution_count = execution_count + @executed,
         previous_response = COALESCE(@status, previous_response), ${APPEND_ATTEMPT}
       WHERE id = @id AND completed_ms IS NULL AND failed_ms IS NULL`,
    ),
    release: db.prepare(
      `UPDATE tasks SET lease_until_ms = NULL, available_ms = eta_ms
       WHERE id IN (SELECT value FROM json_each(?)) AND completed_ms IS NULL AND failed_ms IS NULL`,
    ),
    nextAvailableAll: db
      .prepare(`SELECT available_ms FROM tasks WHERE available_ms IS NOT NULL AND ${NOT_PAUSED} ORDER BY available_ms LIMIT 1`)
      .pluck(),
    nextAvailable: db
      .prepare(
        `SELECT available_ms FROM tasks WHERE available_ms IS NOT NULL AND ${NOT_PAUSED}
           AND queue NOT IN (SELECT value FROM json_each(?)) ORDER BY available_ms LIMIT 1`,
      )
      .pluck(),
    count: db.prepare('SELECT COUNT(*) AS n FROM tasks WHERE available_ms IS NOT NULL'),
    putBlob: db.prepare(
      `INSERT INTO blobs (key, data, created_ms) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET data = excluded.data, created_ms = excluded.created_ms`,
    ),
    getBlob: db.prepare('SELECT data FROM blobs WHERE key = ?'),
    deleteBlob: db.prepare('DELETE FROM blobs WHERE key = ?'),
    sweepBlobs: db.prepare(
      `DELETE FROM blobs WHERE created_ms < ?
       AND NOT EXISTS (SELECT 1 FROM tasks WHERE tasks.overflow_key = blobs.key)`,
    ),
    sweepTombstones: db.prepare('DELETE FROM tasks WHERE completed_ms < ?'),
    sweepFailedBlobs: db.prepare('DELETE FROM blobs WHERE key IN (SELECT overflow_key FROM tasks WHERE failed_ms < ? AND overflow_key IS NOT NULL)'),
    sweepFailed: db.prepare('DELETE FROM tasks WHERE failed_ms < ?'),
    countByState: db.prepare(`SELECT queue, ${STATE_SQL} AS state, COUNT(*) AS count FROM tasks GROUP BY queue, state`),
    oldestDue: db.prepare(
      `SELECT queue, MIN(eta_ms) AS eta FROM tasks
       WHERE available_ms <= @now AND (lease_until_ms IS NULL OR lease_until_ms <= @now) GROUP BY queue`,
    ),
    paused: db.prepare('SELECT name FROM queue_state WHERE paused = 1 ORDER BY name').pluck(),
    setPaused: db.prepare('INSERT INTO queue_state (name, paused) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET paused = excluded.paused'),
    listTasks: db.prepare(
      `SELECT ${RECORD_COLUMNS} FROM tasks
       WHERE (@queue IS NULL OR queue = @queue) AND (@state IS NULL OR (${STATE_SQL}) = @state)
       ORDER BY CASE WHEN @state IN ('done', 'failed') THEN -COALESCE(completed_ms, failed_ms) ELSE eta_ms END, id
       LIMIT @limit OFFSET @offset`,
    ),
    findTasks: db.prepare(`SELECT ${RECORD_COLUMNS} FROM tasks WHERE name = @name AND (@queue IS NULL OR queue = @queue) ORDER BY queue`),
    retryNow: db.prepare(
      `UPDATE tasks SET failed_ms = NULL, eta_ms = @now, available_ms = @now, lease_until_ms = NULL
       WHERE id = @id AND completed_ms IS NULL AND (lease_until_ms IS NULL OR lease_until_ms <= @now)`,
    ),
    deleteTask: db.prepare(
      `DELETE FROM tasks WHERE id = @key AND (lease_until_ms IS NULL OR lease_until_ms <= @now OR completed_ms IS NOT NULL)
       RETURNING overflow_key`,
    ),
    purge: db.prepare(
      `DELETE FROM tasks WHERE queue = @key AND completed_ms IS NULL AND (lease_until_ms IS NULL OR lease_until_ms <= @now)
       RETURNING overflow_key`,
    ),
    finishedPerMinute: db.prepare(
      `SELECT minute, SUM(done) AS done, SUM(failed) AS failed FROM (
         SELECT completed_ms / 60000 * 60000 AS minute, 1 AS done, 0 AS failed FROM tasks
           WHERE completed_ms >= @since AND (@queue IS NULL OR queue = @queue)
         UNION ALL
         SELECT failed_ms / 60000 * 60000, 0, 1 FROM tasks
           WHERE failed_ms >= @since AND (@queue IS NULL OR queue = @queue)
       ) GROUP BY minute ORDER BY minute`,
    ),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** Due ids under a claim policy, earliest first: uncapped queues together, each capped queue up to its cap. */
function dueIdsUnder(s: Statements, policy: ClaimPolicy, nowMs: number, limit: number): number[] {
  const capped = Object.keys(policy.caps);
  const rows = s.dueUncapped.all(nowMs, JSON.stringify(capped), limit) as Array<{ id: number; at: number }>;
  for (const queue of capped) {
    const cap = Math.min(limit, policy.caps[queue]!);
    if (cap > 0) rows.push(...(s.dueInQueue.all(nowMs, queue, cap) as Array<{ id: number; at: number }>));
  }
  return rows
    .sort((a, b) => a.at - b.at || a.id - b.id)
    .slice(0, limit)
    .map((row) => row.id);
}

/** Refuses anything that is neither empty nor an SQLite file before SQLite touches it. */
function assertSqliteHeader(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  try {
    const header = Buffer.alloc(SQLITE_HEADER.length);
    const read = readSync(fd, header, 0, header.length, 0);
    if (read === 0) return;
    if (read < header.length || header.toString('latin1') !== SQLITE_HEADER) {
      throw new QueueFileError(path, 'not-sqlite', 'is not an SQLite database (its header is not "SQLite format 3")', MOVE_ASIDE);
    }
  } finally {
    closeSync(fd);
  }
}

/** Creates or upgrades the schema; refuses files that belong to something else or to a newer release. */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (applicationId !== APPLICATION_ID) {
      const foreignTables = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").pluck().get() as number;
      if (applicationId !== 0 || version !== 0 || foreignTables > 0) {
        throw new QueueFileError(path, 'foreign', 'is an SQLite database of another application, not a deferred-migrate queue', MOVE_ASIDE);
      }
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }
    if (version > MIGRATIONS.length) {
      throw new QueueFileError(
        path,
        'newer-schema',
        `has schema version ${version}, written by a newer release of deferred-migrate (this one knows up to ${MIGRATIONS.length})`,
        'Upgrade deferred-migrate, or configure another path for the embedded queue.',
      );
    }
    for (let next = version; next < MIGRATIONS.length; next += 1) {
      db.exec(MIGRATIONS[next]!);
      db.pragma(`user_version = ${next + 1}`);
    }
  }).immediate();
}

function toStoredTask(row: TaskRow): StoredTask {
  const task: StoredTask = {
    id: String(row.id),
    name: row.name,
    queue: row.queue,
    url: row.url,
    headers: JSON.parse(row.headers) as Record<string, string>,
    body: row.body,
    etaMs: row.eta_ms,
    createdMs: row.created_ms,
    retryCount: row.retry_count,
    executionCount: row.execution_count,
  };
  if (row.retry !== null) task.retry = JSON.parse(row.retry) as RetryOptions;
  if (row.previous_response !== null) task.previousResponse = row.previous_response;
  if (row.overflow_key !== null) task.overflowKey = row.overflow_key;
  return task;
}

function toTaskRecord(row: RecordRow): TaskRecord {
  const record: TaskRecord = {
    ...toStoredTask(row),
    state: row.state,
    attempts: row.attempts === null ? [] : (JSON.parse(row.attempts) as TaskAttempt[]),
  };
  if (row.lease_until_ms !== null) record.leaseUntilMs = row.lease_until_ms;
  if (row.completed_ms !== null) record.completedMs = row.completed_ms;
  if (row.failed_ms !== null) record.failedMs = row.failed_ms;
  return record;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
