import * as path from 'node:path';
import { ts } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { patternLoadsIn } from '../../codemods/analysis/pattern-loads.js';

const DIR = '/repo/src';
const loads = (text: string) => patternLoadsIn(ts.createSourceFile('/repo/src/m.ts', text, ts.ScriptTarget.Latest, true), DIR);

describe('patternLoadsIn', () => {
  it('finds bundler and package loads of a directory, with the directory they name', () => {
    const cases: [string, string, string | undefined][] = [
      ["const m = import.meta.glob('./jobs/*.ts', { eager: true });", 'import.meta.glob', path.join(DIR, 'jobs')],
      ["const m = import.meta.glob('./jobs/**/index.ts');", 'import.meta.glob', path.join(DIR, 'jobs')],
      ["const m = import.meta.glob(['./a/*.ts', './b/*.ts']);", 'import.meta.glob', undefined],
      ["const m = import.meta.glob('/src/*.ts');", 'import.meta.glob', undefined],
      ["const ctx = require.context('./jobs', true, /\\.js$/);", 'require.context', path.join(DIR, 'jobs')],
      ["const ctx = import.meta.webpackContext('../shared', { recursive: false });", 'import.meta.webpackContext', '/repo/shared'],
      ["import requireDirectory from 'require-directory';\nconst all = requireDirectory(module, './jobs');", 'requireDirectory', path.join(DIR, 'jobs')],
      ["const requireAll = require('require-all');\nconst all = requireAll({ dirname: __dirname + '/scripts', filter: /js$/ });", 'requireAll', path.join(DIR, 'scripts')],
      ["const all = require('require-all')(__dirname);", 'require-all', DIR],
      ["const all = require('require-dir')(someDir);", 'require-dir', undefined],
      ["import AutoLoad from '@fastify/autoload';\nimport { join } from 'node:path';\napp.register(AutoLoad, { dir: join(import.meta.dirname, 'routes') });", 'AutoLoad', path.join(DIR, 'routes')],
      ["import * as auto from 'fastify-autoload';\napp.register(auto, { dir: path.join(__dirname, 'plugins', 'v1') });", 'auto', path.join(DIR, 'plugins', 'v1')],
    ];
    for (const [text, loader, dir] of cases) {
      const [load, ...more] = loads(text);
      expect({ text, loader: load?.loader, dir: load?.dir, more: more.length }).toEqual({ text, loader, dir, more: 0 });
    }
  });

  it('leaves ordinary calls, and packages that load no directory', () => {
    for (const text of [
      "const jobs = require('./jobs');",
      "import glob from 'fast-glob';\nconst files = glob.sync('./jobs/*.ts');",
      "const meta = import.meta.url;",
      "const context = app.context('./jobs');",
      "import requireAll from 'some-other';\nrequireAll('./jobs');",
    ]) expect({ text, loads: loads(text) }).toEqual({ text, loads: [] });
  });
});
