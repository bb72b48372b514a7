// Codemod benchmark (run by `npm run bench`, after the build):
//   sparse corpus: 10,000 files, 2% use the legacy API:
//     ours   `deferred-migrate --dry-run --report json` (the whole CLI, one process)
//     jscs   jscodeshift's Runner, tsx parser, a no-op transform (parse only)
//     floor  TypeScript createSourceFile over the legacy files only
//     targets (issue 10): ours >= 20x faster than jscs; ours <= 1.5x the floor;
//       ours peak RSS < 400 MB
//   dense corpus: 10,000 files, a third use the API: ours >= 4x faster than jscs.
//   ours is measured with the CLI's compile cache filled (a warm-up run first, as
//     every run after a machine's first); "ours cold" is the same run with it off.
//   verify rows: ours as users run it (the corpus has a tsconfig.json, so the
//     before/after type check runs) against `--no-verify`; the targets above
//     compare `--no-verify` (jscodeshift's no-op transform checks no types either).
// Every tool runs as its own child process, timed wall-clock from spawn to exit.
// Env: BENCH_FILES (default 10000), BENCH_REPEAT (runs per tool, median, default 1),
//      BENCH_STRICT=1 (exit 1 when a target is missed), BENCH_CLI (path of the CLI to measure),
//      BENCH_SHAPE=standard|deep (the generated modules, see generate-repo.mjs),
//      BENCH_CORPORA=sparse,dense (which corpora), BENCH_JSCODESHIFT=0 (ours and the floor only,
//      e.g. the 100,000-file run: BENCH_FILES=100000 BENCH_CORPORA=sparse BENCH_JSCODESHIFT=0).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateRepo } from './generate-repo.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..', '..');
// BENCH_CLI measures another build of the CLI (e.g. a copy no concurrent `npm run build` can remove).
const cli = process.env.BENCH_CLI ?? join(root, 'dist/esm/cli/index.js');
const FILES = Number(process.env.BENCH_FILES ?? 10_000);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
// Runs near the floor take about a second: medians of several, whatever BENCH_REPEAT says.
const FLOOR_REPEAT = Math.max(5, REPEAT);
const SHAPE = process.env.BENCH_SHAPE ?? 'standard';
const CORPORA = (process.env.BENCH_CORPORA ?? 'sparse,dense').split(',');
const WITH_JSCODESHIFT = process.env.BENCH_JSCODESHIFT !== '0';
// Issue 10's targets: the dry run near its parse floor and well ahead of jscodeshift's trivial transform.
const TARGET_SPEEDUP = 20;
const TARGET_DENSE = 4;
const TARGET_FLOOR = 1.5;
const TARGET_RSS_MB = 400;

if (!existsSync(cli)) {
  console.error(`${cli} is missing: run \`npm run build\` first (npm run bench does).`);
  process.exit(1);
}

