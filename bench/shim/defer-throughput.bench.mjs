// Durable defer() calls per second on the embedded (SQLite) backend, each call
// awaited before the next, as application code does. Baseline: the same calls
// on the in-memory backend in the same process (the cost of everything but the
// disk). Target: >= 5,000 calls/s.
import { median, quietLogger, report, tempDir } from './support.mjs';
import { importDist } from './support.mjs';

const CALLS = Number(process.env.BENCH_DEFER_CALLS ?? 20_000);
const ROUNDS = 3;
const { configure, defer, getRuntime, register } = await importDist('shim/index.js');

const sendWelcomeEmail = register(function sendWelcomeEmail(userId, profile) {
  return [userId, profile];
}, 'bench.sendWelcomeEmail');

async function callsPerSecond(backend, dataDir) {
  configure({ backend, dataDir, logger: quietLogger, mode: 'production' });
  const runtime = getRuntime();
  void runtime.backend; // open the store before timing
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i += 1) {
    await defer(sendWelcomeEmail, i, { plan: 'pro', since: new Date(0), tags: ['bench', String(i)] });
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await runtime.close();
  return CALLS / seconds;
}

const embedded = [];
const memory = [];
for (let round = 0; round < ROUNDS; round += 1) {
  embedded.push(await callsPerSecond('embedded', tempDir(`defer-${round}`)));
  memory.push(await callsPerSecond('memory', tempDir(`defer-memory-${round}`)));
}
report({
  name: `defer() on the embedded backend (${CALLS} awaited calls, median of ${ROUNDS})`,
  unit: 'calls/s',
  figure: median(embedded),
  baselineName: 'memory backend',
  baseline: median(memory),
  target: { atLeast: 5_000 },
});
