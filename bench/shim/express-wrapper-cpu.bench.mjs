// What wrapApp costs an Express app per request that is not a task: CPU per request
// of a wrapped app against the same app unwrapped, in ONE process, alternating blocks
// of requests between the two. Target: the wrapped app within 3% (plain CPU / wrapped
// CPU >= 0.97), reported as the mean of per-pair ratios with its 95% confidence interval.
//
// Why one process: two processes running identical code differ by several percent for
// their whole life, and this 2-core VM's host drifts by ±20% between seconds
// (docs/performance.md), so a whole-process comparison (express-overhead.bench.mjs,
// kept for information) cannot resolve 3% here. In one process both apps share the
// heap, the JIT and the host's mood; alternating short blocks in ABBA order cancels
// drift. Requests go through Node's own HTTP server and client over in-memory streams
// (the shim's in-process HTTP), so both apps get real request and response objects.
// The wrapped app has run a task through its deferred endpoint first, so whatever
// running tasks leaves behind is included.
// BENCH_WRAPPER_PAIRS (40), BENCH_WRAPPER_BLOCK (250 requests), BENCH_WRAPPER_WARMUP (2000).
import express from 'express';
import os from 'node:os';
import { importDist, meanWithInterval, quietLogger, tempDir } from './support.mjs';

const PAIRS = Number(process.env.BENCH_WRAPPER_PAIRS ?? 40);
const BLOCK = Number(process.env.BENCH_WRAPPER_BLOCK ?? 250);
const WARMUP = Number(process.env.BENCH_WRAPPER_WARMUP ?? 2_000);
const { configure, defer, getRuntime, register, wrapApp } = await importDist('shim/index.js');
const { requestInProcess } = await importDist('shim/adapters/in-process-http.js');

function makeApp() {
  const app = express();
  app.use(express.json());
  app.get('/api/items/:id', (req, res) => {
    res.json({ id: req.params.id, name: `item ${req.params.id}`, tags: ['a', 'b'], price: 12.5 });
  });
  return app;
}

configure({ backend: 'embedded', dataDir: tempDir('wrapper-cpu'), logger: quietLogger, mode: 'production' });
const plain = makeApp();
const wrapped = wrapApp(makeApp(), { useDeferred: true });
let ran;
const taskRan = new Promise((resolve) => (ran = resolve));
const warmUpTask = register(function warmUpTask(value) {
  ran(value);
}, 'bench.wrapperWarmUp');
await defer(warmUpTask, 'warm');
if ((await taskRan) !== 'warm') throw new Error('the warm-up task did not run');

const REQUEST = { method: 'GET', url: '/api/items/42', headers: { accept: 'application/json' }, body: new Uint8Array(0), remoteAddress: '127.0.0.1' };

async function requests(app, count) {
  for (let i = 0; i < count; i += 1) {
    const response = await requestInProcess(app, REQUEST);
    if (response.status !== 200) throw new Error(`GET ${REQUEST.url} answered ${response.status}`);
  }
}

/** CPU µs per request over one block of `BLOCK` sequential requests. */
async function block(app) {
  const before = process.cpuUsage();
  await requests(app, BLOCK);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / BLOCK;
}

/**
 * One pair: blocks of `a` and `b` in ABBA order (BAAB on odd pairs), so that drift within
 * the pair cancels; returns the CPU per request of each and their ratio a/b.
 */
async function pair(a, b, index) {
  const [first, second] = index % 2 === 0 ? [a, b] : [b, a];
  const cpu = new Map([
    [a, 0],
    [b, 0],
  ]);
  for (const app of [first, second, second, first]) cpu.set(app, cpu.get(app) + (await block(app)) / 2);
  return { a: cpu.get(a), b: cpu.get(b), ratio: cpu.get(a) / cpu.get(b) };
}

if (PAIRS < 2) throw new Error('BENCH_WRAPPER_PAIRS must be at least 2');
const twin = makeApp(); // A/A control: a second plain app, identical code
const loadBefore = os.loadavg()[0];
for (const app of [plain, twin, wrapped]) await requests(app, WARMUP);
const pairs = [];
const controls = [];
for (let index = 0; index < PAIRS; index += 1) {
  pairs.push(await pair(plain, wrapped, index));
  controls.push(await pair(plain, twin, index));
}
const ratios = pairs.map((p) => p.ratio);
const plainCpu = pairs.map((p) => p.a);
const wrappedCpu = pairs.map((p) => p.b);
const control = controls.map((p) => p.ratio);
await getRuntime().close();

const result = meanWithInterval(ratios);
const aa = meanWithInterval(control);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const met = result.mean >= 0.97;
console.log(
  `wrapped Express app, CPU per request passing through, one process, ${PAIRS} pairs of ${BLOCK}-request blocks alternating with the plain app: ` +
    `ratio plain/wrapped ${result.mean.toFixed(3)} (95% CI ${result.low.toFixed(3)} to ${result.high.toFixed(3)}) | ` +
    `median µs per request: plain ${median(plainCpu).toFixed(1)}, wrapped ${median(wrappedCpu).toFixed(1)} | target ratio >= 0.97: ${met ? 'met' : 'MISSED'}` +
    `${met && result.low < 0.97 ? ' (the interval reaches below 0.97)' : ''}`,
);
console.log(`  A/A control, plain / an identical plain app, same method: ${aa.mean.toFixed(3)} (95% CI ${aa.low.toFixed(3)} to ${aa.high.toFixed(3)}); load average ${loadBefore.toFixed(2)} before, ${os.loadavg()[0].toFixed(2)} after`);
