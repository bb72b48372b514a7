// Hostile trees for the real CLI: files that do not parse, binary files, symlink
// loops, huge files, unreadable files and directories, unwritable directories,
// paths with spaces and non-ASCII names, a full disk (RLIMIT_FSIZE), a tree
// modified during the run, and the CLI killed while it writes. Each problem gets
// a clear report line (file:line:col, reason code) and exit code 3; every file is
// either exactly as it was or exactly the migrated text, never half-written.
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../cli/main.js';
import { toolInfo } from '../../cli/package-files.js';
import { migrate } from '../../codemods/engine.js';
import { docsUrl } from '../../codemods/rewrite/context.js';
import { boundByPermissions, leftoverTempFiles, modeOf, runCliProcess } from './support/cli-process.js';
import { scaled, suiteSeed } from './support/scale.js';
import { syntaxErrors } from './support/typecheck.js';

const base = mkdtempSync(join(tmpdir(), 'dm-hostile-trees-'));
chmodSync(base, 0o755);
afterAll(() => {
  // Undo the permission traps so the tree can be removed.
  chmodRecursive(base);
  rmSync(base, { recursive: true, force: true });
});

/** Makes every directory and file under `path` accessible again (symlinks are left alone). */
function chmodRecursive(path: string): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat || stat.isSymbolicLink()) return;
  chmodSync(path, 0o755);
  if (stat.isDirectory()) for (const name of readdirSync(path)) chmodRecursive(join(path, name));
}

