// RuleTester-style tables: valid code stays as it is; invalid code becomes the
// given output with the given report items (code@line:column).
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { makeTree, type TempTree } from './helpers.js';

interface Case {
  name: string;
  file?: string;
  code: string;
  output?: string;
  items?: string[];
}

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

async function run(rule: string, testCase: Case): Promise<void> {
  const file = testCase.file ?? 'a.ts';
  tree = makeTree({ [file]: testCase.code });
  // The rules' own edits: marker comments are the engine's (see fixtures.test.ts).
  const result = await migrate({ paths: [tree.root], root: tree.root, markers: false });
  const entry = result.files.find((f) => f.file === file);
  expect(entry?.updated ?? testCase.code).toBe(testCase.output ?? testCase.code);
  const items = result.files.flatMap((f) => f.items).filter((i) => i.rule === rule);
  expect(items.map((i) => `${i.code}@${i.line}:${i.column}`)).toEqual(testCase.items ?? []);
  // Idempotency on the result.
  tree.cleanup();
  tree = makeTree({ [file]: testCase.output ?? testCase.code });
  const again = await migrate({ paths: [tree.root], root: tree.root, markers: false });
  expect(again.files.filter((f) => f.updated !== undefined)).toEqual([]);
}

const LEGACY = "'google/appengine/ext/deferred'";
const SHIM = "'deferred-migrate/shim'";

