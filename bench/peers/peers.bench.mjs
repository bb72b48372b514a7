// The shim's embedded queue against the queue a Node user would install instead:
// BullMQ on Redis, side by side, on the same work, in one run (`node bench/run.mjs peers`).
// Not part of `npm test`. Producer and worker are separate Node processes for both;
// the worker runs 10 tasks at once; tasks are no-ops with two small arguments.
//   1. enqueue, one at a time: each `defer` / `queue.add` awaited before the next;
//   2. enqueue, 100 in flight;
//   3. processed: tasks/s from a pre-filled queue (row 2's) until it is empty, through
//      the shim's real delivery path (a wrapped Express app, default URL) against a
//      BullMQ `Worker`;
//   4. delay accuracy: tasks due at a spread of times, enqueued in shuffled order
//      ahead of time; lateness (run time - due time) p50 / p99 / max.
// Redis runs twice: with AOF `appendfsync everysec` (the counterpart of our WAL with
// synchronous=NORMAL: a commit survives the process, not the OS) for the ratios, and
// without persistence, printed for information. Each figure is the median of
// BENCH_PEERS_ROUNDS rounds; within a round the rows alternate between the queues
// (the order rotates per round), so a loaded machine slows all of them alike.
// Targets: ratio >= 1.0 on rows 1-3, lateness p99 no worse than BullMQ's.
//
// Tuning (quick run: BENCH_PEERS_ROUNDS=1 BENCH_PEERS_SERIAL=1000 BENCH_PEERS_PREFILL=5000
// BENCH_PEERS_DELAYED=500 BENCH_PEERS_SPREAD_MS=3000):
//   BENCH_PEERS_ROUNDS (3), BENCH_PEERS_SERIAL (5000, row 1), BENCH_PEERS_PREFILL (50000,
//   rows 2-3), BENCH_PEERS_DELAYED (2000) over BENCH_PEERS_SPREAD_MS (10000),
//   BENCH_PEERS_ONLY=ours|bullmq (one side only, e.g. to profile it),
//   BENCH_PEERS_BEFORE=<dist dir> (adds "ours-before": our side run from another build, e.g. the
//   previous release's, in the same rounds, for a before/after measured under the same load),
//   BENCH_PEERS_IOREDIS=<dir> (a directory whose node_modules has ioredis, when the
//   project's does not), BENCH_PEERS_NODE_ARGS (extra node flags for the children, e.g. --cpu-prof).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../shim/support.mjs';
import { redisServerVersion, startRedis } from './redis.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const ROUNDS = env('BENCH_PEERS_ROUNDS', 3);
const SERIAL = env('BENCH_PEERS_SERIAL', 5_000);
const PREFILL = env('BENCH_PEERS_PREFILL', 50_000);
const DELAYED = env('BENCH_PEERS_DELAYED', 2_000);
const SPREAD_MS = env('BENCH_PEERS_SPREAD_MS', 10_000);
const LEAD_MS = 2_000;
const WINDOW = 100;
const ONLY = process.env.BENCH_PEERS_ONLY;
const NODE_ARGS = (process.env.BENCH_PEERS_NODE_ARGS ?? '').split(' ').filter(Boolean);

const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
const startedAt = new Date();
console.log(`peer bench, ${startedAt.toISOString()}, ${os.cpus().length} CPUs, Node ${process.version}, load average ${load()}`);
console.log('(other agents share this machine: read the ratios, measured in the same run, rather than absolute rates)');

/** ioredis from the project, else from BENCH_PEERS_IOREDIS; undefined with the reason when neither has it. */
function findIORedis() {
  const places = [join(ROOT, 'package.json'), ...(process.env.BENCH_PEERS_IOREDIS ? [join(process.env.BENCH_PEERS_IOREDIS, 'package.json')] : [])];
  for (const place of places) {
    try {
      return createRequire(place).resolve('ioredis');
    } catch {}
  }
  return undefined;
}

function peerAvailability() {
  if (ONLY === 'ours') return { ok: false, why: 'BENCH_PEERS_ONLY=ours' };
  const version = redisServerVersion();
  if (!version) return { ok: false, why: 'redis-server is not installed (install it with `apt-get install redis-server`)' };
  const ioredis = findIORedis();
  if (!ioredis) {
    return {
      ok: false,
      why:
        'BullMQ cannot reach Redis: its driver ioredis (an optional peer dependency of BullMQ 6) is not installed ' +
        '(`npm install --no-save ioredis`, or BENCH_PEERS_IOREDIS=<a directory whose node_modules has it>)',
    };
  }
  return { ok: true, version, ioredis };
}

