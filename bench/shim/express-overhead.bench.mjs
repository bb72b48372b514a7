// Server CPU per request of an Express app wrapped with wrapApp(app, {useDeferred: true})
// against the same app unwrapped, each in its own process, on a route that is not the
// deferred path (the traffic wrapApp must pass through). Information, not a target:
// on this VM whole processes differ by more than the 3% to resolve (docs/performance.md);
// the target is measured in one process by express-wrapper-cpu.bench.mjs.
//
// Why it is measured this way (each point was seen on the 2-core VM this was written on):
// - Two processes running identical code differ by up to ±4% in CPU per request
//   for their whole life (JIT and memory-layout luck), so one pair of processes
//   cannot resolve 3%. The bench starts PAIRS fresh pairs, alternating which starts
//   first, and reports the mean of the per-pair ratios with a 95% confidence interval.
// - Identical rounds of one server, run one after the other, differ by ±20% (the VM
//   is not alone on its host). Both servers of a pair are therefore loaded at the same
//   time, pinned to the same CPU, so whatever slows that CPU slows both; the load
//   generator (this process) runs on the other CPU.
// - An A/A control (plain vs plain, same procedure, same run) prints how far from 1
//   the method lands when there is nothing to find.
// BENCH_EXPRESS_CANDIDATE=imported|configured compares a step of the wrapped app's
// setup with the plain app instead (see express-app.mjs).
// BENCH_EXPRESS_BASELINE=imported|configured compares against a later step instead of
// the plain app: e.g. configured vs wrapped is what the wrapApp call alone costs.
// BENCH_EXPRESS_METHOD=alone loads one server of a pair at a time instead
// (BENCH_EXPRESS_SLICES one-second slices each, default 8, in ABBA order): a check
// that sharing a CPU is not what makes the difference.
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { meanWithInterval, median } from './support.mjs';

const PAIRS = Number(process.env.BENCH_EXPRESS_PAIRS ?? 12);
const ROUNDS = Number(process.env.BENCH_EXPRESS_ROUNDS ?? 2);
/** together: both servers loaded at once on one CPU; alone: one at a time, ABBA order, 1 s slices. */
const METHOD = process.env.BENCH_EXPRESS_METHOD ?? 'together';
if (!['together', 'alone'].includes(METHOD)) throw new Error('BENCH_EXPRESS_METHOD must be together or alone');
const SLICES = Number(process.env.BENCH_EXPRESS_SLICES ?? 8);
const SECONDS = Number(process.env.BENCH_EXPRESS_SECONDS ?? 2);
const CANDIDATE = process.env.BENCH_EXPRESS_CANDIDATE ?? 'wrapped';
const BASELINE = process.env.BENCH_EXPRESS_BASELINE ?? 'plain';
const STEPS = ['plain', 'imported', 'configured', 'wrapped'];
const CONNECTIONS = 25; // per server
const SERVER = fileURLToPath(new URL('./express-app.mjs', import.meta.url));

const PIN = os.cpus().length >= 2 && spawnSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' }).status === 0;

async function startServer(variant) {
  const child = PIN
    ? spawn('taskset', ['-c', '1', process.execPath, SERVER, variant], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, [SERVER, variant], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new Error(`the ${variant} server exited (${signal ?? `code ${code}`}) before listening`);
  });
  const [chunk] = await Promise.race([once(child.stdout, 'data'), exited]);
  exited.catch(() => {}); // exits after the measurements are expected
  const port = Number(String(chunk).trim());
  if (!Number.isInteger(port)) {
    child.kill('SIGTERM');
    throw new Error(`${variant} server did not report a port: ${chunk}`);
  }
  return { variant, child, url: `http://127.0.0.1:${port}` };
}

