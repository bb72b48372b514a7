// The verification pass and its markers, below the fixtures: marker placement in
// awkward places, acknowledgements, offset mapping, the shim's export list, the
// type check's handling of a shim the project cannot resolve, and docs anchors.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project } from 'ts-morph';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import type { ReasonCode } from '../../codemods/types.js';
import { SHIM_EXPORTS } from '../../codemods/analysis/shim-exports.js';
import { MarkerPlanner, shortMessage, type MarkerSite } from '../../codemods/verify/markers.js';
import { OffsetMap } from '../../codemods/verify/offset-map.js';
import { makeTree, type TempTree } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function site(text: string, needle: string, code: ReasonCode = 'transactional-enqueue'): MarkerSite {
  const offset = text.indexOf(needle);
  if (offset < 0) throw new Error(`${needle} not in text`);
  return { offset, code, message: 'Something to check. More detail.', docsUrl: `docs#${code}` };
}

function mark(text: string, file: string, needles: string[]): string {
  const planner = new MarkerPlanner(text, file);
  const insertions = planner.plan(needles.map((n) => site(text, n)));
  let out = text;
  for (const i of [...insertions].sort((a, b) => b.start - a.start)) out = out.slice(0, i.start) + i.text + out.slice(i.end);
  return out;
}

describe('markers', () => {
  it('go on the line before the site, indented like it, and only once', () => {
    const text = 'function f() {\n  if (x) {\n    defer(g, { _transactional: true });\n  }\n}\n';
    const once = mark(text, 'a.ts', ['defer(']);
    expect(once).toBe('function f() {\n  if (x) {\n    // deferred-migrate(transactional-enqueue): Something to check; see docs#transactional-enqueue\n    defer(g, { _transactional: true });\n  }\n}\n');
    expect(mark(once, 'a.ts', ['defer('])).toBe(once);
  });

  it('keep a @ts-expect-error or JSDoc next to its code and use CRLF where the file does', () => {
    const text = 'const a = 1;\r\n// @ts-expect-error legacy typing\r\ndefer(g);\r\n';
    expect(mark(text, 'a.ts', ['defer('])).toBe(
      'const a = 1;\r\n// deferred-migrate(transactional-enqueue): Something to check; see docs#transactional-enqueue\r\n// @ts-expect-error legacy typing\r\ndefer(g);\r\n',
    );
  });

  it('use a JSX comment among JSX children and a YAML comment in YAML', () => {
    const jsx = 'export const A = () => (\n  <div>\n    <Task run={defer} />\n  </div>\n);\n';
    const marked = mark(jsx, 'a.tsx', ['<Task']);
    expect(marked).toContain('    {/* deferred-migrate(transactional-enqueue): Something to check; see docs#transactional-enqueue */}\n    <Task');
    expect(mark(marked, 'a.tsx', ['<Task'])).toBe(marked);
    const yaml = 'handlers:\n  - url: /_ah/queue/deferred\n    login: admin\n';
    expect(mark(yaml, 'app.yaml', ['login'])).toContain('    # deferred-migrate(transactional-enqueue)');
  });

  it('never go inside a template literal: the statement is marked instead', () => {
    const text = 'const q = `line one\n  ${defer(g)} two`;\n';
    const marked = mark(text, 'a.ts', ['defer(']);
    expect(marked.startsWith('// deferred-migrate(transactional-enqueue)')).toBe(true);
    expect(marked.endsWith('const q = `line one\n  ${defer(g)} two`;\n')).toBe(true);
    expect(mark(marked, 'a.ts', ['defer('])).toBe(marked);
  });

  it('are one per code and anchor, several codes stacked', () => {
    const text = 'defer(g, { _transactional: true, _target: "x" });\n';
    const planner = new MarkerPlanner(text, 'a.ts');
    const insertions = planner.plan([site(text, 'defer(', 'target-routing'), site(text, 'defer(', 'transactional-enqueue'), site(text, '_transactional', 'transactional-enqueue')]);
    expect(insertions.map((i) => /\(([a-z-]+)\)/.exec(i.text)![1])).toEqual(['target-routing', 'transactional-enqueue']);
  });

  it('short messages are one line, one sentence, safe inside a block comment', () => {
    expect(shortMessage('First */ sentence here. Second.')).toBe('First * / sentence here');
    expect(shortMessage(`${'word '.repeat(40)}end.`).length).toBeLessThanOrEqual(111);
  });
});

