// BullMQ's side of the peer bench: a `Queue` producer and a `Worker` with the
// same concurrency as our dispatcher (10), default job options (completed jobs
// are kept, as our tombstones are), against the redis-server peers.bench.mjs
// started. Usage (by peers.bench.mjs): node bullmq.mjs '<job json>'.
import { Queue, Worker } from 'bullmq';
import { createRequire } from 'node:module';
import { dueTimes, emit, inFlight, jobFromArgv, latenessStats, oneAtATime, taskArgs, timed, waitFor } from './child.mjs';

const job = jobFromArgv();
// ioredis, BullMQ's driver (an optional peer dependency of BullMQ 6), from where the parent found it.
const IORedis = createRequire(import.meta.url)(job.ioredis);
const QUEUE = 'peers';
const CONCURRENCY = 10;

const connections = [];
function connect() {
  // maxRetriesPerRequest: null is what BullMQ requires of a Worker's connection.
  const connection = new IORedis({ host: '127.0.0.1', port: job.port, maxRetriesPerRequest: null });
  connections.push(connection);
  return connection;
}

async function openQueue() {
  const queue = new Queue(QUEUE, { connection: connect() });
  await queue.waitUntilReady();
  return queue;
}

async function queued(queue) {
  const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

async function run() {
  switch (job.role) {
    case 'enqueue': {
      const queue = await openQueue();
      const one = (i) => queue.add('noop', { args: taskArgs(i) });
      const t = await timed(() => (job.window > 1 ? inFlight(job.count, job.window, one) : oneAtATime(job.count, one)));
      await queue.close();
      return { ...t, perSecond: job.count / t.seconds };
    }
    case 'drain': {
      const queue = await openQueue();
      if ((await queued(queue)) !== job.count) throw new Error(`expected ${job.count} queued jobs, found ${await queued(queue)}`);
      let ran = 0;
      const worker = new Worker(
        QUEUE,
        async () => {
          ran += 1;
        },
        { connection: connect(), concurrency: CONCURRENCY, autorun: false },
      );
      await worker.waitUntilReady();
      const t = await timed(async () => {
        void worker.run();
        await waitFor(async () => ran >= job.count && (await queued(queue)) === 0, { what: 'the queue to empty' });
      });
      await worker.close();
      await queue.close();
      if (ran !== job.count) throw new Error(`ran ${ran} jobs, expected ${job.count}`);
      return { ...t, perSecond: job.count / t.seconds };
    }
    case 'delay-worker': {
      const lateness = [];
      const worker = new Worker(
        QUEUE,
        async (j) => {
          lateness.push(Date.now() - j.data.dueMs);
        },
        { connection: connect(), concurrency: CONCURRENCY },
      );
      await worker.waitUntilReady();
      emit({ ready: true });
      await waitFor(() => lateness.length >= job.count, { everyMs: 50, what: 'the delayed jobs' });
      await worker.close();
      return latenessStats(lateness);
    }
    case 'delay-producer': {
      const queue = await openQueue();
      const due = dueTimes(job.count, Date.now(), job.leadMs, job.spreadMs);
      const t = await timed(() =>
        inFlight(job.count, job.window, (i) => queue.add('late', { i, dueMs: due[i] }, { delay: Math.max(0, due[i] - Date.now()) })),
      );
      await queue.close();
      return t;
    }
    default:
      throw new Error(`unknown role ${job.role}`);
  }
}

const result = await run();
// BullMQ leaves connections it was given open: ours to close.
for (const connection of connections) connection.disconnect();
emit({ result });
