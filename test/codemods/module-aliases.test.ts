// Aliases of a tree: which prefixes its configs declare (none for a tree without
// aliases, so its scan stays as it was) and what each kind of alias resolves to.
import { afterEach, describe, expect, it } from 'vitest';
import { parseJsonc } from '../../codemods/analysis/alias-config.js';
import { discoverSync } from '../../codemods/analysis/discover.js';
import { migrate } from '../../codemods/engine.js';
import { ModuleAliases } from '../../codemods/analysis/module-aliases.js';
import { ProjectIndex } from '../../codemods/analysis/project.js';
import { createMatchers } from '../../codemods/analysis/specifiers.js';
import { makeTree, type TempTree } from './helpers.js';

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

function aliasesOf(files: Record<string, string>): { aliases: ModuleAliases; prefixes: string[] | undefined; at: (rel: string) => string } {
  tree = makeTree(files);
  const discovery = discoverSync([tree.root], tree.root);
  const index = new ProjectIndex(discovery.files);
  const t = tree;
  return { aliases: new ModuleAliases(discovery, t.root, index, createMatchers()), prefixes: discovery.aliasPrefixes, at: (rel) => t.path(rel) };
}

describe('tsconfig JSON', () => {
  it('drops comments and trailing commas outside strings only', () => {
    const text = '{\n  // a comment\n  "a": "x, }", /* b */ "b": ["//not a comment", "y",],\n  "c": { "d": 1, },\n}';
    expect(parseJsonc(text)).toEqual({ a: 'x, }', b: ['//not a comment', 'y'], c: { d: 1 } });
    expect(parseJsonc('{ "a": ')).toBeUndefined();
  });
});

describe('alias prefixes', () => {
  it('are absent for a tree whose configs declare no alias', () => {
    tree = makeTree({
      'package.json': '{ "name": "app", "type": "module" }',
      'tsconfig.json': '{ "compilerOptions": { "strict": true } }',
      'src/a.ts': 'export {}',
    });
    const discovery = discoverSync([tree.root], tree.root);
    expect(discovery.aliasPrefixes).toBeUndefined();
    expect(discovery.files.map((f) => f.rel)).toEqual(['src/a.ts']);
  });

  it('come from paths (along extends, with comments), imports and the packages of the tree', () => {
    const { prefixes } = aliasesOf({
      'package.json': '{ "name": "root-app", "imports": { "#x": "./x.ts" } }',
      'tsconfig.base.json': '{\n  // shared\n  "compilerOptions": { "paths": { "@lib/*": ["./lib/*"], }, },\n}',
      'tsconfig.json': '{ "extends": "./tsconfig.base", "compilerOptions": { "paths": { "@tasks": ["./tasks.ts"] } } }',
      'packages/one/package.json': '{ "name": "@acme/one" }',
      'x.ts': 'export {}',
    });
    expect(prefixes).toEqual(['#', '@acme/one', '@lib/', '@tasks']);
  });
});

describe('alias resolution', () => {
  it('resolves tsconfig paths to project files and to the legacy module, installed or not', () => {
    const { aliases, at } = aliasesOf({
      'tsconfig.json': '{ "compilerOptions": { "paths": { "@tasks": ["./src/lib/tasks.ts"], "@legacy/*": ["./vendor/google/appengine/ext/*"], "@gone/*": ["./gone/*"] } } }',
      'src/lib/tasks.ts': 'export {}',
      'src/app.ts': '',
    });
    const from = at('src/app.ts');
    expect(aliases.resolve(from, '@tasks')).toEqual({ kind: 'file', absPath: at('src/lib/tasks.ts') });
    expect(aliases.resolve(from, '@legacy/deferred')).toEqual({ kind: 'role', role: 'deferred' });
    expect(aliases.resolve(from, '@legacy/webapp')).toEqual({ kind: 'role', role: 'webapp' });
    expect(aliases.resolve(from, '@gone/x')?.kind).toBe('unfollowed');
    expect(aliases.resolve(from, 'express')).toBeUndefined();
  });

  it('leaves packages to the catch-all `*` key, installed or not', () => {
    const { aliases, at } = aliasesOf({
      'tsconfig.json': '{ "compilerOptions": { "baseUrl": ".", "paths": { "*": ["./src/*", "./types/*"] } } }',
      'src/lib/tasks.ts': 'export {}',
      'src/app.ts': '',
    });
    const from = at('src/app.ts');
    expect(aliases.resolve(from, 'lib/tasks')).toEqual({ kind: 'file', absPath: at('src/lib/tasks.ts') });
    expect(aliases.resolve(from, 'left-pad')).toBeUndefined();
  });

  it('reads paths from the configs a solution-style tsconfig.json references', () => {
    const { aliases, prefixes, at } = aliasesOf({
      'tsconfig.json': '{ "files": [], "references": [{ "path": "./tsconfig.app.json" }] }',
      'tsconfig.app.json': '{ "compilerOptions": { "paths": { "@/*": ["./src/*"] } }, "include": ["src"] }',
      'src/lib/tasks.ts': 'export {}',
      'src/app.ts': '',
    });
    expect(prefixes).toEqual(['@/']);
    expect(aliases.resolve(at('src/app.ts'), '@/lib/tasks')).toEqual({ kind: 'file', absPath: at('src/lib/tasks.ts') });
  });

  it('resolves package.json imports by condition, pattern and bare target', () => {
    const { aliases, at } = aliasesOf({
      'package.json': JSON.stringify({
        name: 'app',
        imports: { '#tasks': { browser: './nope.ts', types: './src/tasks.ts', default: './dist/tasks.js' }, '#d': 'google/appengine/ext/deferred', '#jobs/*': './src/jobs/*.ts' },
      }),
      'src/tasks.ts': '',
      'src/jobs/a.ts': '',
      'src/app.ts': '',
    });
    const from = at('src/app.ts');
    expect(aliases.resolve(from, '#tasks')).toEqual({ kind: 'file', absPath: at('src/tasks.ts') });
    expect(aliases.resolve(from, '#d')).toEqual({ kind: 'role', role: 'deferred' });
    expect(aliases.resolve(from, '#jobs/a')).toEqual({ kind: 'file', absPath: at('src/jobs/a.ts') });
    expect(aliases.resolve(from, '#jobs/b')?.kind).toBe('unfollowed');
    expect(aliases.resolve(from, '#other')).toBeUndefined();
  });

  it('resolves the packages of the tree by name through exports, else main, else the path', () => {
    const { aliases, at } = aliasesOf({
      'package.json': '{ "name": "root", "workspaces": ["packages/*"] }',
      'packages/a/package.json': '{ "name": "@acme/a", "exports": { ".": { "import": "./src/index.ts" }, "./sub/*": "./src/sub/*.ts" } }',
      'packages/a/src/index.ts': '',
      'packages/a/src/sub/x.ts': '',
      'packages/b/package.json': '{ "name": "b", "main": "lib/main.js" }',
      'packages/b/lib/main.ts': '',
      'packages/b/lib/other.ts': '',
      'packages/c/package.json': '{ "name": "c", "main": "dist/index.js" }',
      'src/app.ts': '',
    });
    const from = at('src/app.ts');
    expect(aliases.resolve(from, '@acme/a')).toEqual({ kind: 'file', absPath: at('packages/a/src/index.ts') });
    expect(aliases.resolve(from, '@acme/a/sub/x')).toEqual({ kind: 'file', absPath: at('packages/a/src/sub/x.ts') });
    expect(aliases.resolve(from, '@acme/a/private')?.kind).toBe('unfollowed');
    expect(aliases.resolve(from, 'b')).toEqual({ kind: 'file', absPath: at('packages/b/lib/main.ts') });
    expect(aliases.resolve(from, 'b/lib/other')).toEqual({ kind: 'file', absPath: at('packages/b/lib/other.ts') });
    expect(aliases.resolve(from, 'c')?.kind).toBe('unfollowed');
    // The root package is imported by its name only through exports (self-reference).
    expect(aliases.resolve(from, 'root')).toBeUndefined();
  });
});

