// The verification's type check in the CLI's worker thread (the built one: dist/esm/cli,
// as `npm test` builds it) must give exactly the in-process check, and the engine must
// use it only for the changes it was made for, falling back to checking in process.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import type { MigrationResult, TypeCheckService } from '../../codemods/types.js';
import { checkTypes, type RawTypeCheck, type TypeCheckRequest } from '../../codemods/verify/typecheck.js';
import { makeTree, type TempTree } from '../codemods/helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILT = path.join(ROOT, 'dist/esm/cli/background-typecheck.js');
const WORKER = pathToFileURL(path.join(ROOT, 'dist/esm/cli/typecheck-worker.js'));
const SHIM_TYPES = path.join(ROOT, 'shim/index.ts');
type BackgroundTypeCheck = typeof import('../../cli/background-typecheck.js');
let built: BackgroundTypeCheck;

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` (npm test does it first)`);
  built = (await import(pathToFileURL(BUILT).href)) as BackgroundTypeCheck;
});

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

const options = { strict: true, noEmit: true, skipLibCheck: true, module: 'ESNext', moduleResolution: 'Bundler', target: 'ES2022', lib: ['ES2023'], types: [] };

/** A project whose migration adds a type error (`.name` of what is now a promise) and leaves an importer unresolved. */
function project(): TempTree {
  return makeTree({
    'tsconfig.json': JSON.stringify({ compilerOptions: options, include: ['src', 'legacy.d.ts'] }),
    'legacy.d.ts': "declare module 'google/appengine/ext/deferred' { export function defer(fn: (...a: never[]) => unknown, ...args: unknown[]): { name: string }; }\n",
    'src/a.ts': "import { defer } from 'google/appengine/ext/deferred';\nexport function s(): void {}\nexport function f(): string {\n  return defer(s).name;\n}\n",
    'src/b.ts': "import { f } from './a.js';\nimport { x } from 'not-installed';\nexport const g = (): string => f() + x;\n",
  });
}

function verifyItems(result: MigrationResult): string[] {
  return result.files.flatMap((f) => f.items.filter((i) => i.rule === 'verify').map((i) => `${f.file}:${i.line}:${i.column} ${i.code} ${i.message}`));
}

/** A type checker that records what it was asked and answers with `answer`. */
function recording(answer: (request: TypeCheckRequest) => Promise<RawTypeCheck>): TypeCheckService & { prepared: string[][]; requests: TypeCheckRequest[] } {
  const prepared: string[][] = [];
  const requests: TypeCheckRequest[] = [];
  return {
    prepared,
    requests,
    prepare: (configs) => void prepared.push(configs),
    check: (request) => {
      requests.push(request);
      return answer(request);
    },
  };
}

describe('background type check', () => {
  it('gives the in-process check of the same request', async () => {
    tree = project();
    const changed = new Map([[path.join(tree.root, 'src/a.ts'), "import { defer } from 'deferred-migrate/shim';\nexport function s(): void {}\nexport function f(): string {\n  return defer(s).name;\n}\n"]]);
    const request: TypeCheckRequest = { root: tree.root, changed, shimModule: 'deferred-migrate/shim', shimTypes: SHIM_TYPES };
    const checker = built.typeCheckInWorker(WORKER)!;
    expect(checker).toBeDefined();
    try {
      checker.prepare([path.join(tree.root, 'tsconfig.json')]);
      const inWorker = await checker.check(request);
      expect(inWorker).toEqual(checkTypes(request));
      // What the check found, so that the comparison is not of two empty results.
      expect(inWorker.byConfig[0]!.files.flatMap((f) => f.added.map((d) => d.code))).toEqual([2339]);
      expect(inWorker.byConfig[0]!.files.find((f) => f.absPath.endsWith('b.ts'))!.unresolvedBefore).toEqual(['not-installed']);
    } finally {
      checker.close();
    }
  }, 120_000);

  it('gives the engine the items of a run that checks in process', async () => {
    tree = project();
    const inProcess = verifyItems(await migrate({ paths: [tree.root], root: tree.root, shimTypes: SHIM_TYPES }));
    expect(inProcess.map((i) => i.split(' ')[1])).toEqual(['shim-unresolved', 'new-type-error', 'verify-incomplete']);
    const checker = built.typeCheckInWorker(WORKER)!;
    try {
      const inWorker = verifyItems(await migrate({ paths: [tree.root], root: tree.root, shimTypes: SHIM_TYPES, typeChecker: checker }));
      expect(inWorker).toEqual(inProcess);
    } finally {
      checker.close();
    }
  }, 120_000);

  it('is given the run configs ahead and the first pass changes, and its answer is the one used', async () => {
    tree = project();
    const sentinel: RawTypeCheck = {
      configs: [path.join(tree.root, 'tsconfig.json')],
      compared: 1,
      byConfig: [{ files: [{ absPath: path.join(tree.root, 'src/a.ts'), unresolvedBefore: [], added: [{ offset: 0, code: 9999, message: 'from the background', missingShim: false }] }] }],
    };
    const checker = recording(async () => sentinel);
    const items = verifyItems(await migrate({ paths: [tree.root], root: tree.root, shimTypes: SHIM_TYPES, typeChecker: checker }));
    expect(checker.prepared).toEqual([[path.join(tree.root, 'tsconfig.json')]]);
    expect(checker.requests.map((r) => [...r.changed.keys()])).toEqual([[path.join(tree.root, 'src/a.ts')]]);
    expect(items).toEqual(['src/a.ts:1:1 new-type-error TS9999: from the background (a type error the migration introduces; the code type-checked without it before).']);
  }, 120_000);

  it('falls back to checking in process when the background check fails', async () => {
    tree = project();
    const inProcess = verifyItems(await migrate({ paths: [tree.root], root: tree.root, shimTypes: SHIM_TYPES }));
    const checker = recording(async () => {
      throw new Error('worker gone');
    });
    expect(verifyItems(await migrate({ paths: [tree.root], root: tree.root, shimTypes: SHIM_TYPES, typeChecker: checker }))).toEqual(inProcess);
    expect(checker.requests).toHaveLength(1);
  }, 120_000);

  it('is not asked when the run does not verify', async () => {
    tree = project();
    const checker = recording(async () => {
      throw new Error('not expected');
    });
    await migrate({ paths: [tree.root], root: tree.root, verify: false, typeChecker: checker });
    expect(checker.prepared).toEqual([]);
    expect(checker.requests).toEqual([]);
  }, 60_000);
});
