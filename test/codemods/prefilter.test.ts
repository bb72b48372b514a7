// The prefilter's compiled needle lists must find exactly what a plain substring
// search finds, whatever regular expression they are compiled to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aliasSpecifiers, bareSpecifiers, containsAny, HOST_APP_NEEDLES, mayLoadByPattern, mayLoadUnseen, mayReadModuleRegistry, relativeSpecifiers } from '../../codemods/analysis/prefilter.js';
import { createMatchers, prefilterNeedles } from '../../codemods/analysis/specifiers.js';

const LISTS: Record<string, readonly string[]> = {
  host: HOST_APP_NEEDLES,
  legacy: prefilterNeedles(createMatchers(['./vendor/deferred.js'], ['@acme/webapp'])),
  'one needle': ['TaskHandler'],
  'shared last character, with regex syntax': ['a.(', '[b](', '*c('],
  'next-to-last characters a character class must escape': ['x\\(', 'y-(', 'z^(', ']]('],
};

/** Texts built from pieces of the needles, so near-misses are common. */
function texts(needles: readonly string[]): fc.Arbitrary<string> {
  const pieces = needles.flatMap((n) => [n, n.slice(1), n.slice(0, -1), n.slice(0, Math.ceil(n.length / 2))]);
  return fc.array(fc.oneof(fc.constantFrom(...pieces, ' ', '(', '\n', 'new ', 'x'), fc.string({ maxLength: 3 })), { maxLength: 12 }).map((parts) => parts.join(''));
}

describe('prefilter needles', () => {
  for (const [name, needles] of Object.entries(LISTS)) {
    it(`${name}: containsAny agrees with a plain substring search`, () => {
      fc.assert(
        fc.property(texts(needles), (text) => {
          expect(containsAny(text, needles)).toBe(needles.some((n) => text.includes(n)));
        }),
        { numRuns: 2000 },
      );
    });
  }
});

