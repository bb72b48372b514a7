// Tasks run end to end per second: the dispatcher claims due tasks from the
// embedded (SQLite) queue, injects each as a signed POST into a wrapped Express
// app in process, the Handler verifies, decodes and runs it, and the task is
// completed in the store. The tasks are queued first; the clock starts when the
// app is wrapped (which attaches the dispatcher). Baseline: the same flow on the
// in-memory backend in the same process. Target: >= 500 tasks/s.
import express from 'express';
import { importDist, measure, median, quietLogger, report, tempDir } from './support.mjs';

const TASKS = Number(process.env.BENCH_DISPATCH_TASKS ?? 5_000);
const ROUNDS = 3;
const { configure, defer, getRuntime, register, wrapApp } = await importDist('shim/index.js');
const { resetRuntime } = await importDist('shim/runtime/runtime.js');

let ran = 0;
let allRan = () => {};
const recordOrder = register(function recordOrder(orderId, lines) {
  if (typeof orderId !== 'number' || !Array.isArray(lines)) throw new Error('bad arguments');
  ran += 1;
  if (ran === TASKS) allRan();
}, 'bench.recordOrder');

async function run(backend, dataDir) {
  // Forget the previous round's app: still the delivery target, it would run this round's
  // tasks while they are being queued, before the clock starts.
  await resetRuntime();
  configure({ backend, dataDir, logger: quietLogger, mode: 'production' });
  const runtime = getRuntime();
  for (let i = 0; i < TASKS; i += 1) await defer(recordOrder, i, [{ sku: 'A-1', qty: 2 }]);
  ran = 0;
  const allDone = new Promise((resolve) => (allRan = resolve));
  const app = express();
  app.get('/', (_req, res) => res.send('home'));
  const { wallSeconds, cpuSeconds } = await measure(async () => {
    wrapApp(app, { useDeferred: true });
    await allDone;
  });
  await runtime.drain();
  await runtime.close();
  return { perSecond: TASKS / wallSeconds, perCpuSecond: TASKS / cpuSeconds };
}

const embedded = [];
const memory = [];
for (let round = 0; round < ROUNDS; round += 1) {
  embedded.push(await run('embedded', tempDir(`dispatch-${round}`)));
  memory.push(await run('memory', tempDir(`dispatch-memory-${round}`)));
}
report({
  name: `tasks run end to end on the embedded backend through a wrapped Express app (${TASKS} tasks, median of ${ROUNDS})`,
  unit: 'tasks/s',
  figure: median(embedded.map((r) => r.perSecond)),
  baselineName: 'memory backend',
  baseline: median(memory.map((r) => r.perSecond)),
  target: { atLeast: 500 },
});
console.log(
  `  per CPU-second: embedded ${Math.round(median(embedded.map((r) => r.perCpuSecond)))}, memory ${Math.round(median(memory.map((r) => r.perCpuSecond)))}`,
);