async function stopServer({ child }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

async function serverCpuMicros(url) {
  const response = await fetch(`${url}/__cpu`);
  return (await response.json()).micros;
}

/** The comparison is only meaningful if the wrapped app really serves the deferred path and the plain one does not. */
async function checkDeferredPath(server) {
  const response = await fetch(`${server.url}/_ah/queue/deferred`, { method: 'POST', body: 'x' });
  await response.arrayBuffer();
  const expected = server.variant === 'wrapped' ? 403 : 404; // only the wrapped app serves it
  if (response.status !== expected) {
    throw new Error(`the ${server.variant} app answered the deferred path with ${response.status}, expected ${expected}`);
  }
}

/** Loads both servers at once for `seconds`; per server: requests and CPU µs per request. */
async function loadTogether(servers, seconds) {
  const cpuBefore = await Promise.all(servers.map((s) => serverCpuMicros(s.url)));
  const results = await Promise.all(
    servers.map((s) => autocannon({ url: `${s.url}/api/items/42`, connections: CONNECTIONS, pipelining: 1, duration: seconds })),
  );
  const cpuAfter = await Promise.all(servers.map((s) => serverCpuMicros(s.url)));
  return results.map((result, i) => {
    if (result.errors > 0 || result.non2xx > 0) throw new Error(`${servers[i].url}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
    return { requests: result.requests.total, cpuPerRequest: (cpuAfter[i] - cpuBefore[i]) / result.requests.total };
  });
}

/** Loads one server at a time for 1 s, `slices` times each in ABBA order (drift cancels); per server: totals. */
async function loadInTurn(servers, slices) {
  const totals = servers.map(() => ({ requests: 0, cpu: 0 }));
  for (let slice = 0; slice < slices; slice += 1) {
    const order = slice % 2 === 0 ? [0, 1] : [1, 0];
    for (const index of order) {
      const [{ requests, cpuPerRequest }] = await loadTogether([servers[index]], 1);
      totals[index].requests += requests;
      totals[index].cpu += cpuPerRequest * requests;
    }
  }
  return totals.map(({ requests, cpu }) => ({ requests: requests / slices, cpuPerRequest: cpu / requests }));
}

/**
 * One pair of fresh processes, `baseline` and `candidate`, started in the given order.
 * Returns baseline CPU per request / candidate CPU per request (1: equal; lower:
 * the candidate costs more), each one's CPU µs per request, and both servers' requests/s together.
 */
async function measurePair(baseline, candidate, candidateFirst) {
  const started = [];
  try {
    for (const variant of candidateFirst ? [candidate, baseline] : [baseline, candidate]) started.push(await startServer(variant));
    const servers = candidateFirst ? [started[1], started[0]] : started; // [baseline, candidate]
    for (const server of servers) await checkDeferredPath(server);
    await loadTogether(servers, 1); // warm-up: JIT, connections
    const rounds = [];
    if (METHOD === 'alone') rounds.push(await loadInTurn(servers, SLICES));
    else for (let round = 0; round < ROUNDS; round += 1) rounds.push(await loadTogether(servers, SECONDS));
    return {
      ratio: median(rounds.map(([base, cand]) => base.cpuPerRequest / cand.cpuPerRequest)),
      baselineCpu: median(rounds.map(([base]) => base.cpuPerRequest)),
      candidateCpu: median(rounds.map(([, cand]) => cand.cpuPerRequest)),
      // together: both servers' requests per second at once; alone: the mean of each one's own rate.
      requestsPerSecond: median(rounds.map(([base, cand]) => (METHOD === 'alone' ? (base.requests + cand.requests) / 2 : (base.requests + cand.requests) / SECONDS))),
    };
  } finally {
    await Promise.all(started.map(stopServer));
  }
}

async function compare(baseline, candidate) {
  const pairs = [];
  for (let i = 0; i < PAIRS; i += 1) pairs.push(await measurePair(baseline, candidate, i % 2 === 1));
  return { pairs, ...meanWithInterval(pairs.map((p) => p.ratio)) };
}

if (PAIRS < 2) throw new Error('BENCH_EXPRESS_PAIRS must be at least 2');
if (!STEPS.includes(BASELINE) || !STEPS.includes(CANDIDATE) || STEPS.indexOf(BASELINE) >= STEPS.indexOf(CANDIDATE)) {
  throw new Error(`BENCH_EXPRESS_BASELINE and BENCH_EXPRESS_CANDIDATE must be two of ${STEPS.join(', ')}, the baseline the earlier step`);
}
const load =
  METHOD === 'alone'
    ? `each server loaded alone (autocannon, ${CONNECTIONS} connections), ${SLICES} one-second slices each in ABBA order per pair`
    : `both servers loaded at once (autocannon, ${CONNECTIONS} connections each), ${ROUNDS} rounds of ${SECONDS}s per pair`;
const setup = `${PAIRS} fresh process pairs, ${load}, ${PIN ? 'servers pinned to CPU 1 and the load generator to CPU 0' : 'unpinned (no taskset)'}`;
const control = await compare(BASELINE, BASELINE);
const result = await compare(BASELINE, CANDIDATE);
const describeStep = (step) =>
  step === 'wrapped' ? 'wrapped Express app' : step === 'plain' ? 'same app unwrapped' : `same app with the shim ${step}, not wrapped`;
const candidateName = describeStep(CANDIDATE).replace(/^same app/, 'Express app');
const ci = (r) => `mean ${r.mean.toFixed(3)}, 95% CI ${r.low.toFixed(3)} to ${r.high.toFixed(3)}`;
const candidatePerCpuSecond = 1e6 / median(result.pairs.map((p) => p.candidateCpu));
const baselinePerCpuSecond = 1e6 / median(result.pairs.map((p) => p.baselineCpu));
console.log(
  `${candidateName}, server CPU per request passing through (${setup}; mean of per-pair ratios), information only: ` +
    `${Math.round(candidatePerCpuSecond).toLocaleString('en-US')} requests per CPU-second | ${describeStep(BASELINE)}: ` +
    `${Math.round(baselinePerCpuSecond).toLocaleString('en-US')} | ratio ${result.mean.toFixed(3)} (the target is express-wrapper-cpu.bench.mjs's)`,
);
console.log(`  ${CANDIDATE} / ${BASELINE}, per pair: ${result.pairs.map((p) => p.ratio.toFixed(3)).join(', ')} (${ci(result)})`);
console.log(`  CPU µs per request, median of pairs: ${BASELINE} ${median(result.pairs.map((p) => p.baselineCpu)).toFixed(1)}, ${CANDIDATE} ${median(result.pairs.map((p) => p.candidateCpu)).toFixed(1)}; ${METHOD === 'alone' ? 'one server alone served' : 'both servers together served'} ${Math.round(median(result.pairs.map((p) => p.requestsPerSecond)))} req/s`);
console.log(`  A/A control, ${BASELINE} / ${BASELINE}, per pair: ${control.pairs.map((p) => p.ratio.toFixed(3)).join(', ')} (${ci(control)})`);
