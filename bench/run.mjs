// Runs every bench/**/*.bench.mjs, each in its own Node process so that one
// benchmark's heap, timers and open handles cannot skew the next.
// Usage: node bench/run.mjs [substring...]   (only the files whose path contains one)
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('.', import.meta.url));
const root = join(benchDir, '..');
const filters = process.argv.slice(2);

function findBenchFiles(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : findBenchFiles(full);
      return entry.name.endsWith('.bench.mjs') ? [full] : [];
    })
    .sort();
}

const files = findBenchFiles(benchDir).filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
if (files.length === 0) {
  console.error(`no bench/**/*.bench.mjs file matches ${filters.join(', ') || '(any)'}`);
  process.exit(1);
}

const failed = [];
for (const file of files) {
  const name = relative(root, file);
  console.log(`\n## ${name}`);
  const { status, signal } = spawnSync(process.execPath, [file], { cwd: root, stdio: 'inherit' });
  if (status !== 0) failed.push(`${name} (${signal ?? `exit ${status}`})`);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
