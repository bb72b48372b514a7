// Tasks run end to end per second: the dispatcher claims due tasks from the
// embedded (SQLite) queue, injects each as a signed POST into a wrapped Express
// app in process, the Handler verifies, decodes and runs it, and the task is
// completed in the store. The tasks are queued first, then the app is wrapped
// and the clock starts. Baseline: the same flow on the in-memory backend in the
// same process. Target: >= 500 tasks/s.
import express from 'express';
import { median, quietLogger, report, tempDir } from './support.mjs';
import { importDist } from './support.mjs';

const TASKS = Number(process.env.BENCH_DISPATCH_TASKS ?? 5_000);
const ROUNDS = 3;
const { configure, defer, getRuntime, register, wrapApp } = await importDist('shim/index.js');

let ran = 0;
let allRan = () => {};
const recordOrder = register(function recordOrder(orderId, lines) {
  if (typeof orderId !== 'number' || !Array.isArray(lines)) throw new Error('bad arguments');
  ran += 1;
  if (ran === TASKS) allRan();
}, 'bench.recordOrder');

async function tasksPerSecond(backend, dataDir) {
  configure({ backend, dataDir, logger: quietLogger, mode: 'production' });
  const runtime = getRuntime();
  for (let i = 0; i < TASKS; i += 1) await defer(recordOrder, i, [{ sku: 'A-1', qty: 2 }]);
  ran = 0;
  const done = new Promise((resolve) => (allRan = resolve));
  const app = express();
  app.get('/', (_req, res) => res.send('home'));
  const start = process.hrtime.bigint();
  wrapApp(app, { useDeferred: true });
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await runtime.drain();
  await runtime.close();
  return TASKS / seconds;
}

const embedded = [];
const memory = [];
for (let round = 0; round < ROUNDS; round += 1) {
  embedded.push(await tasksPerSecond('embedded', tempDir(`dispatch-${round}`)));
  memory.push(await tasksPerSecond('memory', tempDir(`dispatch-memory-${round}`)));
}
report({
  name: `tasks run end to end on the embedded backend through a wrapped Express app (${TASKS} tasks, median of ${ROUNDS})`,
  unit: 'tasks/s',
  figure: median(embedded),
  baselineName: 'memory backend',
  baseline: median(memory),
  target: { atLeast: 500 },
});
