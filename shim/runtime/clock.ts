// Time sources. The runtime and the local dispatcher read time only through a
// Clock, so tests skip countdowns and backoffs with a ManualClock instead of sleeping.
import type { Clock } from '../api/types.js';

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to; moving it wakes the dispatcher. */
export class ManualClock implements Clock {
  private current: number;
  private readonly listeners = new Set<() => void>();

  constructor(startMs: number | Date = Date.UTC(2024, 0, 1)) {
    this.current = typeof startMs === 'number' ? startMs : startMs.getTime();
  }

  now(): number {
    return this.current;
  }

  set(ms: number | Date): void {
    const next = typeof ms === 'number' ? ms : ms.getTime();
    if (!Number.isFinite(next)) throw new RangeError(`ManualClock.set needs a finite time, got ${String(ms)}`);
    this.current = next;
    for (const listener of [...this.listeners]) listener();
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`ManualClock.advance needs a finite, non-negative duration, got ${ms}`);
    this.set(this.current + ms);
  }

  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
