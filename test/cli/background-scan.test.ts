// The CLI's tree scan in its worker thread (the built one: dist/esm/cli, as `npm test`
// builds it), shared with the main thread, must give exactly the in-process scan.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scanTree, type TreeScan } from '../../codemods/analysis/tree-scan.js';
import { prefilterNeedles, createMatchers } from '../../codemods/analysis/specifiers.js';
import { makeTree, type TempTree } from '../codemods/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILT = path.join(ROOT, 'dist/esm/cli/background-scan.js');
const WORKER = pathToFileURL(path.join(ROOT, 'dist/esm/cli/scan-worker.js'));
type BackgroundScan = typeof import('../../cli/background-scan.js');
let built: BackgroundScan;
const needles = prefilterNeedles(createMatchers());

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` (npm test does it first)`);
  built = (await import(pathToFileURL(BUILT).href)) as BackgroundScan;
});

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

/** A tree of `count` modules: some name the legacy API, some create an app, all import a neighbour. */
function manyModules(count: number): Record<string, string> {
  const files: Record<string, string> = { '.gitignore': 'ignored/\n', 'ignored/a.ts': "import 'google.appengine.ext.deferred';\n", 'app.yaml': 'runtime: nodejs20\n' };
  for (let i = 0; i < count; i++) {
    const lines = [`import { x${i + 1} } from './m${i + 1}.js';`, `export const x${i} = ${i};`];
    if (i % 7 === 0) lines.push("import { defer } from 'google/appengine/ext/deferred';");
    if (i % 11 === 0) lines.push("const app = express();");
    files[`pkg${i % 9}/m${i}.ts`] = lines.join('\n') + '\n';
  }
  return files;
}

function plain(scan: TreeScan): unknown {
  return { discovery: scan.discovery, scans: [...scan.scans] };
}

describe('background tree scan', () => {
  it('gives the in-process scan, file for file and in the same order, when the worker and this thread share the files', async () => {
    tree = makeTree(manyModules(700));
    const scope = { paths: [tree.root], root: tree.root, needles };
    const worker = built.prestartScanWorker(['.'], WORKER);
    expect(worker).toBeDefined();
    const events: string[] = [];
    const seen = new Map<string, unknown>();
    const shared = await built.startScan(worker, scope).finish({
      discovered: (discovery) => events.push(`discovered ${discovery.files.length}`),
      scanned: (absPath, scan) => {
        expect(seen.has(absPath)).toBe(false);
        seen.set(absPath, scan);
      },
    });
    const inProcess = scanTree(scope.paths, scope.root, needles);
    expect(shared.scans.size).toBe(700);
    expect(shared.discovery.files.some((f) => f.rel.startsWith('ignored/'))).toBe(false);
    expect(plain(shared)).toEqual(plain(inProcess));
    // The hooks saw the file list first, then every source file's scan exactly once.
    expect(events).toEqual([`discovered ${inProcess.discovery.files.length}`]);
    expect(new Map([...seen].sort())).toEqual(new Map([...inProcess.scans].sort()));
  });

  it('scans in process when the worker dies before it reports', async () => {
    tree = makeTree(manyModules(40));
    const broken = path.join(tmpdir(), `dm-broken-worker-${process.pid}.mjs`);
    writeFileSync(broken, "throw new Error('worker cannot start');\n");
    try {
      const worker = built.prestartScanWorker(['.'], pathToFileURL(broken));
      expect(worker).toBeDefined();
      const scope = { paths: [tree.root], root: tree.root, needles };
      const result = await built.startScan(worker, scope).finish();
      expect(plain(result)).toEqual(plain(scanTree(scope.paths, scope.root, needles)));
    } finally {
      rmSync(broken, { force: true });
    }
  });

  it('keeps the process alive while the worker scans, with nothing else to wait for', () => {
    tree = makeTree(manyModules(20));
    // A worker that is busy for a while before it walks the tree (no timer of its own to keep anything alive).
    const slow = path.join(tree.root, '..', `dm-slow-worker-${process.pid}.mjs`);
    writeFileSync(slow, `const end = Date.now() + 700; while (Date.now() < end); await import(${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/esm/cli/scan-worker.js')).href)});\n`);
    try {
      const script = `
        const { prestartScanWorker, startScan } = await import(${JSON.stringify(pathToFileURL(BUILT).href)});
        const worker = prestartScanWorker(['.'], new URL(${JSON.stringify(pathToFileURL(slow).href)}));
        const scan = await startScan(worker, { paths: [${JSON.stringify(tree.root)}], root: ${JSON.stringify(tree.root)}, needles: ${JSON.stringify(needles)} }).finish();
        console.log(scan.scans.size);`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
      expect(out.trim()).toBe('20');
    } finally {
      rmSync(slow, { force: true });
    }
  });

  it('starts no worker for commands that never migrate', () => {
    for (const argv of [['--help'], ['--version'], ['queues', 'ls'], ['tasks', 'ls'], ['dashboard']]) {
      expect(built.prestartScanWorker(argv, WORKER)).toBeUndefined();
    }
  });
});

describe("the scan worker's module graph", () => {
  // The worker starts before the main thread loads TypeScript and must stay light: a
  // value import that reaches ts-morph makes every run compile its 13 MB in the worker too.
  it('reaches neither ts-morph nor typescript through value imports', () => {
    const seen = new Set<string>();
    const heavy: string[] = [];
    const visit = (file: string, via: string[]): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
        const specifier = (match[1] ?? match[2])!;
        if (specifier === 'ts-morph' || specifier === 'typescript') heavy.push([...via, path.relative(ROOT, file)].join(' -> '));
        else if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts')), [...via, path.relative(ROOT, file)]);
      }
    };
    visit(path.join(ROOT, 'cli/scan-worker.ts'), []);
    expect(seen.size).toBeGreaterThan(3);
    expect(heavy).toEqual([]);
  });
});
