// runCli in process with a stand-in engine: exit codes, stream routing, the write
// phase and its failures, config and flag handling. The real engine runs in e2e.test.ts.
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeWriteFs, type WriteFs } from '../../codemods/io.js';
import type { MigrateOptions, MigrationResult } from '../../codemods/types.js';
import { ExitCode } from '../../cli/exit-codes.js';
import { runCli, type CliDeps } from '../../cli/main.js';
import { FAKE_DOCS, fakeMigrate } from './helpers/fake-engine.js';
import { capture } from './helpers/streams.js';
import { git, initRepo, makeTree, readTree, removeTrees } from './helpers/tree.js';

afterEach(removeTrees);

const LEGACY = {
  'src/a.ts': "import { legacyDefer } from 'x';\nlegacyDefer(work, 1);\n",
  'src/b.ts': "legacyDefer(other, { _transactional: true });\n",
  'src/plain.ts': 'export const x = 1;\n',
};

async function cli(argv: string[], cwd: string, overrides: Partial<CliDeps> = {}) {
  const stdout = capture();
  const stderr = capture();
  const seen: MigrateOptions[] = [];
  const code = await runCli(argv, {
    cwd,
    env: {},
    stdout,
    stderr,
    migrate: (o) => {
      seen.push(o);
      return fakeMigrate(o);
    },
    tool: { name: 'deferred-migrate', version: '9.9.9' },
    docsUrl: (c) => `${FAKE_DOCS}${c}`,
    ...overrides,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text(), seen };
}

describe('write mode', () => {
  it('writes the changes, keeps file modes, and a second run changes nothing', async () => {
    const dir = makeTree(LEGACY);
    initRepo(dir);
    chmodSync(path.join(dir, 'src/a.ts'), 0o640);
    const first = await cli([], dir);
    expect(first.code).toBe(ExitCode.Success);
    expect(readFileSync(path.join(dir, 'src/a.ts'), 'utf8')).toBe("import { legacyDefer } from 'x';\ndefer(work, 1);\n");
    expect(statSync(path.join(dir, 'src/a.ts')).mode & 0o777).toBe(0o640);
    // The note: `.deferred/` was added to the repository's .gitignore (no package.json here).
    expect(first.stdout).toMatch(/^migrated\s+src\/a\.ts \(1 edit, written; 1 note\)$/m);
    expect(readFileSync(path.join(dir, '.gitignore'), 'utf8')).toBe('.deferred/\n');
    expect(first.stdout).toMatch(/^manual\s+src\/b\.ts \(1 edit, written; 1 manual item\)$/m);
    expect(first.stdout).toContain(`src/b.ts:1:22  warning  transactional-enqueue  transactional enqueue is not available on Cloud Tasks  ${FAKE_DOCS}transactional-enqueue`);
    expect(first.stdout).toMatch(/1 migrated, 1 unchanged, 1 manual, 0 failed \(3 files scanned in \d+\.\d\d s, \d+ files\/s\)/);
    expect(readdirSync(path.join(dir, 'src')).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    git(dir, 'commit', '-qam', 'migrated');
    const before = readTree(dir);
    const second = await cli([], dir);
    expect(second.code).toBe(ExitCode.Success);
    expect(readTree(dir)).toEqual(before);
    expect(second.stdout).toMatch(/0 migrated/);
  });

  it('refuses a dirty tree with exit 4, writing nothing, and proceeds with --allow-dirty', async () => {
    const dir = makeTree(LEGACY);
    initRepo(dir);
    writeFileSync(path.join(dir, 'src/plain.ts'), 'export const x = 2;\n');
    const before = readTree(dir);
    const refused = await cli(['src'], dir);
    expect(refused.code).toBe(ExitCode.DirtyTree);
    expect(refused.stderr).toContain('refusing to write');
    expect(refused.stderr).toContain(' M src/plain.ts');
    expect(refused.seen).toHaveLength(0); // refused before any analysis
    expect(readTree(dir)).toEqual(before);

    const allowed = await cli(['src', '--allow-dirty'], dir);
    expect(allowed.code).toBe(ExitCode.Success);
    expect(readFileSync(path.join(dir, 'src/a.ts'), 'utf8')).toContain('\ndefer(work, 1);');
  });

  it('treats a staged file as dirty, ignores changes outside the paths, warns about untracked targets', async () => {
    const dir = makeTree({ ...LEGACY, 'other/x.ts': 'x\n' });
    initRepo(dir);
    writeFileSync(path.join(dir, 'other/x.ts'), 'changed\n');
    writeFileSync(path.join(dir, 'src/new.ts'), 'legacyDefer(n);\n');
    const run = await cli(['src'], dir);
    expect(run.code).toBe(ExitCode.Success);
    expect(run.stderr).toMatch(/warning: wrote 1 file not tracked by git .*src\/new\.ts/);

    git(dir, 'add', 'src/new.ts');
    const staged = await cli(['src'], dir);
    expect(staged.code).toBe(ExitCode.DirtyTree);
    expect(staged.stderr).toContain('A  src/new.ts');
  });

  it('proceeds outside git with a warning', async () => {
    const dir = makeTree(LEGACY);
    const run = await cli([], dir);
    expect(run.code).toBe(ExitCode.Success);
    expect(run.stderr).toContain('not a git repository');
  });

  it('a file that fails to parse: exit 3, untouched, the others migrated', async () => {
    const dir = makeTree({ ...LEGACY, 'src/broken.ts': 'legacyDefer(x) @@parse-error@@\n' });
    const run = await cli([], dir);
    expect(run.code).toBe(ExitCode.FileFailures);
    expect(readFileSync(path.join(dir, 'src/broken.ts'), 'utf8')).toBe('legacyDefer(x) @@parse-error@@\n');
    expect(readFileSync(path.join(dir, 'src/a.ts'), 'utf8')).toContain('\ndefer(work, 1);');
    expect(run.stdout).toMatch(/^failed\s+src\/broken\.ts/m);
    expect(run.stdout).toContain('src/broken.ts:1:16  error  parse-error');
  });

  it('a write that fails: io-error, exit 3, original intact, the other files written', async () => {
    const dir = makeTree(LEGACY);
    const failing: WriteFs = {
      ...nodeWriteFs,
      rename: async (from, to) => {
        if (to.endsWith('a.ts')) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
        return nodeWriteFs.rename(from, to);
      },
    };
    const run = await cli(['--report', 'json'], dir, { writeFs: failing });
    expect(run.code).toBe(ExitCode.FileFailures);
    expect(readFileSync(path.join(dir, 'src/a.ts'), 'utf8')).toBe(LEGACY['src/a.ts']);
    expect(readFileSync(path.join(dir, 'src/b.ts'), 'utf8')).toContain('defer(other');
    expect(readdirSync(path.join(dir, 'src')).sort()).toEqual(['a.ts', 'b.ts', 'plain.ts']);
    const report = JSON.parse(run.stdout);
    const a = report.files.find((f: { file: string }) => f.file === 'src/a.ts');
    expect(a.status).toBe('failed');
    expect(a.applied).toBe(false);
    expect(a.items).toEqual([expect.objectContaining({ code: 'io-error', severity: 'error', docsUrl: `${FAKE_DOCS}io-error`, message: expect.stringContaining('EIO') })]);
    expect(report.summary).toMatchObject({ migrated: 0, manual: 1, failed: 1 });
  });

  it('skips and reports a file that changed on disk after the engine read it', async () => {
    const dir = makeTree(LEGACY);
    const racing = async (o: MigrateOptions): Promise<MigrationResult> => {
      const result = await fakeMigrate(o);
      writeFileSync(path.join(dir, 'src/a.ts'), 'edited by someone else\n');
      return result;
    };
    const run = await cli([], dir, { migrate: racing });
    expect(run.code).toBe(ExitCode.FileFailures);
    expect(readFileSync(path.join(dir, 'src/a.ts'), 'utf8')).toBe('edited by someone else\n');
    expect(run.stdout).toMatch(/src\/a\.ts:1:1 {2}error {2}io-error {2}not written: the file changed on disk during the run/);
  });
});

describe('dry run and check', () => {
  it('--dry-run writes nothing, prints a plain diff when piped, the status lines and the summary', async () => {
    const dir = makeTree(LEGACY);
    initRepo(dir);
    writeFileSync(path.join(dir, 'src/plain.ts'), 'dirty but irrelevant for a dry run\n');
    const before = readTree(dir);
    const run = await cli(['--dry-run'], dir);
    expect(run.code).toBe(ExitCode.Success);
    expect(readTree(dir)).toEqual(before);
    expect(run.stdout).toContain('--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,2 +1,2 @@\n import { legacyDefer } from \'x\';\n-legacyDefer(work, 1);\n+defer(work, 1);\n');
    expect(run.stdout).not.toContain('\u001b[');
    expect(run.stdout).toMatch(/^migrated\s+src\/a\.ts \(1 edit, would change\)$/m);
    expect(run.stdout).toContain('Dry run: nothing was written.');
  });

  it('colours the diff on a TTY unless NO_COLOR, and --color/--no-color win', async () => {
    const dir = makeTree(LEGACY);
    const tty = async (argv: string[], env: Record<string, string>) => {
      const stdout = capture(true);
      await runCli(argv, { cwd: dir, env, stdout, stderr: capture(), migrate: fakeMigrate, tool: { name: 'd', version: '1' }, docsUrl: (c) => c });
      return stdout.text();
    };
    expect(await tty(['--dry-run'], {})).toContain('\u001b[32m+defer(work, 1);\u001b[39m');
    expect(await tty(['--dry-run'], { NO_COLOR: '1' })).not.toContain('\u001b[');
    expect(await tty(['--dry-run', '--color'], { NO_COLOR: '1' })).toContain('\u001b[31m-legacyDefer(work, 1);');
    expect(await tty(['--dry-run', '--no-color'], {})).not.toContain('\u001b[');
    const piped = await cli(['--dry-run'], dir, { env: { FORCE_COLOR: '1' } });
    expect(piped.stdout).toContain('\u001b[32m+defer(work, 1);');
  });

  it('check exits 1 and says where while usages remain, 0 once clean', async () => {
    const dir = makeTree({ 'a.ts': 'x();\nlegacyDefer(work);\n', 'b.ts': 'ok\n' });
    const dirty = await cli(['check'], dir);
    expect(dirty.code).toBe(ExitCode.LegacyUsagesRemain);
    expect(dirty.stdout).toContain('a.ts:2  would rewrite  legacyDefer() -> defer() (fake-defer)');
    expect(dirty.stdout).toContain('Legacy usages remain.');
    expect(readFileSync(path.join(dir, 'a.ts'), 'utf8')).toBe('x();\nlegacyDefer(work);\n');

    expect((await cli([], dir)).code).toBe(ExitCode.Success);
    const clean = await cli(['check'], dir);
    expect(clean.code).toBe(ExitCode.Success);
    expect(clean.stdout).toContain('No legacy usages remain.');
  });

  it('check counts a manual item alone as a remaining usage, and a failure wins with exit 3', async () => {
    const manualOnly = makeTree({ 'a.ts': 'x({ _transactional: true });\n' });
    expect((await cli(['check'], manualOnly)).code).toBe(ExitCode.LegacyUsagesRemain);
    const broken = makeTree({ 'a.ts': 'legacyDefer(a);\n', 'b.ts': '@@parse-error@@' });
    expect((await cli(['check'], broken)).code).toBe(ExitCode.FileFailures);
  });
});

describe('reports and streams', () => {
  it('--report json keeps stdout pure JSON; human output moves to stderr; no diff', async () => {
    const dir = makeTree(LEGACY);
    const run = await cli(['--dry-run', '--report', 'json', '--progress'], dir);
    const report = JSON.parse(run.stdout);
    expect(report.version).toBe(1);
    expect(report.mode).toBe('dry-run');
    expect(run.stderr).toMatch(/1 migrated, 1 unchanged, 1 manual, 0 failed/);
    expect(run.stderr).not.toContain('+++ b/');
  });

  it('--report-file writes the report (format from the extension) and keeps the normal output', async () => {
    const dir = makeTree(LEGACY);
    const run = await cli(['--dry-run', '--report-file', 'out/report.sarif'], dir);
    expect(run.code).toBe(ExitCode.Success);
    expect(run.stdout).toContain('+++ b/src/a.ts');
    const sarif = JSON.parse(readFileSync(path.join(dir, 'out/report.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    const md = await cli(['--dry-run', '--report-file', 'r.md'], dir);
    expect(md.code).toBe(ExitCode.Success);
    expect(readFileSync(path.join(dir, 'r.md'), 'utf8')).toContain('## deferred-migrate report');
    const unknown = await cli(['--dry-run', '--report-file', 'r.txt'], dir);
    expect(unknown.code).toBe(ExitCode.UsageError);
    expect(unknown.stderr).toContain('cannot tell the report format');
  });

  it('--quiet prints nothing but errors', async () => {
    const dir = makeTree({ ...LEGACY, 'bad.ts': '@@parse-error@@' });
    const run = await cli(['--dry-run', '--quiet'], dir);
    expect(run.code).toBe(ExitCode.FileFailures);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('deferred-migrate: bad.ts:1:1 parse-error: Unexpected token\n');
  });

  it('counts scanned files the engine does not list as unchanged, so the summary adds up', async () => {
    const dir = makeTree(LEGACY);
    const candidatesOnly = async (o: MigrateOptions): Promise<MigrationResult> => {
      const result = await fakeMigrate(o);
      const files = result.files.filter((f) => f.status !== 'unchanged');
      return { ...result, files, summary: { ...result.summary, scanned: 40, unchanged: 0 } };
    };
    const run = await cli(['--dry-run', '--report', 'json'], dir, { migrate: candidatesOnly });
    expect(run.stderr).toMatch(/1 migrated, 38 unchanged, 1 manual, 0 failed \(40 files scanned/);
    expect(JSON.parse(run.stdout).summary).toMatchObject({ scanned: 40, unchanged: 38 });
  });

  it('--verbose lists unchanged files too', async () => {
    const dir = makeTree(LEGACY);
    const run = await cli(['--dry-run', '--verbose'], dir);
    expect(run.stdout).toMatch(/^unchanged\s+src\/plain\.ts$/m);
    expect((await cli(['--dry-run'], dir)).stdout).not.toContain('src/plain.ts');
  });
});

describe('options and configuration', () => {
  it('takes the root, the config and the .gitignore from the repository of paths outside the current one', async () => {
    const here = makeTree({ 'deferred-migrate.config.json': JSON.stringify({ shimModule: 'from-here' }) });
    initRepo(here);
    const other = makeTree({ ...LEGACY, 'deferred-migrate.config.json': JSON.stringify({ shimModule: 'from-other' }) });
    initRepo(other);
    const run = await cli([path.join(other, 'src')], here);
    expect(run.code).toBe(ExitCode.Success);
    // The type check looks for a tsconfig from each file up to the root: the other repository's.
    expect(run.seen[0]).toMatchObject({ paths: [path.join(other, 'src')], root: other, shimModule: 'from-other' });
    expect(readFileSync(path.join(other, '.gitignore'), 'utf8')).toBe('.deferred/\n');
    expect(existsSync(path.join(here, '.gitignore'))).toBe(false);
    // Paths inside the current repository keep its root.
    const inside = await cli(['--dry-run'], here);
    expect(inside.seen[0]).toMatchObject({ root: here, shimModule: 'from-here' });
  });

  it('passes legacy and shim module settings to the engine; flags win over the config file', async () => {
    const dir = makeTree({
      ...LEGACY,
      'deferred-migrate.config.json': JSON.stringify({ legacyModules: ['@acme/tasks'], shimModule: '@acme/shim', paths: ['src'] }),
    });
    const run = await cli(['--dry-run', '--legacy-module', 'a/b', '--legacy-module', 'c/d', '--legacy-webapp-module', 'w/x', '--shim-module', 'my-shim'], dir);
    expect(run.code).toBe(ExitCode.Success);
    expect(run.seen[0]).toMatchObject({
      paths: [path.join(dir, 'src')],
      root: dir,
      legacyModules: ['@acme/tasks', 'a/b', 'c/d'],
      legacyWebappModules: ['w/x'],
      shimModule: 'my-shim',
    });
    const fromConfig = await cli(['--dry-run'], dir);
    expect(fromConfig.seen[0]).toMatchObject({ shimModule: '@acme/shim' });
  });

  it('passes verification, marker and docs-link settings; flags win over the config; the docs link reaches io-error items', async () => {
    const dir = makeTree({ ...LEGACY, 'deferred-migrate.config.json': JSON.stringify({ verify: false, markers: false, strict: true, docsBase: 'https://docs.example/m.md' }) });
    const fromConfig = await cli(['--dry-run'], dir, { docsBase: 'node_modules/x.md', shimTypes: '/pkg/shim.d.ts' });
    expect(fromConfig.seen[0]).toMatchObject({ verify: false, markers: false, strict: true, docsBase: 'https://docs.example/m.md', shimTypes: '/pkg/shim.d.ts' });
    const flags = await cli(['--dry-run', '--verify', '--markers', '--no-strict', '--docs-base', 'https://other.example/d.md'], dir);
    expect(flags.seen[0]).toMatchObject({ verify: true, markers: true, strict: false, docsBase: 'https://other.example/d.md' });
    const defaults = await cli(['--dry-run'], makeTree(LEGACY), { docsBase: 'node_modules/x.md' });
    expect(defaults.seen[0]).toMatchObject({ docsBase: 'node_modules/x.md' });
    expect(defaults.seen[0]).not.toHaveProperty('verify');
    expect(defaults.seen[0]).not.toHaveProperty('markers');
  });

  it('reads the "deferred-migrate" key of package.json and an explicit --config', async () => {
    const dir = makeTree({ ...LEGACY, 'package.json': JSON.stringify({ name: 'app', 'deferred-migrate': { legacyModules: ['pkg/deferred'] } }), 'cfg/x.json': '{"shimModule":"cfg-shim"}' });
    expect((await cli(['--dry-run'], dir)).seen[0]?.legacyModules).toEqual(['pkg/deferred']);
    expect((await cli(['--dry-run', '--config', 'cfg/x.json'], dir)).seen[0]).toMatchObject({ shimModule: 'cfg-shim' });
  });

  it.each([
    ['invalid JSON', '{ "legacyModules": [', /invalid JSON/],
    ['an unknown key', '{ "legacyModule": ["x"] }', /unknown setting "legacyModule"/],
    ['a wrong type', '{ "legacyModules": "x" }', /"legacyModules" must be an array of non-empty strings/],
    ['a wrong report', '{ "report": "html" }', /"report" must be one of json, markdown, sarif/],
  ])('a config with %s exits 2 with a clear message and touches nothing', async (_name, text, message) => {
    const dir = makeTree({ ...LEGACY, '.deferred-migraterc.json': text });
    const before = readTree(dir);
    const run = await cli([], dir);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain('.deferred-migraterc.json');
    expect(run.seen).toHaveLength(0);
    expect(readTree(dir)).toEqual(before);
  });

  it.each([
    [['--bogus'], /Unknown argument: bogus/],
    [['--report', 'xml'], /Invalid values/],
    [['does-not-exist'], /path not found: does-not-exist/],
    [['--config', 'nope.json'], /config file not found/],
    [['--quiet', '--verbose'], /mutually exclusive/],
    [['--shim-module', 'a', '--shim-module', 'b'], /--shim-module given more than once/],
  ])('usage error %j exits 2', async (argv, message) => {
    const dir = makeTree(LEGACY);
    const run = await cli(argv, dir);
    expect(run.code).toBe(ExitCode.UsageError);
    expect(run.stderr).toMatch(message);
    expect(readTree(dir)).toEqual(LEGACY);
  });

  it('an engine crash exits 70, with the stack only under --verbose', async () => {
    const dir = makeTree(LEGACY);
    const boom = async (): Promise<MigrationResult> => {
      throw new Error('boom');
    };
    const plain = await cli(['--dry-run'], dir, { migrate: boom });
    expect(plain.code).toBe(ExitCode.InternalError);
    expect(plain.stderr).toContain('internal error: boom');
    expect(plain.stderr).not.toContain('at ');
    const verbose = await cli(['--dry-run', '--verbose'], dir, { migrate: boom });
    expect(verbose.stderr).toMatch(/Error: boom\n\s+at /);
  });

  it('--help documents every flag, both commands and the exit codes; --version prints the version', async () => {
    const dir = makeTree({});
    const help = await cli(['--help'], dir);
    expect(help.code).toBe(ExitCode.Success);
    for (const flag of ['--dry-run', '--allow-dirty', '--report', '--report-file', '--link-base', '--docs-base', '--verify', '--strict', '--markers', '--legacy-module', '--legacy-webapp-module', '--shim-module', '--config', '--color', '--progress', '--quiet', '--verbose', '--help', '--version']) {
      expect(help.stdout).toContain(flag);
    }
    expect(help.stdout).toContain('check [paths..]');
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ', '70 ']) expect(help.stdout).toMatch(new RegExp(`^  ${code}`, 'm'));
    expect(help.stdout).toContain('NO_COLOR');
    const checkHelp = await cli(['check', '--help'], dir);
    expect(checkHelp.stdout).toContain('Exit codes:');
    expect(checkHelp.stdout).not.toMatch(/^\s+--dry-run\s/m);
    expect((await cli(['--version'], dir)).stdout.trim()).toBe('9.9.9');
    expect(existsSync(path.join(dir, 'deferred-migrate.config.json'))).toBe(false);
  });
});
