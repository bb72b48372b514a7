// Progress on stderr for long runs: files done, files/s, ETA. Redrawn in place on a
// TTY, one line per interval otherwise (only when asked with --progress).
export interface ProgressStream {
  write(text: string): unknown;
}

export interface ProgressOptions {
  stream: ProgressStream;
  /** Redraw in place (TTY) or print whole lines. */
  inPlace: boolean;
  now?: () => number;
  /** Nothing is shown for runs shorter than this. */
  startDelayMs?: number;
  /** Minimum time between two updates. */
  intervalMs?: number;
}

export interface Progress {
  update(done: number, total: number): void;
  /** Says a slow phase started (the type-check verification), once, without a counter. */
  phase(description: string): void;
  /** Clears the in-place line so the next output starts clean. */
  finish(): void;
}

export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? (() => performance.now());
  const startDelay = options.startDelayMs ?? 1000;
  const interval = options.intervalMs ?? (options.inPlace ? 100 : 2000);
  const started = now();
  let lastShown = -Infinity;
  let drawn = false;
  return {
    update(done, total) {
      const t = now();
      const elapsed = t - started;
      if (elapsed < startDelay || (t - lastShown < interval && done < total)) return;
      lastShown = t;
      const line = progressLine(done, total, elapsed);
      if (options.inPlace) {
        options.stream.write(`\r\u001b[2K${line}`);
        drawn = true;
      } else {
        options.stream.write(`${line}\n`);
      }
    },
    phase(description) {
      const line = `deferred-migrate: ${description}…`;
      if (options.inPlace) {
        options.stream.write(`\r\u001b[2K${line}`);
        drawn = true;
      } else options.stream.write(`${line}\n`);
    },
    finish() {
      if (drawn) options.stream.write('\r\u001b[2K');
      drawn = false;
    },
  };
}

export function progressLine(done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const percent = total > 0 ? Math.floor((done * 100) / total) : 100;
  const eta = rate > 0 && total > done ? `, ETA ${Math.ceil((total - done) / rate)} s` : '';
  return `deferred-migrate: ${done}/${total} files (${percent}%), ${Math.round(rate)} files/s${eta}`;
}
