// Our side of the peer bench: the shim on its default, embedded (SQLite) backend,
// in production mode (signed deliveries). Producers call `defer`; the worker is a
// wrapped Express app receiving tasks on the default URL, as an application does.
// Usage (by peers.bench.mjs): node ours.mjs '<job json>'; see run() for the roles.
import express from 'express';
import { importDist } from '../shim/support.mjs';
import { dueTimes, emit, inFlight, jobFromArgv, latenessStats, oneAtATime, taskArgs, timed, waitFor } from './child.mjs';

const job = jobFromArgv();
const { configure, defer, getRuntime, register, wrapApp } = await importDist('shim/index.js');
const silent = { debug() {}, info() {}, warn: (m, f) => console.error('warn:', m, f ?? ''), error: (m, f) => console.error('error:', m, f ?? '') };
configure({ backend: 'embedded', dataDir: job.dataDir, logger: silent, logLevel: 'debug', mode: 'production' });

let ran = 0;
const lateness = [];
const noop = register(function noop(_i, _label) {
  ran += 1;
}, 'peers.noop');
const late = register(function late(_i, dueMs) {
  lateness.push(Date.now() - dueMs);
}, 'peers.late');

/** The queue as the worker sees it: leased or waiting tasks, none finished. */
function queued() {
  return getRuntime().backend.store.size();
}

/** A wrapped Express app with one ordinary route: the shim delivers tasks to it in process. */
function startWorker() {
  const app = express();
  app.get('/', (_req, res) => res.send('home'));
  return wrapApp(app, { useDeferred: true });
}

async function run() {
  switch (job.role) {
    case 'enqueue': {
      void getRuntime().backend; // open the queue file before timing
      const one = (i) => defer(noop, ...taskArgs(i));
      const t = await timed(() => (job.window > 1 ? inFlight(job.count, job.window, one) : oneAtATime(job.count, one)));
      await getRuntime().close();
      return { ...t, perSecond: job.count / t.seconds };
    }
    case 'drain': {
      void getRuntime().backend;
      if (queued() !== job.count) throw new Error(`expected ${job.count} queued tasks, found ${queued()}`);
      const t = await timed(async () => {
        startWorker();
        await waitFor(() => ran >= job.count && queued() === 0, { what: 'the queue to empty' });
      });
      await getRuntime().close();
      if (ran !== job.count) throw new Error(`ran ${ran} tasks, expected ${job.count}`);
      return { ...t, perSecond: job.count / t.seconds };
    }
    case 'delay-worker': {
      startWorker();
      void getRuntime().backend;
      emit({ ready: true });
      await waitFor(() => lateness.length >= job.count, { everyMs: 50, what: 'the delayed tasks' });
      await getRuntime().close();
      return latenessStats(lateness);
    }
    case 'delay-producer': {
      void getRuntime().backend;
      const due = dueTimes(job.count, Date.now(), job.leadMs, job.spreadMs);
      const t = await timed(() => inFlight(job.count, job.window, (i) => defer(late, i, due[i], { _eta: new Date(due[i]) })));
      await getRuntime().close();
      return t;
    }
    default:
      throw new Error(`unknown role ${job.role}`);
  }
}

emit({ result: await run() });