/** Runs one side's script with `job`; `ready` resolves on its `{ ready }` line, `result` on its `{ result }`. */
function child(script, job, env = {}) {
  const proc = spawn(process.execPath, [...NODE_ARGS, join(HERE, script), JSON.stringify(job)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  let onReady;
  const ready = new Promise((resolve) => (onReady = resolve));
  const result = new Promise((resolve, reject) => {
    let buffered = '';
    let value;
    proc.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        const message = JSON.parse(line);
        if (message.ready) onReady();
        if (message.result) value = message.result;
      }
    });
    proc.on('exit', (code, signal) => {
      if (code === 0 && value) resolve(value);
      else reject(new Error(`${script} ${job.role} exited with ${signal ?? code}`));
    });
  });
  result.catch(() => onReady());
  return { ready, result };
}

const peers = peerAvailability();
if (!peers.ok) console.log(`BullMQ rows skipped: ${peers.why}`);

const IORedis = peers.ok ? createRequire(import.meta.url)(peers.ioredis) : undefined;
const redis = {};
if (peers.ok) {
  console.log(`BullMQ ${createRequire(join(ROOT, 'package.json'))('bullmq/package.json').version}, ${peers.version}`);
  redis.aof = await startRedis('aof', IORedis);
  redis.none = await startRedis('none', IORedis);
}

/** The queues compared: ours, and BullMQ on each Redis. */
const systems = [
  ...(ONLY === 'bullmq' ? [] : [{ id: 'ours', label: 'ours (embedded SQLite)', script: 'ours.mjs' }]),
  ...(ONLY !== 'bullmq' && process.env.BENCH_PEERS_BEFORE
    ? [{ id: 'ours-before', label: `ours, before (${process.env.BENCH_PEERS_BEFORE})`, script: 'ours.mjs', env: { BENCH_DIST: process.env.BENCH_PEERS_BEFORE } }]
    : []),
  ...(peers.ok
    ? [
        { id: 'bullmq', label: `BullMQ (${redis.aof.label})`, script: 'bullmq.mjs', redis: redis.aof },
        { id: 'bullmq-none', label: `BullMQ (${redis.none.label})`, script: 'bullmq.mjs', redis: redis.none },
      ]
    : []),
];

const scratch = [];
/** A fresh, empty queue for `system`: a new data directory for ours, FLUSHALL for Redis. */
async function freshQueue(system) {
  if (system.redis) {
    await system.redis.flush();
    return { port: system.redis.port, ioredis: peers.ioredis };
  }
  const dataDir = mkdtempSync(join(os.tmpdir(), 'dm-bench-peers-'));
  scratch.push(dataDir);
  return { dataDir };
}

/** Runs `fn` and adds the CPU seconds redis-server spent meanwhile (0 for ours) to its result. */
async function withServerCpu(system, fn) {
  const before = system.redis ? await system.redis.cpuSeconds() : 0;
  const result = await fn();
  const after = system.redis ? await system.redis.cpuSeconds() : 0;
  return { ...result, serverCpuSeconds: after - before };
}

const rows = {
  async serial(system) {
    const queue = await freshQueue(system);
    return withServerCpu(system, () => child(system.script, { ...queue, role: 'enqueue', count: SERIAL, window: 1 }, system.env).result);
  },
  async windowAndDrain(system) {
    const queue = await freshQueue(system);
    const enqueue = await withServerCpu(system, () => child(system.script, { ...queue, role: 'enqueue', count: PREFILL, window: WINDOW }, system.env).result);
    const drain = await withServerCpu(system, () => child(system.script, { ...queue, role: 'drain', count: PREFILL }, system.env).result);
    return { enqueue, drain };
  },
  async delay(system) {
    const queue = await freshQueue(system);
    const worker = child(system.script, { ...queue, role: 'delay-worker', count: DELAYED }, system.env);
    await worker.ready;
    await child(system.script, { ...queue, role: 'delay-producer', count: DELAYED, leadMs: LEAD_MS, spreadMs: SPREAD_MS, window: WINDOW }, system.env).result;
    return worker.result;
  },
};

