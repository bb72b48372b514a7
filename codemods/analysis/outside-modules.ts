// Modules outside the run that its files import and that use the legacy deferred API
// themselves: another package of a monorepo reached by a relative path
// (`../../packages/shared/src/index.js`) or by its name (a workspace package the walk
// does not reach), a sibling directory the run was not given, a file the walk skipped
// (gitignored, generated). The run does not migrate them, so what they export (a
// `defer` alias, the module re-exported) stays legacy in migrated code: its tasks go to
// the URL the shim's Handler now answers, which knows none of the functions they name
// (PermanentTaskFailure: dropped). Their importers are candidates and report the import.
// Only files that the run's own imports name are read, on disk, a few relative steps deep.
import { readdirSync, readFileSync, statSync } from 'node:fs';
// Named imports: the CommonJS build reads a namespace import's members through getters, on every import of the tree.
import { dirname, join, resolve } from 'node:path';
import { isFile } from './module-aliases.js';
import { containsAny, relativeSpecifiers } from './prefilter.js';
import { resolutionCandidates, type ProjectIndex } from './project.js';
import { joinRelative } from './run-files.js';
import { roleOfSpecifier, type ModuleMatchers } from './specifiers.js';

const SCRIPT = /\.(?:[cm]?[jt]s|[jt]sx)$/;
const DECLARATION = /\.d\.[cm]?ts$/;
/** How many relative steps beyond the first outside file are followed (a barrel of a barrel). */
const DEPTH = 3;
/** Files read at most when a package outside the walk is searched for the legacy API. */
const PACKAGE_FILES = 2000;
const MAX_BYTES = 4 * 1024 * 1024;

// Files a module imports that are no scripts (a bundler's assets, JSON): not looked for on disk.
const ASSET = /\.(?:css|scss|sass|less|styl|json|json5|svg|png|jpe?g|gif|webp|avif|ico|html?|md|txt|ya?ml|wasm|node|graphql|gql|vue|svelte|astro|mdx)$/i;

/** The script file on disk a relative specifier's path names, as Node, TypeScript and bundlers look (extensions, `.js` → `.ts`, index files). */
function lookOnDisk(base: string): string | undefined {
  return resolutionCandidates(base).find((candidate) => SCRIPT.test(candidate) && !DECLARATION.test(candidate) && isFile(candidate));
}

function readSmall(absPath: string): string | undefined {
  try {
    if (statSync(absPath).size > MAX_BYTES) return undefined;
    return readFileSync(absPath, 'utf8');
  } catch {
    return undefined;
  }
}

export class OutsideModules {
  /** absPath → the outside file (itself or one it imports) that names the legacy API, or null. */
  private readonly files = new Map<string, string | null>();
  private readonly packages = new Map<string, string | null>();
  private readonly onDisk = new Map<string, string | null>();

  /** What names the legacy deferred module: its specifiers (suffixes, --legacy-module). */
  private readonly needles: readonly string[];

  constructor(
    private index: ProjectIndex,
    private readonly matchers: ModuleMatchers,
  ) {
    this.needles = matchers.deferred;
  }

  /**
   * The same answers for a later analysis of the same file list (the idempotency pass's):
   * the files outside the run did not change, and a file's relative specifiers, when they
   * are the same, lead to the same ones.
   */
  forIndex(index: ProjectIndex): OutsideModules {
    this.index = index;
    return this;
  }

  /** fromAbsPath → its specifiers (joined) and whether one leads outside to the legacy API. */
  // By the scan's specifier list: the idempotency pass's scans of unchanged files keep theirs.
  private readonly visited = new WeakMap<readonly string[], boolean>();

  /**
   * The file outside the run that the relative `specifier` of `fromAbsPath` names, when
   * it (or a module it imports by a relative path, a few steps deep) names the legacy
   * deferred module: that file's absolute path.
   */
  legacyTarget(fromAbsPath: string, specifier: string): string | undefined {
    if (!specifier.startsWith('.') || this.index.resolve(fromAbsPath, specifier) !== undefined) return undefined;
    // A vendored copy of the legacy modules (or the shim) is what the rules migrate from (to).
    if (roleOfSpecifier(specifier, this.matchers, fromAbsPath) !== undefined) return undefined;
    const target = this.scriptOnDisk(resolve(dirname(fromAbsPath), specifier));
    if (target === undefined || this.index.isKnown(target)) return undefined;
    return this.usesLegacy(target, 0) ? target : undefined;
  }

  /**
   * Reads a script the walk does not list although the run's package names it: a `bin`
   * entry without an extension (`"bin": { "tool": "bin/tool" }`, a `#!/usr/bin/env node`
   * file). Its relative imports of the run's files are recorded (`importerOutside`).
   */
  visitFile(absPath: string): void {
    if (!this.index.isKnown(absPath) && isFile(absPath)) this.usesLegacy(absPath, 0);
  }

