// Plain-text formatting of the values the pages show (escaped later by `html`).
import { inspect } from 'node:util';

/** `2026-11-30 03:12:09 UTC`. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return 'unknown';
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A duration in the largest unit that keeps it readable: `45 s`, `12 min`, `3 h`, `2 d`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.round(hours / 24)} d`;
}

/** When `etaMs` is relative to `nowMs`: `in 5 min`, `12 s ago`. */
export function formatRelative(etaMs: number, nowMs: number): string {
  const delta = etaMs - nowMs;
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** A decoded task argument as the shim's codec gave it: Dates, Maps, Sets, bytes shown as such. */
export function formatValue(value: unknown): string {
  return inspect(value, { depth: 8, maxArrayLength: 200, maxStringLength: 20_000, breakLength: 100, compact: 3, colors: false });
}

/** The first line of an error message, shortened for a table cell. */
export function oneLine(text: string, max = 140): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > max ? `${line.slice(0, max - 1)}\u2026` : line;
}