describe('acknowledgements', () => {
  const text = [
    'function f() {',
    '  // deferred-migrate(transactional-enqueue): old marker',
    '  // deferred-migrate-ignore transactional-enqueue, target-routing: reviewed by ops',
    '  defer(g, { _transactional: true });',
    '  defer(h); // deferred-migrate-ignore defer-result',
    '  defer(k);',
    '}',
  ].join('\n');
  const planner = new MarkerPlanner(text, 'a.ts');

  it('apply in the comment block above the site or on its line, per code', () => {
    expect(planner.acknowledgement(text.indexOf('defer(g'), 'transactional-enqueue')).toBe('reviewed by ops');
    expect(planner.acknowledgement(text.indexOf('defer(g'), 'target-routing')).toBe('reviewed by ops');
    expect(planner.acknowledgement(text.indexOf('defer(g'), 'defer-result')).toBeUndefined();
    expect(planner.acknowledgement(text.indexOf('defer(h'), 'defer-result')).toBe('');
    expect(planner.acknowledgement(text.indexOf('defer(k'), 'defer-result')).toBeUndefined();
  });

  it('an acknowledged item is listed, not manual, and gets no marker', async () => {
    tree = makeTree({
      'a.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport function s() {}\nexport function f() {\n  // deferred-migrate-ignore transactional-enqueue: reviewed\n  deferred.defer(s, { _transactional: true });\n}\n",
    });
    const result = await migrate({ paths: [tree.root], root: tree.root });
    const items = result.files.flatMap((f) => f.items).filter((i) => i.code === 'transactional-enqueue');
    expect(items).toEqual([expect.objectContaining({ acknowledged: 'reviewed', line: 5 })]);
    expect(result.files[0]!.updated).not.toContain('deferred-migrate(transactional-enqueue)');
  });
});

describe('offset map', () => {
  it('maps offsets through replacements and insertions, both ways', () => {
    const original = 'aaa bbb ccc';
    const map = new OffsetMap([
      { start: 4, end: 7, text: 'BBBBB' },
      { start: 0, end: 0, text: '>>' },
    ]);
    // '>>aaa BBBBB ccc'
    expect(map.forward(0)).toBe(2);
    expect(map.forward(8)).toBe(12);
    expect(map.forward(5)).toBe(6); // inside the replaced span: where the replacement starts
    expect(map.backward(12)).toBe(8);
    expect(map.backward(8)).toBe(4); // inside inserted text: where the edit was made
    expect(map.backward(0)).toBe(0);
    expect(original.length).toBe(11);
  });
});

let tree: TempTree | undefined;
afterEach(() => {
  tree?.cleanup();
  tree = undefined;
});

describe('legacy references', () => {
  it('knows exactly what the shim exports (values and types, top level and on `deferred`)', () => {
    const project = new Project({ tsConfigFilePath: path.join(repoRoot, 'tsconfig.json'), skipAddingFilesFromTsConfig: true });
    const files = ['shim/index.ts', 'shim/deferred.ts'].map((f) => project.addSourceFileAtPath(path.join(repoRoot, f)));
    project.resolveSourceFileDependencies();
    const exported = new Set(files.flatMap((f) => [...f.getExportedDeclarations().keys()]));
    expect([...SHIM_EXPORTS].sort()).toEqual([...exported].sort());
  });

  it('reports a shim member the shim does not have, and not a line a rule already reported', async () => {
    tree = makeTree({
      'a.ts': [
        "import { deferred, Handler } from 'deferred-migrate/shim';",
        'export class A extends deferred.TaskHandler {}',
        'export class B extends Handler {',
        '  log() {',
        '    return this.request;',
        '  }',
        '}',
        '',
      ].join('\n'),
    });
    const result = await migrate({ paths: [tree.root], root: tree.root });
    const items = result.files.flatMap((f) => f.items);
    // this.request in a migrated handler: the rule's request-access item says it already.
    expect(items.map((i) => `${i.rule}:${i.code}@${i.line}:${i.column}`)).toEqual(['verify:unresolved-legacy-reference@2:24', 'task-handler-subclass:request-access@5:12']);
    expect(items[0]!.message).toContain('deferred-migrate/shim has no export "TaskHandler"');
  });
});