/** Spawns node with args, returns wall time, stdout and the child's peak RSS. */
function timeNode(args, { cwd = root, measureRss = false, env = {} } = {}) {
  const rssFile = join(tmpdir(), `dm-bench-rss-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const nodeArgs = measureRss ? ['--import', join(here, 'max-rss.mjs'), ...args] : args;
  const started = performance.now();
  const child = spawnSync(process.execPath, nodeArgs, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, BENCH_MAX_RSS_FILE: rssFile, NO_COLOR: '1', ...env },
  });
  const ms = performance.now() - started;
  let rssMb;
  if (measureRss && existsSync(rssFile)) {
    rssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    rmSync(rssFile);
  }
  return { ms, status: child.status, stdout: child.stdout, stderr: child.stderr, rssMb };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function repeat(run, times = REPEAT) {
  const runs = Array.from({ length: times }, run);
  const best = runs.reduce((a, b) => (a.ms <= b.ms ? a : b));
  return { ...best, ms: median(runs.map((r) => r.ms)), rssMb: Math.max(...runs.map((r) => r.rssMb ?? 0)) || undefined };
}

function runOurs(dir, extra = [], { env = {}, times = REPEAT } = {}) {
  const r = repeat(() => timeNode([cli, '--dry-run', '--report', 'json', '--allow-dirty', ...extra, '.'], { cwd: dir, measureRss: true, env }), times);
  // Exit 3 is allowed (a generated file the engine cannot handle is still a measured run); anything else is a broken run.
  if (r.status !== 0 && r.status !== 3) throw new Error(`deferred-migrate exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  const report = JSON.parse(r.stdout);
  return { ...r, summary: report.summary };
}

function runJscodeshift(dir) {
  const r = repeat(() => timeNode([join(here, 'run-jscodeshift.mjs'), dir], { measureRss: true }));
  if (r.status !== 0) throw new Error(`jscodeshift run exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  return { ...r, result: JSON.parse(r.stdout) };
}

function runFloor(dir, legacy) {
  const list = join(dir, '..', `${Date.now()}-floor-files.json`);
  writeFileSync(list, JSON.stringify(legacy.map((f) => join(dir, f))));
  const r = repeat(() => timeNode([join(here, 'parse-floor.mjs'), list]), FLOOR_REPEAT);
  rmSync(list);
  if (r.status !== 0) throw new Error(`floor run exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  return r;
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const rate = (files, ms) => `${Math.round((files * 1000) / ms)} files/s`;

function corpus(name, legacyShare) {
  const parent = mkdtempSync(join(tmpdir(), 'dm-bench-'));
  const dir = join(parent, 'repo');
  mkdirSync(dir);
  try {
    const generated = generateRepo(dir, { files: FILES, legacyShare, seed: 7, shape: SHAPE });
    console.log(`\n### ${name} (${SHAPE} shape): ${generated.files.length} files, ${generated.legacy.length} use the legacy API (${(legacyShare * 100).toFixed(1)}%)`);
    const nearFloor = legacyShare <= 0.05;
    const floor = nearFloor ? runFloor(dir, generated.legacy) : undefined;
    const jscs = WITH_JSCODESHIFT ? runJscodeshift(dir) : undefined;
    // The first run of a machine fills the CLI's compile cache (cli/compile-cache.ts);
    // the cold row is the same run with the cache off, as on a first run.
    runOurs(dir, ['--no-verify'], { times: 1 });
    const ours = runOurs(dir, ['--no-verify'], { times: nearFloor ? FLOOR_REPEAT : REPEAT });
    const cold = runOurs(dir, ['--no-verify'], { env: { DEFERRED_MIGRATE_COMPILE_CACHE: '0' }, times: nearFloor ? FLOOR_REPEAT : REPEAT });
    const verified = runOurs(dir);
    const s = ours.summary;
    console.log(`ours        ${fmt(ours.ms).padStart(9)}  ${rate(generated.files.length, ours.ms).padStart(14)}  peak RSS ${ours.rssMb?.toFixed(0)} MB  (--no-verify; ${s.migrated} migrated, ${s.manual} manual, ${s.failed} failed, ${s.unchanged} unchanged, ${s.candidates} candidates)`);
    console.log(`ours cold   ${fmt(cold.ms).padStart(9)}  ${rate(generated.files.length, cold.ms).padStart(14)}  peak RSS ${cold.rssMb?.toFixed(0)} MB  (--no-verify, compile cache off: a first run)`);
    const v = verified.summary;
    console.log(`ours+verify ${fmt(verified.ms).padStart(9)}  ${rate(generated.files.length, verified.ms).padStart(14)}  peak RSS ${verified.rssMb?.toFixed(0)} MB  (default: type check on; verify cost ${fmt(verified.ms - ours.ms)}, ${(verified.ms / ours.ms).toFixed(2)}x; ${v.migrated} migrated, ${v.manual} manual, ${v.failed} failed)`);
    if (jscs) console.log(`jscodeshift ${fmt(jscs.ms).padStart(9)}  ${rate(generated.files.length, jscs.ms).padStart(14)}  peak RSS ${jscs.rssMb?.toFixed(0)} MB (parent only)  (${jscs.result.nochange} unmodified, ${jscs.result.error} errors)`);
    if (floor) console.log(`floor       ${fmt(floor.ms).padStart(9)}  ${rate(generated.legacy.length, floor.ms).padStart(14)}  (TypeScript createSourceFile of the ${generated.legacy.length} legacy files only)`);
    return { name, files: generated.files.length, legacy: generated.legacy.length, ours, cold, verified, jscs, floor };
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}

console.log(`codemod benchmark: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), jscodeshift with its default workers (CPUs - 1)`);
const sparse = CORPORA.includes('sparse') ? corpus('sparse', 0.02) : undefined;
const dense = CORPORA.includes('dense') ? corpus('dense', 1 / 3) : undefined;

const checks = [];
if (sparse) {
  if (sparse.jscs) {
    const speedup = sparse.jscs.ms / sparse.ours.ms;
    checks.push([`sparse: ours ${speedup.toFixed(1)}x faster than jscodeshift (target >= ${TARGET_SPEEDUP}x)`, speedup >= TARGET_SPEEDUP]);
  }
  checks.push([`sparse: ours peak RSS ${sparse.ours.rssMb.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB)`, sparse.ours.rssMb < TARGET_RSS_MB]);
  checks.push([`sparse (${SHAPE} shape): ours / floor = ${(sparse.ours.ms / sparse.floor.ms).toFixed(2)}x the cost of only parsing the legacy files (target <= ${TARGET_FLOOR}x; medians of ${FLOOR_REPEAT}; cold start ${(sparse.cold.ms / sparse.floor.ms).toFixed(2)}x)`, sparse.ours.ms / sparse.floor.ms <= TARGET_FLOOR]);
}
if (dense?.jscs) {
  const denseRatio = dense.jscs.ms / dense.ours.ms;
  checks.push([`dense: ours ${denseRatio.toFixed(2)}x jscodeshift's speed, peak RSS ${dense.ours.rssMb.toFixed(0)} MB (target >= ${TARGET_DENSE}x)`, denseRatio >= TARGET_DENSE]);
}
if (sparse && dense) {
  checks.push([`verify: sparse ${(sparse.verified.ms / sparse.ours.ms).toFixed(2)}x, dense ${(dense.verified.ms / dense.ours.ms).toFixed(2)}x the time of --no-verify (recorded, no target)`, true]);
}
console.log('\n### targets');
for (const [text, ok] of checks) console.log(`${ok ? 'ok    ' : 'MISSED'} ${text}`);

mkdirSync(join(root, 'bench/results'), { recursive: true });
const out = join(root, 'bench/results', `codemod-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const strip = (r) => r && { ms: Math.round(r.ms), rssMb: r.rssMb && Math.round(r.rssMb) };
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, files: FILES, shape: SHAPE, corpora: [sparse, dense].filter(Boolean).map((c) => ({ name: c.name, files: c.files, legacy: c.legacy, ours: strip(c.ours), oursCold: strip(c.cold), oursVerified: strip(c.verified), jscodeshift: strip(c.jscs), floor: strip(c.floor) })) }, null, 2),
);
console.log(`\nresults: ${out}`);
if (process.env.BENCH_STRICT === '1' && checks.some(([, ok]) => !ok)) process.exit(1);
