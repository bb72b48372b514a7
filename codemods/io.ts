// File-system and git side of the codemod: the engine never writes, this module does.
// Writes are atomic per file (temp file in the same directory, fsync, rename) and
// refuse to clobber a file that changed on disk after the engine read it.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

/** The subset of `fs/promises` the writer uses; injectable so tests can simulate failures. */
export interface WriteFs {
  realpath(p: string): Promise<string>;
  stat(p: string): Promise<{ mode: number }>;
  readFile(p: string): Promise<Buffer>;
  open(p: string, flags: string, mode: number): Promise<WritableHandle>;
  chmod(p: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(p: string): Promise<void>;
}

export interface WritableHandle {
  writeFile(data: string | Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export const nodeWriteFs: WriteFs = {
  realpath: (p) => fsp.realpath(p),
  stat: (p) => fsp.stat(p),
  readFile: (p) => fsp.readFile(p),
  open: (p, flags, mode) => fsp.open(p, flags, mode),
  chmod: (p, mode) => fsp.chmod(p, mode),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (p) => fsp.unlink(p),
};

export type WriteOutcome =
  | { ok: true; path: string }
  | { ok: false; path: string; reason: 'modified-on-disk' | 'io-error'; message: string };

const TEMP_SUFFIX = '.deferred-migrate.tmp';
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.deferred-migrate\.tmp$/;
/** A temp file this old belongs to no live write: a run that was killed left it. */
export const STALE_TEMP_MS = 60_000;

/**
 * Removes the temp files a killed run left in `dir` (only names this writer
 * makes, only older than STALE_TEMP_MS so a concurrent run's write is not
 * disturbed); returns the paths removed. Errors are ignored: it is cleanup.
 */
export async function sweepStaleTempFiles(dir: string, nowMs = Date.now()): Promise<string[]> {
  const entries = await fsp.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const entry of entries) {
    if (!TEMP_FILE.test(entry)) continue;
    const full = path.join(dir, entry);
    const stat = await fsp.lstat(full).catch(() => undefined);
    if (!stat?.isFile() || nowMs - stat.mtimeMs < STALE_TEMP_MS) continue;
    if (await fsp.unlink(full).then(() => true, () => false)) removed.push(full);
  }
  return removed;
}

export interface AtomicWriteOptions {
  /** Text the caller read; when given, the write is skipped if the file now holds anything else. */
  expectedOriginal?: string;
  fs?: WriteFs;
}

/**
 * Replaces `filePath` with `text` so that a reader sees either the old or the new
 * content, never a mix, and a failure at any step leaves the original untouched.
 * Symlinks are followed (the link stays a link). The file keeps its permission bits.
 */
export async function writeFileAtomic(filePath: string, text: string, options: AtomicWriteOptions = {}): Promise<WriteOutcome> {
  const fs = options.fs ?? nodeWriteFs;
  let target = filePath;
  let tempPath: string | undefined;
  try {
    target = await realpathOrSelf(fs, filePath);
    const mode = await existingMode(fs, target);
    if (options.expectedOriginal !== undefined) {
      const current = await fs.readFile(target).then((b) => b.toString('utf8'), () => undefined);
      if (current !== options.expectedOriginal) {
        return {
          ok: false,
          path: filePath,
          reason: 'modified-on-disk',
          message: current === undefined ? 'the file disappeared during the run; not written' : 'the file changed on disk during the run; not written (run again)',
        };
      }
    }
    tempPath = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
    // 'wx': never reuse a path someone else created between our name choice and the open.
    const handle = await fs.open(tempPath, 'wx', mode ?? 0o666);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // open() applies the umask; the original's bits must survive exactly.
    if (mode !== undefined) await fs.chmod(tempPath, mode);
    await fs.rename(tempPath, target);
    tempPath = undefined;
    await syncDirectory(path.dirname(target));
    return { ok: true, path: filePath };
  } catch (error) {
    if (tempPath !== undefined) await fs.unlink(tempPath).catch(() => undefined);
    return { ok: false, path: filePath, reason: 'io-error', message: describeError(error) };
  }
}

async function realpathOrSelf(fs: WriteFs, p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch (error) {
    if (isNotFound(error)) return p; // a new file (e.g. a report): nothing to follow
    throw error;
  }
}

async function existingMode(fs: WriteFs, p: string): Promise<number | undefined> {
  try {
    return (await fs.stat(p)).mode & 0o7777;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Makes the rename itself durable; best effort because not every platform can open a directory. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Windows and some network file systems refuse; the rename already happened.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}

// ---------------------------------------------------------------------------
// git

export interface GitStatusEntry {
  /** Two-letter porcelain v1 code, e.g. ' M', 'M ', '??'. */
  code: string;
  /** Absolute path. */
  path: string;
}

export interface GitTreeState {
  /** False when no path is inside a git work tree (or git is not installed). */
  isRepo: boolean;
  /** Work-tree roots the paths belong to. */
  roots: string[];
  /** Modified, staged, deleted, renamed or conflicted files under the paths. */
  dirty: GitStatusEntry[];
  /** Untracked files under the paths (ignored files are not listed). */
  untracked: GitStatusEntry[];
  /** Paths git could not answer for (outside any work tree). */
  outside: string[];
}

type ExecFileFn = (file: string, args: string[], options: { cwd: string; maxBuffer: number }) => Promise<{ stdout: string }>;

const execFileAsync: ExecFileFn = (file, args, options) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { ...options, encoding: 'utf8', windowsHide: true }, (error, stdout) => {
      if (error) reject(error);
      else resolve({ stdout });
    });
  });

