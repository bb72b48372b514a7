// Bare specifiers that resolve into the project or to the legacy modules: tsconfig/jsconfig
// `paths` and `baseUrl` (TypeScript's own resolution, with the config's parsed compiler
// options), package.json `imports` (`#x`: the nearest package.json, conditions and `*`
// patterns) and the tree's own packages imported by name (`name`, `name/sub`: their
// `exports`, else `types`/`module`/`main`, else the path). Made only for a tree whose
// configs declare such aliases (`alias-config.ts`); every answer is kept.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { ts } from 'ts-morph';
import { isImportablePackage, readPackageJson, type PackageJson } from './alias-config.js';
import type { Discovery } from './discover.js';
import { packageName, roleOfSpecifier, type AliasRoles, type ModuleMatchers, type ModuleRole } from './specifiers.js';

/** What an alias resolved to. */
export type AliasResolution =
  | { kind: 'role'; role: ModuleRole }
  /** A source file of the run. */
  | { kind: 'file'; absPath: string }
  /**
   * The project's alias, but to nothing the analysis can follow (a file outside the run, a
   * target that is not there); `packageDir`: the tree's package it names, if it names one.
   */
  | { kind: 'unfollowed'; reason: string; packageDir?: string; file?: string };

// Conditions a package's `imports`/`exports` may be read under: any a tool of the project
// could pick (types for TypeScript, import/require for Node and bundlers), in the map's order.
const CONDITIONS = new Set(['types', 'typings', 'import', 'require', 'node', 'module', 'module-sync', 'default', 'source', 'development', 'production']);

/** The file a path-like target denotes: a source of the run, or a file that is there but not one. */
export interface FileProbe {
  /** The run's source file `absBase` names (extensions, `.js` → `.ts`, index files), if any. */
  source(absBase: string): string | undefined;
}

/** Whether `absPath` is a file on disk (false when it cannot be read). */
export function isFile(absPath: string): boolean {
  try {
    return statSync(absPath).isFile();
  } catch {
    return false;
  }
}

function posix(absPath: string): string {
  return absPath.replace(/\\/g, '/').replace(/\.d\.(m|c)?ts$/, '');
}

/** `key` matches `specifier` exactly or as a `prefix*suffix` pattern: the `*` part, or undefined. */
function patternMatch(key: string, specifier: string): string | undefined {
  const star = key.indexOf('*');
  if (star < 0) return key === specifier ? '' : undefined;
  const prefix = key.slice(0, star);
  const suffix = key.slice(star + 1);
  if (specifier.length < key.length - 1 || !specifier.startsWith(prefix) || !specifier.endsWith(suffix)) return undefined;
  return specifier.slice(prefix.length, specifier.length - suffix.length);
}

/** The best key of a subpath map for `subpath` (exact first, then the longest pattern prefix), and its `*` part. */
function bestKey(keys: readonly string[], subpath: string): { key: string; star: string } | undefined {
  if (keys.includes(subpath) && !subpath.includes('*')) return { key: subpath, star: '' };
  let best: { key: string; star: string } | undefined;
  for (const key of keys) {
    if (!key.includes('*')) continue;
    const star = patternMatch(key, subpath);
    if (star === undefined) continue;
    if (!best || key.indexOf('*') > best.key.indexOf('*') || (key.indexOf('*') === best.key.indexOf('*') && key.length > best.key.length)) best = { key, star };
  }
  return best;
}

/** The strings a target (string, condition object, fallback array) may stand for, in order. */
function targetStrings(target: unknown, star: string): string[] {
  if (typeof target === 'string') return [target.replace(/\*/g, star)];
  if (Array.isArray(target)) return target.flatMap((t) => targetStrings(t, star));
  if (target !== null && typeof target === 'object') {
    return Object.entries(target as Record<string, unknown>).flatMap(([condition, value]) => (CONDITIONS.has(condition) ? targetStrings(value, star) : []));
  }
  return [];
}

function isSubpathMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).some((k) => k.startsWith('.'));
}

export class ModuleAliases implements AliasRoles {
  private readonly tsconfigs: string[];
  private readonly packageJsons = new Map<string, PackageJson>();
  private readonly workspaces = new Map<string, PackageJson>();
  private readonly compilerOptions = new Map<string, ts.CompilerOptions | null>();
  private readonly answers = new Map<string, AliasResolution | undefined>();
  private readonly moduleCaches = new Map<string, ts.ModuleResolutionCache>();

  constructor(
    discovery: Pick<Discovery, 'configs'>,
    private readonly root: string,
    private readonly probe: FileProbe,
    private readonly matchers: ModuleMatchers,
  ) {
    const configs = [...new Set(discovery.configs ?? [])];
    this.tsconfigs = configs.filter((c) => path.basename(c) !== 'package.json');
    for (const config of configs) {
      if (path.basename(config) !== 'package.json') continue;
      const pkg = readPackageJson(config);
      if (!pkg) continue;
      this.packageJsons.set(pkg.dir, pkg);
      if (isImportablePackage(pkg, root) && !this.workspaces.has(pkg.name!)) this.workspaces.set(pkg.name!, pkg);
    }
  }

