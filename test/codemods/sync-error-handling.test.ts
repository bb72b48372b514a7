// What the sync-error-handling fixtures cannot show by text alone. At run time:
// a legacy program whose catch handled the TaskAlreadyExistsError of a duplicate
// `_name` is migrated, loaded on the shim (memory backend) and run, and its catch
// block runs; without the awaits the codemod adds, the same program loses that
// error path (the control case). Types: the migrated TypeScript fixtures
// and checkJs fixtures (async functions, `Promise<T>` return types, JSDoc
// `@returns`, awaited callers) type-check.
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { resetRuntime } from '../../shim/runtime/runtime.js';
import { freshRuntime } from '../shim/core/helpers.js';
import { makeTree, type TempTree } from './helpers.js';
import { preEmitDiagnostics } from '../support/diagnostics.js';

const LEGACY_PROGRAM = `import * as deferred from 'google/appengine/ext/deferred';

export const outcomes: string[] = [];

export function sendWelcome(userId: string) {
  console.log('welcome', userId);
}

function queueWelcome(userId: string): boolean {
  try {
    deferred.defer(sendWelcome, userId, { _name: \`welcome-\${userId}\`, _url: '/tasks/welcome' });
    outcomes.push('queued');
    return true;
  } catch (error) {
    outcomes.push(error instanceof Error ? error.name : String(error));
    return false;
  }
}

export async function signup(userId: string) {
  return queueWelcome(userId);
}
`;

interface Program {
  outcomes: string[];
  signup(userId: string): Promise<boolean>;
}

let tree: TempTree | undefined;
afterEach(async () => {
  tree?.cleanup();
  tree = undefined;
  await resetRuntime();
});

async function migrated(): Promise<string> {
  tree = makeTree({ 'signup.ts': LEGACY_PROGRAM });
  const result = await migrate({ paths: [tree.root], root: tree.root });
  const file = result.files.find((f) => f.file === 'signup.ts')!;
  expect(file.items.filter((i) => i.severity !== 'note')).toEqual([]);
  expect(file.updated).toBeDefined();
  return file.updated!;
}

async function load(text: string, name: string): Promise<Program> {
  const file = tree!.path(name);
  writeFileSync(file, text);
  return (await import(pathToFileURL(file).href)) as Program;
}

describe('sync-error-handling at run time', () => {
  it('the migrated catch block handles the duplicate-name rejection', async () => {
    const text = await migrated();
    expect(text).toContain('async function queueWelcome(userId: string): Promise<boolean>');
    expect(text).toContain('await deferred.defer(sendWelcome');
    expect(text).toContain('return await queueWelcome(userId)');
    await freshRuntime();
    const program = await load(text, 'migrated.ts');
    expect(await program.signup('ada')).toBe(true);
    expect(await program.signup('ada')).toBe(false);
    expect(program.outcomes).toEqual(['queued', 'TaskAlreadyExistsError']);
  });

  it('without the awaits the same catch never runs (what the rule prevents)', async () => {
    const text = await migrated();
    const unawaited = text
      .replace('await deferred.defer(', 'deferred.defer(')
      .replace('async function queueWelcome(userId: string): Promise<boolean>', 'function queueWelcome(userId: string): boolean')
      .replace('return await queueWelcome(userId)', 'return queueWelcome(userId)');
    expect(unawaited).not.toContain('await');
    const { logger } = await freshRuntime();
    const program = await load(unawaited, 'unawaited.ts');
    expect(await program.signup('ada')).toBe(true);
    expect(await program.signup('ada')).toBe(true);
    expect(program.outcomes).toEqual(['queued', 'queued']);
    // The rejection went past the catch: only the shim's log of the unobserved failure saw it.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(logger.at('error').length).toBe(1);
  });
});

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURES = path.join(REPO, 'fixtures/codemods/sync-error-handling/__testfixtures__');

function migratedTypeScript(): string[] {
  const files: string[] = [];
  const walk = (dir: string, inOutput: boolean): void => {
    for (const entry of readdirSync(dir)) {
      const full = path.join(dir, entry);
      // Their importers name a module only a path alias (or a bundler's) resolves (the point of those fixtures).
      if (entry === 'exported-alias-importer' || entry === 'exported-paths-importer' || entry === 'route-helper-unfollowed') continue;
      // They keep imports of the legacy taskqueue module (the point of those fixtures), which has no types here.
      if (entry === 'taskqueue-errors-split' || entry === 'taskqueue-errors-api-in-use') continue;
      if (statSync(full).isDirectory()) walk(full, inOutput || entry === 'output');
      else if ((inOutput && /\.(ts|js)$/.test(full)) || /\.output\.(ts|js)$/.test(entry)) files.push(full);
    }
  };
  walk(FIXTURES, false);
  return files.sort();
}

