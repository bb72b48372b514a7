// The process the crash test kills. It configures the embedded backend on a
// data directory, wraps a tiny app, defers tasks t0..t{N-1} by name (a name that
// is already queued or finished is skipped, so every incarnation can simply
// defer them all again), lets the dispatcher run them until the queue is empty,
// then prints "done". Each task appends its id to the results file and fsyncs.
//
// Protocol on stdout, one line each: "enqueued <i>", "ran <i>", "done".
// argv: <dataDir> <resultsFile> <taskCount> <clockOffsetMs> [selfKillAfterRuns [selfKillAfterEnqueued]]
// A restarted incarnation gets a clock further ahead than the lease length, so
// the leases its killed predecessor held have expired (no sleeping). With
// selfKillAfterRuns = k (0: never) the process SIGKILLs itself inside its k-th
// task, after the task's work is on disk and before the dispatcher records it as
// done: the window between execution and acknowledgement. With
// selfKillAfterEnqueued = i (-1: never) it SIGKILLs itself once t<i> is enqueued,
// mid-way through its enqueue loop. That kill is the app's own, not the parent's,
// because the loop does not yield to the event loop: with a full stdout pipe the
// parent could see "enqueued <i>" only after the loop, and the app could run every
// task before the parent's kill arrived (docs/reliability.md).
import { appendFileSync, closeSync, fsyncSync, openSync } from 'node:fs';
import type { Logger } from '../../../shim/api/types.js';
import type { LocalBackend } from '../../../shim/backends/local/backend.js';
import { configure, defer, getRuntime, register, TaskAlreadyExistsError, wrapApp } from '../../../shim/index.js';

const [dataDir, resultsFile, countArg, offsetArg, afterRunsArg, afterEnqueuedArg] = process.argv.slice(2);
if (!dataDir || !resultsFile || !countArg || !offsetArg) {
  throw new Error('usage: crash-app.ts <dataDir> <resultsFile> <taskCount> <clockOffsetMs> [selfKillAfterRuns [selfKillAfterEnqueued]]');
}
const taskCount = Number(countArg);
const clockOffsetMs = Number(offsetArg);
const selfKillAfterRuns = afterRunsArg === undefined ? 0 : Number(afterRunsArg);
const selfKillAfterEnqueued = afterEnqueuedArg === undefined ? -1 : Number(afterEnqueuedArg);

const say = (line: string) => process.stdout.write(`${line}\n`);
const toStderr = (level: string) => (message: string, fields?: Record<string, unknown>) =>
  process.stderr.write(`[crash-app ${level}] ${message} ${fields ? JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.stack : v)) : ''}\n`);
const logError = toStderr('error');
const logger: Logger = {
  debug: () => {},
  info: () => {},
  warn: toStderr('warn'),
  // Re-deferring a name that exists is this program's normal path, not an error.
  error: (message, fields) => (fields?.error instanceof TaskAlreadyExistsError ? undefined : logError(message, fields)),
};

configure({ backend: 'embedded', dataDir, mode: 'production', logger, clock: { now: () => Date.now() + clockOffsetMs } });

let runs = 0;
const recordRun = register(function recordRun(id: number): void {
  const fd = openSync(resultsFile, 'a');
  try {
    appendFileSync(fd, `${id}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  runs += 1;
  say(`ran ${id}`);
  if (runs === selfKillAfterRuns) process.kill(process.pid, 'SIGKILL');
}, 'recordRun');

wrapApp(
  (_req: unknown, res: { statusCode: number; end(body: string): void }) => {
    res.statusCode = 404;
    res.end('not found');
  },
  { useDeferred: true },
);

for (let id = 0; id < taskCount; id += 1) {
  try {
    await defer(recordRun, id, { _name: `t${id}` });
  } catch (error) {
    if (!(error instanceof TaskAlreadyExistsError)) throw error;
  }
  say(`enqueued ${id}`);
  if (id === selfKillAfterEnqueued) process.kill(process.pid, 'SIGKILL');
}

const runtime = getRuntime();
const store = (runtime.backend as LocalBackend).store;
// Tasks a killed predecessor leased are due again under this incarnation's clock;
// if some never become due, fail loudly instead of hanging the test.
let lastProgressMs = Date.now();
while (store.size() > 0) {
  if ((await runtime.drain()) > 0) lastProgressMs = Date.now();
  else if (Date.now() - lastProgressMs > 10_000) {
    process.stderr.write(`[crash-app] stuck: ${store.size()} tasks left and none deliverable for 10 s\n`);
    process.exit(3);
  } else await new Promise((resolve) => setTimeout(resolve, 5));
}
await runtime.close();
say('done');