  private rel(absPath: string): string {
    const rel = path.relative(this.root, absPath).split(path.sep).join('/');
    return rel === '' ? '.' : rel;
  }

  roleOf(fromAbsPath: string, specifier: string): ModuleRole | undefined {
    const resolution = this.resolve(fromAbsPath, specifier);
    return resolution?.kind === 'role' ? resolution.role : undefined;
  }

  unfollowed(fromAbsPath: string, specifier: string): string | undefined {
    const resolution = this.resolve(fromAbsPath, specifier);
    return resolution?.kind === 'unfollowed' ? resolution.reason : undefined;
  }

  /** What `specifier`, imported from `fromAbsPath`, resolves to; undefined when it is no alias of the project (a package). */
  resolve(fromAbsPath: string, specifier: string): AliasResolution | undefined {
    if (specifier.startsWith('.') || specifier === '') return undefined;
    const key = path.dirname(fromAbsPath) + '\0' + specifier;
    if (this.answers.has(key)) return this.answers.get(key);
    const answer = this.resolveUncached(fromAbsPath, specifier, 0);
    this.answers.set(key, answer);
    return answer;
  }

  private resolveUncached(fromAbsPath: string, specifier: string, depth: number): AliasResolution | undefined {
    if (depth > 8) return { kind: 'unfollowed', reason: `${specifier} maps to itself` };
    if (specifier.startsWith('#')) return this.packageImport(fromAbsPath, specifier, depth);
    return this.tsconfigPath(fromAbsPath, specifier) ?? this.workspacePackage(specifier, depth);
  }

  /** An absolute path a mapping gave: the legacy module by its path, a source of the run, or nothing followable. */
  private pathTarget(absPath: string): AliasResolution | undefined {
    const role = roleOfSpecifier(posix(absPath), this.matchers);
    if (role === 'deferred' || role === 'webapp') return { kind: 'role', role };
    const source = this.probe.source(absPath);
    return source === undefined ? undefined : { kind: 'file', absPath: source };
  }

  /** A target string of `imports`/`exports`: `./path` in `dir`, or (imports only) a bare specifier. */
  private target(fromAbsPath: string, dir: string, value: string, bareAllowed: boolean, depth: number): AliasResolution | undefined {
    if (value.startsWith('./')) return this.pathTarget(path.join(dir, value));
    if (!bareAllowed || value.startsWith('.') || path.isAbsolute(value)) return undefined;
    const role = roleOfSpecifier(value, this.matchers);
    if (role) return { kind: 'role', role };
    return this.resolveUncached(fromAbsPath, value, depth + 1);
  }

  private firstTarget(fromAbsPath: string, dir: string, targets: readonly string[], bareAllowed: boolean, depth: number, what: string): AliasResolution {
    let unfollowed: AliasResolution | undefined;
    for (const value of targets) {
      const resolution = this.target(fromAbsPath, dir, value, bareAllowed, depth);
      if (resolution?.kind === 'unfollowed') unfollowed ??= resolution;
      else if (resolution) return resolution;
    }
    if (unfollowed) return unfollowed;
    // A target that is there, outside the run (the analysis asks whether it uses the legacy API).
    const file = targets.filter((value) => value.startsWith('./')).map((value) => path.join(dir, value)).find(isFile);
    return { kind: 'unfollowed', reason: `${what} maps to ${targets.length === 0 ? 'nothing' : targets.join(', ')}, which is not a source file of this run`, ...(file ? { file } : {}) };
  }

  private nearestPackageJson(fromAbsPath: string): PackageJson | undefined {
    for (let dir = path.dirname(fromAbsPath); ; dir = path.dirname(dir)) {
      const pkg = this.packageJsons.get(dir);
      if (pkg) return pkg;
      if (path.dirname(dir) === dir) return undefined;
    }
  }

  private packageImport(fromAbsPath: string, specifier: string, depth: number): AliasResolution | undefined {
    const pkg = this.nearestPackageJson(fromAbsPath);
    if (!pkg || pkg.imports === null || typeof pkg.imports !== 'object') return undefined;
    const imports = pkg.imports as Record<string, unknown>;
    const match = bestKey(Object.keys(imports), specifier);
    if (!match) return undefined;
    return this.firstTarget(fromAbsPath, pkg.dir, targetStrings(imports[match.key], match.star), true, depth, `${specifier} (imports of ${this.rel(path.join(pkg.dir, 'package.json'))})`);
  }

  private workspacePackage(specifier: string, depth: number): AliasResolution | undefined {
    const resolution = this.workspacePackageTarget(specifier, depth);
    return resolution?.kind === 'unfollowed' && resolution.packageDir === undefined ? { ...resolution, packageDir: this.workspaces.get(packageName(specifier))!.dir } : resolution;
  }

