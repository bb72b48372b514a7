// Child process for the two-process claim test: opens the shared queue file,
// says "ready", waits for "go" on stdin (so that both processes start claiming
// together), claims and completes tasks (waiting, after its first batch, until
// the other process has completed one too) until the queue is empty, then prints
// the names it claimed as JSON. It pauses a millisecond between batches, as the
// dispatcher yields to the event loop between claims; without the pause one
// process can win every lock on a loaded machine and the other never claims.
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteStore } from '../../../shim/backends/local/sqlite-store.js';

const [path, totalArg] = process.argv.slice(2);
if (!path || !totalArg) throw new Error('usage: claim-worker.ts <queue file> <task count>');
const total = Number(totalArg);

const store = new SqliteStore({ path, busyTimeoutMs: 10_000 });
process.stdout.write('ready\n');
await once(process.stdin, 'data');
process.stdin.pause();

const claimed: string[] = [];
let waitedForPeer = false;
for (;;) {
  const batch = store.claimDue(Date.now(), 5, 600_000);
  if (batch.length === 0 && store.size() === 0) break;
  for (const task of batch) {
    claimed.push(task.name);
    store.complete(task.id, Date.now());
  }
  // A barrier after the first batch: go on once the other process has completed a task too,
  // so that both take part however the machine schedules them (give up after 30 s: the
  // test then fails on its own assertion).
  if (!waitedForPeer && claimed.length > 0) {
    waitedForPeer = true;
    const giveUpAt = Date.now() + 30_000;
    while (total - store.size() <= claimed.length && store.size() > 0 && Date.now() < giveUpAt) await sleep(1);
  }
  await sleep(1);
}
store.close();
process.stdout.write(`${JSON.stringify(claimed)}\n`);
