// Which module specifiers denote the legacy deferred module, the legacy webapp
// module and the shim: suffix matches, tolerant of `.js`, `/index` and friends, and
// (given the importing file) aliases that resolve to such a module (`module-aliases.ts`).

import { builtinModules } from 'node:module';

export type ModuleRole = 'deferred' | 'webapp' | 'shim';

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/** The package a bare specifier names: `@scope/name/sub` → `@scope/name`, `name/sub` → `name`. */
export function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** A Node built-in module (`node:fs`, `fs`, `fs/promises`). */
export function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(packageName(specifier));
}

export const DEFAULT_SHIM_MODULE = 'deferred-migrate/shim';
export const LEGACY_DEFERRED_SUFFIX = 'appengine/ext/deferred';
export const LEGACY_WEBAPP_SUFFIX = 'appengine/ext/webapp';

/** Roles of bare specifiers that are aliases of the tree (tsconfig `paths`, `#imports`, its packages). */
export interface AliasRoles {
  roleOf(fromAbsPath: string, specifier: string): ModuleRole | undefined;
  /** Why an alias of the tree cannot be followed (it leads to no source file of the run), or undefined. */
  unfollowed(fromAbsPath: string, specifier: string): string | undefined;
}

export interface ModuleMatchers {
  deferred: string[];
  webapp: string[];
  shim: string;
  /** Present when the tree declares aliases (the analysis adds them). */
  aliases?: AliasRoles;
}

export function createMatchers(legacyModules: string[] = [], webappModules: string[] = [], shim = DEFAULT_SHIM_MODULE): ModuleMatchers {
  return {
    deferred: [LEGACY_DEFERRED_SUFFIX, ...legacyModules.map(normalize)],
    webapp: [LEGACY_WEBAPP_SUFFIX, ...webappModules.map(normalize)],
    shim,
  };
}

const SCRIPT_EXTENSION = /\.(m|c)?(j|t)sx?$/;

/** `./lib/tasks.js` -> `./lib/tasks`: a module's path or specifier without its script extension. */
export function withoutScriptExtension(pathOrSpecifier: string): string {
  return pathOrSpecifier.replace(SCRIPT_EXTENSION, '');
}

function normalize(specifier: string): string {
  let s = specifier.replace(/\\/g, '/');
  s = withoutScriptExtension(s);
  s = s.replace(/\/index$/, '');
  return s.replace(/\/+$/, '');
}

function endsWithSegment(specifier: string, suffix: string): boolean {
  if (specifier === suffix) return true;
  return specifier.endsWith('/' + suffix) || (suffix.startsWith('@') && specifier.endsWith(suffix));
}

// Asked for every import and require of every analysed file, mostly the same few
// specifiers: the answers are kept per set of matchers.
const rolesCache = new WeakMap<ModuleMatchers, Map<string, ModuleRole | undefined>>();

/** `fromAbsPath`: the importing file, for aliases; without it only the specifier's text counts. */
export function roleOfSpecifier(specifier: string, matchers: ModuleMatchers, fromAbsPath?: string): ModuleRole | undefined {
  let roles = rolesCache.get(matchers);
  if (!roles) {
    roles = new Map();
    rolesCache.set(matchers, roles);
  }
  let role: ModuleRole | undefined;
  if (roles.has(specifier)) role = roles.get(specifier);
  else {
    role = computeRole(specifier, matchers);
    roles.set(specifier, role);
  }
  if (role !== undefined || fromAbsPath === undefined || matchers.aliases === undefined || specifier.startsWith('.')) return role;
  return matchers.aliases.roleOf(fromAbsPath, specifier);
}

function computeRole(specifier: string, matchers: ModuleMatchers): ModuleRole | undefined {
  if (specifier === matchers.shim) return 'shim';
  const s = normalize(specifier);
  if (matchers.deferred.some((suffix) => endsWithSegment(s, suffix))) return 'deferred';
  if (matchers.webapp.some((suffix) => endsWithSegment(s, suffix))) return 'webapp';
  return undefined;
}

/** Text fragments whose presence makes a file worth parsing. */
export function prefilterNeedles(matchers: ModuleMatchers): string[] {
  return [...matchers.deferred, ...matchers.webapp, matchers.shim, 'TaskHandler', 'WSGIApplication'];
}
