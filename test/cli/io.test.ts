// Atomic writes under injected failures, and the git dirty-tree check on real repositories.
import { chmodSync, utimesSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, lstatSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { gitTreeState, nodeWriteFs, parsePorcelainZ, STALE_TEMP_MS, sweepStaleTempFiles, writeFileAtomic, type WriteFs } from '../../codemods/io.js';
import { git, initRepo, makeTree, removeTrees } from './helpers/tree.js';

afterEach(removeTrees);

const eio = (what: string) => Object.assign(new Error(`EIO: i/o error, ${what}`), { code: 'EIO' });

function entries(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('writeFileAtomic', () => {
  it('replaces the content and keeps the permission bits', async () => {
    const dir = makeTree({ 'a.ts': 'old\n' });
    const file = path.join(dir, 'a.ts');
    chmodSync(file, 0o604);
    const outcome = await writeFileAtomic(file, 'new\n', { expectedOriginal: 'old\n' });
    expect(outcome).toEqual({ ok: true, path: file });
    expect(readFileSync(file, 'utf8')).toBe('new\n');
    expect(statSync(file).mode & 0o7777).toBe(0o604);
    expect(entries(dir)).toEqual(['a.ts']);
  });

  it('writes through a symlink and leaves the link in place', async () => {
    const dir = makeTree({ 'real/a.ts': 'old\n' });
    symlinkSync(path.join(dir, 'real/a.ts'), path.join(dir, 'link.ts'));
    expect((await writeFileAtomic(path.join(dir, 'link.ts'), 'new\n')).ok).toBe(true);
    expect(lstatSync(path.join(dir, 'link.ts')).isSymbolicLink()).toBe(true);
    expect(readFileSync(path.join(dir, 'real/a.ts'), 'utf8')).toBe('new\n');
  });

  it('creates a file that does not exist yet', async () => {
    const dir = makeTree({});
    expect((await writeFileAtomic(path.join(dir, 'report.json'), '{}\n')).ok).toBe(true);
    expect(readFileSync(path.join(dir, 'report.json'), 'utf8')).toBe('{}\n');
  });

  // Each step of the write failing in turn: the original must survive and no temp file may remain.
  const failures: Array<[string, (fs: WriteFs) => WriteFs]> = [
    ['open', (fs) => ({ ...fs, open: async () => Promise.reject(eio('open')) })],
    [
      'a partial write',
      (fs) => ({
        ...fs,
        open: async (p, flags, mode) => {
          const handle = await fs.open(p, flags, mode);
          return {
            writeFile: async (data) => {
              await handle.writeFile(String(data).slice(0, 3)); // torn write, then the disk gives up
              throw eio('write');
            },
            sync: () => handle.sync(),
            close: () => handle.close(),
          };
        },
      }),
    ],
    [
      'fsync',
      (fs) => ({
        ...fs,
        open: async (p, flags, mode) => {
          const handle = await fs.open(p, flags, mode);
          return { writeFile: (d) => handle.writeFile(d), sync: async () => Promise.reject(eio('fsync')), close: () => handle.close() };
        },
      }),
    ],
    ['chmod', (fs) => ({ ...fs, chmod: async () => Promise.reject(eio('chmod')) })],
    ['rename', (fs) => ({ ...fs, rename: async () => Promise.reject(eio('rename')) })],
  ];

  it.each(failures)('a failure at %s leaves the original intact and removes the temp file', async (step, inject) => {
    const dir = makeTree({ 'a.ts': 'original text\n' });
    const file = path.join(dir, 'a.ts');
    const outcome = await writeFileAtomic(file, 'replacement text that is longer\n', { expectedOriginal: 'original text\n', fs: inject(nodeWriteFs) });
    expect(outcome).toMatchObject({ ok: false, reason: 'io-error', message: expect.stringContaining('EIO') });
    expect(readFileSync(file, 'utf8')).toBe('original text\n');
    expect(entries(dir), `after a failure at ${step}`).toEqual(['a.ts']);
  });

  it('skips a file that changed on disk since it was read', async () => {
    const dir = makeTree({ 'a.ts': 'changed meanwhile\n' });
    const file = path.join(dir, 'a.ts');
    const outcome = await writeFileAtomic(file, 'new\n', { expectedOriginal: 'what the engine read\n' });
    expect(outcome).toMatchObject({ ok: false, reason: 'modified-on-disk' });
    expect(readFileSync(file, 'utf8')).toBe('changed meanwhile\n');
    expect(entries(dir)).toEqual(['a.ts']);
  });

  it('skips a file that disappeared since it was read', async () => {
    const dir = makeTree({ 'a.ts': 'x\n' });
    renameSync(path.join(dir, 'a.ts'), path.join(dir, 'b.ts'));
    const outcome = await writeFileAtomic(path.join(dir, 'a.ts'), 'new\n', { expectedOriginal: 'x\n' });
    expect(outcome).toMatchObject({ ok: false, reason: 'modified-on-disk', message: expect.stringContaining('disappeared') });
    expect(entries(dir)).toEqual(['b.ts']);
  });
});

describe('sweepStaleTempFiles', () => {
  it('removes the temp files a killed run left, keeps recent ones and everything else', async () => {
    const stale = '.a.ts.0123456789ab.deferred-migrate.tmp';
    const recent = '.b.ts.ba9876543210.deferred-migrate.tmp';
    const lookalike = 'a.deferred-migrate.tmp';
    const dir = makeTree({ 'a.ts': 'x\n', [stale]: 'half', [recent]: 'half', [lookalike]: 'mine' });
    const now = Date.now();
    const old = new Date(now - STALE_TEMP_MS - 1000);
    utimesSync(path.join(dir, stale), old, old);
    utimesSync(path.join(dir, lookalike), old, old);
    expect(await sweepStaleTempFiles(dir, now)).toEqual([path.join(dir, stale)]);
    expect(entries(dir)).toEqual([recent, 'a.deferred-migrate.tmp', 'a.ts'].sort());
  });
});

describe('git tree state', () => {
  it('lists modified, staged, renamed and untracked files under the paths only', async () => {
    const dir = makeTree({ 'src/a.ts': 'a\n', 'src/b.ts': 'b\n', 'src/c.ts': 'c\n', 'lib/d.ts': 'd\n', 'weird :name*.ts': 'w\n' });
    initRepo(dir);
    writeFileSync(path.join(dir, 'src/a.ts'), 'a2\n');
    writeFileSync(path.join(dir, 'src/b.ts'), 'b2\n');
    git(dir, 'add', 'src/b.ts');
    git(dir, 'mv', 'src/c.ts', 'src/c2.ts');
    writeFileSync(path.join(dir, 'src/new.ts'), 'n\n');
    writeFileSync(path.join(dir, 'lib/d.ts'), 'd2\n');
    writeFileSync(path.join(dir, 'weird :name*.ts'), 'w2\n');

    const state = await gitTreeState([path.join(dir, 'src')]);
    expect(state.isRepo).toBe(true);
    expect(state.dirty.map((e) => [e.code, path.relative(dir, e.path)]).sort()).toEqual([
      [' M', 'src/a.ts'],
      ['M ', 'src/b.ts'],
      ['R ', 'src/c2.ts'],
    ]);
    expect(state.untracked.map((e) => path.relative(dir, e.path))).toEqual(['src/new.ts']);

    // Pathspec magic characters are taken literally.
    const weird = await gitTreeState([path.join(dir, 'weird :name*.ts')]);
    expect(weird.dirty.map((e) => path.basename(e.path))).toEqual(['weird :name*.ts']);
  });

  it('reports a clean tree as clean and a plain directory as not a repository', async () => {
    const repo = makeTree({ 'a.ts': 'a\n' });
    initRepo(repo);
    expect(await gitTreeState([repo])).toMatchObject({ isRepo: true, dirty: [], untracked: [] });
    const plain = makeTree({ 'a.ts': 'a\n' });
    mkdirSync(path.join(plain, 'sub'));
    expect(await gitTreeState([path.join(plain, 'sub')])).toMatchObject({ isRepo: false, outside: [path.join(plain, 'sub')] });
  });

  it('parses -z output with renames', () => {
    expect(parsePorcelainZ('R  new.ts\0old.ts\0 M a b.ts\0?? x\0')).toEqual([
      { code: 'R ', path: 'new.ts' },
      { code: ' M', path: 'a b.ts' },
      { code: '??', path: 'x' },
    ]);
  });
});
