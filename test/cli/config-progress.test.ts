// Config lookup and validation; the progress line under a controllable clock.
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, findConfig, loadConfigFile, validateConfig } from '../../codemods/config.js';
import { createProgress, progressLine } from '../../cli/progress.js';
import { makeTree, removeTrees } from './helpers/tree.js';

afterEach(removeTrees);

describe('config', () => {
  it('finds the nearest config between the working directory and the root; dedicated files beat package.json', async () => {
    const root = makeTree({
      'deferred-migrate.config.json': '{"shimModule":"root-shim"}',
      'pkg/package.json': '{"name":"p","deferred-migrate":{"shimModule":"pkg-shim","paths":["src"]}}',
      'pkg/src/deep/x.ts': '',
      'both/.deferred-migraterc.json': '{"shimModule":"rc"}',
      'both/package.json': '{"deferred-migrate":{"shimModule":"pkgjson"}}',
    });
    expect((await findConfig(path.join(root, 'pkg/src/deep'), root)).config).toEqual({ shimModule: 'pkg-shim', paths: [path.join(root, 'pkg/src')] });
    expect((await findConfig(path.join(root, 'both'), root)).config.shimModule).toBe('rc');
    expect((await findConfig(path.join(root, 'both'), root)).warnings[0]).toMatch(/several config files.*ignoring .*package\.json/);
    expect((await findConfig(root, root)).config.shimModule).toBe('root-shim');
  });

  it('does not look above the root', async () => {
    const outer = makeTree({ 'deferred-migrate.config.json': '{"shimModule":"outer"}', 'inner/x.ts': '' });
    expect(await findConfig(path.join(outer, 'inner'), path.join(outer, 'inner'))).toEqual({ config: {}, warnings: [] });
  });

  it('resolves paths and reportFile against the config file directory', async () => {
    const dir = makeTree({ 'conf/c.json': '{"paths":["../src"],"reportFile":"out/r.json","report":"json","allowDirty":true,"$schema":"x"}' });
    expect((await loadConfigFile(path.join(dir, 'conf/c.json'))).config).toEqual({
      paths: [path.join(dir, 'src')],
      reportFile: path.join(dir, 'conf/out/r.json'),
      report: 'json',
      allowDirty: true,
    });
  });

  it.each([
    [[], /expected a JSON object, got an array/],
    [{ allowDirty: 'yes' }, /"allowDirty" must be true or false/],
    [{ legacyModules: ['ok', ''] }, /"legacyModules" must be an array of non-empty strings/],
    [{ shimModule: 3 }, /"shimModule" must be a non-empty string, got number 3/],
    [{ __proto__x: 1 }, /unknown setting "__proto__x"/],
  ])('rejects %j', (raw, message) => {
    expect(() => validateConfig(raw, '/base', 'cfg.json')).toThrow(ConfigError);
    expect(() => validateConfig(raw, '/base', 'cfg.json')).toThrow(message);
  });

  it('says when package.json has no deferred-migrate key', async () => {
    const dir = makeTree({ 'package.json': '{"name":"x"}' });
    await expect(loadConfigFile(path.join(dir, 'package.json'))).rejects.toThrow(/no "deferred-migrate" key/);
  });
});

describe('progress', () => {
  it('stays silent on short runs, then prints throttled lines with files/s and an ETA', () => {
    let now = 0;
    const lines: string[] = [];
    const progress = createProgress({ stream: { write: (t) => lines.push(t) }, inPlace: false, now: () => now, startDelayMs: 1000, intervalMs: 500 });
    progress.update(100, 1000);
    now = 999;
    progress.update(500, 1000);
    expect(lines).toEqual([]);
    now = 1000;
    progress.update(500, 1000);
    now = 1200;
    progress.update(600, 1000); // throttled
    now = 1600;
    progress.update(800, 1000);
    progress.finish();
    expect(lines).toEqual(['deferred-migrate: 500/1000 files (50%), 500 files/s, ETA 1 s\n', 'deferred-migrate: 800/1000 files (80%), 500 files/s, ETA 1 s\n']);
  });

  it('redraws in place on a TTY and clears the line when done', () => {
    let now = 2000;
    const out: string[] = [];
    const progress = createProgress({ stream: { write: (t) => out.push(t) }, inPlace: true, now: () => now, startDelayMs: 0 });
    now = 4000;
    progress.update(10, 10);
    progress.finish();
    expect(out).toEqual(['\r\u001b[2Kdeferred-migrate: 10/10 files (100%), 5 files/s', '\r\u001b[2K']);
  });

  it('announces the verification phase: a line when piped, in place (cleared at the end) on a TTY', () => {
    const piped: string[] = [];
    createProgress({ stream: { write: (t) => piped.push(t) }, inPlace: false }).phase('verifying: type-checking 3 changed files');
    expect(piped).toEqual(['deferred-migrate: verifying: type-checking 3 changed files…\n']);
    const tty: string[] = [];
    const progress = createProgress({ stream: { write: (t) => tty.push(t) }, inPlace: true });
    progress.phase('verifying');
    progress.finish();
    expect(tty).toEqual(['\r\u001b[2Kdeferred-migrate: verifying…', '\r\u001b[2K']);
  });

  it('formats the line', () => {
    expect(progressLine(0, 0, 0)).toBe('deferred-migrate: 0/0 files (100%), 0 files/s');
    expect(progressLine(2500, 10000, 2000)).toBe('deferred-migrate: 2500/10000 files (25%), 1250 files/s, ETA 6 s');
  });
});
