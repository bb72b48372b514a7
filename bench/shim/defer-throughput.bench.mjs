// Durable defer() calls per second on the embedded (SQLite) backend, each call
// awaited before the next, as application code does. Baseline: the same calls
// on the in-memory backend in the same process (everything but the disk).
// Target: >= 5,000 calls/s. Also printed: calls per CPU-second, which a busy
// shared machine disturbs less than wall-clock rates.
import { importDist, measure, median, quietLogger, report, tempDir } from './support.mjs';

const CALLS = Number(process.env.BENCH_DEFER_CALLS ?? 20_000);
const ROUNDS = 3;
const { configure, defer, getRuntime, register } = await importDist('shim/index.js');

const sendWelcomeEmail = register(function sendWelcomeEmail(userId, profile) {
  return [userId, profile];
}, 'bench.sendWelcomeEmail');

async function run(backend, dataDir) {
  configure({ backend, dataDir, logger: quietLogger, mode: 'production' });
  const runtime = getRuntime();
  void runtime.backend; // open the store before timing
  const { wallSeconds, cpuSeconds } = await measure(async () => {
    for (let i = 0; i < CALLS; i += 1) {
      await defer(sendWelcomeEmail, i, { plan: 'pro', since: new Date(0), tags: ['bench', String(i)] });
    }
  });
  await runtime.close();
  return { perSecond: CALLS / wallSeconds, perCpuSecond: CALLS / cpuSeconds };
}

const embedded = [];
const memory = [];
for (let round = 0; round < ROUNDS; round += 1) {
  embedded.push(await run('embedded', tempDir(`defer-${round}`)));
  memory.push(await run('memory', tempDir(`defer-memory-${round}`)));
}
report({
  name: `defer() on the embedded backend (${CALLS} awaited calls, median of ${ROUNDS})`,
  unit: 'calls/s',
  figure: median(embedded.map((r) => r.perSecond)),
  baselineName: 'memory backend',
  baseline: median(memory.map((r) => r.perSecond)),
  target: { atLeast: 5_000 },
});
console.log(
  `  per CPU-second: embedded ${Math.round(median(embedded.map((r) => r.perCpuSecond)))}, memory ${Math.round(median(memory.map((r) => r.perCpuSecond)))}`,
);
