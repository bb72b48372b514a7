// Requests per second of an Express app wrapped with wrapApp(app, {useDeferred: true})
// against the same app unwrapped, both under autocannon in one run, on a
// route that is not the deferred path (the traffic wrapApp must pass through).
// Each app runs in its own process; rounds alternate between them so that drift
// in the machine's load hits both alike. Target: the wrapped app within 3%
// (ratio >= 0.97).
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { median, report } from './support.mjs';

const ROUNDS = Number(process.env.BENCH_EXPRESS_ROUNDS ?? 7);
const SECONDS = Number(process.env.BENCH_EXPRESS_SECONDS ?? 3);
const SERVER = fileURLToPath(new URL('./express-app.mjs', import.meta.url));

// Pinning: the load generator (this process) on CPU 0, the servers on CPU 1. Unpinned
// on 2 cores, whichever server the scheduler puts beside autocannon loses, which
// showed up as a 5-9% "overhead" of whichever app that was; pinned, it is gone.
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
  return { child, url: `http://127.0.0.1:${port}` };
}

async function serverCpuMicros(url) {
  const response = await fetch(`${url}/__cpu`);
  return (await response.json()).micros;
}

/** One round of load: requests/s as the client saw it, and the server's CPU microseconds per request. */
async function loadRound(url, seconds) {
  const cpuBefore = await serverCpuMicros(url);
  const result = await autocannon({ url: `${url}/api/items/42`, connections: 50, pipelining: 1, duration: seconds });
  if (result.errors > 0 || result.non2xx > 0) throw new Error(`${url}: ${result.errors} errors, ${result.non2xx} non-2xx responses`);
  const cpuMicros = (await serverCpuMicros(url)) - cpuBefore;
  return { rate: result.requests.mean, cpuPerRequest: cpuMicros / result.requests.total };
}

/** The comparison is only meaningful if the wrapped app really serves the deferred path and the plain one does not. */
async function deferredPathStatus(url) {
  const response = await fetch(`${url}/_ah/queue/deferred`, { method: 'POST', body: 'x' });
  await response.arrayBuffer();
  return response.status;
}

const children = [];
async function startServerKept(variant) {
  const server = await startServer(variant);
  children.push(server.child);
  return server;
}

try {
  const servers = { plain: await startServerKept('plain'), wrapped: await startServerKept('wrapped') };
  const statuses = { plain: await deferredPathStatus(servers.plain.url), wrapped: await deferredPathStatus(servers.wrapped.url) };
  if (statuses.plain !== 404 || statuses.wrapped !== 403) {
    throw new Error(`expected the deferred path to answer 404 unwrapped and 403 wrapped, got ${JSON.stringify(statuses)}`);
  }
  // Warm both (JIT, connection setup) before measuring.
  for (const { url } of Object.values(servers)) await loadRound(url, 1);
  const rates = { plain: [], wrapped: [] };
  const cpu = { plain: [], wrapped: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? ['plain', 'wrapped'] : ['wrapped', 'plain'];
    for (const variant of order) {
      const { rate, cpuPerRequest } = await loadRound(servers[variant].url, SECONDS);
      rates[variant].push(rate);
      cpu[variant].push(cpuPerRequest);
    }
  }
  // Each round measures both apps back to back; the median of the per-round
  // ratios is less sensitive to load drift than the ratio of the medians.
  const ratios = rates.wrapped.map((wrapped, round) => wrapped / rates.plain[round]);
  report({
    name: `wrapped Express app, GET passing through (autocannon, 50 connections, ${ROUNDS} alternating rounds of ${SECONDS}s, median${PIN ? '; load generator on CPU 0, servers on CPU 1' : '; unpinned (no taskset)'})`,
    unit: 'req/s',
    figure: median(rates.wrapped),
    baselineName: 'same app unwrapped',
    baseline: median(rates.plain),
    ratio: median(ratios),
    target: { ratioAtLeast: 0.97 },
  });
  // Server CPU per request: what wrapApp adds, without the noise of two processes
  // and the load generator sharing 2 cores. Inverted (plain / wrapped) so that, as
  // with req/s, 1 means equal and lower means the wrapped app costs more.
  const cpuRatios = cpu.wrapped.map((wrapped, round) => cpu.plain[round] / wrapped);
  report({
    name: `wrapped Express app, server CPU per request passing through (same rounds, median)`,
    unit: 'requests per CPU-second',
    figure: 1e6 / median(cpu.wrapped),
    baselineName: 'same app unwrapped',
    baseline: 1e6 / median(cpu.plain),
    ratio: median(cpuRatios),
    target: { ratioAtLeast: 0.97 },
  });
  console.log(`  CPU µs per request, plain: ${cpu.plain.map((v) => v.toFixed(1)).join(', ')} | wrapped: ${cpu.wrapped.map((v) => v.toFixed(1)).join(', ')}`);
  console.log(`  per round, plain: ${rates.plain.map(Math.round).join(', ')} | wrapped: ${rates.wrapped.map(Math.round).join(', ')} | ratio: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
}
