// A migrated app creates `.deferred/` (the embedded queue's SQLite files) in its
// working directory when it runs. The write phase keeps it out of commits: it adds
// `.deferred/` to the .gitignore beside the app's package.json (the directory the
// app is started from), or of the repository root when the app has none, unless
// git already ignores it there.
import { execFile } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic, type WriteFs } from '../codemods/io.js';

export const DATA_DIR_ENTRY = '.deferred/';

export interface GitignoreUpdate {
  /** Absolute path of the .gitignore written. */
  file: string;
  /** 1-based line of the added entry. */
  line: number;
  /** Whether the .gitignore was created. */
  created: boolean;
}

/** The directory whose .gitignore gets the entry: nearest package.json above the file, up to the git root. */
export function appDirectoryOf(absPath: string, gitRoot: string): string {
  let dir = path.dirname(absPath);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (dir === gitRoot || parent === dir || path.relative(gitRoot, parent).startsWith('..')) return gitRoot;
    dir = parent;
  }
}

function isIgnored(dir: string): Promise<boolean> {
  // Exit 0: ignored; 1: not ignored; anything else (no git): treat as not ignored.
  return new Promise((resolve) => {
    execFile('git', ['check-ignore', '-q', '--no-index', DATA_DIR_ENTRY], { cwd: dir, windowsHide: true }, (error) => resolve(!error));
  });
}

/** Adds the entry for every app a written file belongs to; returns what it changed. */
export async function ignoreDataDirectories(written: string[], gitRoot: string, fs?: WriteFs): Promise<{ updates: GitignoreUpdate[]; errors: string[] }> {
  const dirs = [...new Set(written.map((f) => appDirectoryOf(f, gitRoot)))].sort();
  const updates: GitignoreUpdate[] = [];
  const errors: string[] = [];
  for (const dir of dirs) {
    if (await isIgnored(dir)) continue;
    const file = path.join(dir, '.gitignore');
    const existing = await fsp.readFile(file, 'utf8').catch(() => undefined);
    const base = existing ?? '';
    const separator = base === '' || base.endsWith('\n') ? '' : base.includes('\r\n') ? '\r\n' : '\n';
    const newline = base.includes('\r\n') ? '\r\n' : '\n';
    const text = `${base}${separator}${DATA_DIR_ENTRY}${newline}`;
    const outcome = await writeFileAtomic(file, text, { ...(existing !== undefined ? { expectedOriginal: existing } : {}), ...(fs ? { fs } : {}) });
    if (!outcome.ok) {
      errors.push(`${file}: ${outcome.message}`);
      continue;
    }
    updates.push({ file, line: text.split('\n').length - 1, created: existing === undefined });
  }
  return { updates, errors };
}
