// Faults of the embedded backend beyond SIGKILL (which test/shim/embedded/crash.test.ts
// covers at enqueue, dispatch and ack): a corrupted or truncated queue file, a
// queue file locked by another process, the app down while tasks come due, and
// clock jumps. The process under test is the crash test's own child,
// test/shim/embedded/crash-app.ts (defers t0..t{N-1} by name, runs them to an
// empty queue, each run appended to a results file). Nothing may be lost;
// duplicates only where at-least-once delivery allows, and they are counted.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Handler } from '../../shim/api/handler.js';
import { clearRegistry, register } from '../../shim/api/registry.js';
import { nodeListenerTarget } from '../../shim/adapters/inject.js';
import { EMBEDDED_QUEUE_FILE } from '../../shim/backends/index.js';
import type { LocalBackend } from '../../shim/backends/local/backend.js';
import { defer } from '../../shim/api/defer.js';
import { ManualClock } from '../../shim/runtime/clock.js';
import { configure, getRuntime, resetRuntime } from '../../shim/runtime/runtime.js';
import { recordingLogger } from '../shim/core/helpers.js';
import { scaled } from './support/scale.js';
import { runCrashApp, type CrashAppRun } from '../shim/embedded/crash-app-process.js';

const TASKS = scaled(80, 2_000);
/** SqliteStore's default busy timeout: a writer waits this long for a lock before failing. */
const BUSY_TIMEOUT_MS = 5_000;

const root = mkdtempSync(join(tmpdir(), 'dm-faults-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let caseCounter = 0;
function freshCase(): { dataDir: string; results: string; queueFile: string } {
  const dir = join(root, `case-${++caseCounter}`);
  return { dataDir: join(dir, 'data'), results: join(dir, 'results.txt'), queueFile: join(dir, 'data', EMBEDDED_QUEUE_FILE) };
}

type Run = CrashAppRun;

/** One crash-app process; `onLine` sees each stdout line (and may kill it). */
function runApp(dataDir: string, results: string, clockOffsetMs: number, onLine: (line: string, kill: () => void) => void = () => {}): Promise<Run> {
  return runCrashApp({ dataDir, results, tasks: TASKS, clockOffsetMs }, onLine);
}

/** Run counts per task id from the results file. */
function runCounts(results: string): Map<number, number> {
  const counts = new Map<number, number>();
  if (!existsSync(results)) return counts;
  for (const line of readFileSync(results, 'utf8').split('\n')) {
    if (line === '') continue;
    counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  }
  return counts;
}

function expectAllRan(results: string, maxDuplicates: number, context: string): { runs: number; duplicates: number } {
  const counts = runCounts(results);
  const missing = Array.from({ length: TASKS }, (_, id) => id).filter((id) => !counts.has(id));
  expect(missing, `tasks never run (${context})`).toEqual([]);
  expect([...counts.keys()].filter((id) => id < 0 || id >= TASKS), `unknown ids (${context})`).toEqual([]);
  const runs = [...counts.values()].reduce((a, b) => a + b, 0);
  const duplicates = runs - counts.size;
  expect(duplicates, `duplicates (${context})`).toBeLessThanOrEqual(maxDuplicates);
  console.log(`embedded faults, ${context}: ${TASKS} tasks, ${runs} runs, ${duplicates} duplicates`);
  return { runs, duplicates };
}

/**
 * Plays the app before an outage, in this process: defers t0..t{N-1} of crash-app's
 * `recordRun` (by name, so crash-app's own re-defers are refused) and stops.
 */
async function seedQueue(dataDir: string, countdownSeconds: (id: number) => number = () => 0): Promise<void> {
  clearRegistry();
  const recordRun = register(function recordRun(_id: number) {
    throw new Error('must not run in the deferring process');
  }, 'recordRun');
  configure({ backend: 'embedded', dataDir, mode: 'production', logger: recordingLogger() });
  for (let id = 0; id < TASKS; id += 1) await defer(recordRun, id, { _name: `t${id}`, _countdown: countdownSeconds(id) });
  expect((getRuntime().backend as LocalBackend).store.size()).toBe(TASKS);
  await resetRuntime();
  clearRegistry();
}

/** Holds SQLite's write lock on `file` from another connection until `release()`. */
function lockQueue(file: string): { release(): void } {
  const db = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  db.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      db.exec('COMMIT');
      db.close();
    },
  };
}

describe('a corrupted queue file', () => {
  it('is refused at startup with an error naming the file, and left byte for byte untouched', async () => {
    const { dataDir, results, queueFile } = freshCase();
    const garbage = Buffer.concat([Buffer.from('this is not a database\n'), Buffer.alloc(8192, 0xa5)]);
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(queueFile, garbage);
    const run = await runApp(dataDir, results, 0);
    expect(run.code, run.stderr).not.toBe(0);
    expect(run.stderr).toContain(queueFile);
    expect(run.stderr).toMatch(/is not an SQLite database.*left untouched/s);
    expect(run.stdout.filter((line) => line.startsWith('ran '))).toEqual([]);
    expect(readFileSync(queueFile).equals(garbage)).toBe(true);
  });

  it('is refused when truncated mid-file while holding tasks, keeping the file so the tasks can be recovered', async () => {
    const { dataDir, results, queueFile } = freshCase();
    await seedQueue(dataDir);
    // Fold the WAL into the main file so that truncating it really cuts tasks in half.
    const db = new Database(queueFile);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const backup = join(dataDir, '..', 'queue-backup.sqlite');
    copyFileSync(queueFile, backup);
    truncateSync(queueFile, Math.floor(statSync(queueFile).size / 2));
    const damaged = readFileSync(queueFile);

    const run = await runApp(dataDir, results, 0);
    expect(run.code, run.stderr).not.toBe(0);
    expect(run.stderr).toContain(queueFile);
    expect(run.stderr).toMatch(/not a readable SQLite database|is not an SQLite database/);
    expect(run.stdout.filter((line) => line.startsWith('ran '))).toEqual([]);
    expect(readFileSync(queueFile).equals(damaged)).toBe(true);

    // The operator puts the intact copy back: every task still runs, once.
    copyFileSync(backup, queueFile);
    const recovered = await runApp(dataDir, results, 0);
    expect(recovered.code, recovered.stderr).toBe(0);
    expectAllRan(results, 0, 'truncated queue file, then restored');
  });
});