let treeCounter = 0;
function tree(files: Record<string, string | Buffer>): string {
  const dir = join(base, `tree-${++treeCounter}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A file the codemod migrates completely: an Express app deferring a local task. */
function migratable(name: string, padding = 0): string {
  const filler = Array.from({ length: padding }, (_, i) => `export const filler${i} = ${i}; // unrelated line ${i}`).join('\n');
  return [
    "import express from 'express';",
    "import { defer } from 'google/appengine/ext/deferred';",
    '',
    `export function ${name}(key: string): void {`,
    '  console.log(key);',
    '}',
    '',
    'export const app = express();',
    `app.get('/go', (_req, res) => {\n  defer(${name}, 'k');\n  res.send('ok');\n});`,
    filler,
    '',
  ].join('\n');
}

const LEGACY_IMPORT = "import { defer } from 'google/appengine/ext/deferred';\n";

/** A report line of the human output: `path:line:col  error  code`. */
function reportLine(output: string, path: string, code: string): RegExpMatchArray | null {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return output.match(new RegExp(`${escaped}:\\d+:\\d+\\s+error\\s+${code}\\b[^\\n]*`));
}

function expectMigrated(dir: string, path: string, original: string): void {
  const text = readFileSync(join(dir, path), 'utf8');
  expect(text, path).not.toBe(original);
  expect(text, path).toContain('deferred-migrate/shim');
  expect(syntaxErrors(path, text), path).toEqual([]);
}

describe('the CLI on hostile trees', () => {
  it('reports unparsable and binary files, migrates the rest (spaces, non-ASCII, huge), and survives symlink loops', async () => {
    const hugeLines = scaled(10_000, 100_000);
    const huge = migratable('hugeTask', hugeLines);
    const unrelatedHuge = Array.from({ length: hugeLines * 4 }, (_, i) => `export const value${i} = ${i};`).join('\n');
    const binary = Buffer.concat([Buffer.from(LEGACY_IMPORT), randomBytes(4096), Buffer.from([0, 0, 0])]);
    const files: Record<string, string | Buffer> = {
      'src/ok.ts': migratable('okTask'),
      'src/broken.ts': `${LEGACY_IMPORT}export const x = (;\n`,
      'src/binary.ts': binary,
      'src/noise.js': randomBytes(8192),
      'src/dir with spaces/naïve café ✓.ts': migratable('unicodeTask'),
      'src/huge.ts': huge,
      'src/huge-unrelated.js': unrelatedHuge,
      'src/a/inner.ts': migratable('innerTask'),
    };
    const dir = tree(files);
    symlinkSync('..', join(dir, 'src/loop'));
    symlinkSync('../a', join(dir, 'src/a/again'));
    symlinkSync('nowhere.ts', join(dir, 'src/dangling.ts'));

    const started = Date.now();
    const run = await runCliProcess(['src'], { cwd: dir });
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(3);
    expect(reportLine(output, 'src/broken.ts', 'parse-error'), output).not.toBeNull();
    expect(reportLine(output, 'src/binary.ts', 'parse-error'), output).not.toBeNull();
    for (const path of ['src/broken.ts', 'src/binary.ts', 'src/noise.js', 'src/huge-unrelated.js']) {
      expect(readFileSync(join(dir, path)).equals(Buffer.from(files[path]!)), `${path} must be untouched`).toBe(true);
    }
    for (const path of ['src/ok.ts', 'src/dir with spaces/naïve café ✓.ts', 'src/huge.ts', 'src/a/inner.ts']) expectMigrated(dir, path, files[path] as string);
    // The huge file's unrelated bulk is byte-identical.
    const bulk = huge.slice(huge.indexOf('export const filler0'));
    expect(readFileSync(join(dir, 'src/huge.ts'), 'utf8').endsWith(bulk)).toBe(true);
    // Each file once, even though src/loop and src/a/again lead back into the tree.
    expect(readFileSync(join(dir, 'src/a/inner.ts'), 'utf8').match(/register\(innerTask\)/g)).toHaveLength(1);
    expect(leftoverTempFiles(dir)).toEqual([]);
    console.log(`hostile tree: ${hugeLines}-line huge file migrated, ${hugeLines * 4}-line unrelated file skipped; CLI run took ${Date.now() - started} ms`);
  }, scaled(120_000, 600_000));

  it('reports unreadable files and directories and unwritable directories, writing the rest', async () => {
    const ok = migratable('okTask');
    const noread = migratable('secretTask');
    const locked = migratable('lockedTask');
    const readonly = migratable('readonlyTask');
    const dir = tree({ 'src/ok.ts': ok, 'src/readonly.ts': readonly, 'src/noread.ts': noread, 'src/locked-dir/job.ts': locked, 'src/sealed-dir/hidden.ts': migratable('hiddenTask') });
    // Root ignores permission bits: as root, the CLI runs as the checkout's owner without the
    // capabilities that bypass them (so it reaches the checkout wherever it lives), and owns the tree.
    const identity = boundByPermissions();
    if (identity) for (const path of [dir, join(dir, 'src'), join(dir, 'src/ok.ts'), join(dir, 'src/readonly.ts')]) chownSync(path, identity.uid, identity.gid);
    chmodSync(join(dir, 'src/readonly.ts'), 0o444);
    chmodSync(join(dir, 'src/noread.ts'), 0o000);
    chmodSync(join(dir, 'src/locked-dir'), 0o555); // the CLI cannot create the temp file beside job.ts
    chmodSync(join(dir, 'src/sealed-dir'), 0o000);

    const run = await runCliProcess(['src'], { cwd: dir, ...(identity && { as: identity }) });
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(3);
    expect(reportLine(output, 'src/noread.ts', 'unreadable-file'), output).not.toBeNull();
    expect(reportLine(output, 'src/sealed-dir', 'unreadable-file'), output).not.toBeNull();
    expect(reportLine(output, 'src/locked-dir/job.ts', 'io-error')?.[0], output).toMatch(/EACCES|permission denied/i);
    expectMigrated(dir, 'src/ok.ts', ok);
    // A read-only file in a writable directory is replaced as editors and `sed -i` do, keeping its mode.
    expectMigrated(dir, 'src/readonly.ts', readonly);
    expect(modeOf(join(dir, 'src/readonly.ts'))).toBe(0o444);
    chmodSync(join(dir, 'src/noread.ts'), 0o644);
    expect(readFileSync(join(dir, 'src/noread.ts'), 'utf8')).toBe(noread);
    expect(readFileSync(join(dir, 'src/locked-dir/job.ts'), 'utf8')).toBe(locked);
    expect(leftoverTempFiles(dir)).toEqual([]);
  }, 120_000);

  it('reports a full disk (writes failing with EFBIG) per file, leaving the original whole and no temp file behind', async () => {
    const small = migratable('smallTask');
    const big = migratable('bigTask', 400); // its migrated text is larger than the limit
    const dir = tree({ 'src/small.ts': small, 'src/big.ts': big });
    expect(Buffer.byteLength(big)).toBeGreaterThan(16 * 1024);
    const run = await runCliProcess(['src'], { cwd: dir, fileSizeLimitKb: 16 });
    const output = run.stdout + run.stderr;
    expect(run.code, output).toBe(3);
    expect(reportLine(output, 'src/big.ts', 'io-error')?.[0], output).toMatch(/EFBIG|too large/i);
    expect(readFileSync(join(dir, 'src/big.ts'), 'utf8')).toBe(big);
    expectMigrated(dir, 'src/small.ts', small);
    expect(leftoverTempFiles(dir)).toEqual([]);
  }, 120_000);

  it('does not overwrite files that change, vanish or turn into directories while it runs', async () => {
    const files = { 'src/edited.ts': migratable('editedTask'), 'src/deleted.ts': migratable('deletedTask'), 'src/replaced.ts': migratable('replacedTask'), 'src/steady.ts': migratable('steadyTask') };
    const dir = tree(files);
    const edit = '// edited by a person while the codemod ran\n';
    const out: string[] = [];
    const stream = { write: (text: string) => void out.push(text) };
    const code = await runCli(['src'], {
      cwd: dir,
      env: { NO_COLOR: '1' },
      stdout: stream,
      stderr: stream,
      tool: toolInfo(join(dirname(fileURLToPath(import.meta.url)), '../../cli')),
      docsUrl,
      // The real engine; between its read and the write phase, someone edits the tree.
      migrate: async (options) => {
        const result = await migrate(options);
        writeFileSync(join(dir, 'src/edited.ts'), files['src/edited.ts'] + edit);
        unlinkSync(join(dir, 'src/deleted.ts'));
        unlinkSync(join(dir, 'src/replaced.ts'));
        mkdirSync(join(dir, 'src/replaced.ts'));
        return result;
      },
    });
    const output = out.join('');
    expect(code, output).toBe(3);
    for (const path of ['src/edited.ts', 'src/deleted.ts', 'src/replaced.ts']) expect(reportLine(output, path, 'io-error'), output).not.toBeNull();
    expect(readFileSync(join(dir, 'src/edited.ts'), 'utf8')).toBe(files['src/edited.ts'] + edit);
    expect(() => readFileSync(join(dir, 'src/deleted.ts'))).toThrow(/ENOENT/);
    expect(lstatSync(join(dir, 'src/replaced.ts')).isDirectory()).toBe(true);
    expectMigrated(dir, 'src/steady.ts', files['src/steady.ts']);
    expect(leftoverTempFiles(dir)).toEqual([]);
  });

  it('leaves every file either original or fully migrated when killed at random moments while it writes', async () => {
    const count = scaled(120, 600);
    const kills = scaled(1, 12);
    const files: Record<string, string> = {};
    for (let i = 0; i < count; i += 1) files[`src/m${i}.ts`] = migratable(`task${i}`, 20);
    const reference = tree(files);
    const full = await runCliProcess(['src'], { cwd: reference });
    expect(full.code, full.stdout + full.stderr).toBe(0);
    const expected = Object.fromEntries(Object.keys(files).map((path) => [path, readFileSync(join(reference, path), 'utf8')]));

    const seed = suiteSeed();
    const delays = fc.sample(fc.integer({ min: 0, max: 39 }), { seed, numRuns: kills });
    const outcomes: string[] = [];
    for (let k = 0; k < kills; k += 1) {
      const dir = join(base, `killed-${k}`);
      cpSync(tree(files), dir, { recursive: true });
      // The writes come last, in a burst: kill a random few milliseconds into it.
      const afterMs = delays[k]!;
      const run = await runCliProcess(['src'], { cwd: dir, killOnFirstWrite: { dir: join(dir, 'src'), afterMs } });
      let migrated = 0;
      for (const path of Object.keys(files)) {
        const text = readFileSync(join(dir, path), 'utf8');
        expect([files[path], expected[path]], `${path} after a kill ${afterMs} ms into the writes`).toContain(text);
        if (text === expected[path]) migrated += 1;
      }
      if (k === kills - 1) {
        // Running again finishes the job: the partly migrated tree converges on the full result.
        const rerun = await runCliProcess(['src'], { cwd: dir });
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
        for (const path of Object.keys(files)) expect(readFileSync(join(dir, path), 'utf8'), path).toBe(expected[path]);
      }
      outcomes.push(`kill ${afterMs} ms into the writes (${run.signal ?? `exit ${run.code}`}): ${migrated}/${count} written, ${leftoverTempFiles(dir).length} temp files left`);
    }
    console.log(`hostile tree, CLI killed while writing ${count} files (seed ${seed}): ${outcomes.join('; ')}`);
  }, scaled(180_000, 900_000));
});
