// Minimal programs the codemod property tests (codemod-properties.test.ts) once
// failed on, kept as fixed cases so that each bug stays fixed whatever the
// generator's seed. Each states the property it broke.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import type { MigrationResult } from '../../codemods/types.js';
import { typeCheckFiles } from './support/typecheck.js';

const base = mkdtempSync(join(tmpdir(), 'dm-codemod-regressions-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let counter = 0;

async function migrateFiles(files: Record<string, string>): Promise<MigrationResult> {
  const dir = join(base, `case-${++counter}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return migrate({ paths: [dir], root: dir });
}

function output(result: MigrationResult, file: string): string {
  const found = result.files.find((f) => f.file === file);
  if (!found) throw new Error(`${file} is not in the result`);
  return found.updated ?? found.original;
}

describe('codemod regressions found by the property tests', () => {
  it('an import added to a file without imports goes above the comment attached to the first statement, not between them', async () => {
    const tasks = [
      '/* istanbul ignore next */ const quoted = "not code";',
      'void quoted;',
      '',
      '// Attached to the function below.',
      'export function bumpCounter(key: string, amount: number): void {',
      '  console.log(key, amount);',
      '}',
      '',
    ].join('\n');
    const app = [
      "import { defer } from 'google/appengine/ext/deferred';",
      "import { bumpCounter } from './tasks';",
      '',
      "export function kick(): void {\n  defer(bumpCounter, 'k', 1);\n}",
      '',
    ].join('\n');
    const result = await migrateFiles({ 'tasks.ts': tasks, 'app.ts': app });
    const migrated = output(result, 'tasks.ts');
    expect(migrated).toContain('/* istanbul ignore next */ const quoted = "not code";');
    expect(migrated).toContain('// Attached to the function below.\nexport function bumpCounter');
    expect(migrated).toMatch(/^import \{ register \} from ['"]deferred-migrate\/shim['"];\n\n\/\* istanbul ignore next \*\/ const quoted/);
  });

  it('a file header separated by a blank line stays above an added import', async () => {
    const tasks = ['// Copyright (c) The Example Authors.', '', 'export function warm(): void {}', ''].join('\n');
    const app = ["import { defer } from 'google/appengine/ext/deferred';", "import { warm } from './tasks';", 'export const go = () => defer(warm);', ''].join('\n');
    const result = await migrateFiles({ 'tasks.ts': tasks, 'app.ts': app });
    expect(output(result, 'tasks.ts')).toMatch(/^\/\/ Copyright \(c\) The Example Authors\.\n\nimport \{ register \} from ['"]deferred-migrate\/shim['"];/);
  });

  it('a task function deferred through a namespace import of its module (jobs.sendEmail) is registered, not reported', async () => {
    const tasks = 'export function sendEmail(key: string, amount: number): void {\n  console.log(key, amount);\n}\n';
    const app = [
      "import express from 'express';",
      "import { defer } from 'google/appengine/ext/deferred';",
      "import * as jobs from './tasks';",
      '',
      'export const app = express();',
      "app.get('/kick', (_req, res) => {\n  defer(jobs.sendEmail, 'key', 1);\n  res.send('ok');\n});",
      '',
    ].join('\n');
    const result = await migrateFiles({ 'tasks.ts': tasks, 'app.ts': app });
    expect(result.files.flatMap((f) => f.items.filter((i) => i.severity !== 'note').map((i) => `${i.file}:${i.line} ${i.code}`))).toEqual([]);
    expect(output(result, 'tasks.ts')).toContain('register(sendEmail');
  });

  it('a module that declares its own register, environFrom, Handler or wrapApp still type-checks after the shim names are added', async () => {
    const colliders: Record<string, string> = {
      register: 'function register(label: string): string {\n  return label;\n}',
      environFrom: 'function environFrom(): Record<string, string> {\n  return {};\n}',
      Handler: 'class Handler {\n  handle(): void {}\n}',
      wrapApp: 'const wrapApp = (value: number): number => value;',
    };
    const outputs = new Map<string, string>();
    for (const [name, declaration] of Object.entries(colliders)) {
      const app = [
        "import express from 'express';",
        "import { defer, TaskHandler } from 'google/appengine/ext/deferred';",
        "import { WSGIApplication } from 'google/appengine/ext/webapp';",
        '',
        'export function warm(): void {}',
        '',
        'class Custom extends TaskHandler {}',
        '',
        'export const app = express();',
        "app.use(new WSGIApplication([['/_ah/queue/deferred', TaskHandler], ['/custom', Custom]]));",
        "app.get('/go', (_req, res) => {\n  defer(warm);\n  defer(warm, { _url: '/custom' });\n  res.send('ok');\n});",
        '',
        declaration,
        `void ${name};`,
        '',
      ].join('\n');
      const result = await migrateFiles({ 'app.ts': app });
      const file = result.files.find((f) => f.file === 'app.ts')!;
      expect(file.status, name).toBe('migrated');
      writeFileSync(file.absPath, file.updated!);
      outputs.set(file.absPath, name);
    }
    const diagnostics = await typeCheckFiles([...outputs.keys()]);
    const errors = [...outputs].flatMap(([file, name]) => diagnostics.get(file)!.map((d) => `${name}: line ${d.line} ${d.message}`));
    expect(errors).toEqual([]);
  });

  it.each([
    ['a string that mentions require(', `const note = "require('google/appengine/ext/deferred').defer(x)";`],
    ['a lazy require in a later top-level statement', `const loadLater = () => require('./tasks.cjs');`],
  ])('a require added to a CommonJS file goes above the first use of its names, whatever %s follows', async (_label, laterStatement) => {
    const tasks = "'use strict';\nfunction warm() {}\nmodule.exports = { warm };\n";
    const app = [
      "'use strict';",
      "const express = require('express');",
      "const { warm } = require('./tasks.cjs');",
      '',
      'const app = express();',
      "app.get('/go', (req, res) => {\n  require('google/appengine/ext/deferred').defer(warm);\n  res.send('ok');\n});",
      '',
      laterStatement,
      'module.exports = app;',
      '',
    ].join('\n');
    const result = await migrateFiles({ 'tasks.cjs': tasks, 'app.cjs': app });
    const migrated = output(result, 'app.cjs');
    // `const { wrapApp } = require(...)` after `wrapApp(express())` throws "Cannot access 'wrapApp' before initialization".
    const declared = migrated.search(/const \{[^}]*\bwrapApp\b[^}]*\} = require\(/);
    expect(declared, migrated).toBeGreaterThanOrEqual(0);
    expect(declared, migrated).toBeLessThan(migrated.indexOf('wrapApp(express()'));
    expect(migrated, migrated).toContain(`\n\n${laterStatement}\nmodule.exports = app;`);
  });
});
