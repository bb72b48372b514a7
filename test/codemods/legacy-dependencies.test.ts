// Installed packages that depend on the legacy API are reported where the run imports
// them (rule `imports`, code `legacy-dependency`): the codemod does not migrate them.
import { mkdirSync, symlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate } from '../../codemods/engine.js';
import { makeTree, type TempTree } from './helpers.js';

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

const manifest = (name: string, dependencies: Record<string, string> = {}, peerDependencies: Record<string, string> = {}): string => JSON.stringify({ name, version: '1.0.0', dependencies, peerDependencies });

function project(): TempTree {
  return makeTree({
    'package.json': JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { '@acme/jobs': '1', '@acme/wrapper': '1', 'lib-clean': '1', 'peer-user': '1' } }),
    'src/app.ts': "import { defer } from 'google/appengine/ext/deferred';\nimport { nightly } from '@acme/jobs';\nimport pad from 'lib-clean';\n\nexport function run(): void {\n  defer(nightly, pad('x'));\n}\n",
    'src/other.ts': "import * as fs from 'node:fs';\nimport { weekly } from '@acme/wrapper/tasks';\nimport { peer } from 'peer-user';\nexport const all = [weekly, peer, fs];\n",
    'node_modules/google/package.json': manifest('google'),
    'node_modules/@acme/jobs/package.json': manifest('@acme/jobs', { google: '1' }),
    'node_modules/@acme/wrapper/package.json': manifest('@acme/wrapper', { 'left-pad': '1', '@acme/jobs': '1' }),
    'node_modules/lib-clean/package.json': manifest('lib-clean', { 'left-pad': '1' }),
    'node_modules/left-pad/package.json': manifest('left-pad'),
    'node_modules/peer-user/package.json': manifest('peer-user', {}, { google: '1' }),
  });
}

const items = (result: Awaited<ReturnType<typeof migrate>>): string[] =>
  result.files.flatMap((f) => f.items.filter((i) => i.code === 'legacy-dependency').map((i) => `${f.file}:${i.line}:${i.column} ${i.message.slice(0, i.message.indexOf(', and the codemod'))}`)).sort();

describe('legacy-dependency', () => {
  it('reports packages that depend on the legacy API, directly, as a peer or through another package, and not the others', async () => {
    tree = project();
    const result = await migrate({ paths: [tree.root], root: tree.root });
    expect(items(result)).toEqual([
      'src/app.ts:2:25 The installed package `@acme/jobs` depends on `google`, the legacy deferred API',
      'src/other.ts:2:24 The installed package `@acme/wrapper` depends on `google`, the legacy deferred API (through `@acme/jobs`)',
      'src/other.ts:3:22 The installed package `peer-user` depends on `google`, the legacy deferred API',
    ]);
  });

  it('finds packages installed above the walked directory', async () => {
    tree = project();
    const result = await migrate({ paths: [tree.path('src')], root: tree.root });
    expect(items(result).map((item) => item.split(' ')[0])).toEqual(['src/app.ts:2:25', 'src/other.ts:2:24', 'src/other.ts:3:22']);
  });

  it('reports a package linked into the repository, outside the run, whose code uses the legacy API', async () => {
    tree = makeTree({
      'package.json': JSON.stringify({ name: 'mono', private: true }),
      'packages/shared/package.json': JSON.stringify({ name: '@acme/shared', private: true, main: 'src/index.ts' }),
      'packages/shared/src/index.ts': "import * as deferred from 'google/appengine/ext/deferred';\nexport const enqueue = deferred.defer;\n",
      'apps/web/package.json': JSON.stringify({ name: '@acme/web', private: true, dependencies: { '@acme/shared': 'file:../../packages/shared' } }),
      'apps/web/src/mailer.ts': "import { enqueue } from '@acme/shared';\nexport function mail(to: string) {\n  return to;\n}\nexport function sendMail(to: string) {\n  enqueue(mail, to);\n}\n",
    });
    mkdirSync(tree.path('node_modules/@acme'), { recursive: true });
    symlinkSync('../../packages/shared', tree.path('node_modules/@acme/shared'), 'dir');
    const result = await migrate({ paths: [tree.path('apps/web')], root: tree.root, verify: false });
    expect(result.files.flatMap((f) => f.items.map((i) => `${f.file}:${i.line} ${i.code} ${i.message.slice(0, 83)}`))).toEqual([
      'apps/web/src/mailer.ts:1 legacy-dependency The installed package `@acme/shared` is a link to packages/shared in the repository',
    ]);
    // The package in the run: migrated with its importer, nothing to report.
    expect(items(await migrate({ paths: [tree.root], root: tree.root, verify: false }))).toEqual([]);
  });

  it('says nothing where no installed package depends on it', async () => {
    tree = makeTree({
      'package.json': JSON.stringify({ name: 'app', private: true, dependencies: { 'lib-clean': '1' } }),
      'src/app.ts': "import { defer } from 'google/appengine/ext/deferred';\nimport pad from 'lib-clean';\nexport function run(): void {\n  defer(run, pad('x'));\n}\n",
      'node_modules/lib-clean/package.json': manifest('lib-clean', { 'left-pad': '1' }),
    });
    expect(items(await migrate({ paths: [tree.root], root: tree.root }))).toEqual([]);
  });
});