// What relativeSpecifiers finds, as one regular expression: too slow to run over every
// file of a tree, but the definition the fast search must agree with.
const RELATIVE_SPECIFIER_REFERENCE = /(?:\bfrom\s*|\brequire\(\s*|\bimport\(\s*|^\s*import\s+)['"`](\.{1,2}\/[^'"`]*|\.{1,2})['"`]/gm;

/** Module-ish texts built from the pieces the search looks at, so near-misses are common. */
const moduleTexts: fc.Arbitrary<string> = fc
  .array(
    fc.constantFrom('from', 'import', 'require(', 'import(', 'xfrom', 'imports', ' ', '  ', '\n', '\r\n', '\u2028', "'", '"', '`', '.', '..', '/', './', '../', 'a', 'x.js', '(', ')', ';', '_'),
    { maxLength: 24 },
  )
  .map((parts) => parts.join(''));

describe('relative specifiers', () => {
  it('finds what the reference regular expression finds, in text order', () => {
    fc.assert(
      fc.property(moduleTexts, (text) => {
        expect(relativeSpecifiers(text)).toEqual([...text.matchAll(RELATIVE_SPECIFIER_REFERENCE)].map((m) => m[1]));
      }),
      // Corner cases: a closing quote that opens another candidate, after a match and after a miss.
      { numRuns: 20000, examples: [["from './from'./x'"], ["x './from'./x'"], ["from '..'.'"]] },
    );
  });

  it('finds the specifiers of common module syntax', () => {
    const text = [
      "import a from './a.js';",
      'import "../side-effect";',
      "export { b } from './lib/';",
      'const c = require( "." );',
      'const d = await import(`..`);',
      "const e = './not-an-import';",
      "import f from 'package';",
    ].join('\n');
    expect(relativeSpecifiers(text)).toEqual(['./a.js', '../side-effect', './lib/', '.', '..']);
  });
});

describe('alias specifiers', () => {
  it('finds the bare specifiers with a known prefix that are imported or required, in text order', () => {
    const text = [
      "import { defer } from '@tasks';",
      'import * as d from "@legacy/deferred";',
      "import tasks from '#tasks';",
      "const w = require('@acme/tasks/handlers');",
      'const x = await import(`#jobs/x`);',
      "export * from '@tasksfoo';",
      "const y = '@tasks';",
      "import z from '@other/pkg';",
      "import r from './@tasks';",
    ].join('\n');
    expect(aliasSpecifiers(text, ['#', '@acme/tasks', '@legacy/', '@tasks'])).toEqual(['@tasks', '@legacy/deferred', '#tasks', '@acme/tasks/handlers', '#jobs/x', '@tasksfoo']);
  });

  it('takes every bare specifier for an empty prefix (a `*` paths key), never a relative one', () => {
    expect(aliasSpecifiers("import a from 'a';\nimport b from './b';\nimport c from \"c/d\";", [''])).toEqual(['a', 'c/d']);
  });
});

describe('bareSpecifiers', () => {
  it('lists the distinct bare specifiers of imports, re-exports, requires and dynamic imports, never a relative or absolute one', () => {
    const text = [
      "import express from 'express';",
      'import { a } from "@scope/pkg/sub";',
      "export * from 'node:path';",
      "const b = require( 'lodash' );",
      "const c = await import('@app/tasks');",
      "import d from './local.js';",
      "import e from '/abs/x.js';",
      "import again from 'express';",
      "console.log('task from', this.request.headers['x']);",
    ].join('\n');
    expect(bareSpecifiers(text)).toEqual({ specifiers: ['express', '@scope/pkg/sub', 'node:path', 'lodash', '@app/tasks'], computed: false });
  });

  it('tells a require or import of a computed path', () => {
    expect(bareSpecifiers('const m = require(name);').computed).toBe(true);
    expect(bareSpecifiers('const m = await import(`./jobs/${kind}.js`);').computed).toBe(true);
    expect(bareSpecifiers('const m = await import(`./jobs/daily.js`);').computed).toBe(false);
    expect(bareSpecifiers('const m = await import(path.join(dir, kind));').computed).toBe(true);
    expect(bareSpecifiers("const m = require('./x');").computed).toBe(false);
  });
});

describe('mayLoadUnseen', () => {
  it('tells a load by other means than require(), import() or from', () => {
    for (const text of [
      "const load = createRequire(import.meta.url);",
      "module.require('./jobs')",
      "require.main.require('./jobs')",
      "process.mainModule.require ('./jobs')",
      'const r = require;',
      'const r = require\nr("./jobs")',
      'const r = require',
      'register([require]);',
      'withLoader(require)',
      "require.call(null, './jobs')",
      "return require.call(null, './jobs').run();",
      'return require;',
      "jest.requireActual('./jobs')",
      "await vi.importActual('./jobs.js')",
      "Module._load('./jobs', module)",
      "module.constructor._load ('./jobs', module)",
    ]) expect({ text, unseen: mayLoadUnseen(text) }).toEqual({ text, unseen: true });
  });

  it('leaves the loads the import graph reads, and other uses of the name', () => {
    for (const text of [
      "const jobs = require('./jobs');",
      "const jobs = require ('./jobs');",
      "const where = require.resolve('./jobs');",
      'if (require.main === module) main();',
      "if (typeof require === 'function') {}",
      'delete require.cache[key];',
      "const main = module.require;",
      '// the handlers require a name\n',
      'const requirement = requireAll();',
      "const jobs = await import('./jobs.js');",
      'const loadMore = () => this._loaded;',
    ]) expect({ text, unseen: mayLoadUnseen(text) }).toEqual({ text, unseen: false });
  });
});

describe('mayReadModuleRegistry', () => {
  it('tells a read of the registry of loaded CommonJS modules', () => {
    for (const text of [
      'delete require.cache[key];',
      'Object.values(require . cache)',
      'module.children[0].exports',
      'require.main.children.find(isJobs)',
      'process.mainModule.children',
      'module.parent.children',
      'Module._cache[file].exports',
    ]) expect({ text, registry: mayReadModuleRegistry(text) }).toEqual({ text, registry: true });
  });

  it('leaves other caches and children', () => {
    for (const text of [
      'const cache = new Map();',
      'this.cache.get(key)',
      'element.children[0]',
      'tree.children.map(render)',
      "const requireCache = require('./cache');",
    ]) expect({ text, registry: mayReadModuleRegistry(text) }).toEqual({ text, registry: false });
  });
});

describe('mayLoadByPattern', () => {
  it('tells a bundler load of a pattern or directory', () => {
    for (const text of ["import.meta.glob('./jobs/*.ts')", 'import.meta . globEager(x)', "import.meta.webpackContext('./jobs')", "require.context('./jobs', true)"]) {
      expect({ text, pattern: mayLoadByPattern(text) }).toEqual({ text, pattern: true });
    }
  });

  it('leaves other uses of meta and context', () => {
    for (const text of ['import.meta.url', 'const context = require("./context");', 'ctx.context(x)', 'globalThis.glob']) {
      expect({ text, pattern: mayLoadByPattern(text) }).toEqual({ text, pattern: false });
    }
  });
});
