// One analysis of a run: discovery, prefilter, loading of candidates and their
// import neighbours (iterated: barrels and handler bases make their importers
// candidates), then the cross-file facts the rules need.
import type { Discovery } from './discover.js';
import { analyzeAppYamls, type AppYamlFile } from './app-yaml.js';
import { analyzeQueueYamls, type QueueYamlFile } from './queue-yaml.js';
import { CheckerResolver } from './checker.js';
import { findHandlerClasses, type HandlerClasses } from './handlers.js';
import { findHostApps, type HostApp } from './host-app.js';
import { SymbolTable } from './legacy-symbols.js';
import * as path from 'node:path';
import { ProjectIndex, readUtf8, type SourceRecord, type TextSource } from './project.js';
import { findRouteTables, type RouteTable } from './route-tables.js';
import { scanSources, type TextScans } from './tree-scan.js';
import { prefilterNeedles, withoutScriptExtension, type ModuleMatchers } from './specifiers.js';

export interface Analysis {
  root: string;
  matchers: ModuleMatchers;
  index: ProjectIndex;
  symbols: SymbolTable;
  /** Parsed candidate files without parse errors, in path order. */
  candidates: SourceRecord[];
  parseFailures: SourceRecord[];
  appYamls: AppYamlFile[];
  /** queue.yaml files, for the fields Cloud Tasks cannot take. */
  queueYamls: QueueYamlFile[];
  unreadable: Array<{ absPath: string; rel: string; error: string }>;
  scanned: number;
  handlers: HandlerClasses;
  tables: RouteTable[];
  /** Host apps found in candidates and, when one must be wrapped, in the rest of the tree. */
  hosts: HostApp[];
  /** Whether the files' text was only loaded for one-file use (jscodeshift transforms). */
  singleFile: boolean;
  /** The JavaScript files carry JSDoc types (checkJs code bases): generated JS gets JSDoc types too. */
  jsdocTyped: boolean;
  /** What the text scans found per source file, for a later analysis of the same tree. */
  scans: TextScans;
}

export interface AnalyzeOptions {
  root: string;
  discovery: Discovery;
  matchers: ModuleMatchers;
  readText?: TextSource;
  singleFile?: boolean;
  /** Text scans of the discovery's sources, made earlier (`tree-scan.ts`); made here from `readText` when absent. */
  scans?: TextScans;
  /** An index of the discovery's files that already holds some parsed files (loaded while the scan ran). */
  index?: ProjectIndex;
}

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

/** The lists of files that may import `absPath` (a file may be in several: visiting it twice is harmless). */
function importerCandidates(byKey: Map<string, string[]>, absPath: string): string[][] {
  const base = segmentKey(path.basename(absPath));
  const keys = [base];
  // An index file is imported through its directory (`./lib`, `./lib/`, `..`).
  if (base === 'index') keys.push(path.basename(path.dirname(absPath)), '.', '..');
  return keys.map((key) => byKey.get(key) ?? []);
}

function byRel(a: SourceRecord, b: SourceRecord): number {
  return a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0;
}

export function analyze(options: AnalyzeOptions): Analysis {
  const { discovery, matchers } = options;
  const index = options.index ?? new ProjectIndex(discovery.files, options.readText ?? readUtf8);
  const symbols = new SymbolTable(index, matchers);
  const scans = options.scans ?? scanSources(discovery.files, (absPath) => index.text(absPath), prefilterNeedles(matchers));

  let frontier: SourceRecord[] = [];
  for (const [absPath, scan] of scans) {
    if (!scan.legacy) continue;
    const record = index.load(absPath);
    if (record) frontier.push(record);
  }
  // Importers of loaded files that export something (barrels, handler bases, route
  // tables, task functions) may use legacy symbols without naming them. Relative
  // specifiers are indexed once by their last path segment, so finding importers
  // costs a lookup, not a scan of the tree per exporter.
  const importersByName = indexRelativeImports(scans);
  const expanded = new Set<string>();
  // What each importer candidate's specifiers resolve to, once per file: a file whose
  // imports share names with many exporters (index, utils) is asked about each of them.
  const resolvedImports = new Map<string, Set<string>>();
  const importsOf = (absPath: string): Set<string> => {
    let targets = resolvedImports.get(absPath);
    if (targets === undefined) {
      targets = new Set();
      for (const specifier of scans.get(absPath)!.specifiers) {
        const target = index.resolve(absPath, specifier);
        if (target !== undefined) targets.add(target);
      }
      resolvedImports.set(absPath, targets);
    }
    return targets;
  };
  while (frontier.length > 0) {
    const next: SourceRecord[] = [];
    for (const record of frontier) {
      if (expanded.has(record.absPath) || record.parseProblem) continue;
      expanded.add(record.absPath);
      if (!/\bexport\b|module\.exports|exports\./.test(record.text)) continue;
      for (const importers of importerCandidates(importersByName, record.absPath)) {
        for (const absPath of importers) {
          if (index.isLoaded(absPath)) continue;
          if (!importsOf(absPath).has(record.absPath)) continue;
          const importer = index.load(absPath);
          if (importer) next.push(importer);
        }
      }
    }
    frontier = next;
  }

  const loaded = index.loaded().sort(byRel);
  const candidates = loaded.filter((r) => !r.parseProblem);
  const parseFailures = loaded.filter((r) => r.parseProblem);
  const handlers = findHandlerClasses(index, symbols, candidates, new CheckerResolver(index, matchers));
  const tables = findRouteTables(index, symbols, handlers, candidates);
  const hostCandidates = [...candidates];
  // Host apps live in files that may never mention the legacy API (app.ts creating express()).
  for (const [absPath, scan] of scans) {
    if (index.isLoaded(absPath) || !scan.host) continue;
    const record = index.load(absPath);
    if (record && !record.parseProblem) hostCandidates.push(record);
  }
  const hosts = findHostApps(hostCandidates.sort(byRel), matchers.shim);
  const appYamls = analyzeAppYamls(discovery.files.filter((f) => f.kind === 'app-yaml'), index);
  const queueYamls = analyzeQueueYamls(discovery.files.filter((f) => f.kind === 'app-yaml'), index);
  const unreadable = [
    ...discovery.unreadable,
    ...[...index.unreadable].map(([absPath, error]) => ({ absPath, rel: discovery.files.find((f) => f.absPath === absPath)?.rel ?? absPath, error })),
  ];
  return {
    root: options.root,
    matchers,
    index,
    symbols,
    candidates,
    parseFailures,
    appYamls,
    queueYamls,
    unreadable,
    scanned: discovery.files.length,
    handlers,
    tables,
    hosts,
    singleFile: options.singleFile ?? false,
    jsdocTyped: candidates.some((r) => !r.isTypeScript && /@(type|param|returns?)\s*\{/.test(r.text)),
    scans,
  };
}
