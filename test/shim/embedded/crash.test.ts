// Kills a process that uses the embedded backend with SIGKILL at random points
// (while it enqueues, while it dispatches, between a task's execution and its
// acknowledgement), restarts it on the same data directory, and checks that in
// the end every task ran at least once. Duplicates are allowed (at-least-once)
// and reported. LONG=1 runs thousands of tasks and more kills.
// CRASH_SEED=<n> replays the kill points of an earlier run; CRASH_SEED=random draws
// new ones (the default suite uses a fixed seed, LONG=1 a new one).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LONG, seedFrom } from '../../reliability/support/scale.js';
import { runCrashApp } from './crash-app-process.js';

const TASKS = LONG ? 3_000 : 200;
const KILLS = LONG ? 30 : 5;
/** The dispatcher's default concurrency: at most this many tasks are mid-flight when a process dies. */
const MAX_IN_FLIGHT = 10;
/** Further than the dispatcher's 10-minute lease, so each incarnation finds its predecessor's leases expired. */
const CLOCK_STEP_MS = 11 * 60 * 1000;

type KillPoint = 'enqueue' | 'dispatch' | 'ack';

interface Incarnation {
  exit: { code: number | null; signal: NodeJS.Signals | null };
  ran: number;
  stderr: string;
  /** The last stdout lines, for failure messages. */
  tail: string[];
}

/** How an incarnation is to die: the parent's SIGKILL on a stdout line, or the app's own (see crash-app.ts). */
interface KillPlan {
  onLine?: (line: string) => boolean;
  selfKillAfterRuns?: number;
  selfKillAfterEnqueued?: number;
}

/** mulberry32: small, seedable, good enough to pick kill points. */
function randomFrom(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

/** Runs crash-app once, killed as `plan` says (an empty plan: it runs to the end). */
async function runIncarnation(dataDir: string, results: string, clockOffsetMs: number, plan: KillPlan): Promise<Incarnation> {
  const { onLine, ...selfKills } = plan;
  const run = await runCrashApp({ dataDir, results, tasks: TASKS, clockOffsetMs, ...selfKills }, (line, kill) => {
    if (onLine?.(line)) kill();
  });
  return {
    exit: { code: run.code, signal: run.signal },
    ran: run.stdout.filter((line) => line.startsWith('ran ')).length,
    stderr: run.stderr,
    tail: run.stdout.slice(-3),
  };
}

function readRuns(results: string): number[] {
  if (!existsSync(results)) return [];
  return readFileSync(results, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map(Number);
}

describe('embedded backend under SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dm-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`runs all ${TASKS} tasks at least once across ${KILLS} kills and restarts`, async () => {
    const seed = seedFrom(process.env.CRASH_SEED);
    const random = randomFrom(seed);
    const dataDir = join(dir, 'data');
    const results = join(dir, 'results.txt');
    const context = `(CRASH_SEED=${seed})`;

    // The first kill lands mid-enqueue of a fresh queue; the rest are shuffled, every kind at least once.
    const rest: KillPoint[] = ['dispatch', 'ack'];
    while (rest.length < KILLS - 1) rest.push((['enqueue', 'dispatch', 'ack'] as const)[random(3)]!);
    for (let i = rest.length - 1; i > 0; i -= 1) {
      const j = random(i + 1);
      [rest[i], rest[j]] = [rest[j]!, rest[i]!];
    }
    const plan: KillPoint[] = ['enqueue', ...rest];
    const log: string[] = [];

    for (const [index, point] of plan.entries()) {
      // Kill within this incarnation's share of the tasks still to run, so the kill point is reached before it could finish.
      const remaining = TASKS - new Set(readRuns(results)).size;
      const share = Math.max(1, Math.floor(remaining / (plan.length - index + 1)));
      const offset = index * CLOCK_STEP_MS;
      let incarnation: Incarnation;
      if (point === 'enqueue') {
        const at = random(TASKS);
        incarnation = await runIncarnation(dataDir, results, offset, { selfKillAfterEnqueued: at });
        log.push(`enqueue@${at}`);
      } else if (point === 'dispatch') {
        // The parent's kill lands wherever the app is (mid-transaction included). The
        // app's own kill after `share` more runs is a backstop: should the parent see
        // the line late (a full stdout pipe), the app still cannot run every task.
        const after = 1 + random(share);
        let seen = 0;
        const onLine = (line: string) => line.startsWith('ran ') && ++seen === after;
        incarnation = await runIncarnation(dataDir, results, offset, { onLine, selfKillAfterRuns: after + share });
        log.push(`dispatch@run${after}`);
      } else {
        const after = 1 + random(share);
        incarnation = await runIncarnation(dataDir, results, offset, { selfKillAfterRuns: after });
        log.push(`ack@run${after}`);
      }
      log[log.length - 1] += ` (ran ${incarnation.ran})`;
      expect(
        incarnation.exit,
        `incarnation ${index} (${point}) should die by SIGKILL ${context}; so far [${log.join(', ')}], ` +
          `last lines ${JSON.stringify(incarnation.tail)}\n${incarnation.stderr}`,
      ).toEqual({
        code: null,
        signal: 'SIGKILL',
      });
    }

    const last = await runIncarnation(dataDir, results, plan.length * CLOCK_STEP_MS, {});
    expect(last.exit, `the final incarnation should finish ${context}\n${last.stderr}`).toEqual({ code: 0, signal: null });

    const runs = readRuns(results);
    const counts = new Map<number, number>();
    for (const id of runs) counts.set(id, (counts.get(id) ?? 0) + 1);
    const missing = Array.from({ length: TASKS }, (_, id) => id).filter((id) => !counts.has(id));
    expect(missing, `tasks never run ${context}`).toEqual([]);
    expect([...counts.keys()].filter((id) => !(Number.isInteger(id) && id >= 0 && id < TASKS)), `unknown ids ${context}`).toEqual([]);

    const duplicates = runs.length - counts.size;
    const ackKills = plan.filter((point) => point === 'ack').length;
    // An ack kill always leaves one executed, unacknowledged task, which must run again.
    expect(duplicates, `duplicates ${context}`).toBeGreaterThanOrEqual(ackKills);
    // Only deliveries in flight at a kill can run twice.
    expect(duplicates, `duplicates ${context}`).toBeLessThanOrEqual(KILLS * MAX_IN_FLIGHT);
    console.log(
      `crash test ${context}: ${TASKS} tasks, ${KILLS} kills [${log.join(', ')}], ${runs.length} runs, ${duplicates} duplicates`,
    );
  }, LONG ? 15 * 60_000 : 60_000);
});