describe('type check', () => {
  const files = (tsconfig: object) => ({
    'tsconfig.json': JSON.stringify(tsconfig),
    'legacy.d.ts': "declare module 'google/appengine/ext/deferred' { export function defer(fn: (...a: never[]) => unknown, ...args: unknown[]): { name: string }; }\n",
    'src/a.ts': "import { defer } from 'google/appengine/ext/deferred';\nexport function s(): void {}\nexport function f(): string {\n  return defer(s).name;\n}\n",
  });
  const options = { strict: true, noEmit: true, skipLibCheck: true, module: 'ESNext', moduleResolution: 'Bundler', target: 'ES2022', lib: ['ES2023'], types: [] };

  it('says once that the shim does not resolve when it has no types to fall back on', async () => {
    tree = makeTree(files({ compilerOptions: options, include: ['src', 'legacy.d.ts'] }));
    const result = await migrate({ paths: [tree.root], root: tree.root });
    const codes = result.files.flatMap((f) => f.items).filter((i) => i.rule === 'verify').map((i) => `${i.code}:${i.severity}`);
    expect(codes).toEqual(['shim-unresolved:error']);
  }, 60_000);

  it('checks against the given shim types when the project lacks the package, and finds the new error', async () => {
    tree = makeTree(files({ compilerOptions: options, include: ['src', 'legacy.d.ts'] }));
    const result = await migrate({ paths: [tree.root], root: tree.root, shimTypes: path.join(repoRoot, 'shim/index.ts') });
    const items = result.files.flatMap((f) => f.items).filter((i) => i.rule === 'verify');
    expect(items.map((i) => `${i.code}:${i.severity}`).sort()).toEqual(['new-type-error:error', 'shim-unresolved:note']);
    expect(items.find((i) => i.code === 'new-type-error')!.message).toMatch(/^TS2339: Property 'name' does not exist on type 'Promise</);
    // --no-verify: no type check at all.
    const skipped = await migrate({ paths: [tree.root], root: tree.root, verify: false, shimTypes: path.join(repoRoot, 'shim/index.ts') });
    expect(skipped.files.flatMap((f) => f.items).filter((i) => i.rule === 'verify')).toEqual([]);
    // --strict: the file is not changed and fails.
    const strict = await migrate({ paths: [tree.root], root: tree.root, strict: true, shimTypes: path.join(repoRoot, 'shim/index.ts') });
    const file = strict.files.find((f) => f.file === 'src/a.ts')!;
    expect(file.status).toBe('failed');
    expect(file.updated).toBeUndefined();
  }, 120_000);
});

describe('docs', () => {
  // Every reason code (the Record makes a new code a compile error here until listed).
  const CODES: Record<ReasonCode, true> = {
    'parse-error': true,
    'transactional-enqueue': true,
    'target-routing': true,
    'request-access': true,
    'response-access': true,
    'non-registrable-callable': true,
    'dynamic-import': true,
    'handler-as-value': true,
    'mount-not-found': true,
    'webapp-router-kept': true,
    'regex-route': true,
    'unknown-framework': true,
    'app-yaml': true,
    'unreadable-file': true,
    'io-error': true,
    'edit-conflict': true,
    'not-idempotent': true,
    'defer-result': true,
    'sync-error-handling': true,
    'legacy-error-text': true,
    'process-exit': true,
    'queue-yaml-unsupported': true,
    'queue-yaml-location': true,
    'app-yaml-manual': true,
    'unchecked-task-payload': true,
    'unknown-handler-base': true,
    'handler-webapp-member': true,
    'handler-result': true,
    'default-url-handler': true,
    'middleware-bypassed': true,
    'lazy-registration': true,
    'delivery-target': true,
    'unresolved-legacy-reference': true,
    'legacy-dependency': true,
    'new-type-error': true,
    'shim-unresolved': true,
    'verify-incomplete': true,
    'registration-order': true,
    'data-dir-gitignore': true,
  };

  it('has a section (link anchor) in docs/manual-steps.md for every reason code', () => {
    const headings = new Set([...readFileSync(path.join(repoRoot, 'docs/manual-steps.md'), 'utf8').matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim()));
    expect(Object.keys(CODES).filter((code) => !headings.has(code))).toEqual([]);
  });
});