const tables: Record<string, { valid: Case[]; invalid: Case[] }> = {
  imports: {
    valid: [
      { name: 'a module merely called task-handler', code: "import { TaskHandler } from './task-handler';\nexport class A extends TaskHandler {}\n" },
      { name: 'a specifier that only contains the suffix in the middle', code: "import { defer } from 'appengine/ext/deferred-utils';\ndefer(() => 1);\n" },
      { name: 'shim code', code: `import { Handler } from ${SHIM};\nexport class A extends Handler {}\n` },
    ],
    invalid: [
      {
        name: 'default and named import together',
        code: `import deferred, { TaskHandler } from ${LEGACY};\nexport class A extends TaskHandler {}\nexport const B = deferred.TaskHandler;\n`,
        output: `import { deferred, Handler } from ${SHIM};\nexport class A extends Handler {}\nexport const B = deferred.Handler;\n`,
      },
      {
        name: 'shorthand property and local re-export of TaskHandler',
        code: `import { TaskHandler } from ${LEGACY};\nexport const registry = { TaskHandler };\nexport { TaskHandler };\n`,
        output: `import { Handler } from ${SHIM};\nexport const registry = { TaskHandler: Handler };\nexport { Handler as TaskHandler };\n`,
      },
      {
        name: 'unused legacy names are dropped',
        code: `import { defer, TaskHandler, run } from ${LEGACY};\nexport const go = () => defer(go, { _url: '/go' });\n`,
        output: `import { defer, register } from ${SHIM};\nexport const go = () => defer(go, { _url: '/go' });\nregister(go);\n`,
      },
      {
        name: 'import-equals require',
        code: `import deferred = require(${LEGACY});\nexport class A extends deferred.TaskHandler {}\n`,
        output: `import deferred = require(${SHIM});\nexport class A extends deferred.Handler {}\n`,
      },
      {
        name: 'type position through the namespace',
        code: `import * as deferred from ${LEGACY};\nexport type H = deferred.TaskHandler;\n`,
        output: `import { deferred } from ${SHIM};\nexport type H = deferred.Handler;\n`,
      },
    ],
  },
  'task-handler-subclass': {
    valid: [
      { name: 'an unrelated class with post()', code: 'export class Poster {\n  post() {\n    return this.request;\n  }\n  request = 1;\n}\n' },
    ],
    invalid: [
      {
        name: 'class expression assigned to a const',
        code: `import { TaskHandler } from ${LEGACY};\nexport const H = class extends TaskHandler {\n  post() {\n    super.post();\n  }\n};\n`,
        output: `import { Handler, type Environ } from ${SHIM};\nexport const H = class extends Handler {\n  post(environ: Environ) {\n    return super.post(environ);\n  }\n};\n`,
      },
      {
        name: 'post() delegating to runFromRequest()',
        file: 'a.js',
        code: `const { TaskHandler } = require(${LEGACY});\nclass H extends TaskHandler {\n  post() {\n    this.runFromRequest();\n  }\n}\nmodule.exports = H;\n`,
        output: `const { Handler } = require(${SHIM});\nclass H extends Handler {\n  post(environ) {\n    return this.runFromRequest(environ);\n  }\n}\nmodule.exports = H;\n`,
      },
      {
        name: 'response writes are reported, nested classes are not this handler',
        code: `import * as deferred from ${LEGACY};\nexport class H extends deferred.TaskHandler {\n  post() {\n    this.response.write('x');\n    const Inner = class { f() { return this.response; } };\n    return new Inner();\n  }\n}\n`,
        output: `import { deferred } from ${SHIM};\nexport class H extends deferred.Handler {\n  post(environ: deferred.Environ) {\n    this.response.write('x');\n    const Inner = class { f() { return this.response; } };\n    return new Inner();\n  }\n}\n`,
        items: ['response-access@4:5', 'handler-result@6:5'],
      },
    ],
  },
  'defer-options': {
    valid: [
      { name: '_transactional: false', code: `import { defer, register } from ${SHIM};\nfunction f() {}\nregister(f);\ndefer(f, { _transactional: false, _url: '/f' });\n` },
    ],
    invalid: [
      {
        name: 'string-keyed options',
        code: `import { defer } from ${SHIM};\nfunction f() {}\ndefer(f, { '_target': 'v2', _url: '/f' });\n`,
        output: `import { defer, register } from ${SHIM};\nfunction f() {}\nregister(f);\ndefer(f, { '_target': 'v2', _url: '/f' });\n`,
        items: ['target-routing@3:12'],
      },
    ],
  },
  'sync-error-handling': {
    valid: [
      {
        name: 'a try without a defer in reach',
        code: `import { defer, register } from ${SHIM};\nfunction f() {}\nregister(f);\nfunction g() {\n  try {\n    JSON.parse('1');\n  } catch {}\n  defer(f, { _url: '/f' });\n}\ng();\n`,
      },
      {
        name: 'a catch-only try around a callback that is not called synchronously',
        code: `import { defer, register } from ${SHIM};\nfunction f() {}\nregister(f);\ntry {\n  setTimeout(() => defer(f, { _url: '/f' }), 1);\n} catch {}\n`,
      },
    ],
    invalid: [
      {
        name: 'a made-async function used as an object is parenthesised',
        code: `import { defer } from ${LEGACY};\nfunction f() {}\nfunction q() {\n  try {\n    defer(f, { _url: '/f' });\n  } catch {}\n  return { ok: true };\n}\nexport async function main() {\n  return q().ok;\n}\n`,
        output: `import { defer, register } from ${SHIM};\nfunction f() {}\nregister(f);\nasync function q() {\n  try {\n    await defer(f, { _url: '/f' });\n  } catch {}\n  return { ok: true };\n}\nexport async function main() {\n  return (await q()).ok;\n}\n`,
      },
      {
        name: 'a const arrow with an expression body, called in a try',
        code: `import { defer } from ${LEGACY};\nfunction f() {}\nconst q = () => defer(f, { _url: '/f' });\nexport async function main() {\n  try {\n    q();\n  } catch {}\n}\n`,
        output: `import { defer, register } from ${SHIM};\nfunction f() {}\nregister(f);\nconst q = async () => await defer(f, { _url: '/f' });\nexport async function main() {\n  try {\n    await q();\n  } catch {}\n}\n`,
      },
      {
        name: 'a module-level try in a script that is not an ES module',
        file: 'a.js',
        code: `const { defer } = require(${LEGACY});\nfunction f() {}\ntry {\n  defer(f, { _url: '/f' });\n} catch {}\n`,
        output: `const { defer, register } = require(${SHIM});\nfunction f() {}\nregister(f);\ntry {\n  defer(f, { _url: '/f' });\n} catch {}\n`,
        items: ['sync-error-handling@4:3'],
      },
    ],
  },
  'wrap-app': {
    valid: [
      {
        name: 'run() of a payload serialize() made in place, or held by a const of the file',
        code: `import { register, run, serialize } from ${SHIM};\nfunction f(n: number) {\n  return n;\n}\nregister(f);\nexport async function check() {\n  const payload = Buffer.from(serialize(f, 2));\n  return (await run(serialize(f, 1))) + (await run(payload));\n}\n`,
      },
    ],
    invalid: [
      {
        name: "run() of a request's body in a task route of the app's own",
        code: `import { run } from ${SHIM};\nexport async function route(req: { body: Uint8Array }) {\n  await run(req.body);\n}\n`,
        items: ['unchecked-task-payload@3:9'],
      },
      {
        name: 'run() of a payload held by a let (it may be replaced)',
        code: `import { register, run, serialize } from ${SHIM};\nfunction f() {}\nregister(f);\nlet payload = Buffer.from(serialize(f));\nexport function swap(p: Uint8Array) {\n  payload = p;\n}\nexport const go = () => run(payload);\n`,
        items: ['unchecked-task-payload@8:25'],
      },
    ],
  },
};

for (const [rule, { valid, invalid }] of Object.entries(tables)) {
  describe(rule, () => {
    for (const testCase of valid) it(`valid: ${testCase.name}`, () => run(rule, testCase));
    for (const testCase of invalid) it(`invalid: ${testCase.name}`, () => run(rule, testCase));
  });
}