  private workspacePackageTarget(specifier: string, depth: number): AliasResolution | undefined {
    const name = packageName(specifier);
    const pkg = this.workspaces.get(name);
    if (!pkg) return undefined;
    const subpath = '.' + specifier.slice(name.length);
    const what = `${specifier} (the package in ${this.rel(pkg.dir)})`;
    if (pkg.exports !== undefined && pkg.exports !== null) {
      const map = isSubpathMap(pkg.exports) ? pkg.exports : { '.': pkg.exports };
      const match = bestKey(Object.keys(map), subpath);
      if (!match) return { kind: 'unfollowed', reason: `${what} does not export ${subpath}` };
      return this.firstTarget(pkg.dir, pkg.dir, targetStrings(map[match.key], match.star), false, depth, what);
    }
    if (subpath !== '.') return this.pathTarget(path.join(pkg.dir, subpath)) ?? { kind: 'unfollowed', reason: `${what} has no source file ${subpath}` };
    const fields = [pkg.types, pkg.typings, pkg.module, pkg.main].filter((f): f is string => typeof f === 'string').map((f) => (f.startsWith('.') ? f : './' + f));
    return this.firstTarget(pkg.dir, pkg.dir, [...fields, './index'], false, depth, what);
  }

  /**
   * The tsconfig/jsconfig files of the directory nearest above a file that has any:
   * `tsconfig.json` first, then the others (`tsconfig.app.json` of a solution-style
   * `tsconfig.json` that only references them), by name.
   */
  private nearestTsconfigs(fromAbsPath: string): string[] {
    let bestDir: string | undefined;
    for (const config of this.tsconfigs) {
      const dir = path.dirname(config);
      if (fromAbsPath.startsWith(dir + path.sep) && (bestDir === undefined || dir.length > bestDir.length)) bestDir = dir;
    }
    if (bestDir === undefined) return [];
    const rank = (config: string): string => (path.basename(config) === 'tsconfig.json' ? '0' : path.basename(config) === 'jsconfig.json' ? '1' : '2' + path.basename(config));
    return this.tsconfigs.filter((c) => path.dirname(c) === bestDir).sort((a, b) => (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0));
  }

  private moduleCacheOf(config: string, options: ts.CompilerOptions): ts.ModuleResolutionCache {
    let cache = this.moduleCaches.get(config);
    if (!cache) {
      cache = ts.createModuleResolutionCache(path.dirname(config), (f) => f, options);
      this.moduleCaches.set(config, cache);
    }
    return cache;
  }

  private optionsOf(config: string): ts.CompilerOptions | undefined {
    let options = this.compilerOptions.get(config);
    if (options === undefined) {
      const read = ts.readConfigFile(config, ts.sys.readFile);
      // No file enumeration: only the options are wanted, not the config's file list.
      const host: ts.ParseConfigHost = { useCaseSensitiveFileNames: ts.sys.useCaseSensitiveFileNames, readDirectory: () => [], fileExists: ts.sys.fileExists, readFile: ts.sys.readFile };
      options = read.error ? null : { ...ts.parseJsonConfigFileContent(read.config, host, path.dirname(config), undefined, config).options, allowJs: true };
      this.compilerOptions.set(config, options);
    }
    return options ?? undefined;
  }

  private tsconfigPath(fromAbsPath: string, specifier: string): AliasResolution | undefined {
    let unfollowed: AliasResolution | undefined;
    for (const config of this.nearestTsconfigs(fromAbsPath)) {
      const resolution = this.throughTsconfig(config, fromAbsPath, specifier);
      if (resolution?.kind === 'unfollowed') unfollowed ??= resolution;
      else if (resolution) return resolution;
    }
    return unfollowed;
  }

  private throughTsconfig(config: string, fromAbsPath: string, specifier: string): AliasResolution | undefined {
    const options = this.optionsOf(config);
    if (!options || (!options.paths && options.baseUrl === undefined)) return undefined;
    const keys = Object.keys(options.paths ?? {});
    const match = bestKey(keys, specifier);
    const resolved = ts.resolveModuleName(specifier, fromAbsPath, options, ts.sys, this.moduleCacheOf(config, options)).resolvedModule;
    if (resolved) {
      const found = this.pathTarget(path.resolve(resolved.resolvedFileName));
      if (found) return found;
      if (resolved.isExternalLibraryImport) return undefined; // an installed package
    }
    // baseUrl alone, or the catch-all `*` key: a package (maybe not installed), or nothing of the project.
    if (!match || match.key.startsWith('*')) return undefined;
    // The mapping's targets as written (a legacy module not installed still has its name).
    const base = options.pathsBasePath !== undefined ? String(options.pathsBasePath) : (options.baseUrl ?? path.dirname(config));
    const targets = (options.paths![match.key] ?? []).map((t) => path.resolve(base, t.replace(/\*/g, match.star)));
    for (const target of targets) {
      const found = this.pathTarget(target);
      if (found) return found;
    }
    if (resolved) return { kind: 'unfollowed', reason: `${specifier} resolves to ${this.rel(resolved.resolvedFileName)}, which is not a source file of this run`, file: path.resolve(resolved.resolvedFileName) };
    return { kind: 'unfollowed', reason: `${specifier} (paths of ${this.rel(config)}) maps to ${targets.map((t) => this.rel(t)).join(', ')}, which is not a source file of this run` };
  }
}