describe('sync-error-handling output types', () => {
  it('the migrated TypeScript and checkJs fixtures type-check against the shim', async () => {
    const files = migratedTypeScript();
    expect(files.length).toBeGreaterThanOrEqual(8);
    const read = ts.readConfigFile(path.join(REPO, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, REPO);
    const options: ts.CompilerOptions = {
      ...parsed.options,
      noEmit: true,
      allowJs: true, // JavaScript outputs with `// @ts-check` are checked too (JSDoc `@returns {Promise<T>}`)
      rootDir: REPO,
      noUnusedLocals: false,
      noUnusedParameters: false,
      paths: { 'deferred-migrate/shim': [path.join(REPO, 'shim/index.ts')] },
    };
    const program = ts.createProgram({ rootNames: files, options });
    const diagnostics = (await preEmitDiagnostics(program, files)).map((d) => {
      const where = d.file && d.start !== undefined ? `${path.relative(REPO, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1}` : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(diagnostics).toEqual([]);
    // One program over every fixture's output: about 20 s alone, over a minute on a machine shared with other runs.
  }, 240_000);
});

describe('sync-error-handling and transactional-enqueue messages', () => {
  it('say why a call could not be awaited and what to do', async () => {
    tree = makeTree({
      'a.ts': `import { defer } from 'google/appengine/ext/deferred';
export function work(id: string) {
  console.log(id);
}
export class Cache {
  constructor(id: string) {
    try {
      defer(work, id, { _url: '/tasks/work' });
    } catch {
      console.log('queued already');
    }
  }
}
export function exported(ids: string[]) {
  ids.forEach((id) => {
    try {
      defer(work, id, { _url: '/tasks/work' });
    } catch {}
  });
}
export function inTransaction(id: string) {
  defer(work, id, { _transactional: true, _url: '/tasks/work' });
}
`,
    });
    const result = await migrate({ paths: [tree.root], root: tree.root });
    const items = result.files.flatMap((f) => f.items);
    const messages = (code: string): string[] => items.filter((i) => i.code === code).map((i) => i.message);
    const sync = messages('sync-error-handling');
    expect(sync).toHaveLength(2);
    expect(sync[0]).toContain('it is in a constructor, which cannot be async');
    expect(sync[1]).toContain('callback of `ids.forEach`');
    for (const message of sync) expect(message).toContain('.catch()');
    const [transactional] = messages('transactional-enqueue');
    expect(transactional).toContain('deferred.transactional(async () =>');
    expect(transactional).toContain('drop _transactional and defer after the commit');
    expect(transactional).toContain('a crash between commit and enqueue loses the task');
    expect(items.every((i) => i.severity === 'warning' || i.severity === 'note')).toBe(true);
  });
});

describe('sync-error-handling messages for a defer() in a callback', () => {
  it('name the catch that no longer receives the error, or what Promise.all changes', async () => {
    tree = makeTree({
      'a.ts': `import * as deferred from 'google/appengine/ext/deferred';
export function work(id: string) {
  console.log(id);
}
export async function each(ids: string[]) {
  try {
    ids.forEach((id) => deferred.defer(work, id));
  } catch {
    console.log('queued already');
  }
}
export async function all(ids: string[]) {
  try {
    await Promise.all(ids.map((id) => deferred.defer(work, id)));
  } catch {
    console.log('queued already');
  }
}
`,
    });
    const result = await migrate({ paths: [tree.root], root: tree.root });
    const sync = result.files.flatMap((f) => f.items).filter((i) => i.code === 'sync-error-handling');
    expect(sync.map((i) => i.line)).toEqual([7, 14]);
    expect(sync[0]!.message).toContain('the catch at a.ts:8:5 no longer receives the error');
    expect(sync[0]!.message).toContain('enqueueing the tasks after a failing one');
    expect(sync[1]!.message).toContain('still delivers the rejection of defer() to the catch at a.ts:15:5');
    expect(sync[1]!.message).toContain('the tasks after a failing one are enqueued too');
    expect(sync[1]!.message).not.toContain('ignores');
  });
});

describe('legacy taskqueue error classes', () => {
  it('are imported from the shim when sound, and the item says why not where the legacy taskqueue module stays in use', async () => {
    const app = `import * as deferred from 'google/appengine/ext/deferred';
import { TaskAlreadyExistsError } from 'google/appengine/api/taskqueue';
export function work(id: string) {
  console.log(id);
}
export async function queue(id: string) {
  try {
    await deferred.defer(work, id, { _name: id });
  } catch (error) {
    if (error instanceof TaskAlreadyExistsError) return;
    throw error;
  }
}
`;
    tree = makeTree({ 'package.json': '{ "name": "a", "private": true }', 'app.ts': app });
    const moved = await migrate({ paths: [tree.root], root: tree.root });
    expect(moved.files.find((f) => f.file === 'app.ts')!.updated).toContain("import { TaskAlreadyExistsError } from 'deferred-migrate/shim';");
    expect(moved.files.flatMap((f) => f.items).filter((i) => i.code === 'unresolved-legacy-reference')).toEqual([]);
    tree.cleanup();

    tree = makeTree({
      'package.json': '{ "name": "a", "private": true }',
      'app.ts': app,
      'mail.ts': `import { Queue, Task } from 'google/appengine/api/taskqueue';\nexport const mail = () => new Queue('mail').add(new Task({ url: '/mail' }));\n`,
    });
    const kept = await migrate({ paths: [tree.root], root: tree.root });
    expect(kept.files.find((f) => f.file === 'app.ts')!.updated).toContain("from 'google/appengine/api/taskqueue'");
    const [item] = kept.files.flatMap((f) => f.items).filter((i) => i.code === 'unresolved-legacy-reference');
    expect(item!.message).toContain('the run also uses the legacy taskqueue module (Queue of the legacy taskqueue module, imported at mail.ts:1)');
    expect(item!.message).toContain('Test both classes');
  });
});