/** The work-tree root containing `dir`, or undefined outside git (or without git). */
export async function gitTopLevel(dir: string, run: ExecFileFn = execFileAsync): Promise<string | undefined> {
  try {
    const { stdout } = await run('git', ['rev-parse', '--show-toplevel'], { cwd: dir, maxBuffer: 1 << 20 });
    const top = stdout.trim();
    return top === '' ? undefined : path.resolve(top);
  } catch {
    return undefined;
  }
}

/**
 * `git status --porcelain` for the given absolute paths, grouped by the work tree
 * each belongs to. No shell: arguments go straight to git, pathspecs literal.
 */
export async function gitTreeState(absPaths: string[], run: ExecFileFn = execFileAsync): Promise<GitTreeState> {
  const byRoot = new Map<string, string[]>();
  const outside: string[] = [];
  for (const p of absPaths) {
    const dir = await directoryOf(p);
    const top = await gitTopLevel(dir, run);
    if (top === undefined) outside.push(p);
    else byRoot.set(top, [...(byRoot.get(top) ?? []), p]);
  }
  const state: GitTreeState = { isRepo: byRoot.size > 0, roots: [...byRoot.keys()], dirty: [], untracked: [], outside };
  for (const [root, paths] of byRoot) {
    const args = ['--literal-pathspecs', 'status', '--porcelain=v1', '-z', '--untracked-files=all', '--', ...paths.map((p) => path.relative(root, p) || '.')];
    const { stdout } = await run('git', args, { cwd: root, maxBuffer: 256 << 20 });
    for (const entry of parsePorcelainZ(stdout)) {
      const abs = path.join(root, entry.path);
      if (entry.code === '??') state.untracked.push({ code: entry.code, path: abs });
      else if (entry.code !== '!!') state.dirty.push({ code: entry.code, path: abs });
    }
  }
  return state;
}

/** Parses `git status --porcelain=v1 -z`: `XY path\0`, renames and copies followed by `origPath\0`. */
export function parsePorcelainZ(output: string): Array<{ code: string; path: string }> {
  const fields = output.split('\0');
  const entries: Array<{ code: string; path: string }> = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.length < 4) continue;
    const code = field.slice(0, 2);
    entries.push({ code, path: field.slice(3) });
    if (code[0] === 'R' || code[0] === 'C') i++; // skip the original path of a rename/copy
  }
  return entries;
}

async function directoryOf(p: string): Promise<string> {
  try {
    const st = await fsp.stat(p);
    return st.isDirectory() ? p : path.dirname(p);
  } catch {
    return path.dirname(p);
  }
}
