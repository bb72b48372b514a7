import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, QueueFileError, SqliteStore } from '../../../shim/backends/local/sqlite-store.js';
import type { NewTask } from '../../../shim/backends/local/store.js';
import { describeQueueStore } from '../core/store-conformance.js';

const conformanceDir = mkdtempSync(join(tmpdir(), 'dm-sqlite-conformance-'));
let conformanceFiles = 0;
afterAll(() => rmSync(conformanceDir, { recursive: true, force: true }));
describeQueueStore('SqliteStore', () => new SqliteStore({ path: join(conformanceDir, `queue-${++conformanceFiles}.sqlite`) }));


function newTask(name: string, overrides: Partial<NewTask> = {}): NewTask {
  return {
    name,
    queue: 'default',
    url: '/_ah/queue/deferred',
    headers: { 'Content-Type': 'application/octet-stream' },
    body: new TextEncoder().encode(`payload of ${name}`),
    etaMs: 1_000,
    createdMs: 1_000,
    ...overrides,
  };
}

let dir: string;
let path: string;
const opened: SqliteStore[] = [];
function open(options: { busyTimeoutMs?: number } = {}): SqliteStore {
  const store = new SqliteStore({ path, ...options });
  opened.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dm-sqlite-'));
  path = join(dir, 'nested', 'queue.db');
});
afterEach(() => {
  for (const store of opened.splice(0)) store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteStore on disk', () => {
  it('creates the directory and a WAL-mode file with NORMAL sync and the schema version', () => {
    open();
    expect(existsSync(path)).toBe(true);
    const db = new Database(path, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
      expect(tables).toEqual(expect.arrayContaining(['blobs', 'tasks']));
    } finally {
      db.close();
    }
  });

  it('upgrades a queue file written by the previous release (schema 1): its tasks survive and gain the failed state', () => {
    mkdirSync(dirname(path), { recursive: true });
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(MIGRATIONS[0]!);
    old.pragma(`application_id = ${0x44664d67}`);
    old.pragma('user_version = 1');
    // Rows exactly as release 1 wrote them: a due task, one leased by a dead process, a tombstone, a retrying one.
    const insert = old.prepare(
      `INSERT INTO tasks (queue, name, url, headers, body, eta_ms, created_ms, retry_count, execution_count, retry, previous_response, lease_until_ms, available_ms, completed_ms)
       VALUES (?, ?, '/_ah/queue/deferred', '{"Content-Type":"application/octet-stream"}', ?, ?, 1000, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const body = Buffer.from('{"v":1,"fn":"f","args":[1]}');
    insert.run('default', 'due', body, 1_000, 0, 0, null, null, null, 1_000, null);
    insert.run('default', 'orphaned', body, 1_000, 0, 0, null, null, 9_000, 9_000, null);
    insert.run('default', 'finished', Buffer.alloc(0), 1_000, 0, 1, null, null, null, null, 1_500);
    insert.run('mail', 'retrying', body, 3_000, 2, 2, '{"task_retry_limit":2}', 500, null, 3_000, null);
    old.close();

    const store = open();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    expect(store.size()).toBe(3);
    const states = Object.fromEntries(store.listTasks({ limit: 10, offset: 0 }, 2_000).map((t) => [t.name, t.state]));
    expect(states).toEqual({ due: 'pending', orphaned: 'leased', finished: 'done', retrying: 'retry' });
    expect(store.claimDue(10_000, 10, 60_000).map((t) => t.name)).toEqual(['due', 'orphaned', 'retrying']);
    const retrying = store.findTasks('retrying', 'mail', 10_000)[0]!;
    expect(retrying).toMatchObject({ retryCount: 2, previousResponse: 500, retry: { task_retry_limit: 2 }, attempts: [] });
    store.fail(retrying.id, 11_000, { number: 3, finishedMs: 11_000, status: 500, error: { message: 'boom' } }, true);
    expect(store.findTasks('retrying', 'mail', 11_000)[0]).toMatchObject({ state: 'failed', retryCount: 3, attempts: [{ number: 3, error: { message: 'boom' } }] });
    expect(store.insert(newTask('finished'))).toBe('tombstoned');
    // A failed task waits in the queue (it may be retried): its name is a duplicate, not a tombstone.
    expect(store.insert(newTask('retrying', { queue: 'mail' }))).toBe('duplicate');
  });

  it('keeps tasks, their fields, leases and tombstones across close and reopen', () => {
    const first = open();
    const body = new Uint8Array([0, 255, 1, 254]);
    first.insert(newTask('leased', { body, retry: { task_retry_limit: 3 }, overflowKey: 'blob-1' }));
    first.insert(newTask('waiting', { etaMs: 50_000 }));
    first.insert(newTask('done'));
    first.putBlob('blob-1', new Uint8Array([9, 9]), 1_000);
    const claimed = first.claimDue(2_000, 10, 30_000);
    expect(claimed.map((t) => t.name).sort()).toEqual(['done', 'leased']);
    const done = claimed.find((t) => t.name === 'done')!;
    first.complete(done.id, 2_500);
    first.close();

    const second = open();
    expect(second.size()).toBe(2);
    // The lease taken before the restart still holds until it expires.
    expect(second.claimDue(2_000, 10, 30_000)).toEqual([]);
    expect(second.nextDueMs(2_000)).toBe(32_000);
    // The tombstone survives: the name cannot be reused.
    expect(second.insert(newTask('done'))).toBe('tombstoned');
    expect(second.insert(newTask('waiting'))).toBe('duplicate');
    expect(second.getBlob('blob-1')).toEqual(Buffer.from([9, 9]));

    const reclaimed = second.claimDue(32_000, 10, 30_000);
    expect(reclaimed).toHaveLength(1);
    const leased = reclaimed[0]!;
    expect(leased).toMatchObject({
      name: 'leased',
      queue: 'default',
      url: '/_ah/queue/deferred',
      headers: { 'Content-Type': 'application/octet-stream' },
      etaMs: 1_000,
      createdMs: 1_000,
      retryCount: 0,
      executionCount: 0,
      retry: { task_retry_limit: 3 },
      overflowKey: 'blob-1',
    });
    expect(Buffer.from(leased.body)).toEqual(Buffer.from(body));
    second.reschedule(leased.id, 40_000, 500, true);
    second.close();

    const third = open();
    const [retried] = third.claimDue(40_000, 10, 30_000);
    expect(retried).toMatchObject({ name: 'leased', etaMs: 40_000, retryCount: 1, executionCount: 1, previousResponse: 500 });
    third.complete(retried!.id, 41_000);
    expect(third.getBlob('blob-1')).toBeUndefined();
  });

  it('never hands one task to two store instances sharing the file', () => {
    const a = open();
    const b = open();
    for (let i = 0; i < 50; i += 1) a.insert(newTask(`t${i}`));
    const seen: string[] = [];
    for (let round = 0; round < 20; round += 1) {
      for (const store of [a, b]) seen.push(...store.claimDue(2_000, 2, 60_000).map((t) => t.name));
    }
    expect(seen).toHaveLength(50);
    expect(new Set(seen).size).toBe(50);
    // Duplicate detection sees the other instance's rows too.
    expect(b.insert(newTask('t7'))).toBe('duplicate');
  });

  it('never hands one task to two processes claiming from the same file at once', async () => {
    const seed = open();
    const total = 1_500;
    for (let i = 0; i < total; i += 1) seed.insert(newTask(`t${i}`, { etaMs: 0 }));
    seed.close();
    const worker = fileURLToPath(new URL('./claim-worker.ts', import.meta.url));
    const children = [0, 1].map(() => spawn(process.execPath, ['--import', 'tsx', worker, path, String(total)], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const outputs = children.map((child) => collectStdout(child));
    await Promise.all(outputs.map((output) => output.ready));
    for (const child of children) child.stdin!.write('go\n');
    const perProcess = await Promise.all(outputs.map(async (output) => JSON.parse(await output.result) as string[]));
    const all = perProcess.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    // Both processes took part, so the claims did contend for the file.
    for (const claimed of perProcess) expect(claimed.length).toBeGreaterThan(0);
  });

  it('refuses a file that is not SQLite, naming it and leaving it byte for byte untouched', () => {
    const file = path;
    const original = Buffer.from('{"these": "are someone else\'s notes"}\n'.repeat(200));
    writeFileSync(ensureDir(file), original);
    let error: unknown;
    try {
      open();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(QueueFileError);
    expect(error).toMatchObject({ problem: 'not-sqlite', path: file });
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/not an SQLite database/);
    expect((error as Error).message).toMatch(/Move it aside/);
    expect(readFileSync(file).equals(original)).toBe(true);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a queue file whose pages are damaged without dropping what is there', () => {
    const store = open();
    for (let i = 0; i < 400; i += 1) store.insert(newTask(`t${i}`, { body: new Uint8Array(200).fill(i % 256) }));
    store.close();
    opened.length = 0;
    const damaged = readFileSync(path);
    expect(statSync(path).size).toBeGreaterThan(4096 * 6);
    damaged.fill(0xab, 4096 * 2, 4096 * 6);
    writeFileSync(path, damaged);

    expect(() => {
      const reopened = open();
      reopened.claimDue(2_000, 1_000, 1_000);
    }).toThrow(expect.objectContaining({ name: 'QueueFileError', problem: 'damaged', path }));
    expect(readFileSync(path).equals(damaged)).toBe(true);
  });

  it('refuses an SQLite database that belongs to another application', () => {
    const foreign = new Database(ensureDir(path));
    foreign.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5)");
    foreign.close();
    expect(() => open()).toThrow(/another application/);
    const check = new Database(path, { readonly: true });
    expect(check.prepare('SELECT total FROM invoices').pluck().all()).toEqual([9.5]);
    expect(check.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'tasks'").pluck().get()).toBe(0);
    check.close();
  });

  it('refuses a queue written by a newer schema version', () => {
    open().close();
    opened.length = 0;
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => open()).toThrow(/schema version 99.*newer release/);
  });

  it('checkpoints as it goes, so the WAL file stays bounded while tasks come and go', () => {
    const store = open();
    const body = new Uint8Array(1_000);
    // About 3 dirty pages per insert: several times SQLite's 1000-page auto-checkpoint threshold.
    for (let i = 0; i < 2_500; i += 1) store.insert(newTask(`t${i}`, { body }));
    for (let batch = store.claimDue(2_000, 50, 60_000); batch.length > 0; batch = store.claimDue(2_000, 50, 60_000)) {
      for (const task of batch) store.complete(task.id, 3_000);
    }
    const walBytes = statSync(`${path}-wal`).size;
    expect(walBytes).toBeLessThan(8 * 1024 * 1024);
    expect(statSync(path).size).toBeGreaterThan(1024 * 1024);
  });

  it('reports a lock held past the busy timeout as a clear error naming the file, and works once it is released', () => {
    const store = open({ busyTimeoutMs: 50 });
    store.insert(newTask('before'));
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    let error: unknown;
    try {
      store.insert(newTask('during'));
    } catch (caught) {
      error = caught;
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(error).toBeInstanceOf(QueueFileError);
    expect(error).toMatchObject({ problem: 'locked', path });
    expect((error as Error).message).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is locked by another process: waited 50 ms`));
    expect(store.insert(newTask('during'))).not.toBe('duplicate');
    expect(store.claimDue(2_000, 10, 1_000).map((t) => t.name)).toEqual(['before', 'during']);
  });

  it('keeps a task name unique per queue, not across queues', () => {
    const store = open();
    expect(store.insert(newTask('same', { queue: 'a' }))).not.toBe('duplicate');
    expect(store.insert(newTask('same', { queue: 'b' }))).not.toBe('duplicate');
    expect(store.insert(newTask('same', { queue: 'a' }))).toBe('duplicate');
    expect(store.size()).toBe(2);
  });

  it('works as a private in-memory store', () => {
    const store = new SqliteStore({ path: ':memory:' });
    try {
      store.insert(newTask('m'));
      expect(store.claimDue(2_000, 5, 1_000).map((t) => t.name)).toEqual(['m']);
    } finally {
      store.close();
    }
  });
});

function ensureDir(file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  return file;
}

/** Resolves `ready` at the child's "ready" line and `result` to its last line once it exits with code 0. */
function collectStdout(child: ChildProcess): { ready: Promise<void>; result: Promise<string> } {
  let text = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolveReady) => (markReady = resolveReady));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    text += chunk;
    if (text.startsWith('ready\n')) markReady();
  });
  const result = new Promise<string>((resolveResult, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolveResult(text.trim().split('\n').pop() ?? '');
      else reject(new Error(`claim worker exited with ${code}: ${text}`));
    });
  });
  return { ready, result };
}