const results = Object.fromEntries(systems.map((s) => [s.id, []]));
const loads = [];
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = systems.map((_, i) => systems[(i + round) % systems.length]);
    const perSystem = Object.fromEntries(systems.map((s) => [s.id, {}]));
    for (const [rowName, row] of Object.entries(rows)) {
      for (const system of order) perSystem[system.id][rowName] = await row(system);
    }
    for (const system of systems) results[system.id].push(perSystem[system.id]);
    loads.push(load());
    console.log(`round ${round + 1}/${ROUNDS} done, load average ${load()}`);
  }
} finally {
  for (const server of Object.values(redis)) await server.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}

// Figures: median over rounds.
const figure = (id, pick) => median(results[id].map(pick));
const FIGURES = [
  { name: `1. enqueue, one at a time (${SERIAL})`, unit: 'tasks/s', pick: (r) => r.serial.perSecond, higherIsBetter: true },
  { name: `2. enqueue, ${WINDOW} in flight (${PREFILL})`, unit: 'tasks/s', pick: (r) => r.windowAndDrain.enqueue.perSecond, higherIsBetter: true },
  { name: `3. processed, pre-filled queue of ${PREFILL}`, unit: 'tasks/s', pick: (r) => r.windowAndDrain.drain.perSecond, higherIsBetter: true },
  { name: `4. lateness p50 (${DELAYED} over ${SPREAD_MS / 1000} s)`, unit: 'ms', pick: (r) => r.delay.p50 },
  { name: '4. lateness p99', unit: 'ms', pick: (r) => r.delay.p99, target: true },
  { name: '4. lateness max', unit: 'ms', pick: (r) => r.delay.max },
];
const fmt = (x, unit) => (unit === 'ms' ? `${x.toFixed(1)} ms` : `${Math.round(x).toLocaleString('en-US')} ${unit}`);
console.log(`\nmedians of ${ROUNDS} round(s); ratio = ours / BullMQ for rates (>= 1.0: ours ahead), BullMQ / ours for lateness (>= 1.0: ours no worse)`);
const summary = [];
for (const f of FIGURES) {
  const ours = results.ours?.length ? figure('ours', f.pick) : undefined;
  const cells = [`${f.name}: ours ${ours === undefined ? 'skipped' : fmt(ours, f.unit)}`];
  const entry = { row: f.name, unit: f.unit, ours };
  for (const peer of systems.filter((s) => s.id !== 'ours')) {
    // ours-before: its ratio reads like BullMQ's (ours / before for rates, before / ours for lateness).
    const theirs = figure(peer.id, f.pick);
    entry[peer.id] = theirs;
    let ratioText = '';
    if (ours !== undefined) {
      const ratio = f.higherIsBetter ? ours / theirs : theirs / ours;
      entry[`${peer.id}Ratio`] = ratio;
      ratioText = `, ratio ${Number.isFinite(ratio) ? ratio.toFixed(2) : String(ratio)}`;
      if (peer.id === 'bullmq' && (f.higherIsBetter || f.target)) {
        const met = f.higherIsBetter ? ratio >= 1 : ours <= theirs;
        ratioText += ` (target ${f.higherIsBetter ? 'ratio >= 1.0' : 'no worse than BullMQ'}: ${met ? 'met' : 'MISSED'})`;
      }
    }
    cells.push(`${peer.label} ${fmt(theirs, f.unit)}${ratioText}`);
  }
  if (!peers.ok) cells.push('BullMQ skipped');
  summary.push(entry);
  console.log(`  ${cells.join(' | ')}`);
}

// CPU per task (the producer or worker process, plus redis-server for BullMQ): steadier than rates on a shared machine.
console.log('CPU µs per task (client process + redis-server), medians:');
for (const [label, pick] of [
  ['1. enqueue, one at a time', (r) => r.serial],
  [`2. enqueue, ${WINDOW} in flight`, (r) => r.windowAndDrain.enqueue],
  ['3. processed', (r) => r.windowAndDrain.drain],
]) {
  const count = label.startsWith('1') ? SERIAL : PREFILL;
  const cells = systems.map((s) => {
    const client = figure(s.id, (r) => pick(r).cpuSeconds) / count;
    const server = figure(s.id, (r) => pick(r).serverCpuSeconds) / count;
    return `${s.id} ${Math.round((client + server) * 1e6)}${s.redis ? ` (${Math.round(server * 1e6)} in redis)` : ''}`;
  });
  console.log(`  ${label}: ${cells.join(', ')}`);
}
console.log(`load average after each round: ${loads.join(' / ')}; at the end ${load()}`);

mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const out = join(ROOT, 'bench', 'results', `peers-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(out, `${JSON.stringify({ startedAt, rounds: ROUNDS, loads, summary, results }, null, 2)}\n`);
console.log(`results: ${out}`);
