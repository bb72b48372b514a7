// Soak: a wrapped Express app on the embedded (SQLite) backend, in a child
// process with --expose-gc, under steady loopback load for SOAK_SECONDS (10 s by
// default, 180 s under LONG=1) while tasks flow through the queue and the
// in-process dispatcher. Requests defer tasks (some large enough for the
// overflow store) and ordinary routes are hit meanwhile. Heap after GC is
// sampled once a second: after warm-up it must stay flat. At the end every
// deferred task has run, none twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { scaled } from './support/scale.js';
import { startTarget, type TargetProcess } from './support/target-process.js';

const SOAK_SECONDS = Number(process.env.SOAK_SECONDS ?? scaled(10, 180));
const WORKERS = 8;
/** Allowed heap growth (after GC) between the first and the last quarter of the post-warm-up samples. */
const MAX_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;
const OVERFLOW_EVERY = 100; // one task in a hundred carries 120 KB, above the 100 KB task limit

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('soak', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-soak-'));
  let target: TargetProcess | undefined;
  afterAll(async () => {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps memory flat and loses no task under ${SOAK_SECONDS} s of steady load`, async () => {
    target = await startTarget(
      { backend: 'embedded', dataDir: join(dir, 'queue'), signingSecret: randomBytes(16).toString('hex'), maxBodyBytes: 10 * 1024 * 1024 },
      ['--expose-gc'],
    );
    const base = `http://127.0.0.1:${target.ports.express}`;
    const small = 'x'.repeat(200);
    const large = 'y'.repeat(120 * 1024);
    let nextId = 0;
    let refused = 0;
    let pings = 0;
    const deadline = Date.now() + SOAK_SECONDS * 1000;

    const worker = async () => {
      while (Date.now() < deadline) {
        const id = nextId++;
        const response = await fetch(`${base}/enqueue`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id, filler: id % OVERFLOW_EVERY === 0 ? large : small }),
        });
        await response.arrayBuffer();
        if (response.status !== 202) refused += 1;
        if (id % 4 === 0) {
          const ping = await fetch(`${base}/ping`);
          if ((await ping.text()) === 'pong') pings += 1;
        }
      }
    };
    const samples: Array<{ at: number; heapUsed: number; rss: number; ran: number }> = [];
    const sampler = async () => {
      while (Date.now() < deadline) {
        const stats = await target!.stats();
        samples.push({ at: Date.now(), heapUsed: stats.heapUsed, rss: stats.rss, ran: stats.numeric.total });
        await sleep(1_000);
      }
    };
    await Promise.all([...Array.from({ length: WORKERS }, worker), sampler()]);

    // Load stopped: let the dispatcher finish what is queued.
    const drainDeadline = Date.now() + 60_000;
    let stats = await target.stats(nextId);
    while (stats.queued > 0 && Date.now() < drainDeadline) {
      await fetch(`${base}/__drain`, { method: 'POST' }).then((r) => r.arrayBuffer());
      stats = await target.stats(nextId);
    }

    const settled = samples.slice(Math.floor(samples.length / 4));
    const quarter = Math.max(1, Math.floor(settled.length / 4));
    const early = median(settled.slice(0, quarter).map((s) => s.heapUsed));
    const late = median(settled.slice(-quarter).map((s) => s.heapUsed));
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    console.log(
      `soak: ${SOAK_SECONDS} s, ${nextId} tasks deferred (${Math.ceil(nextId / OVERFLOW_EVERY)} via the overflow store), ${pings} pings, ` +
        `${stats.numeric.total} runs, ${stats.numeric.duplicates} duplicates, ${stats.numeric.missingCount} missing; ` +
        `heap after GC ${mb(early)} -> ${mb(late)} (${samples.length} samples), rss ${mb(samples[0]!.rss)} -> ${mb(samples.at(-1)!.rss)}`,
    );

    expect(target.alive(), target.stderr()).toBe(true);
    expect(refused).toBe(0);
    expect(nextId).toBeGreaterThan(WORKERS * SOAK_SECONDS); // the load really was steady
    expect(stats.queued).toBe(0);
    expect(stats.numeric.missing).toEqual([]);
    expect(stats.numeric.missingCount).toBe(0);
    // No crash happened, so at-least-once delivery has no reason to repeat anything.
    expect(stats.numeric.duplicates).toBe(0);
    expect(stats.errorsLogged).toBe(0);
    expect(settled.length).toBeGreaterThanOrEqual(4);
    expect(late - early, `heap after GC grew from ${mb(early)} to ${mb(late)}`).toBeLessThan(MAX_HEAP_GROWTH_BYTES);
  }, (SOAK_SECONDS + 120) * 1000);
});