describe('a queue file locked by another process', () => {
  it('waits out a lock shorter than the busy timeout at startup and mid-dispatch, losing nothing', async () => {
    const { dataDir, results, queueFile } = freshCase();
    await seedQueue(dataDir);
    let lock: { release(): void } | undefined = lockQueue(queueFile);
    setTimeout(() => {
      lock?.release();
      lock = undefined;
    }, 1_000);
    let midLock = false;
    const run = await runApp(dataDir, results, 0, (line) => {
      if (line !== 'ran 20' || midLock) return;
      // Taken while the dispatcher is busy: its claims and acknowledgements must wait, not fail.
      midLock = true;
      const held = lockQueue(queueFile);
      setTimeout(() => held.release(), 1_000);
    });
    expect(run.code, run.stderr).toBe(0);
    expect(midLock).toBe(true);
    expectAllRan(results, 0, 'lock shorter than the busy timeout');
  });

  it('fails a lock held past the busy timeout with a clear error, and a restart runs every task', async () => {
    const { dataDir, results, queueFile } = freshCase();
    await seedQueue(dataDir);
    const lock = lockQueue(queueFile);
    let run: Run;
    try {
      run = await runApp(dataDir, results, 0);
    } finally {
      lock.release();
    }
    expect(run.code, run.stderr).not.toBe(0);
    expect(run.stderr).toMatch(/locked/);
    // As clear as the corrupted-file error: which file, and what to do about it.
    expect(run.stderr, run.stderr).toContain(queueFile);
    expect(run.stdout.filter((line) => line.startsWith('ran '))).toEqual([]);
    const restarted = await runApp(dataDir, results, 0);
    expect(restarted.code, restarted.stderr).toBe(0);
    expectAllRan(results, 0, 'lock past the busy timeout, then restart');
  }, 60_000);
});

describe('the app down while tasks come due', () => {
  afterEach(async () => {
    await resetRuntime();
    clearRegistry();
  });

  it('delivers every task that came due while no process ran, once, on the next start', async () => {
    const { dataDir, results } = freshCase();
    await seedQueue(dataDir, (id) => 3600 + (id % 60));

    // Two hours later (the clock offset), the app starts again: crash-app re-defers the same names (refused) and drains.
    const run = await runApp(dataDir, results, 2 * 3600_000);
    expect(run.code, run.stderr).toBe(0);
    expectAllRan(results, 0, 'app down while tasks came due');
  });
});

describe('clock jumps', () => {
  afterEach(async () => {
    await resetRuntime();
    clearRegistry();
  });

  it('a forward jump delivers what is overdue once; a backward jump delivers nothing early; nothing is lost', async () => {
    const { dataDir } = freshCase();
    clearRegistry();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const runs = new Map<number, number>();
    const task = register(function jumpTask(id: number) {
      runs.set(id, (runs.get(id) ?? 0) + 1);
    }, 'jumpTask');
    configure({ backend: 'embedded', dataDir, mode: 'production', clock, logger: recordingLogger() });
    getRuntime().attach(nodeListenerTarget(new Handler()));
    const count = scaled(300, 3_000);
    for (let id = 0; id < count; id += 1) await defer(task, id, { _countdown: 60 * (1 + (id % 10)) });
    await getRuntime().drain();
    expect(runs.size).toBe(0);

    // Backwards by a day: still nothing is due.
    clock.set(clock.now() - 24 * 3600_000);
    await getRuntime().drain();
    expect(runs.size).toBe(0);
    // Forward by a year: everything is overdue and runs once.
    clock.set(clock.now() + 365 * 24 * 3600_000);
    await getRuntime().drain();
    expect(runs.size).toBe(count);
    expect([...runs.values()].every((n) => n === 1)).toBe(true);
    expect((getRuntime().backend as LocalBackend).store.size()).toBe(0);
  });

  it('a forward jump past the lease while a task is in flight delivers it again (at-least-once), and the duplicate is counted', async () => {
    const { dataDir } = freshCase();
    clearRegistry();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    let runsOfSlow = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const slow = register(async function slowTask() {
      runsOfSlow += 1;
      if (runsOfSlow === 1) await finished;
    }, 'slowTask');
    configure({ backend: 'embedded', dataDir, mode: 'production', clock, logger: recordingLogger() });
    getRuntime().attach(nodeListenerTarget(new Handler()));
    await defer(slow, { _name: 'slow' });
    // Let the first delivery start, then jump past the 10-minute lease while it runs.
    for (let i = 0; i < 100 && runsOfSlow === 0; i += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(runsOfSlow).toBe(1);
    clock.advance(11 * 60_000);
    for (let i = 0; i < 100 && runsOfSlow === 1; i += 1) await new Promise((resolve) => setImmediate(resolve));
    finish();
    await getRuntime().drain();
    // The jump made the lease look expired: one duplicate, which at-least-once permits. Then the task is done.
    expect(runsOfSlow).toBe(2);
    expect((getRuntime().backend as LocalBackend).store.size()).toBe(0);
    console.log(`embedded faults, clock jump past the lease of a task in flight: ${runsOfSlow} runs of one task (1 duplicate)`);
  });
});
