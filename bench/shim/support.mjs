// Helpers shared by the runtime benchmarks: loading the built shim, a quiet
// logger, temp directories and one uniform result line per measurement.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Imports a module of the ESM build, e.g. `shim/index.js`, from dist/ (or from
 * BENCH_DIST, another build tree with the same layout); tells the reader to
 * build when it is missing.
 */
export async function importDist(relativePath) {
  const file = join(process.env.BENCH_DIST ?? join(ROOT, 'dist'), 'esm', relativePath);
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` (npm run bench does) first`);
  return import(pathToFileURL(file).href);
}

/** Drops info/debug; the benchmarks must not measure console output. */
export const quietLogger = {
  debug() {},
  info() {},
  warn(message, fields) {
    console.warn(`warn: ${message}`, fields ?? '');
  },
  error(message, fields) {
    console.error(`error: ${message}`, fields ?? '');
  },
};

/** A temp directory removed at exit. */
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), `dm-bench-${prefix}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Prints the figure, its baseline measured in the same run, their ratio and
 * the target. `target` is either `{ atLeast }` (on the figure) or
 * `{ ratioAtLeast }` (on the ratio). `ratio` defaults to figure / baseline
 * (pass it when it is estimated otherwise, e.g. the median of paired rounds).
 * Returns whether the target was met.
 */
export function report({ name, unit, figure, baselineName, baseline, target, ratio = figure / baseline }) {
  const met = 'atLeast' in target ? figure >= target.atLeast : ratio >= target.ratioAtLeast;
  const targetText = 'atLeast' in target ? `>= ${fmt(target.atLeast)} ${unit}` : `ratio >= ${target.ratioAtLeast}`;
  console.log(
    `${name}: ${fmt(figure)} ${unit} | baseline (${baselineName}): ${fmt(baseline)} ${unit} | ratio ${ratio.toFixed(3)} | target ${targetText}: ${met ? 'met' : 'MISSED'}`,
  );
  return met;
}

function fmt(value) {
  return Math.round(value).toLocaleString('en-US');
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `fn` and returns its result with the wall-clock and CPU (user + system) seconds it took. */
export async function measure(fn) {
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = await fn();
  const wallSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { result, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** Two-sided 95% Student t quantiles by degrees of freedom (beyond 30: 2.0). */
const T95 = [NaN, 12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Mean of `values` with its two-sided 95% confidence interval (Student t). */
export function meanWithInterval(values) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (T95[n - 1] ?? 2.0) * (sd / Math.sqrt(n));
  return { mean, low: mean - half, high: mean + half };
}
