// Installed packages that depend on the legacy deferred API. The codemod reads the run's
// files, not `node_modules`: a package of the project's own (a shared jobs library) that
// calls the legacy `defer()` keeps doing so after the migration, and its tasks go through
// the legacy runtime, whose payloads the shim's handler cannot decode (dropped as
// PermanentTaskFailure). Its package.json says so without reading its code.
import { existsSync, realpathSync } from 'node:fs';
import * as path from 'node:path';
import type { Analysis } from '../analysis/index.js';
import { dependencyNames, readJsonObject } from '../analysis/alias-config.js';
import { isNodeBuiltin, packageName, roleOfSpecifier } from '../analysis/specifiers.js';
import type { RuleOutput } from './context.js';

/** How many installed packages one run reads at most (a dependency tree is followed breadth first). */
const MANIFEST_LIMIT = 5000;

/**
 * The names of the packages that hold the legacy API: those the run's own legacy imports
 * name (`google` of `google/appengine/ext/deferred`, `@acme/appengine` of
 * `@acme/appengine/ext/deferred`), and `google`, the canonical one.
 */
function legacyPackagesOf(analysis: Analysis): (name: string) => boolean {
  const names = new Set(['google']);
  for (const [absPath, scan] of analysis.scans) {
    for (const specifier of scan.bare ?? []) if (roleOfSpecifier(specifier, analysis.matchers, absPath) !== undefined) names.add(packageName(specifier));
  }
  // A package whose own `ext/deferred` is the legacy module (`@acme/appengine`).
  return (name) => names.has(name) || [name, `${name}/ext/deferred`].some((specifier) => roleOfSpecifier(specifier, analysis.matchers) !== undefined);
}

interface Installed {
  dir: string;
  /** The package's runtime dependencies (also peer and optional). */
  dependencies: string[];
}

class InstalledPackages {
  private readonly found = new Map<string, Installed | null>();
  private readonly installDirs = new Map<string, boolean>();
  private readonly walkedInstallDirs: ReadonlySet<string>;
  private reads = 0;

  /** `walked`: the directories the run walked, where `nodeModulesIn` lists every `node_modules` (no look on disk there). */
  constructor(private readonly walked: readonly string[], nodeModulesIn: readonly string[]) {
    this.walkedInstallDirs = new Set(nodeModulesIn);
  }

  /** Whether any package is installed where the walked files resolve packages: in the tree or above it. */
  anyInstalled(): boolean {
    if (this.walkedInstallDirs.size > 0) return true;
    return this.walked.some((root) => {
      for (let at = path.dirname(root); ; at = path.dirname(at)) {
        if (this.installsIn(at)) return true;
        if (path.dirname(at) === at) return false;
      }
    });
  }

  /** Whether `dir` holds a `node_modules`. */
  private installsIn(dir: string): boolean {
    if (this.walked.some((root) => dir === root || dir.startsWith(root + path.sep))) return this.walkedInstallDirs.has(dir);
    let installs = this.installDirs.get(dir);
    if (installs === undefined) {
      installs = existsSync(path.join(dir, 'node_modules'));
      this.installDirs.set(dir, installs);
    }
    return installs;
  }

  /** The package `name` as Node resolves it from `dir` (the nearest `node_modules/<name>` up the tree); each directory asked once per name. */
  resolve(dir: string, name: string): Installed | undefined {
    const key = `${dir}\0${name}`;
    let installed = this.found.get(key);
    if (installed === undefined) {
      installed = null;
      const manifest = this.installsIn(dir) && this.reads < MANIFEST_LIMIT ? readJsonObject(path.join(dir, 'node_modules', name, 'package.json')) : undefined;
      if (manifest) {
        this.reads++;
        installed = { dir: path.join(dir, 'node_modules', name), dependencies: dependencyNames(manifest, ['dependencies', 'peerDependencies', 'optionalDependencies']) };
      } else if (path.dirname(dir) !== dir) {
        installed = this.resolve(path.dirname(dir), name) ?? null;
      }
      this.found.set(key, installed);
    }
    return installed ?? undefined;
  }

