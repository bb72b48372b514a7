// What the peer bench's producer and worker processes share: reading their job
// from argv, reporting one JSON line to the parent, the "100 in flight" loop,
// the task payload and lateness statistics. Each side (ours, BullMQ) has its own
// script; they differ only in the queue calls.

/** The parent passes one JSON object as argv[2]. */
export function jobFromArgv() {
  return JSON.parse(process.argv[2] ?? '{}');
}

/** One line of JSON on stdout: `{ ready: true }` or `{ result }`; the parent reads nothing else. */
export function emit(message) {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** The two small arguments of every task (a number and a short string), the same for both queues. */
export function taskArgs(i) {
  return [i, 'order-' + String(i).padStart(6, '0')];
}

/** Runs `fn` and returns its wall-clock and CPU (user + system) seconds. */
export async function timed(fn) {
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Calls `start(i)` for i in [0, total), awaiting each before the next. */
export async function oneAtATime(total, start) {
  for (let i = 0; i < total; i += 1) await start(i);
}

/** Calls `start(i)` for i in [0, total) keeping `window` calls in flight; rejects on the first failure. */
export function inFlight(total, window, start) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = false;
    const launch = () => {
      const i = next++;
      start(i).then(
        () => {
          done += 1;
          if (done === total) resolve();
          else if (next < total && !failed) launch();
        },
        (error) => {
          failed = true;
          reject(error);
        },
      );
    };
    if (total === 0) resolve();
    for (let k = 0; k < Math.min(window, total); k += 1) launch();
  });
}

/**
 * Due times of the delay row, as absolute epoch milliseconds in a shuffled order:
 * `count` times spread evenly over `spreadMs`, starting `leadMs` from `startMs`
 * (the lead leaves both producers time to enqueue everything before the first is due).
 * Seeded, so both queues get the same sequence.
 */
export function dueTimes(count, startMs, leadMs, spreadMs) {
  const times = Array.from({ length: count }, (_, i) => startMs + leadMs + Math.round((i * spreadMs) / count));
  let seed = 0x2545f491;
  for (let i = times.length - 1; i > 0; i -= 1) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const j = seed % (i + 1);
    [times[i], times[j]] = [times[j], times[i]];
  }
  return times;
}

/** p50, p99 and max of lateness samples (ms). */
export function latenessStats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1], early: sorted.filter((x) => x < 0).length };
}

/** Resolves once `predicate()` (async) is true, checking every `everyMs`; rejects after `timeoutMs`. */
export async function waitFor(predicate, { everyMs = 5, timeoutMs = 120_000, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