  /** Whether `absPath`, a file outside the run an alias names, uses the legacy API (or a module it imports by a relative path does). */
  fileUsesLegacy(absPath: string): boolean {
    return SCRIPT.test(absPath) && !this.index.isKnown(absPath) && this.usesLegacy(absPath, 0);
  }

  /**
   * A script file of the package in `dir` (not under node_modules) naming the legacy
   * deferred module, for a package outside the walk that the run imports by name.
   */
  legacyInPackage(dir: string): string | undefined {
    return this.inPackage(dir, this.needles, this.packages);
  }

  /** Directory → specifier prefix → a file naming it, or null. */
  private readonly deepImports = new Map<string, string | null>();

  /**
   * A script file of the package in `dir` (not under node_modules, nor under `skip`) whose
   * text names `prefix` (`'@acme/shared/`: an import of another package's file by its path).
   */
  fileNaming(dir: string, prefix: string, skip?: string): string | undefined {
    return this.inPackage(dir, [`'${prefix}`, `"${prefix}`, `\`${prefix}`], this.deepImports, `\0${prefix}`, skip);
  }

  private inPackage(dir: string, needles: readonly string[], cache: Map<string, string | null>, key = '', skip?: string): string | undefined {
    let found = cache.get(dir + key);
    if (found === undefined) {
      found = null;
      let budget = PACKAGE_FILES;
      const stack = [dir];
      while (stack.length > 0 && found === null && budget > 0) {
        const current = stack.pop()!;
        let entries;
        try {
          entries = readdirSync(current, { withFileTypes: true });
        } catch {
          continue;
        }
        for (const entry of entries) {
          if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
          const full = join(current, entry.name);
          if (entry.isDirectory()) {
            if (full !== skip) stack.push(full);
          } else if (entry.isFile() && SCRIPT.test(entry.name) && budget-- > 0) {
            const text = readSmall(full);
            if (text !== undefined && containsAny(text, needles)) {
              found = full;
              break;
            }
          }
        }
      }
      cache.set(dir + key, found);
    }
    return found ?? undefined;
  }

  private scriptOnDisk(base: string): string | undefined {
    if (ASSET.test(base)) return undefined;
    let found = this.onDisk.get(base);
    if (found === undefined) this.onDisk.set(base, (found = lookOnDisk(base) ?? null));
    return found ?? undefined;
  }

  /**
   * A file outside the run (its relative path from the root is the caller's) that
   * imports the run's file `absPath` by a relative path, among the outside files the
   * run's own imports name (a generated or gitignored module the app loads, another
   * package's file), a few steps deep: its absolute path. Its calls are not seen, so
   * `absPath`'s exports may be used where the codemod does not look.
   */
  importerOutside(absPath: string): string | undefined {
    return this.runImporters.get(absPath);
  }

  /**
   * Reads the outside files the relative `specifiers` of `fromAbsPath` name, those of its
   * scan's that no file of the run has the path of (`TextScan.outside`): whether one of
   * them uses the legacy API.
   */
  visitFrom(fromAbsPath: string, specifiers: readonly string[]): boolean {
    if (specifiers.length === 0) return false;
    let legacy = this.visited.get(specifiers);
    if (legacy === undefined) this.visited.set(specifiers, (legacy = this.visitSpecifiers(fromAbsPath, specifiers)));
    return legacy;
  }

  private visitSpecifiers(fromAbsPath: string, specifiers: readonly string[]): boolean {
    const dir = dirname(fromAbsPath);
    let legacy = false;
    for (const specifier of specifiers) {
      // A file of the run by another path than its stem (`./dir/`), or a vendored copy of the legacy modules.
      if (!specifier.startsWith('.') || this.index.resolve(fromAbsPath, specifier) !== undefined || roleOfSpecifier(specifier, this.matchers, fromAbsPath) !== undefined) continue;
      const base = joinRelative(dir, specifier);
      const target = this.scriptOnDisk(base);
      if (target !== undefined && !this.index.isKnown(target) && this.usesLegacy(target, 0)) legacy = true;
    }
    return legacy;
  }


  private readonly runImporters = new Map<string, string>();

  private usesLegacy(absPath: string, depth: number): boolean {
    const known = this.files.get(absPath);
    if (known !== undefined) return known !== null;
    // Marked first: an import cycle ends here.
    this.files.set(absPath, null);
    const text = readSmall(absPath);
    let found = text !== undefined && containsAny(text, this.needles);
    if (text !== undefined) {
      for (const specifier of relativeSpecifiers(text)) {
        const inRun = this.index.resolve(absPath, specifier);
        if (inRun !== undefined) {
          if (!this.runImporters.has(inRun)) this.runImporters.set(inRun, absPath);
          continue;
        }
        if (depth >= DEPTH) continue;
        const next = this.scriptOnDisk(resolve(dirname(absPath), specifier));
        if (next !== undefined && !this.index.isKnown(next) && this.usesLegacy(next, depth + 1)) found = true;
      }
    }
    this.files.set(absPath, found ? absPath : null);
    return found;
  }
}
