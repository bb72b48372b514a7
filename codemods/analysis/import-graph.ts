// The tree's relative imports, for finding the files that may import a module without
// parsing the tree: every relative specifier the text scans found is indexed by its
// last path segment, so the importers of a module cost a lookup, not a pass over the
// tree. The analysis of the migrated tree (the idempotency pass) updates the first
// analysis's index for the files the migration changed instead of indexing the whole
// tree again.
import * as path from 'node:path';
import type { DiscoveredFile } from './discover.js';
import type { ProjectIndex } from './project.js';
import { withoutScriptExtension } from './specifiers.js';
import type { TextScans } from './tree-scan.js';

/** Last path segment of a specifier or file, without extension: `./lib/tasks.js` → `tasks`. */
function segmentKey(specifierOrPath: string): string {
  let end = specifierOrPath.length;
  while (end > 0 && specifierOrPath.charCodeAt(end - 1) === 47 /* / */) end--;
  const last = specifierOrPath.slice(specifierOrPath.lastIndexOf('/', end - 1) + 1, end);
  return last.includes('.') ? withoutScriptExtension(last) : last;
}

function indexRelativeImports(scans: TextScans): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const [absPath, scan] of scans) {
    let previous: string | undefined;
    for (const specifier of scan.specifiers) {
      const key = segmentKey(specifier);
      // A file listed twice under one key is harmless (visited twice); the common repeat is skipped.
      if (key === previous) continue;
      previous = key;
      const importers = byKey.get(key);
      if (importers === undefined) byKey.set(key, [absPath]);
      else if (importers[importers.length - 1] !== absPath) importers.push(absPath);
    }
  }
  return byKey;
}

