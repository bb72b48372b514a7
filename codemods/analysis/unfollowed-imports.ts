// Files whose imports the analysis cannot follow: a bare specifier that is neither the
// legacy API, a Node built-in, an alias of the tree nor a package declared or installed
// (a bundler's alias, a package that is not there), or a require or import of a computed
// path. Such a file may reach any module of the run without the import graph showing it,
// so a proof that the graph shows every caller of a function must read these files too.
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { readJsonObject } from './alias-config.js';
import type { Analysis } from './index.js';
import { roleOfSpecifier } from './specifiers.js';

const BUILTINS = new Set(builtinModules);

/** `@scope/name/x` → `@scope/name`, `name/x` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

class PackageLookup {
  private readonly answers = new Map<string, boolean>();
  private readonly declared = new Map<string, ReadonlySet<string>>();

  /** Whether `name` is installed in, or declared by the manifest of, `dir` or one of its ancestors. */
  known(dir: string, name: string): boolean {
    const key = `${dir}\0${name}`;
    let answer = this.answers.get(key);
    if (answer === undefined) {
      const parent = path.dirname(dir);
      answer = this.declaredIn(dir).has(name) || existsSync(path.join(dir, 'node_modules', name)) || (parent !== dir && this.known(parent, name));
      this.answers.set(key, answer);
    }
    return answer;
  }

  /** The package's own name and its dependencies of every kind; nothing for a missing or unreadable manifest. */
  private declaredIn(dir: string): ReadonlySet<string> {
    let names = this.declared.get(dir);
    if (names === undefined) {
      const pkg = readJsonObject(path.join(dir, 'package.json'));
      const collected = new Set<string>(typeof pkg?.name === 'string' ? [pkg.name] : []);
      for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
        const deps = pkg?.[field];
        if (deps && typeof deps === 'object') for (const name of Object.keys(deps)) collected.add(name);
      }
      names = collected;
      this.declared.set(dir, names);
    }
    return names;
  }
}

const cache = new WeakMap<Analysis, string[]>();

/** The source files of the run (absolute paths) with an import the analysis cannot follow. */
export function filesWithUnfollowedImports(analysis: Analysis): readonly string[] {
  let files = cache.get(analysis);
  if (files === undefined) {
    const packages = new PackageLookup();
    files = [];
    for (const [absPath, scan] of analysis.scans) {
      if (scan.computedImport || scan.bare?.some((specifier) => !followed(analysis, packages, absPath, specifier))) files.push(absPath);
    }
    cache.set(analysis, files);
  }
  return files;
}

function followed(analysis: Analysis, packages: PackageLookup, absPath: string, specifier: string): boolean {
  if (specifier.startsWith('node:') || BUILTINS.has(packageName(specifier))) return true;
  if (roleOfSpecifier(specifier, analysis.matchers, absPath) !== undefined) return true;
  if (analysis.index.resolve(absPath, specifier) !== undefined) return true;
  if (analysis.index.isUnfollowedAlias(absPath, specifier)) return false;
  return packages.known(path.dirname(absPath), packageName(specifier));
}
