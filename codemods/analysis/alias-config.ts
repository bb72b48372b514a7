// The module aliases a tree declares, read without the TypeScript toolchain (the scan
// worker needs them before it scans): tsconfig/jsconfig `paths` (and `baseUrl`),
// package.json `imports` (`#x`) and the names of the tree's own packages. The tree scan
// extracts only the bare specifiers that begin with one of these prefixes; which of them
// resolve, and to what, is `module-aliases.ts`'s business. A tree without any of them
// has no prefixes, and its scan extracts relative specifiers only, as before.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Whether a file may declare aliases (package.json, tsconfig.json, tsconfig.app.json, jsconfig.json...); discovery lists them beside the sources. */
export function isAliasConfig(name: string): boolean {
  return name === 'package.json' || ((name.startsWith('tsconfig') || name.startsWith('jsconfig')) && /^[tj]sconfig(\.[^/]+)?\.json$/.test(name));
}

export interface PackageJson {
  /** Absolute path of the directory holding it. */
  dir: string;
  name?: string;
  imports?: unknown;
  exports?: unknown;
  main?: unknown;
  module?: unknown;
  types?: unknown;
  typings?: unknown;
  workspaces?: unknown;
}

const CLOSING_AHEAD = /\s*[}\]]/y;

/** JSON with comments and trailing commas (tsconfig's dialect) → a value; undefined when unreadable. */
export function parseJsonc(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (ch === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += ch;
      i++;
    }
  }
  // Trailing commas, outside strings.
  let json = '';
  for (let j = 0; j < out.length; j++) {
    const ch = out[j]!;
    if (ch === '"') {
      let k = j + 1;
      while (k < out.length && out[k] !== '"') k += out[k] === '\\' ? 2 : 1;
      json += out.slice(j, k + 1);
      j = k;
    } else if (ch === ',') {
      CLOSING_AHEAD.lastIndex = j + 1;
      if (!CLOSING_AHEAD.test(out)) json += ch;
    } else json += ch;
  }
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

