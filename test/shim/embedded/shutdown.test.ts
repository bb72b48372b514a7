// Graceful shutdown with a real process and a real signal: on SIGTERM the app
// stops claiming, lets the task in flight finish within the deadline (or hands it
// back to the queue at the deadline, claimable at once), then exits as Node
// would, or leaves the exit to the app's own handler.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../../shim/backends/local/sqlite-store.js';
import { startOpsApp, type OpsApp } from '../../cli/ops/app-process.js';

let dataDir: string;
let app: OpsApp | undefined;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'shutdown-'));
});
afterEach(async () => {
  await app?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function stateOf(name: string): { state: string; leaseUntilMs?: number } | undefined {
  const store = new SqliteStore({ path: join(dataDir, 'queue.sqlite') });
  try {
    return store.findTasks(name, undefined, Date.now())[0];
  } finally {
    store.close();
  }
}

describe('graceful shutdown on SIGTERM', () => {
  it('lets the task in flight finish, claims nothing more, then exits by the signal as Node would', async () => {
    app = await startOpsApp(dataDir, { OPS_APP_DEADLINE_MS: '20000' });
    app.send('slow s1 1500');
    await app.waitFor('started s1');
    app.child.kill('SIGTERM');
    await app.waitFor('log SIGTERM received: delivering no more tasks, letting running ones finish (up to 20000 ms)');
    app.send('count late work');
    await app.waitFor('enqueued late');
    await app.waitFor('ran slow s1');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(app.lines).not.toContain('ran count late');
    expect(stateOf('s1')?.state).toBe('done');
    // Enqueued during the drain: kept for the next process, not run by this one.
    expect(stateOf('late')?.state).toBe('pending');
  });

  it('hands back a task still running at the deadline, so another process claims it at once', async () => {
    app = await startOpsApp(dataDir, { OPS_APP_DEADLINE_MS: '300' });
    app.send('slow s2 60000');
    await app.waitFor('started s2');
    const signalled = Date.now();
    app.child.kill('SIGTERM');
    expect(await app.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - signalled).toBeLessThan(15_000);
    expect(app.lines).not.toContain('ran slow s2');
    const record = stateOf('s2');
    expect(record?.state).toBe('pending');
    expect(record?.leaseUntilMs).toBeUndefined();
    // A second app claims it right away (the lease would have held it for 10 minutes).
    app = await startOpsApp(dataDir);
    await app.waitFor('started s2');
  });

  it("cooperates with the app's own SIGTERM handler: the app decides when to exit", async () => {
    app = await startOpsApp(dataDir, { OPS_APP_DEADLINE_MS: '20000', OPS_APP_OWN_HANDLER: '1' });
    app.send('slow s3 1000');
    await app.waitFor('started s3');
    app.child.kill('SIGTERM');
    await app.waitFor('app handler');
    await app.waitFor('app handler done');
    expect(await app.exited).toEqual({ code: 0, signal: null });
    // The app's handler awaited the same drain: the task finished first.
    expect(app.lines.indexOf('ran slow s3')).toBeLessThan(app.lines.indexOf('app handler done'));
    expect(stateOf('s3')?.state).toBe('done');
  });
});