describe('a run on part of the tree', () => {
  it('reads the configs above its paths and the workspaces the root lists, and reports what it cannot follow', async () => {
    tree = makeTree({
      'package.json': '{ "name": "root", "private": true, "workspaces": ["packages/*"] }',
      'tsconfig.json': '{ "compilerOptions": { "paths": { "@legacy/*": ["./vendor/google/appengine/ext/*"] } } }',
      'packages/tasks/package.json': '{ "name": "@acme/tasks", "main": "index.ts" }',
      'packages/tasks/index.ts': "export { TaskHandler } from 'google/appengine/ext/deferred';\n",
      'src/app.ts': [
        "import * as d from '@legacy/deferred';",
        "import { TaskHandler } from '@acme/tasks';",
        'export function work() {}',
        'export class H extends TaskHandler {}',
        'd.defer(work);',
        '',
      ].join('\n'),
    });
    const discovery = discoverSync([tree.path('src')], tree.root);
    expect(discovery.configs?.map((c) => c.slice(tree!.root.length + 1)).sort()).toEqual(['package.json', 'packages/tasks/package.json', 'tsconfig.json']);
    const result = await migrate({ paths: [tree.path('src')], root: tree.root, verify: false });
    const app = result.files.find((f) => f.file === 'src/app.ts')!;
    expect(app.updated).toContain("from 'deferred-migrate/shim'");
    expect(app.items.map((i) => `${i.line}:${i.code}`)).toEqual(expect.arrayContaining(['2:unresolved-legacy-reference', '4:unknown-handler-base']));
  });

  it("reads pnpm's pnpm-workspace.yaml, and reports an import of a package outside the run that uses the legacy API", async () => {
    tree = makeTree({
      'package.json': '{ "name": "root", "private": true }',
      'pnpm-workspace.yaml': "packages:\n  - 'packages/**'\n  - 'apps/*'\n",
      'packages/shared/package.json': '{ "name": "@acme/shared", "private": true, "main": "src/index.ts" }',
      'packages/shared/src/index.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport const enqueue = deferred.defer;\n",
      'apps/web/package.json': '{ "name": "@acme/web", "private": true }',
      'apps/web/src/mailer.ts': "import { enqueue } from '@acme/shared';\nexport function mail(to: string) {\n  return to;\n}\nexport function sendMail(to: string) {\n  enqueue(mail, to);\n}\n",
    });
    const discovery = discoverSync([tree.path('apps/web')], tree.root);
    expect(discovery.configs?.map((c) => c.slice(tree!.root.length + 1)).sort()).toEqual(['apps/web/package.json', 'package.json', 'packages/shared/package.json']);
    const result = await migrate({ paths: [tree.path('apps/web')], root: tree.root, verify: false });
    expect(result.files.flatMap((f) => f.items.map((i) => `${f.file}:${i.line}:${i.code}`))).toEqual(['apps/web/src/mailer.ts:1:unresolved-legacy-reference']);
  });
});
