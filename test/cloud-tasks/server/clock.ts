// The test server's clock. It satisfies the shim's `Clock` contract (`now`,
// `onAdvance`), so the shim runtime and the server can share one timeline: a
// `_countdown=60` computed by `defer` is due on the server after `advance(60_000)`.
import type { Clock } from '../../../shim/api/types.js';

export class SteppingClock implements Clock {
  private current: number;
  private readonly listeners = new Set<() => void>();

  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(ms) needs a non-negative number, got ${ms}`);
    this.current += ms;
    for (const listener of this.listeners) listener();
  }

  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
