import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discover } from '../../codemods/analysis/discover.js';
import { analyze } from '../../codemods/analysis/index.js';
import { createMatchers } from '../../codemods/analysis/specifiers.js';
import { makeTree, type TempTree } from './helpers.js';

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

describe('discover', () => {
  it('lists sources by extension and app configs, honouring root and nested .gitignore files', async () => {
    tree = makeTree({
      '.gitignore': 'build/\n*.generated.ts\n',
      'src/a.ts': '',
      'src/b.tsx': '',
      'src/c.mjs': '',
      'src/d.cjs': '',
      'src/e.mts': '',
      'src/f.cts': '',
      'src/g.jsx': '',
      'src/types.d.ts': '',
      'src/readme.md': '',
      'src/x.generated.ts': '',
      'src/vendor/.gitignore': 'private.js\n',
      'src/vendor/private.js': '',
      'src/vendor/public.js': '',
      'build/out.js': '',
      'node_modules/pkg/index.js': '',
      '.git/hooks/x.js': '',
      'app.yaml': 'runtime: nodejs20\n',
    });
    const { files, unreadable } = await discover([tree.root], tree.root);
    expect(files.map((f) => `${f.kind}:${f.rel}`).sort()).toEqual(
      [
        'app-yaml:app.yaml',
        'source:src/a.ts',
        'source:src/b.tsx',
        'source:src/c.mjs',
        'source:src/d.cjs',
        'source:src/e.mts',
        'source:src/f.cts',
        'source:src/g.jsx',
        'source:src/vendor/public.js',
      ].sort(),
    );
    expect(unreadable).toEqual([]);
  });

  it('follows a symlinked directory once and ends on symlink loops', async () => {
    tree = makeTree({ 'pkg/index.ts': 'export {};\n' });
    symlinkSync(tree.path('pkg'), tree.path('pkg/self'));
    mkdirSync(tree.path('other'));
    symlinkSync(tree.path('pkg'), tree.path('other/link'));
    symlinkSync(tree.path('missing'), tree.path('dangling.ts'));
    const { files } = await discover([tree.root], tree.root);
    // One directory reached by two paths: listed once (through whichever path the walk met first).
    expect(files.map((f) => f.rel)).toEqual(['other/link/index.ts']);
  });

  it('reports a path that does not exist instead of throwing', async () => {
    tree = makeTree({});
    const { files, unreadable } = await discover([path.join(tree.root, 'nope')], tree.root);
    expect(files).toEqual([]);
    expect(unreadable.map((u) => u.rel)).toEqual(['nope']);
  });
});

describe('prefilter and loading', () => {
  it('parses candidates and their importers only, and records unreadable files', async () => {
    tree = makeTree({
      'lib/tasks.ts': "export * from 'google/appengine/ext/deferred';\n",
      'app.ts': "import { defer } from './lib/tasks';\nexport function f() {}\ndefer(f);\n",
      'unrelated.ts': 'export const x = 1;\n',
      'bad.ts': "import 'google/appengine/ext/deferred';\n",
    });
    const discovery = await discover([tree.root], tree.root);
    const analysis = analyze({
      root: tree.root,
      discovery,
      matchers: createMatchers(),
      readText: (absPath) => {
        if (absPath.endsWith('bad.ts')) throw new Error('EACCES: permission denied');
        return readFileSync(absPath, 'utf8');
      },
    });
    expect(analysis.candidates.map((c) => c.rel).sort()).toEqual(['app.ts', 'lib/tasks.ts']);
    expect(analysis.unreadable.map((u) => [u.rel, u.error])).toEqual([['bad.ts', 'EACCES: permission denied']]);
    expect(analysis.index.isLoaded(tree.path('unrelated.ts'))).toBe(false);
  });
});