/** The distinct segment keys of a file's relative specifiers. */
function keysOf(specifiers: readonly string[]): Set<string> {
  return new Set(specifiers.map(segmentKey));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ImportGraph {
  private constructor(
    private readonly files: readonly DiscoveredFile[],
    private readonly scans: TextScans,
    /** Importers by key, each list in discovery order without repeats (as a fresh index makes them). */
    private readonly byKey: Map<string, string[]>,
    // What each importer candidate's specifiers resolve to, once per file: a file whose
    // imports share names with many exporters (index, utils) is asked about each of them.
    // Resolution depends only on the file's specifiers and the file list.
    private readonly resolved: Map<string, Set<string>>,
  ) {}

  // Importers through aliases (`scan.aliased`: tsconfig paths, `#imports`, package names) by
  // the file they resolve to; made on first use, from the few files that have such specifiers.
  private aliasImporters: Map<string, string[]> | undefined;

  /**
   * The graph of `scans` over `files`. Given the graph of an earlier scan of the same
   * list (the first analysis, for the idempotency pass), only the files whose relative
   * specifiers changed are taken out of its index and put back under their new keys:
   * the index a fresh one would be, for a fraction of the cost.
   */
  static of(files: readonly DiscoveredFile[], scans: TextScans, previous?: ImportGraph): ImportGraph {
    const fresh = (): ImportGraph => new ImportGraph(files, scans, indexRelativeImports(scans), new Map());
    if (!previous || previous.files !== files || previous.scans.size !== scans.size) return fresh();
    const changed: Array<[string, readonly string[], readonly string[]]> = [];
    for (const [absPath, scan] of scans) {
      const earlier = previous.scans.get(absPath);
      if (earlier === scan) continue;
      if (earlier === undefined) return fresh();
      if (!sameList(earlier.specifiers, scan.specifiers)) changed.push([absPath, earlier.specifiers, scan.specifiers]);
      else if (!sameList(earlier.aliased ?? [], scan.aliased ?? [])) changed.push([absPath, earlier.specifiers, scan.specifiers]);
    }
    if (changed.length === 0) return new ImportGraph(files, scans, previous.byKey, previous.resolved);
    const byKey = new Map(previous.byKey);
    const resolved = new Map(previous.resolved);
    let order: Map<string, number> | undefined;
    for (const [absPath, before, after] of changed) {
      resolved.delete(absPath);
      const oldKeys = keysOf(before);
      const newKeys = keysOf(after);
      for (const key of oldKeys) {
        if (newKeys.has(key)) continue;
        const rest = byKey.get(key)!.filter((file) => file !== absPath);
        if (rest.length > 0) byKey.set(key, rest);
        else byKey.delete(key);
      }
      for (const key of newKeys) {
        if (oldKeys.has(key)) continue;
        // In discovery order, as a fresh index lists it.
        order ??= new Map([...scans.keys()].map((file, i) => [file, i]));
        const position = order.get(absPath)!;
        const importers = [...(byKey.get(key) ?? [])];
        let at = importers.length;
        while (at > 0 && order.get(importers[at - 1]!)! > position) at--;
        importers.splice(at, 0, absPath);
        byKey.set(key, importers);
      }
    }
    return new ImportGraph(files, scans, byKey, resolved);
  }

  /** The lists of files that may import `absPath` (a file may be in several: visiting it twice is harmless). */
  importerCandidates(absPath: string, index: ProjectIndex): string[][] {
    const base = segmentKey(path.basename(absPath));
    const keys = [base];
    // An index file is imported through its directory (`./lib`, `./lib/`, `..`).
    if (base === 'index') keys.push(path.basename(path.dirname(absPath)), '.', '..');
    const lists = keys.map((key) => this.byKey.get(key) ?? []);
    const throughAliases = this.importersThroughAliases(index).get(absPath);
    if (throughAliases) lists.push(throughAliases);
    return lists;
  }

  /** The files that import `absPath` (their specifiers resolve to it), each once, in the candidates' order. */
  importersOf(absPath: string, index: ProjectIndex): string[] {
    const found = new Set<string>();
    for (const candidates of this.importerCandidates(absPath, index)) {
      for (const importer of candidates) {
        if (importer !== absPath && !found.has(importer) && this.importsOf(importer, index).has(absPath)) found.add(importer);
      }
    }
    return [...found];
  }

  /**
   * `starts` and every file that imports one of them, transitively (`files`), and those of
   * them no file imports (`entries`: the modules a process starts from). Undefined once the
   * walk finds more than `limit` files.
   */
  importerClosure(starts: Iterable<string>, index: ProjectIndex, limit = Infinity): { files: Set<string>; entries: Set<string> } | undefined {
    const files = new Set(starts);
    const entries = new Set<string>();
    const queue = [...files];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      const importers = this.importersOf(file, index);
      if (importers.length === 0) entries.add(file);
      for (const importer of importers) {
        if (files.has(importer)) continue;
        if (files.size >= limit) return undefined;
        files.add(importer);
        queue.push(importer);
      }
    }
    return { files, entries };
  }

  private importersThroughAliases(index: ProjectIndex): Map<string, string[]> {
    if (this.aliasImporters === undefined) {
      this.aliasImporters = new Map();
      for (const [absPath, scan] of this.scans) {
        if (scan.aliased === undefined) continue;
        for (const specifier of scan.aliased) {
          const target = index.resolve(absPath, specifier);
          if (target === undefined) continue;
          const importers = this.aliasImporters.get(target);
          if (importers === undefined) this.aliasImporters.set(target, [absPath]);
          else if (importers[importers.length - 1] !== absPath) importers.push(absPath);
        }
      }
    }
    return this.aliasImporters;
  }

  /** The project files `absPath`'s relative specifiers (and aliases) resolve to. */
  importsOf(absPath: string, index: ProjectIndex): Set<string> {
    let targets = this.resolved.get(absPath);
    if (targets === undefined) {
      targets = new Set();
      const scan = this.scans.get(absPath)!;
      for (const specifier of scan.specifiers) {
        const target = index.resolve(absPath, specifier);
        if (target !== undefined) targets.add(target);
      }
      for (const specifier of scan.aliased ?? []) {
        const target = index.resolve(absPath, specifier);
        if (target !== undefined) targets.add(target);
      }
      this.resolved.set(absPath, targets);
    }
    return targets;
  }
}
