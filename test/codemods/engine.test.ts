import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { makeTree, type TempTree } from './helpers.js';

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

const LEGACY = "import * as deferred from 'google/appengine/ext/deferred';\n\nexport function job(n: number) {\n  return n;\n}\n\nexport function go() {\n  deferred.defer(job, 1, { _url: '/tasks/job' });\n}\n";

describe('migrate', () => {
  it('migrates what it can, fails unparseable files without stopping, and writes nothing', async () => {
    // A package manifest where the run walks: `go` is exported to the package alone (no unseen caller to report).
    tree = makeTree({
      'src/package.json': '{ "private": true }\n',
      '.gitignore': 'generated/\n',
      'src/good.ts': LEGACY,
      'src/broken.ts': "import { defer } from 'google/appengine/ext/deferred';\nconst = ;\n",
      'src/plain.ts': 'export const unrelated = 1;\n',
      'generated/legacy.ts': LEGACY,
    });
    mkdirSync(tree.path('.git'));
    const progress: Array<[number, number]> = [];
    const result = await migrate({ paths: [tree.path('src'), tree.path('generated')], onProgress: (done, total) => progress.push([done, total]) });
    expect(result.root).toBe(tree.root);
    const byFile = Object.fromEntries(result.files.map((f) => [f.file, f]));
    expect(Object.keys(byFile).sort()).toEqual(['src/broken.ts', 'src/good.ts']);
    expect(byFile['src/good.ts']!.status).toBe('migrated');
    expect(byFile['src/good.ts']!.updated).toContain("import { deferred } from 'deferred-migrate/shim';");
    expect(byFile['src/good.ts']!.updated).toContain('deferred.register(job);');
    expect(byFile['src/good.ts']!.edits.map((e) => e.rule).sort()).toEqual(['defer-registration', 'imports']);
    const broken = byFile['src/broken.ts']!;
    expect(broken.status).toBe('failed');
    expect(broken.updated).toBeUndefined();
    expect(broken.items).toEqual([
      expect.objectContaining({
        file: 'src/broken.ts',
        line: 2,
        column: 7,
        code: 'parse-error',
        severity: 'error',
        docsUrl: 'node_modules/deferred-migrate/docs/manual-steps.md#parse-error',
      }),
    ]);
    expect(result.summary).toEqual({ scanned: 3, candidates: 2, migrated: 1, unchanged: 0, manual: 0, failed: 1 });
    expect(result.durationMs).toBeGreaterThan(0);
    expect(progress).toEqual([
      [1, 2],
      [2, 2],
    ]);
    expect(readFileSync(tree.path('src/good.ts'), 'utf8')).toBe(LEGACY);
  });

  it('recognises extra legacy module specifiers and writes the configured shim specifier', async () => {
    tree = makeTree({
      'tasks.ts': "import { defer, TaskHandler } from '@corp/task-queue';\nexport class H extends TaskHandler {}\nexport function f() {}\ndefer(f, { _url: '/x' });\n",
    });
    const result = await migrate({ paths: [tree.root], root: tree.root, legacyModules: ['@corp/task-queue'], shimModule: '#shim' });
    expect(result.files[0]!.updated).toBe("import { defer, Handler, register } from '#shim';\nexport class H extends Handler {}\nexport function f() {}\nregister(f);\ndefer(f, { _url: '/x' });\n");
  });

  it('keeps CRLF line endings, double quotes and semicolon-free style in generated code', async () => {
    const source = 'import { defer } from "google/appengine/ext/deferred"\r\n\r\nfunction f() {\r\n  return 1\r\n}\r\n\r\nexport const go = () => defer(f, { _url: "/f" })\r\n';
    tree = makeTree({ 'crlf.ts': source, 'package.json': '{ "private": true }\n' });
    const result = await migrate({ paths: [tree.root], root: tree.root });
    expect(result.files[0]!.updated).toBe(
      'import { defer, register } from "deferred-migrate/shim"\r\n\r\nfunction f() {\r\n  return 1\r\n}\r\nregister(f)\r\n\r\nexport const go = () => defer(f, { _url: "/f" })\r\n',
    );
  });

  it('reports a file whose migrated items need a human as manual', async () => {
    tree = makeTree({ 'a.ts': "import { defer } from 'google/appengine/ext/deferred';\nexport const go = () => defer(() => 1, { _url: '/x' });\n", 'package.json': '{ "private": true }\n' });
    const result = await migrate({ paths: [tree.root], root: tree.root });
    expect(result.files.map((f) => [f.file, f.status, f.items.map((i) => `${i.line}:${i.column} ${i.code}`)])).toEqual([
      ['a.ts', 'manual', ['2:31 non-registrable-callable']],
    ]);
    expect(result.summary.manual).toBe(1);
  });
  it('reports an exported defer() when the run walks only part of its package, and follows the callers when it walks all of it', async () => {
    tree = makeTree({
      'package.json': '{ "private": true, "main": "src/index.ts" }\n',
      'src/tasks.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport function work(id: number) {\n  return id;\n}\nexport function schedule(id: number) {\n  deferred.defer(work, id, { _name: `x${id}`, _url: '/tasks/work' });\n}\n",
      'test/tasks.test.ts': "import { schedule } from '../src/tasks.js';\nexport function check() {\n  try {\n    schedule(1);\n    return 'queued';\n  } catch {\n    return 'refused';\n  }\n}\n",
    });
    const part = await migrate({ paths: [tree.path('src')], root: tree.root, verify: false });
    const tasks = part.files.find((f) => f.file === 'src/tasks.ts')!;
    expect(tasks.items.filter((i) => i.code === 'sync-error-handling').map((i) => [i.line, i.message.match(/walked only part of its package \(\.\)/) !== null])).toEqual([[6, true]]);
    expect(tasks.updated).not.toContain('await deferred.defer');
    const whole = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    expect(whole.files.find((f) => f.file === 'src/tasks.ts')!.updated).toContain('export async function schedule(id: number) {\n  await deferred.defer(');
    expect(whole.files.find((f) => f.file === 'test/tasks.test.ts')!.updated).toContain('await schedule(1);');
    expect(whole.files.flatMap((f) => f.items).filter((i) => i.code === 'sync-error-handling')).toEqual([]);
  });
  it('reports what a run on part of a package changes in its exports, and modules outside the run that use the legacy API', async () => {
    tree = makeTree({
      'package.json': '{ "private": true, "type": "module" }\n',
      'src/jobs.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport function audit(id: number) {\n  return id;\n}\nexport class AuditHandler extends deferred.TaskHandler {\n  post() {\n    return super.post();\n  }\n}\n",
      'src/appengine.ts': "export * from 'google/appengine/ext/deferred';\n",
      'src/app.ts': "import express from 'express';\nimport { WSGIApplication } from 'google/appengine/ext/webapp';\nimport { AuditHandler } from './jobs.js';\nimport { sendMail } from './mailer.js';\nexport const app = express();\nexport const tasks = new WSGIApplication([['/tasks/audit', AuditHandler]]);\napp.use(tasks);\napp.get('/m', (_req, res) => { sendMail('x'); res.send('ok'); });\n",
      'src/mailer.ts': "import { enqueue } from '../lib/queue.js';\nexport function mail(to: string) {\n  return to;\n}\nexport function sendMail(to: string) {\n  enqueue(mail, to);\n}\n",
      'lib/queue.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport const enqueue = deferred.defer;\n",
      'test/app.test.ts': "import { tasks } from '../src/app.js';\nimport { AuditHandler } from '../src/jobs.js';\nimport { TaskHandler } from '../src/appengine.js';\nexport const probe = [tasks, new AuditHandler(), TaskHandler];\n",
    });
    const codes = (result: Awaited<ReturnType<typeof migrate>>): string[] => result.files.flatMap((f) => f.items.map((i) => `${f.file}:${i.line} ${i.code}`)).sort();
    const part = await migrate({ paths: [tree.path('src')], root: tree.root, verify: false });
    expect(codes(part)).toEqual([
      'src/app.ts:6 mount-not-found',
      'src/appengine.ts:1 unresolved-legacy-reference',
      'src/jobs.ts:5 handler-as-value',
      'src/mailer.ts:1 unresolved-legacy-reference',
    ]);
    // The table stays where its export may be imported from outside the run.
    expect(part.files.find((f) => f.file === 'src/app.ts')!.updated).toContain('export const tasks = new WSGIApplication(');
    // The whole package: the test's uses are seen (and reported there), nothing leaves the run.
    const whole = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    expect(codes(whole).filter((c) => !c.startsWith('test/'))).toEqual(['src/app.ts:6 mount-not-found']);
  });
  it('takes the files of a workspace package without "exports" as importable by the packages that depend on it', async () => {
    tree = makeTree({
      'package.json': '{ "name": "mono", "private": true, "workspaces": ["packages/*", "apps/*"] }\n',
      'packages/shared/package.json': '{ "name": "@acme/shared", "private": true, "main": "src/index.ts" }\n',
      'packages/shared/src/index.ts': 'export const version = 1;\n',
      'packages/shared/src/jobs.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport function audit(id: number) {\n  return id;\n}\nexport function schedule(id: number) {\n  deferred.defer(audit, id, { _name: `a${id}`, _url: '/tasks/audit' });\n}\n",
      'packages/shared/src/worker.ts': "import { schedule } from './jobs.js';\nexport function safe(id: number) {\n  try {\n    schedule(id);\n    return true;\n  } catch {\n    return false;\n  }\n}\n",
      'apps/web/package.json': '{ "name": "@acme/web", "private": true, "dependencies": { "@acme/shared": "*" } }\n',
      'apps/web/src/app.ts': "import { schedule } from '@acme/shared/src/jobs.js';\nexport function kick() {\n  try {\n    schedule(9);\n    return 'ok';\n  } catch {\n    return 'dup';\n  }\n}\n",
    });
    const shared = await migrate({ paths: [tree.path('packages/shared')], root: tree.root, verify: false });
    const jobs = shared.files.find((f) => f.file === 'packages/shared/src/jobs.ts')!;
    expect(jobs.items.filter((i) => i.code === 'sync-error-handling').map((i) => i.message.includes('apps/web/package.json depends on it'))).toEqual([true]);
    expect(jobs.updated).not.toContain('async function schedule');
    // Run on the root, the importer is seen and awaited.
    const whole = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    expect(whole.files.find((f) => f.file === 'apps/web/src/app.ts')!.updated).toContain('await schedule(9);');
  });
  it('takes a hoisted workspace package as importable by path by a package that does not declare it', async () => {
    const made = makeTree({
      'package.json': '{ "name": "mono", "private": true, "workspaces": ["packages/*", "apps/*"] }\n',
      'packages/shared/package.json': '{ "name": "@acme/shared", "private": true, "main": "src/index.js" }\n',
      'packages/shared/src/index.js': 'exports.version = 1;\n',
      'packages/shared/src/jobs.js': "const deferred = require('google/appengine/ext/deferred');\nfunction audit(id) {\n  return id;\n}\nfunction schedule(id) {\n  deferred.defer(audit, id, { _name: 'a' + id, _url: '/tasks/audit' });\n}\nmodule.exports = { audit, schedule };\n",
      'packages/shared/src/worker.js': "const { schedule } = require('./jobs');\nfunction safe(id) {\n  try {\n    schedule(id);\n    return true;\n  } catch {\n    return false;\n  }\n}\nmodule.exports = { safe };\n",
      // No dependency on @acme/shared: npm's hoisting resolves it anyway.
      'apps/web/package.json': '{ "name": "@acme/web", "private": true }\n',
      'apps/web/src/kick.js': "const { schedule } = require('@acme/shared/src/jobs');\nfunction kick() {\n  try {\n    schedule(9);\n    return 'ok';\n  } catch {\n    return 'dup';\n  }\n}\nmodule.exports = { kick };\n",
    });
    tree = made;
    const run = () => migrate({ paths: [made.path('packages/shared')], root: made.root, verify: false });
    // Not hoisted (pnpm links declared dependencies only): web cannot resolve it, the call stays the package's own.
    const alone = (await run()).files.find((f) => f.file === 'packages/shared/src/jobs.js')!;
    expect(alone.items.filter((i) => i.code === 'sync-error-handling')).toEqual([]);
    mkdirSync(tree.path('node_modules/@acme'), { recursive: true });
    symlinkSync('../../packages/shared', tree.path('node_modules/@acme/shared'));
    const jobs = (await run()).files.find((f) => f.file === 'packages/shared/src/jobs.js')!;
    expect(jobs.items.filter((i) => i.code === 'sync-error-handling').map((i) => i.message.includes('apps/web/src/kick.js imports a file of it by its path'))).toEqual([true]);
    expect(jobs.updated ?? '').not.toContain('async function schedule');
  });
  it("follows a package's bin script without extension to the run's functions it calls", async () => {
    tree = makeTree({
      'package.json': '{ "name": "tool", "private": true, "bin": { "tool": "bin/tool" } }\n',
      'src/jobs.js': "const deferred = require('google/appengine/ext/deferred');\nfunction audit(id) {\n  return id;\n}\nfunction schedule(id) {\n  deferred.defer(audit, id, { _name: 'a' + id, _url: '/t' });\n}\nmodule.exports = { audit, schedule };\n",
      'src/app.js': "const { schedule } = require('./jobs');\nfunction one() {\n  try {\n    schedule(1);\n    return 'ok';\n  } catch {\n    return 'dup';\n  }\n}\nmodule.exports = { one };\n",
      'bin/tool': "#!/usr/bin/env node\nconst { schedule } = require('../src/jobs');\ntry {\n  schedule(Number(process.argv[2]));\n} catch {\n  process.exitCode = 1;\n}\n",
    });
    const result = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    const jobs = result.files.find((f) => f.file === 'src/jobs.js')!;
    expect(jobs.items.filter((i) => i.code === 'sync-error-handling').map((i) => i.message.includes('bin/tool imports it'))).toEqual([true]);
    expect(jobs.updated ?? '').not.toContain('async function schedule');
  });
  it('reads relative paths from the working directory, as the CLI does, whatever the root', async () => {
    tree = makeTree({
      'package.json': '{ "private": true, "main": "src/index.ts" }\n',
      'src/tasks.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport function work(id: number) {\n  return id;\n}\nexport function schedule(id: number) {\n  deferred.defer(work, id, { _name: `x${id}`, _url: '/tasks/work' });\n}\n",
      'test/tasks.test.ts': "import { schedule } from '../src/tasks.js';\nexport function check() {\n  try {\n    schedule(1);\n    return 'queued';\n  } catch {\n    return 'refused';\n  }\n}\n",
    });
    const absolute = await migrate({ paths: [tree.path('src')], root: tree.root, verify: false });
    const cwd = process.cwd();
    process.chdir(tree.path('src'));
    try {
      // `.` is src: the run walks part of the package, so it cannot see the test's call.
      const relative = await migrate({ paths: ['.'], root: tree.root, verify: false });
      expect(relative.files.map((f) => [f.file, f.updated, f.items.map((i) => i.message)])).toEqual(absolute.files.map((f) => [f.file, f.updated, f.items.map((i) => i.message)]));
      expect(relative.files.find((f) => f.file === 'src/tasks.ts')!.items.map((i) => i.code)).toContain('sync-error-handling');
    } finally {
      process.chdir(cwd);
    }
  });
  it("follows callers of a private package's entry point when the run walks the repository, and reports a published one's", async () => {
    const files = (manifest: string) => ({
      'package.json': manifest,
      'src/index.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport function work(id: number) {\n  return id;\n}\nexport function schedule(id: number) {\n  deferred.defer(work, id, { _name: `x${id}`, _url: '/tasks/work' });\n}\n",
      'scripts/run.ts': "import { schedule } from '../src/index.js';\nexport function run() {\n  try {\n    schedule(1);\n  } catch {\n    console.log('refused');\n  }\n}\n",
    });
    tree = makeTree(files('{ "private": true, "main": "src/index.ts" }\n'));
    const own = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    expect(own.files.find((f) => f.file === 'scripts/run.ts')!.updated).toContain('await schedule(1);');
    tree.cleanup();
    tree = makeTree(files('{ "name": "published", "main": "src/index.ts" }\n'));
    const published = await migrate({ paths: [tree.root], root: tree.root, verify: false });
    const items = published.files.find((f) => f.file === 'src/index.ts')!.items.filter((i) => i.code === 'sync-error-handling');
    expect(items.map((i) => [i.line, /entry point of its package \(\.\/package\.json\)/.test(i.message)])).toEqual([[6, true]]);
  });
});
