// process.exit() with deliveries in flight (a cluster worker whose primary goes is exited so
// by Node, without the SIGTERM drain): finished deliveries are recorded and unfinished ones
// released at 'exit', instead of both staying leased for the 10-minute lease.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deferred-exit-leases-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

it('process.exit() records finished deliveries and releases the unfinished ones', () => {
  const shim = new URL('../../../shim/index.ts', import.meta.url).href;
  const script = `
    import http from 'node:http';
    const { configure, register, defer, wrapApp } = await import(${JSON.stringify(shim)});
    configure({ dataDir: process.argv[1], mode: 'development', logger: { debug() {}, info() {}, warn() {}, error() {} }, handleSignals: false });
    const fast = register(function fast() {});
    const slow = register(function slow() { return new Promise(() => {}); });
    http.createServer(wrapApp((req, res) => res.end('ok'), { useDeferred: true }));
    await defer(fast, { _name: 'fast' });
    await defer(slow, { _name: 'slow' });
    setTimeout(() => process.exit(0), 300);
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir], { encoding: 'utf8', timeout: 20_000 });
  expect(run.status, run.stderr).toBe(0);
  const db = new Database(join(dir, 'queue.sqlite'), { readonly: true });
  try {
    const rows = db.prepare('SELECT name, completed_ms IS NOT NULL AS done, lease_until_ms FROM tasks ORDER BY name').all();
    expect(rows).toEqual([
      { name: 'fast', done: 1, lease_until_ms: null },
      { name: 'slow', done: 0, lease_until_ms: null },
    ]);
  } finally {
    db.close();
  }
}, 30_000);
