// The package as npm publishes it: `npm pack` of the built tree, unpacked into a
// throw-away consumer project (its other dependencies linked from the repository's,
// as the e2e workspaces do).
// What a user installs must hold every file that package.json points at and
// nothing of the repository's tests, fixtures or sources, and must load from
// CommonJS and ESM, type-check in both, and run its bin.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertShimBuilt, linkRepoDependencies, REPO_ROOT } from '../e2e/support/workspace.js';

interface PackResult {
  filename: string;
  files: { path: string }[];
}

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
  version: string;
  main: string;
  types: string;
  bin: Record<string, string>;
  exports: unknown;
  files: string[];
};

/** Every file path an `exports` map names, without its leading './'. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value.replace(/^\.\//, '')];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

const work = mkdtempSync(join(tmpdir(), 'dm-pack-'));
const consumer = join(work, 'consumer');
const installed = join(consumer, 'node_modules', 'deferred-migrate');
let packed: Set<string>;

function runNode(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, args, { cwd: consumer, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeAll(() => {
  assertShimBuilt();
  // --ignore-scripts: `prepack` would rebuild dist/, which `npm test` has just built.
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [result] = JSON.parse(output) as PackResult[];
  packed = new Set(result!.files.map((file) => file.path));

  linkRepoDependencies(join(consumer, 'node_modules'));
  execFileSync('tar', ['-xzf', join(work, result!.filename), '-C', work]);
  renameSync(join(work, 'package'), installed);
  writeFileSync(join(consumer, 'package.json'), '{ "name": "consumer", "private": true }\n');
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('holds every file package.json points at, and the license', () => {
    const targets = [manifest.main, manifest.types, ...Object.values(manifest.bin), ...exportTargets(manifest.exports)]
      .map((path) => path.replace(/^\.\//, ''))
      .filter((path) => path !== 'package.json');
    expect(targets.length).toBeGreaterThan(8);
    expect(targets.filter((path) => !packed.has(path))).toEqual([]);
    for (const file of ['package.json', 'README.md', 'LICENSE', 'dist/cjs/package.json']) expect(packed).toContain(file);
  });

  it('holds nothing but the built code, the docs, the readme and the license', () => {
    const stray = [...packed].filter((path) => !/^(dist\/(esm|cjs)\/|docs\/[^/]+\.md$|README\.md$|LICENSE$|package\.json$)/.test(path));
    expect(stray).toEqual([]);
    expect([...packed].filter((path) => /__testfixtures__|\.test\.|\.sqlite/.test(path))).toEqual([]);
  });

  it('loads from CommonJS: the shim and the codemod API', () => {
    const run = runNode([
      '-e',
      `const shim = require('deferred-migrate/shim');
       const api = require('deferred-migrate');
       console.log(JSON.stringify({
         shim: ['defer', 'wrapApp', 'Handler', 'PermanentTaskFailure', 'SingularTaskFailure', 'register'].map((k) => typeof shim[k]),
         api: typeof api.migrate, rules: Array.isArray(api.RULES), from: require.resolve('deferred-migrate/shim'),
       }));`,
    ]);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { shim: string[]; api: string; rules: boolean; from: string };
    expect(result.shim).toEqual(Array(6).fill('function'));
    expect(result).toMatchObject({ api: 'function', rules: true, from: join(installed, 'dist', 'cjs', 'shim', 'index.js') });
  });

  it('loads from ESM, and runs a deferred task through a wrapped app', () => {
    const run = runNode([
      '--input-type=module',
      '-e',
      `import { configure, defer, getRuntime, register, wrapApp } from 'deferred-migrate/shim';
       import { migrate } from 'deferred-migrate';
       configure({ backend: 'memory', logger: { debug() {}, info() {}, warn() {}, error() {} } });
       let ran;
       const greet = register(function greet(name) { ran = name; }, 'greet');
       wrapApp((req, res) => res.end('app'), { useDeferred: true });
       await defer(greet, 'packed');
       await getRuntime().drain();
       console.log(JSON.stringify({ ran, migrate: typeof migrate, from: import.meta.resolve('deferred-migrate/shim') }));
       await getRuntime().close();`,
    ]);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { ran: string; migrate: string; from: string };
    expect(result).toMatchObject({ ran: 'packed', migrate: 'function' });
    expect(result.from).toBe(`file://${join(installed, 'dist', 'esm', 'shim', 'index.js')}`);
  });

  it('type-checks a CommonJS and an ESM consumer against its declarations', () => {
    writeFileSync(
      join(consumer, 'cjs-consumer.cts'),
      "import shim = require('deferred-migrate/shim');\nconst wrapped: (req: unknown, res: unknown) => void = shim.wrapApp((_req: unknown, _res: unknown) => {}, { useDeferred: true });\nexport = wrapped;\n",
    );
    writeFileSync(
      join(consumer, 'esm-consumer.mts'),
      "import { defer, Handler, register } from 'deferred-migrate/shim';\nimport type { RuleMeta } from 'deferred-migrate';\nconst task = register(function task(n: number): void {}, 'task');\nexport const queued: Promise<unknown> = defer(task, 1, { _countdown: 60 });\nexport const handler: Handler = new Handler();\nexport type Meta = RuleMeta;\n",
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'ES2022', strict: true, noEmit: true, types: ['node'], skipLibCheck: false },
        files: ['cjs-consumer.cts', 'esm-consumer.mts'],
      }),
    );
    const run = runNode([join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('runs its bin, which starts with a node shebang', () => {
    const bin = join(installed, manifest.bin['deferred-migrate']!);
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    const run = runNode([bin, '--version']);
    expect(run).toMatchObject({ status: 0, stdout: `${manifest.version}\n` });
  });

  it('ships source maps that carry their sources (the TypeScript sources are not in the package)', () => {
    const maps = [...packed].filter((path) => path.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(0);
    const withoutSources = maps.filter((path) => {
      const map = JSON.parse(readFileSync(join(installed, path), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      return map.sources.some((source, i) => typeof map.sourcesContent?.[i] !== 'string');
    });
    expect(withoutSources).toEqual([]);
    expect(existsSync(join(installed, 'shim'))).toBe(false);
  });
});
