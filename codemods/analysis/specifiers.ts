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

/** A path through a `__mocks__` directory: a test runner's manual mock, never the module it stands for. */
const MOCKS_SEGMENT = /(^|\/)__mocks__\//;

function computeRole(specifier: string, matchers: ModuleMatchers): ModuleRole | undefined {
  if (specifier === matchers.shim) return 'shim';
  const s = normalize(specifier);
  if (MOCKS_SEGMENT.test(s)) return undefined;
  if (matchers.deferred.some((suffix) => endsWithSegment(s, suffix))) return 'deferred';
  if (matchers.webapp.some((suffix) => endsWithSegment(s, suffix))) return 'webapp';
  return undefined;
}

/**
 * The legacy module a test runner's manual mock stands for (`__mocks__/google/appengine/ext/deferred.js`
 * beside node_modules, `vendor/google/appengine/ext/__mocks__/deferred.js` beside a vendored copy), or
 * undefined: the path without its `__mocks__` segment names it.
 */
export function mockedModuleRole(relPath: string, matchers: ModuleMatchers): 'deferred' | 'webapp' | undefined {
  const posix = relPath.replace(/\\/g, '/');
  if (!MOCKS_SEGMENT.test(posix)) return undefined;
  const role = computeRole(posix.replace(MOCKS_SEGMENT, '$1'), matchers);
  return role === 'deferred' || role === 'webapp' ? role : undefined;
}

/** Text fragments whose presence makes a file worth parsing. */
export function prefilterNeedles(matchers: ModuleMatchers): string[] {
  // The legacy names also as a regular expression spells them (`/^google\/appengine\/ext\/deferred$/`: a
  // module name mapper, a bundler alias), which the verification reports.
  const escaped = [...matchers.deferred, ...matchers.webapp].filter((name) => name.includes('/')).map((name) => name.replace(/\//g, '\\/'));
  return [...matchers.deferred, ...matchers.webapp, ...escaped, matchers.shim, 'TaskHandler', 'WSGIApplication'];
}

/** Characters that make a string a regular expression's source rather than a module name. */
export const PATTERN_CHARACTERS = /[\^$\\()[\]*+?|]/;

/**
 * Whether a regular expression (its source and flags) stands for a legacy module's name: it spells
 * every segment of the module's name (so `/deferred/` or a route's `^/_ah/queue/deferred$` is not one)
 * and matches that name as imports write it, or its own text without anchors and trailing groups
 * (`^@acme/appengine/ext/deferred(\.js)?$`) is such a name and matches it.
 */
export function patternRole(source: string, flags: string, matchers: ModuleMatchers): 'deferred' | 'webapp' | undefined {
  let pattern: RegExp;
  try {
    pattern = new RegExp(source, flags.replace(/[gy]/g, ''));
  } catch {
    return undefined;
  }
  const plain = source.replace(/\\(.)/g, '$1');
  let stripped = plain.replace(/^\^/, '');
  for (let before = ''; before !== stripped; ) {
    before = stripped;
    stripped = stripped.replace(/\$$/, '').replace(/(\([^()]*\)|\.)[?*+]?$/, '').replace(/\?$/, '');
  }
  for (const role of ['deferred', 'webapp'] as const) {
    for (const name of matchers[role]) {
      const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.' && segment !== '..');
      if (segments.length === 0 || !segments.every((segment) => plain.includes(segment))) continue;
      const bare = name.replace(/^(\.\.?\/)+/, '');
      const written = [bare, `google/${bare}`, `${bare}.js`, `${bare}/index`, `${bare}/index.js`, `google/${bare}.js`];
      if (written.some((w) => pattern.test(w))) return role;
      if (roleOfSpecifier(stripped, matchers) === role && pattern.test(stripped)) return role;
    }
  }
  return undefined;
}
