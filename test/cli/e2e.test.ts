// The built CLI (dist/esm/cli/index.js, as `npm test` builds it) as a child process
// with the real engine, on temporary copies of the fixture trees.
import { execFile } from 'node:child_process';
import { applyPatch } from 'diff';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listCases, type TreeCase } from '../codemods/fixture-harness.js';
import { assertSarif210 } from '../report/sarif-shape.js';
import { copyTree, git, initRepo, makeTree, readTree, removeTrees } from './helpers/tree.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = path.join(ROOT, 'dist/esm/cli/index.js');
const APPS = path.join(ROOT, 'fixtures/apps');
const PARSE_ERROR_INPUT = path.join(ROOT, 'fixtures/codemods/engine/__testfixtures__/parse-error.input.ts');

afterEach(removeTrees);
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
});

/** The test runner's own colour settings must not leak into the CLI under test. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const name of ['NO_COLOR', 'FORCE_COLOR'] as const) if (!(name in extra)) delete env[name];
  return env;
}

/** Async, so the test worker's event loop stays free while the child runs. */
function run(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', env: childEnv(env), maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** A temp git repository holding a copy of a fixture app, committed. */
function appRepo(name: string): string {
  const dir = copyTree(path.join(APPS, name));
  initRepo(dir);
  return dir;
}

describe('deferred-migrate on the express-ts fixture app', () => {
  it('dry run prints the diff and the summary, writes nothing; write mode then writes exactly that; a second run changes nothing', async () => {
    const dir = appRepo('express-ts');
    const before = readTree(dir);
    const dry = await run(dir, ['--dry-run']);
    expect(dry.code).toBe(0);
    expect(readTree(dir)).toEqual(before);
    expect(dry.stdout).toContain('--- a/src/app.ts\n+++ b/src/app.ts\n');
    expect(dry.stdout).toContain('+  const app = wrapApp(express(), { useDeferred: true });');
    // Notes: this copy has no node_modules, so the shim types are the CLI's own and express does not resolve (verify-incomplete).
    expect(dry.stdout).toMatch(/^migrated\s+src\/app\.ts \(\d+ edits?, would change(; \d+ notes?)?\)$/m);
    expect(dry.stdout).toMatch(/\d+ migrated, \d+ unchanged, \d+ manual, 0 failed \(\d+ files scanned in \d+\.\d\d s, \d+ files\/s\)/);
    expect(dry.stdout).toContain('Dry run: nothing was written.');
    expect(dry.stdout).not.toContain('\u001b[');

    const planned = JSON.parse((await run(dir, ['--dry-run', '--report', 'json'])).stdout) as { files: Array<{ file: string; diff?: string }> };
    const changing = planned.files.filter((f) => f.diff !== undefined).map((f) => f.file).sort();
    expect(changing.length).toBeGreaterThan(3);

    const write = await run(dir, []);
    expect(write.code).toBe(0);
    expect(write.stdout).toContain(`Wrote ${changing.length} files.`);
    const changedOnDisk = git(dir, 'status', '--porcelain').split('\n').filter(Boolean).map((l) => l.slice(3)).sort();
    // Plus the app's new .gitignore, keeping the shim's data directory out of commits.
    expect(changedOnDisk).toEqual([...changing, '.gitignore'].sort());
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('.deferred/\n');
    // What was written is exactly what the dry run showed: its diff applied to the committed text.
    for (const file of changing) {
      const shown = planned.files.find((f) => f.file === file)!.diff!;
      expect(applyPatch(git(dir, 'show', `HEAD:${file}`), shown), file).toBe(readFileSync(path.join(dir, file), 'utf8'));
    }

    git(dir, 'commit', '-qam', 'migrate');
    const migrated = readTree(dir);
    const again = await run(dir, []);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^0 migrated/m);
    expect(readTree(dir)).toEqual(migrated);
  });

  it('refuses a dirty tree with exit 4 and accepts it with --allow-dirty', async () => {
    const dir = appRepo('express-ts');
    writeFileSync(path.join(dir, 'src/models.ts'), `${readFileSync(path.join(dir, 'src/models.ts'), 'utf8')}\n// local edit\n`);
    const before = readTree(dir);
    const refused = await run(dir, ['src']);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('M src/models.ts');
    expect(refused.stderr).toContain('--allow-dirty');
    expect(readTree(dir)).toEqual(before);

    const allowed = await run(dir, ['src', '--allow-dirty']);
    expect(allowed.code).toBe(0);
    expect(readFileSync(path.join(dir, 'src/app.ts'), 'utf8')).toContain('wrapApp(express(), { useDeferred: true })');
    expect(readFileSync(path.join(dir, 'src/models.ts'), 'utf8')).toContain('// local edit');
  });

  it('a file that does not parse: exit 3, that file untouched, the others migrated', async () => {
    const dir = appRepo('express-ts');
    copyFileSync(PARSE_ERROR_INPUT, path.join(dir, 'src/broken.ts'));
    git(dir, 'add', 'src/broken.ts');
    git(dir, 'commit', '-qm', 'broken file');
    const broken = readFileSync(PARSE_ERROR_INPUT, 'utf8');
    const result = await run(dir, []);
    expect(result.code).toBe(3);
    expect(readFileSync(path.join(dir, 'src/broken.ts'), 'utf8')).toBe(broken);
    expect(readFileSync(path.join(dir, 'src/app.ts'), 'utf8')).toContain('wrapApp(');
    expect(result.stdout).toMatch(/^failed\s+src\/broken\.ts \(parse-error: /m);
    expect(result.stdout).toMatch(/[1-9]\d* migrated, \d+ unchanged, \d+ manual, 1 failed/);
  });

  it('--report json, markdown and sarif keep stdout machine-readable and describe the same sites', async () => {
    const dir = appRepo('express-ts');
    const json = await run(dir, ['--dry-run', '--no-verify', '--report', 'json']);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({ version: 1, mode: 'dry-run', tool: { name: 'deferred-migrate' } });
    expect(json.stderr).toMatch(/\d+ migrated, .* files\/s\)/);
    const items = report.files.flatMap((f: { items: Array<{ file: string; line: number; column: number; code: string; docsUrl: string }> }) => f.items);
    expect(items.length).toBeGreaterThan(0);

    const sarif = JSON.parse((await run(dir, ['--dry-run', '--no-verify', '--report', 'sarif'])).stdout);
    assertSarif210(sarif);
    const sarifItems = sarif.runs[0].results.filter((r: { ruleId: string }) => !r.ruleId.startsWith('edit/'));
    expect(sarifItems.map((r: any) => `${r.locations[0].physicalLocation.artifactLocation.uri}:${r.locations[0].physicalLocation.region.startLine}:${r.ruleId}`).sort()).toEqual(
      items.map((i: any) => `${i.file}:${i.line}:${i.code}`).sort(),
    );

    const md = (await run(dir, ['--dry-run', '--no-verify', '--report', 'markdown'])).stdout;
    expect(md.startsWith('## deferred-migrate report\n')).toBe(true);
    for (const item of items) expect(md).toContain(`${item.file}:${item.line}:${item.column}`);
    expect(md).not.toContain('+++ b/');
  });

  // Plain when piped is asserted above; the flag precedence is covered in process (run-cli.test.ts).
  // Formats and colour do not depend on the type check: these runs skip it (the suite's time).
  it('colour: FORCE_COLOR turns it on when piped; on a TTY it is on unless NO_COLOR', async () => {
    const dir = appRepo('express-ts');
    expect((await run(dir, ['--dry-run', '--no-verify'], { FORCE_COLOR: '1' })).stdout).toContain('\u001b[32m+');
    // A real pseudo-terminal via util-linux `script`.
    const tty = (env: Record<string, string>) =>
      new Promise<string>((resolve, reject) =>
        execFile('script', ['-qec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} --dry-run --no-verify`, '/dev/null'], { cwd: dir, encoding: 'utf8', env: childEnv({ TERM: 'xterm', ...env }) }, (error, stdout) =>
          error ? reject(error) : resolve(stdout),
        ),
      );
    expect(await tty({})).toContain('\u001b[32m+');
    expect(await tty({ NO_COLOR: '1' })).not.toMatch(/\u001b\[3\dm/);
  });
});

describe('check', () => {
  it('exits 1 and says where while legacy usages remain, 0 after the migration', async () => {
    const dir = appRepo('koa-ts');
    const before = await run(dir, ['check']);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/^src\/\S+\.ts:\d+ {2}would rewrite {2}/m);
    expect(before.stdout).toContain('Legacy usages remain.');
    expect((await run(dir, [])).code).toBe(0);
    const after = await run(dir, ['check']);
    expect(after.stdout).toContain('No legacy usages remain.');
    expect(after.code).toBe(0);
  });
});

describe('markers and acknowledgements', () => {
  it('a kept _transactional option: marked, check exits 1 until the site is acknowledged, then 0', async () => {
    const dir = makeTree({
      'package.json': '{ "name": "shop", "private": true }\n',
      'src/app.ts': [
        "import express from 'express';",
        "import * as deferred from 'google/appengine/ext/deferred';",
        '',
        'export function settle(orderId: string) {',
        '  console.log(orderId);',
        '}',
        '',
        'export function checkout(orderId: string) {',
        '  deferred.defer(settle, orderId, { _transactional: true });',
        '}',
        '',
        'const app = express();',
        'app.listen(8080);',
        '',
      ].join('\n'),
    });
    initRepo(dir);
    const migrated = await run(dir, []);
    expect(migrated.code).toBe(0);
    const text = readFileSync(path.join(dir, 'src/app.ts'), 'utf8');
    expect(text).toMatch(/\n {2}\/\/ deferred-migrate\(transactional-enqueue\): .*; see node_modules\/deferred-migrate\/docs\/manual-steps\.md#transactional-enqueue\n {2}deferred\.defer\(settle/);
    // .deferred/ goes beside the app's package.json, and the report says so.
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('.deferred/\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'migrated');

    const before = await run(dir, ['check', '--report', 'json']);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout).files.flatMap((f: { items: Array<{ code: string }> }) => f.items).map((i: { code: string }) => i.code)).toEqual(['transactional-enqueue']);

    writeFileSync(path.join(dir, 'src/app.ts'), text.replace(/\/\/ deferred-migrate\(transactional-enqueue\).*/, '// deferred-migrate-ignore transactional-enqueue: settle() is idempotent'));
    const after = await run(dir, ['check', '--report', 'json']);
    expect(after.code).toBe(0);
    const items = JSON.parse(after.stdout).files.flatMap((f: { items: unknown[] }) => f.items);
    expect(items).toEqual([expect.objectContaining({ code: 'transactional-enqueue', acknowledged: 'settle() is idempotent' })]);
    // A migration run on the acknowledged code adds nothing either.
    git(dir, 'commit', '-qam', 'acknowledged');
    const again = await run(dir, []);
    expect(again.code).toBe(0);
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });

  it('--strict does not write a file whose migration adds a type error (exit 3); the item names the TypeScript error', async () => {
    // The tsconfig's path to the shim does not resolve in this copy: the CLI type-checks against its own shim types.
    const dir = copyTree(path.join(ROOT, 'fixtures/codemods/engine/__testfixtures__/type-break/input'));
    initRepo(dir);
    const original = readFileSync(path.join(dir, 'src/orders.ts'), 'utf8');
    const strict = await run(dir, ['--strict', '--report', 'json']);
    expect(strict.code).toBe(3);
    expect(readFileSync(path.join(dir, 'src/orders.ts'), 'utf8')).toBe(original);
    const report = JSON.parse(strict.stdout) as { files: Array<{ file: string; status: string; items: Array<{ code: string; severity: string; message: string; line: number }> }> };
    const orders = report.files.find((f) => f.file === 'src/orders.ts')!;
    expect(orders.status).toBe('failed');
    expect(orders.items.find((i) => i.code === 'new-type-error')).toMatchObject({ line: 11, message: expect.stringContaining("TS2339: Property 'name' does not exist on type 'Promise<") });
    expect(orders.items.find((i) => i.code === 'shim-unresolved')).toMatchObject({ severity: 'note' });

    // Without --strict the file is written, with the marker at the error.
    const written = await run(dir, ['--allow-dirty']);
    expect(written.code).toBe(0);
    expect(readFileSync(path.join(dir, 'src/orders.ts'), 'utf8')).toMatch(/\/\/ deferred-migrate\(new-type-error\): TS2339: .*\n {2}return task\.name;/);
  });
});

describe('expected outputs of the multi-file fixture cases', () => {
  // Each case is one CLI process; the engine's own harness checks every case in process,
  // so the default suite runs a sample (with and without report items) and LONG=1 runs all.
  const SAMPLE = ['app-yaml/builtin', 'task-handler-subclass/chain-across-files', 'imports/barrel-named'];
  const trees = listCases().filter((c): c is TreeCase => c.kind === 'tree' && (process.env.LONG === '1' || SAMPLE.includes(`${c.rule}/${c.name}`)));

  it('has multi-file cases to run', () => {
    expect(trees.length).toBeGreaterThan(0);
  });

  it.each(trees.map((c) => [`${c.rule}/${c.name}`, c] as const))('%s: writes the expected output tree and reports the expected sites', async (_name, fixture) => {
    const dir = copyTree(fixture.input);
    const result = await run(dir, ['--report', 'json']);
    expect([0, 3]).toContain(result.code);
    expect(readTree(dir)).toEqual(readTree(fixture.output));
    const expected = JSON.parse(readFileSync(fixture.report, 'utf8')) as Array<{ file?: string; line: number; column: number; code: string; rule: string }>;
    const actual = JSON.parse(result.stdout).files.flatMap((f: { items: any[] }) => f.items);
    expect(actual.map((i: any) => `${i.file}:${i.line}:${i.column} ${i.code} ${i.rule}`).sort()).toEqual(
      expected.map((i) => `${i.file ?? ''}:${i.line}:${i.column} ${i.code} ${i.rule}`).sort(),
    );
  });

  it('--help and --version work from the built binary', async () => {
    const help = await run(ROOT, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Exit codes:');
    expect((await run(ROOT, ['--version'])).stdout.trim()).toBe(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