  /** The chain of packages from `name` (resolved from `dir`) to one that depends on the legacy API, if any: `['@acme/jobs', 'google']`. */
  legacyChain(dir: string, name: string, isLegacyPackage: (name: string) => boolean): string[] | undefined {
    const start = this.resolve(dir, name);
    if (!start) return undefined;
    const queue: Array<{ pkg: Installed; chain: string[] }> = [{ pkg: start, chain: [name] }];
    const seen = new Set([start.dir]);
    while (queue.length > 0) {
      const { pkg, chain } = queue.shift()!;
      for (const dependency of pkg.dependencies) {
        if (isLegacyPackage(dependency)) return [...chain, dependency];
        const next = this.resolve(pkg.dir, dependency);
        if (next && !seen.has(next.dir)) {
          seen.add(next.dir);
          queue.push({ pkg: next, chain: [...chain, dependency] });
        }
      }
    }
    return undefined;
  }
}

/**
 * The real directory of an installed package that is a link into the repository (outside
 * any node_modules, inside the root, not walked by the run), and its first file that
 * uses the legacy API: `{ dir: <its package.json>, file }`.
 */
function linkedLegacyCode(analysis: Analysis, installedDir: string | undefined): { dir: string; file: string } | undefined {
  if (!installedDir || !analysis.outside) return undefined;
  let real: string;
  try {
    real = realpathSync.native(installedDir);
  } catch {
    return undefined;
  }
  const root = path.resolve(analysis.root);
  const within = (dir: string, outer: string): boolean => dir === outer || dir.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
  if (real === installedDir || real.split(path.sep).includes('node_modules') || !within(real, root) || analysis.paths.some((walked) => within(real, path.resolve(walked)))) return undefined;
  const file = analysis.outside.legacyInPackage(real);
  return file ? { dir: path.join(real, 'package.json'), file } : undefined;
}

/** Reports, at its first import in each file of the run, every installed package that depends on the legacy API (directly or through its own dependencies). */
export function reportLegacyDependencies(analysis: Analysis, out: RuleOutput): void {
  const packages = new InstalledPackages(analysis.paths.map((p) => path.resolve(p)), analysis.nodeModulesIn);
  if (!packages.anyInstalled()) return;
  const known = new Map(analysis.index.knownFiles().map((file) => [file.absPath, file]));
  const isLegacyPackage = legacyPackagesOf(analysis);
  for (const [absPath, scan] of analysis.scans) {
    const reported = new Set<string>();
    for (const specifier of scan.bare ?? []) {
      const name = packageName(specifier);
      if (reported.has(name) || isNodeBuiltin(specifier) || roleOfSpecifier(specifier, analysis.matchers, absPath) !== undefined || isLegacyPackage(name)) continue;
      const chain = packages.legacyChain(path.dirname(absPath), name, isLegacyPackage);
      // A package installed as a link into the repository (`file:`, `link:`, `npm link`): its code, outside the run.
      const linked = chain ? undefined : linkedLegacyCode(analysis, packages.resolve(path.dirname(absPath), name)?.dir);
      const file = known.get(absPath);
      const text = (chain || linked) && file ? analysis.index.text(absPath) : undefined;
      if ((!chain && !linked) || !file || text === undefined) continue;
      reported.add(name);
      const at = Math.max(0, text.search(new RegExp(`['"\`]${specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}['"\`]`)));
      const before = text.slice(0, at);
      const line = before.split('\n').length;
      const column = at - before.lastIndexOf('\n');
      if (!chain) {
        out.reportAt({ absPath, rel: file.rel, text }, line, column, 'legacy-dependency', 'warning',
          `The installed package \`${name}\` is a link to ${path.relative(analysis.root, path.dirname(linked!.dir))} in the repository, outside this run, whose code uses the legacy deferred API (${path.relative(analysis.root, linked!.file)}), and the codemod does not migrate it here: what this file takes from it stays legacy (a defer() enqueuing functions nobody registers with the shim, whose tasks the shim's Handler drops; TaskHandler that is not the shim's Handler). Run the codemod on that package too (or on the directory holding both).`);
        continue;
      }
      const via = chain.length > 2 ? ` (through ${chain.slice(1, -1).map((p) => `\`${p}\``).join(', ')})` : '';
      out.reportAt({ absPath, rel: file.rel, text }, line, column, 'legacy-dependency', 'warning',
        `The installed package \`${name}\` depends on \`${chain.at(-1)}\`, the legacy deferred API${via}, and the codemod does not migrate packages: code in it that defers tasks still uses the legacy runtime after the migration, whose tasks the shim's handler refuses (a payload it cannot decode is dropped as a PermanentTaskFailure). Migrate that package with deferred-migrate too (or check that it never defers), and install the migrated version.`);
    }
  }
}
