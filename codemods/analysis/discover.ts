// Walks the paths of a run and lists the files the codemod may read: sources by
// extension and App Engine app configs, minus .gitignore'd paths, node_modules and
// .git. Unreadable entries become report items, never exceptions.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';

export const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'] as const;
const SKIPPED_DIRECTORIES = new Set(['node_modules', '.git']);

export type DiscoveredKind = 'source' | 'app-yaml';

export interface DiscoveredFile {
  absPath: string;
  /** Relative to the root, POSIX separators. */
  rel: string;
  kind: DiscoveredKind;
}

export interface UnreadableEntry {
  absPath: string;
  rel: string;
  error: string;
}

export interface Discovery {
  files: DiscoveredFile[];
  unreadable: UnreadableEntry[];
}

export function toPosixRelative(root: string, absPath: string): string {
  const rel = path.relative(root, absPath);
  return (rel === '' ? path.basename(absPath) : rel).split(path.sep).join('/');
}

export function isSourcePath(file: string): boolean {
  if (file.endsWith('.d.ts') || file.endsWith('.d.mts') || file.endsWith('.d.cts')) return false;
  return (SOURCE_EXTENSIONS as readonly string[]).includes(path.extname(file));
}

/** `app.yaml`/`app.yml`, and any other YAML file whose text looks like an App Engine app config. */
function yamlKind(file: string): boolean {
  const ext = path.extname(file);
  return ext === '.yaml' || ext === '.yml';
}

interface IgnoreScope {
  dir: string;
  matcher: Ignore;
}

async function readIgnoreFile(dir: string): Promise<Ignore | undefined> {
  try {
    const text = await fs.readFile(path.join(dir, '.gitignore'), 'utf8');
    return ignore().add(text);
  } catch {
    return undefined;
  }
}

function isIgnored(scopes: IgnoreScope[], absPath: string, isDirectory: boolean): boolean {
  for (const scope of scopes) {
    const rel = path.relative(scope.dir, absPath);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
    const candidate = rel.split(path.sep).join('/') + (isDirectory ? '/' : '');
    if (scope.matcher.ignores(candidate)) return true;
  }
  return false;
}

/**
 * Lists the candidate files under `paths`. `.gitignore` files are honoured from
 * `root` down to each directory walked (nested ones included); symlinked
 * directories are followed once (by real path), so loops end.
 */
export async function discover(paths: string[], root: string): Promise<Discovery> {
  const files: DiscoveredFile[] = [];
  const unreadable: UnreadableEntry[] = [];
  const seenDirectories = new Set<string>();
  const seenFiles = new Set<string>();
  const scopeCache = new Map<string, Ignore | undefined>();

  async function scopesFor(dir: string): Promise<IgnoreScope[]> {
    const chain: string[] = [];
    let current = dir;
    const rootResolved = path.resolve(root);
    // .gitignore files from the root down to `dir` (only when `dir` is inside the root).
    if (!path.relative(rootResolved, current).startsWith('..')) {
      for (;;) {
        chain.unshift(current);
        if (current === rootResolved) break;
        const parent = path.dirname(current);
        if (parent === current) break;
        current = parent;
      }
    }
    const scopes: IgnoreScope[] = [];
    for (const d of chain) {
      if (!scopeCache.has(d)) scopeCache.set(d, await readIgnoreFile(d));
      const matcher = scopeCache.get(d);
      if (matcher) scopes.push({ dir: d, matcher });
    }
    return scopes;
  }

  function addFile(absPath: string): void {
    if (seenFiles.has(absPath)) return;
    const base = path.basename(absPath);
    if (isSourcePath(absPath)) {
      seenFiles.add(absPath);
      files.push({ absPath, rel: toPosixRelative(root, absPath), kind: 'source' });
    } else if (yamlKind(base)) {
      seenFiles.add(absPath);
      files.push({ absPath, rel: toPosixRelative(root, absPath), kind: 'app-yaml' });
    }
  }

  async function walk(dir: string): Promise<void> {
    let real: string;
    try {
      real = await fs.realpath(dir);
    } catch (error) {
      unreadable.push({ absPath: dir, rel: toPosixRelative(root, dir), error: String((error as Error).message) });
      return;
    }
    if (seenDirectories.has(real)) return;
    seenDirectories.add(real);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      unreadable.push({ absPath: dir, rel: toPosixRelative(root, dir), error: String((error as Error).message) });
      return;
    }
    const scopes = await scopesFor(dir);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const absPath = path.join(dir, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const stat = await fs.stat(absPath);
          isDirectory = stat.isDirectory();
          isFile = stat.isFile();
        } catch {
          continue; // dangling link: nothing to read
        }
      }
      if (isDirectory) {
        if (SKIPPED_DIRECTORIES.has(entry.name)) continue;
        if (isIgnored(scopes, absPath, true)) continue;
        await walk(absPath);
      } else if (isFile) {
        if (isIgnored(scopes, absPath, false)) continue;
        addFile(absPath);
      }
    }
  }

  for (const given of paths) {
    const absPath = path.resolve(given);
    let stat: import('node:fs').Stats;
    try {
      stat = await fs.stat(absPath);
    } catch (error) {
      unreadable.push({ absPath, rel: toPosixRelative(root, absPath), error: String((error as Error).message) });
      continue;
    }
    if (stat.isDirectory()) await walk(absPath);
    else if (stat.isFile()) addFile(absPath); // an explicitly named file is processed even if ignored
  }
  return { files, unreadable };
}