function readJson(absPath: string): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch {
    return undefined;
  }
  const value = parseJsonc(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A JSON file's top-level object, read strictly (package.json as npm reads it); undefined when missing, unreadable or not an object. */
export function readJsonObject(absPath: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(absPath, 'utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The packages a manifest names in the given dependency fields (`dependencies`, `peerDependencies`, ...). */
export function dependencyNames(manifest: Record<string, unknown> | undefined, fields: readonly string[]): string[] {
  return fields.flatMap((field) => {
    const deps = manifest?.[field];
    return deps && typeof deps === 'object' ? Object.keys(deps) : [];
  });
}

export function readPackageJson(absPath: string): PackageJson | undefined {
  const json = readJson(absPath);
  return json ? { ...json, dir: path.dirname(absPath) } : undefined;
}

/** The file an `extends` entry names: relative, absolute, or a package's (from node_modules upward). */
function extendedConfig(fromDir: string, entry: string): string | undefined {
  const candidates: string[] = [];
  const withJson = (p: string): string[] => (p.endsWith('.json') ? [p] : [p, p + '.json', path.join(p, 'tsconfig.json')]);
  if (entry.startsWith('.') || path.isAbsolute(entry)) candidates.push(...withJson(path.resolve(fromDir, entry)));
  else {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      candidates.push(...withJson(path.join(dir, 'node_modules', entry)));
      if (path.dirname(dir) === dir) break;
    }
  }
  return candidates.find((c) => readJson(c) !== undefined);
}

/** `paths` keys and `baseUrl` directories of a tsconfig, along its `extends` chain. */
function tsconfigAliases(absPath: string, seen = new Set<string>()): { keys: string[]; baseUrls: string[] } {
  const found = { keys: [] as string[], baseUrls: [] as string[] };
  if (seen.has(absPath)) return found;
  seen.add(absPath);
  const json = readJson(absPath);
  if (!json) return found;
  const options = json['compilerOptions'] as Record<string, unknown> | undefined;
  if (options && typeof options['paths'] === 'object' && options['paths'] !== null) found.keys.push(...Object.keys(options['paths']));
  if (options && typeof options['baseUrl'] === 'string') found.baseUrls.push(path.resolve(path.dirname(absPath), options['baseUrl']));
  const extendsEntries = typeof json['extends'] === 'string' ? [json['extends']] : Array.isArray(json['extends']) ? json['extends'] : [];
  for (const entry of extendsEntries) {
    if (typeof entry !== 'string') continue;
    const file = extendedConfig(path.dirname(absPath), entry);
    if (!file) continue;
    const inherited = tsconfigAliases(file, seen);
    found.keys.push(...inherited.keys);
    found.baseUrls.push(...inherited.baseUrls);
  }
  return found;
}

function configsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter(isAliasConfig)
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
}

/**
 * Config files a walk of `paths` does not reach but that apply to its files: those of
 * the directories from the root down to each path (a run on `src/app` still reads the
 * root's tsconfig.json and package.json), and the package.json files of the workspaces
 * a root package.json lists (`packages/*`), so a sibling package imported by name is
 * known (and reported if its files are not in the run) rather than taken for a
 * dependency.
 */
export function outsideConfigs(paths: readonly string[], root: string, walked: readonly string[]): string[] {
  const found = new Set<string>();
  const rootDir = path.resolve(root);
  for (const given of paths) {
    const start = path.resolve(given);
    for (let dir = path.dirname(start); ; dir = path.dirname(dir)) {
      if (path.relative(rootDir, dir).startsWith('..')) break;
      for (const config of configsIn(dir)) found.add(config);
      if (dir === rootDir || path.dirname(dir) === dir) break;
    }
  }
  // Workspaces are declared by the root's package.json (or one above the run's paths), or by
  // pnpm's pnpm-workspace.yaml beside it (pnpm reads no `workspaces` field).
  const declared: Array<{ dir: string; globs: unknown[] }> = [];
  for (const config of [...walked.filter((c) => path.dirname(c) === rootDir), ...found]) {
    if (path.basename(config) !== 'package.json') continue;
    const pkg = readPackageJson(config);
    if (!pkg) continue;
    const workspaces = pkg.workspaces as unknown[] | { packages?: unknown[] } | undefined;
    declared.push({ dir: pkg.dir, globs: Array.isArray(workspaces) ? workspaces : (workspaces?.packages ?? []) });
  }
  const pnpmGlobs = pnpmWorkspaceGlobs(path.join(rootDir, 'pnpm-workspace.yaml'));
  if (pnpmGlobs) declared.push({ dir: rootDir, globs: pnpmGlobs });
  for (const pkg of declared) {
    for (const rawGlob of pkg.globs) {
      // pnpm's `packages/**`: each package directory is looked for one level down, as for `packages/*`.
      const glob = typeof rawGlob === 'string' ? rawGlob.replace(/\/\*\*$/, '/*') : rawGlob;
      if (typeof glob !== 'string' || glob.startsWith('!')) continue;
      // `dir/*` and `dir`: the forms workspaces use; deeper globs are left to the walk.
      const dirs = glob.endsWith('/*') ? subdirectories(path.join(pkg.dir, glob.slice(0, -2))) : glob.includes('*') ? [] : [path.join(pkg.dir, glob)];
      for (const dir of dirs) {
        const file = path.join(dir, 'package.json');
        if (existsSync(file)) found.add(file);
      }
    }
  }
  const walkedSet = new Set(walked);
  return [...found].filter((config) => !walkedSet.has(config));
}

/** The `packages` globs of a pnpm-workspace.yaml, or undefined when there is none. */
function pnpmWorkspaceGlobs(absPath: string): unknown[] | undefined {
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = parseYaml(text) as { packages?: unknown } | null;
    return Array.isArray(parsed?.packages) ? parsed.packages : [];
  } catch {
    return [];
  }
}

function subdirectories(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules')
      .map((entry) => path.join(dir, entry.name));
  } catch {
    return [];
  }
}

/** Whether a package's name can be imported: any package of the tree but the root one, which only by self-reference (through `exports`). */
export function isImportablePackage(pkg: PackageJson, root: string): boolean {
  return typeof pkg.name === 'string' && pkg.name !== '' && (pkg.dir !== path.resolve(root) || pkg.exports !== undefined);
}

/**
 * The prefixes of the bare specifiers that may be aliases in a tree with these config
 * files (absolute paths), sorted; undefined when there are none.
 */
export function aliasPrefixes(configs: readonly string[], root: string): string[] | undefined {
  const prefixes = new Set<string>();
  for (const config of configs) {
    if (path.basename(config) === 'package.json') {
      const pkg = readPackageJson(config);
      if (!pkg) continue;
      if (pkg.imports !== null && typeof pkg.imports === 'object') prefixes.add('#');
      if (isImportablePackage(pkg, root)) prefixes.add(pkg.name!);
      continue;
    }
    const { keys, baseUrls } = tsconfigAliases(config);
    for (const key of keys) prefixes.add(key.includes('*') ? key.slice(0, key.indexOf('*')) : key);
    // With `baseUrl`, a bare specifier may name anything in that directory.
    for (const baseUrl of baseUrls) {
      let names: string[];
      try {
        names = readdirSync(baseUrl);
      } catch {
        continue;
      }
      for (const name of names) if (name !== 'node_modules' && !name.startsWith('.')) prefixes.add(name.replace(/\.(m|c)?(j|t)sx?$/, ''));
    }
  }
  return prefixes.size > 0 ? [...prefixes].sort() : undefined;
}
