// Walks the paths of a run and lists the files the codemod may read: sources by
// extension and App Engine app configs, minus .gitignore'd paths, node_modules and
// .git. Unreadable entries become report items, never exceptions.
import { readdirSync, readFileSync, realpathSync, statSync, type Dirent, type Stats } from 'node:fs';
import * as path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { aliasPrefixes, isAliasConfig, outsideConfigs } from './alias-config.js';

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
  /** package.json and tsconfig/jsconfig files (absolute paths), when there are any. */
  configs?: string[];
  /** What bare specifiers may be aliases start with (`alias-config.ts`); absent when the configs declare none. */
  aliasPrefixes?: string[];
  /** The walked directories that hold a `node_modules` (absolute), where packages are installed; absent when none. */
  nodeModulesIn?: string[];
  /** Walked files without an extension (absolute; `bin/tool`, `scripts/cron`): a `#!/usr/bin/env node` script may be among them. Absent when none. */
  extensionless?: string[];
  /** Git-ignored YAML files of the walked directories (absolute): an app.yaml kept out of the repository still configures the deploy. Absent when none. */
  ignoredYamls?: string[];
}

/** How many files without an extension the walk lists at most (their first line is read for a node shebang). */
const EXTENSIONLESS_LIMIT = 2000;

/** `inner` is `outer` or inside it (absolute paths). */
export function isWithin(inner: string, outer: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function toPosixRelative(root: string, absPath: string): string {
  const rel = path.relative(root, absPath);
  return (rel === '' ? path.basename(absPath) : rel).split(path.sep).join('/');
}

export function isSourcePath(file: string): boolean {
  if (file.endsWith('.d.ts') || file.endsWith('.d.mts') || file.endsWith('.d.cts')) return false;
  return (SOURCE_EXTENSIONS as readonly string[]).includes(path.extname(file));
}

/**
 * Single-file components and documents that hold scripts (Vue, Svelte, Astro, MDX): the
 * codemod does not read them, but they import the run's modules and may name the legacy
 * API. They are listed as sources so their imports join the graph, and load as files that
 * cannot be read (`project.ts`): what they import is then not judged harmless.
 */
export const COMPONENT_EXTENSIONS = ['.vue', '.svelte', '.astro', '.mdx'] as const;

export function isComponentPath(file: string): boolean {
  return (COMPONENT_EXTENSIONS as readonly string[]).includes(path.extname(file));
}

/**
 * A template an app config is generated from before a deploy (`app.yaml.tmpl` through
 * envsubst, `app.yaml.j2`, `app.yaml.example`): it holds the builtin and handlers the
 * deployed file gets, and the generated one is often not in the repository.
 */
export const YAML_TEMPLATE = /\.ya?ml\.(tmpl|template|tpl|j2|jinja2?|in|example|sample|dist|erb|mustache|hbs)$/i;

/** `app.yaml`/`app.yml`, and any other YAML file (or template of one) whose text looks like an App Engine app config. */
function yamlKind(file: string): boolean {
  const ext = path.extname(file);
  return ext === '.yaml' || ext === '.yml' || YAML_TEMPLATE.test(file);
}

interface IgnoreScope {
  /** The directory holding the .gitignore. */
  dir: string;
  matcher: Ignore;
}

function readIgnoreFile(dir: string): Ignore | undefined {
  try {
    return ignore().add(readFileSync(path.join(dir, '.gitignore'), 'utf8'));
  } catch {
    return undefined;
  }
}

function posix(relative: string): string {
  return path.sep === '/' ? relative : relative.split(path.sep).join('/');
}

/** A directory being walked: its path, real path, and its path as seen from the root and from each .gitignore. */
interface WalkedDirectory {
  absPath: string;
  real: string;
  /** POSIX path from the root with a trailing slash ('' for the root); undefined outside the root. */
  rel: string | undefined;
  /** undefined outside the root, where no .gitignore applies. */
  scopes: IgnoreScope[] | undefined;
  /** Per scope: this directory's POSIX path from the scope's directory, with a trailing slash. */
  scopeRels: string[];
}

function isIgnored(directory: WalkedDirectory, name: string, isDirectory: boolean): boolean {
  const scopes = directory.scopes;
  if (scopes === undefined) return false;
  for (let i = 0; i < scopes.length; i++) {
    if (scopes[i]!.matcher.ignores(directory.scopeRels[i] + name + (isDirectory ? '/' : ''))) return true;
  }
  return false;
}

/** `dir` + separator + `name`, without path.join's normalising (dir is already absolute and normal). */
function childPath(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Lists the candidate files under `paths`. `.gitignore` files are honoured from
 * `root` down to each directory walked (nested ones included); symlinked
 * directories are followed once (by real path), so loops end. Synchronous: the
 * walk is thousands of small system calls, and the CLI runs it in a worker thread
 * (`cli/background-scan.ts`), where blocking costs nothing. Paths are built by
 * appending names (real paths too: only a symbolic link needs a realpath call).
 */
export function discoverSync(paths: string[], root: string): Discovery {
  const files: DiscoveredFile[] = [];
  const unreadable: UnreadableEntry[] = [];
  const configs: string[] = [];
  const nodeModulesIn: string[] = [];
  const extensionless: string[] = [];
  const ignoredYamls: string[] = [];
  const seenDirectories = new Set<string>();
  const seenFiles = new Set<string>();
  const rootResolved = path.resolve(root);
  const isInsideRoot = (dir: string): boolean => !path.relative(rootResolved, dir).startsWith('..');

  /** The .gitignore scopes from the root down to `dir`'s parent. */
  function ancestorScopes(dir: string): IgnoreScope[] {
    const chain: string[] = [];
    if (dir !== rootResolved) {
      for (let current = path.dirname(dir); isInsideRoot(current); current = path.dirname(current)) {
        chain.unshift(current);
        if (current === rootResolved || path.dirname(current) === current) break;
      }
    }
    const scopes: IgnoreScope[] = [];
    for (const d of chain) {
      const matcher = readIgnoreFile(d);
      if (matcher) scopes.push({ dir: d, matcher });
    }
    return scopes;
  }

  function addFile(absPath: string, name: string, rel: string | undefined): void {
    if (seenFiles.has(absPath)) return;
    const kind: DiscoveredKind | undefined = isSourcePath(name) || isComponentPath(name) ? 'source' : yamlKind(name) ? 'app-yaml' : undefined;
    if (kind === undefined) {
      if (isAliasConfig(name)) configs.push(absPath);
      else if (!name.includes('.') && extensionless.length < EXTENSIONLESS_LIMIT) extensionless.push(absPath);
      return;
    }
    seenFiles.add(absPath);
    files.push({ absPath, rel: rel ?? toPosixRelative(root, absPath), kind });
  }

  function walk(directory: WalkedDirectory): void {
    if (seenDirectories.has(directory.real)) return;
    seenDirectories.add(directory.real);
    let entries: Dirent[];
    try {
      entries = readdirSync(directory.absPath, { withFileTypes: true });
    } catch (error) {
      unreadable.push({ absPath: directory.absPath, rel: toPosixRelative(root, directory.absPath), error: String((error as Error).message) });
      return;
    }
    // The directory's own .gitignore, when the listing shows one (no failed open per directory).
    if (directory.scopes !== undefined && entries.some((e) => e.name === '.gitignore' && !e.isDirectory())) {
      const matcher = readIgnoreFile(directory.absPath);
      if (matcher) {
        directory.scopes = [...directory.scopes, { dir: directory.absPath, matcher }];
        directory.scopeRels = [...directory.scopeRels, ''];
      }
    }
    entries.sort(byName);
    for (const entry of entries) {
      const name = entry.name;
      const absPath = childPath(directory.absPath, name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      const isLink = entry.isSymbolicLink();
      if (isLink) {
        try {
          const stat = statSync(absPath);
          isDirectory = stat.isDirectory();
          isFile = stat.isFile();
        } catch {
          continue; // dangling link: nothing to read
        }
      }
      if (isDirectory) {
        if (name === 'node_modules') nodeModulesIn.push(directory.absPath);
        if (SKIPPED_DIRECTORIES.has(name) || isIgnored(directory, name, true)) continue;
        let real: string;
        try {
          real = isLink ? realpathSync.native(absPath) : childPath(directory.real, name);
        } catch (error) {
          unreadable.push({ absPath, rel: toPosixRelative(root, absPath), error: String((error as Error).message) });
          continue;
        }
        walk({
          absPath,
          real,
          rel: directory.rel === undefined ? undefined : directory.rel + name + '/',
          scopes: directory.scopes,
          scopeRels: directory.scopeRels.map((rel) => rel + name + '/'),
        });
      } else if (isFile) {
        if (isIgnored(directory, name, false)) {
          if (yamlKind(name)) ignoredYamls.push(absPath);
          continue;
        }
        addFile(absPath, name, directory.rel === undefined ? undefined : directory.rel + name);
      }
    }
  }

  for (const given of paths) {
    const absPath = path.resolve(given);
    let stat: Stats;
    let real: string;
    try {
      stat = statSync(absPath);
      real = realpathSync.native(absPath);
    } catch (error) {
      unreadable.push({ absPath, rel: toPosixRelative(root, absPath), error: String((error as Error).message) });
      continue;
    }
    if (stat.isDirectory()) {
      const inside = isInsideRoot(absPath);
      const scopes = inside ? ancestorScopes(absPath) : undefined;
      const rel = absPath === rootResolved ? '' : inside ? posix(path.relative(rootResolved, absPath)) + '/' : undefined;
      walk({ absPath, real, rel, scopes, scopeRels: (scopes ?? []).map((scope) => posix(path.relative(scope.dir, absPath)) + '/') });
    } else if (stat.isFile()) {
      addFile(absPath, path.basename(absPath), undefined); // an explicitly named file is processed even if ignored
    }
  }
  configs.push(...outsideConfigs(paths, root, configs));
  const installed = {
    ...(nodeModulesIn.length > 0 ? { nodeModulesIn } : {}),
    ...(extensionless.length > 0 ? { extensionless } : {}),
    ...(ignoredYamls.length > 0 ? { ignoredYamls } : {}),
  };
  if (configs.length === 0) return { files, unreadable, ...installed };
  const prefixes = aliasPrefixes(configs, root);
  return prefixes ? { files, unreadable, configs, aliasPrefixes: prefixes, ...installed } : { files, unreadable, configs, ...installed };
}

/** `discoverSync` behind the promise the programmatic API has always returned. */
export async function discover(paths: string[], root: string): Promise<Discovery> {
  return discoverSync(paths, root);
}
