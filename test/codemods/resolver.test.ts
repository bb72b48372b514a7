// The resolver's own contract: the checker's second opinion where the legacy
// module is a project file, "unknown" (never "ordinary") where nothing can tell,
// and the listing of every reference that reaches a legacy symbol.
import { afterEach, describe, expect, it } from 'vitest';
import { analyze, type Analysis } from '../../codemods/analysis/index.js';
import { discover } from '../../codemods/analysis/discover.js';
import { createMatchers } from '../../codemods/analysis/specifiers.js';
import { makeTree, type TempTree } from './helpers.js';

const trees: TempTree[] = [];
afterEach(() => {
  for (const tree of trees.splice(0)) tree.cleanup();
});

async function analyzeTree(files: Record<string, string>): Promise<{ analysis: Analysis; tree: TempTree }> {
  const tree = makeTree(files);
  trees.push(tree);
  const discovery = await discover([tree.root], tree.root);
  return { analysis: analyze({ root: tree.root, discovery, matchers: createMatchers() }), tree };
}

const VENDORED = `export class TaskHandler {
  post(): unknown {
    return undefined;
  }
}
`;

// `registry.mail` is typed as the legacy TaskHandler: only the checker knows.
const REGISTRY = (specifier: string): string => `import * as deferred from '${specifier}';

export const registry: { mail: typeof deferred.TaskHandler } = { mail: deferred.TaskHandler };
`;
const MAIL = `import { registry } from './registry.js';

export class MailHandler extends registry.mail {}
`;

describe('legacy symbol resolver', () => {
  it('asks the type checker when the legacy module is a file of the project', async () => {
    const { analysis } = await analyzeTree({
      'vendor/google/appengine/ext/deferred/index.ts': VENDORED,
      'src/registry.ts': REGISTRY('../vendor/google/appengine/ext/deferred'),
      'src/mail.ts': MAIL,
    });
    expect(analysis.handlers.classes.map((c) => [c.record.rel, c.name])).toEqual([['src/mail.ts', 'MailHandler']]);
    expect(analysis.handlers.unknownBases).toEqual([]);
  });

  it('calls a base it cannot follow unknown, not ordinary, when the module is not in the project', async () => {
    const { analysis } = await analyzeTree({
      // (A plain const object of legacy members is followed: see the next test; a frozen one is not.)
      'src/registry.ts': REGISTRY('google/appengine/ext/deferred').replace('{ mail: deferred.TaskHandler }', 'Object.freeze({ mail: deferred.TaskHandler })'),
      'src/mail.ts': MAIL.replace("import { registry } from './registry.js';", "import { registry } from './registry.js';\nimport 'google/appengine/ext/deferred';"),
    });
    expect(analysis.handlers.classes).toEqual([]);
    expect(analysis.handlers.unknownBases.map((u) => [u.record.rel, u.base.getText()])).toEqual([['src/mail.ts', 'registry.mail']]);
  });

  it('follows a const object whose properties hold legacy members, across files', async () => {
    const { analysis } = await analyzeTree({
      'src/registry.ts': REGISTRY('google/appengine/ext/deferred'),
      'src/mail.ts': MAIL,
    });
    expect(analysis.handlers.classes.map((c) => [c.record.rel, c.name])).toEqual([['src/mail.ts', 'MailHandler']]);
    expect(analysis.handlers.unknownBases).toEqual([]);
  });

  it('lists every reference that reaches a legacy symbol, resolved or not', async () => {
    const { analysis } = await analyzeTree({
      'src/app.ts': `import * as ns from 'google/appengine/ext/deferred';
const { TaskHandler: Base, defer } = ns;
let Late = ns.TaskHandler;
Late = Base;
export class A extends Base {}
defer(() => undefined);
configure(ns);
`,
    });
    const record = analysis.candidates[0]!;
    const references = analysis.symbols.legacyReferences(record).map((r) => [r.node.getText(), r.ref.kind, r.legacyOnly]);
    expect(references).toEqual([
      ['ns', 'namespace', false],
      ['Late', 'unresolved', true],
      ['ns.TaskHandler', 'member', true],
      ['Late', 'unresolved', true],
      ['Base', 'member', true],
      ['Base', 'member', true],
      ['defer', 'member', false],
      ['ns', 'namespace', false],
    ]);
  });
});
