// One analysis of a run: discovery, prefilter, loading of candidates and their
// import neighbours (iterated: barrels and handler bases make their importers
// candidates), then the cross-file facts the rules need.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { isWithin, toPosixRelative, YAML_TEMPLATE, type Discovery } from './discover.js';
import { isFile } from './module-aliases.js';
import { analyzeAppYamls, type AppYamlFile } from './app-yaml.js';
import { analyzeQueueYamls, type QueueYamlFile } from './queue-yaml.js';
import { CheckerResolver } from './checker.js';
import { findHandlerClasses, type HandlerClasses } from './handlers.js';
import { findHostApps, type HostApp } from './host-app.js';
import { SymbolTable } from './legacy-symbols.js';
import { ProjectIndex, readUtf8, type SourceRecord, type TextSource } from './project.js';
import { ImportGraph } from './import-graph.js';
import { ModuleAliases } from './module-aliases.js';
import { OutsideModules } from './outside-modules.js';
import { readJsonObject } from './alias-config.js';
import { findRouteTables, type RouteTable } from './route-tables.js';
import { scanContext, scanSources, type TextScans } from './tree-scan.js';
import { mockedModuleRole, prefilterNeedles, type ModuleMatchers } from './specifiers.js';

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
  /** The directories and files the run walked (absolute): files outside them were not seen. */
  paths: string[];
  /** The JavaScript files carry JSDoc types (checkJs code bases): generated JS gets JSDoc types too. */
  jsdocTyped: boolean;
  /** The walked directories that hold a `node_modules` (the discovery's). */
  nodeModulesIn: readonly string[];
  /** What the text scans found per source file, for a later analysis of the same tree. */
  scans: TextScans;
  /** The relative imports of those scans, for a later analysis of the same tree. */
  imports: ImportGraph;
  /** Modules outside the run its files import that use the legacy API (none in a one-file run). */
  outside?: OutsideModules;
  /** The package.json, tsconfig and jsconfig files the discovery read (absolute): the walked ones and those above the paths or of the root's workspaces. */
  configs: readonly string[];
  /** Scripts without a script extension (`bin` entries, files `scripts` run, node-shebang files) that name the legacy module: not migrated, reported. */
  legacyScripts: LegacyScript[];
}

export interface AnalyzeOptions {
  root: string;
  discovery: Discovery;
  matchers: ModuleMatchers;
  readText?: TextSource;
  singleFile?: boolean;
  /** What the run walked (absolute paths); the root when absent. */
  paths?: string[];
  /** Text scans of the discovery's sources, made earlier (`tree-scan.ts`); made here from `readText` when absent. */
  scans?: TextScans;
  /** An index of the discovery's files that already holds some parsed files (loaded while the scan ran). */
  index?: ProjectIndex;
  /** An earlier analysis of the same file list (the idempotency pass's first), whose import graph is updated rather than made again, and whose outside modules and unlisted scripts are kept. */
  previous?: Pick<Analysis, 'imports' | 'outside' | 'legacyScripts'>;
}

/**
 * Whether a file's alias specifiers make it a candidate: one resolves to the legacy
 * module, or one names a package of the tree that names the legacy API but leads to
 * nothing the analysis can follow (only built output there): reported at the import.
 */
function aliasCandidates(aliases: ModuleAliases, scans: TextScans, outside: OutsideModules | undefined): (absPath: string, specifiers: readonly string[]) => boolean {
  const legacyPackages = new Map<string, boolean>();
  const namesLegacy = (dir: string): boolean => {
    let found = legacyPackages.get(dir);
    if (found === undefined) {
      found = false;
      let walked = false;
      for (const [absPath, scan] of scans) {
        if (!absPath.startsWith(dir + path.sep)) continue;
        walked = true;
        if (scan.legacy) found = true;
      }
      // A workspace package the walk does not reach (a run on one app of a monorepo): its files on disk.
      if (!walked && outside?.legacyInPackage(dir)) found = true;
      legacyPackages.set(dir, found);
    }
    return found;
  };
  return (absPath, specifiers) =>
    specifiers.some((specifier) => {
      const resolution = aliases.resolve(absPath, specifier);
      if (resolution?.kind === 'role') return resolution.role !== 'shim';
      if (resolution?.kind !== 'unfollowed') return false;
      if (resolution.packageDir !== undefined && namesLegacy(resolution.packageDir)) return true;
      // A tsconfig `paths` or `imports` target outside the run (another app's directory) that uses the API.
      return resolution.file !== undefined && outside?.fileUsesLegacy(resolution.file) === true;
    });
}

const SCRIPT_EXTENSION = /\.(?:[cm]?[jt]s|[jt]sx)$/;
/** A `#!` line that runs the file with a JavaScript runtime (`#!/usr/bin/env node`, `-S tsx`, `ts-node`, `bun`, `deno`, `zx`). */
const NODE_SHEBANG = /^#![^\n]*\b(?:node|nodejs|tsx|ts-node(?:-esm)?|bun|deno|zx)\b/;

/**
 * Scripts the walk does not list as sources because they have no script extension, though
 * they run as JavaScript: the `bin` entries of the walked package.json files (`bin/tool`,
 * with or without a `#!/usr/bin/env node` line), the files the package's `scripts` run by
 * path (`node scripts/cron`), and any walked file without an extension whose first line is
 * a node shebang. They may call the run's functions, or use the legacy API themselves.
 */
function unlistedScripts(configs: readonly string[], paths: readonly string[], extensionless: readonly string[]): string[] {
  const scripts = new Set<string>();
  const within = (file: string): boolean => paths.some((walked) => isWithin(file, walked));
  for (const config of configs) {
    if (path.basename(config) !== 'package.json' || !within(config)) continue;
    const manifest = readJsonObject(config);
    const dir = path.dirname(config);
    const bin = manifest?.['bin'];
    const entries = typeof bin === 'string' ? [bin] : bin && typeof bin === 'object' ? Object.values(bin as Record<string, unknown>) : [];
    for (const entry of entries) {
      if (typeof entry === 'string' && !SCRIPT_EXTENSION.test(entry)) scripts.add(path.resolve(dir, entry));
    }
    // `node scripts/cron`, `./scripts/cron --dry-run`, `node worker`: words naming a file without an extension.
    const commands = manifest?.['scripts'];
    const runs = commands && typeof commands === 'object' ? Object.values(commands as Record<string, unknown>).filter((c): c is string => typeof c === 'string') : [];
    // What the deployment runs beside the package: App Engine's `entrypoint: node worker` (app.yaml and
    // the other services' yaml files), a Procfile's `web: node scripts/web`.
    runs.push(...deploymentCommands(dir));
    for (const command of runs) {
      const words = command.split(/[\s;&|()]+/).map((word) => word.replace(/^['"]|['"]$/g, ''));
      words.forEach((bare, i) => {
        const afterNode = i > 0 && /^(?:node|nodejs)$/.test(words[i - 1]!) && !bare.startsWith('-');
        if (!(bare.includes('/') || afterNode) || bare === '' || bare.includes('$') || /^[a-z][\w+.-]*:/i.test(bare) || path.extname(path.basename(bare)) !== '') return;
        const file = path.resolve(dir, bare);
        if (within(file) && isFile(file)) scripts.add(file);
      });
    }
  }
  for (const file of extensionless) {
    if (scripts.has(file)) continue;
    const first = firstLine(file);
    if (first !== undefined && NODE_SHEBANG.test(first)) scripts.add(file);
  }
  return [...scripts];
}

/** The commands a package's deployment files run: `entrypoint:` of its App Engine yaml files, the lines of its Procfile. */
function deploymentCommands(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  const commands: string[] = [];
  for (const entry of entries) {
    const procfile = entry === 'Procfile';
    if (!procfile && !/\.ya?ml$/.test(entry)) continue;
    let text: string;
    try {
      const file = path.join(dir, entry);
      if (statSync(file).size > 64 * 1024) continue;
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const line = procfile ? /^[\w-]+:\s*(.+)$/gm : /^\s*entrypoint:\s*(.+)$/gm;
    for (const match of text.matchAll(line)) commands.push(match[1]!.trim());
  }
  return commands;
}

/** The unlisted scripts that name the legacy module; their relative imports of the run's files are recorded (`outside`). */
function findLegacyScripts(options: AnalyzeOptions, discovery: Discovery, matchers: ModuleMatchers, outside: OutsideModules | undefined): LegacyScript[] {
  if (options.singleFile) return [];
  const scripts = unlistedScripts(discovery.configs ?? [], options.paths ?? [options.root], discovery.extensionless ?? []);
  if (outside) for (const script of scripts) outside.visitFile(script);
  return scripts.map((script) => legacyScript(script, options.root, matchers.deferred)).filter((s): s is LegacyScript => s !== undefined);
}

/** The first 200 bytes of a file (its `#!` line), undefined when unreadable. */
function firstLine(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buffer = Buffer.alloc(200);
    const read = readSync(fd, buffer, 0, 200, 0);
    return buffer.toString('utf8', 0, read);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A script without extension that names the legacy module, and where it first does. */
export interface LegacyScript {
  absPath: string;
  rel: string;
  text: string;
  line: number;
  column: number;
}

function legacyScript(absPath: string, root: string, needles: readonly string[]): LegacyScript | undefined {
  let text: string;
  try {
    if (statSync(absPath).size > 4 * 1024 * 1024) return undefined;
    text = readFileSync(absPath, 'utf8');
  } catch {
    return undefined;
  }
  let offset = -1;
  for (const needle of needles) {
    const at = text.indexOf(needle);
    if (at >= 0 && (offset < 0 || at < offset)) offset = at;
  }
  if (offset < 0) return undefined;
  const before = text.slice(0, offset).split('\n');
  return { absPath, rel: toPosixRelative(root, absPath), text, line: before.length, column: before[before.length - 1]!.length + 1 };
}

function byRel(a: SourceRecord, b: SourceRecord): number {
  return a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0;
}

export function analyze(options: AnalyzeOptions): Analysis {
  const { discovery } = options;
  const index = options.index ?? new ProjectIndex(discovery.files, options.readText ?? readUtf8);
  // A tree that declares aliases: bare specifiers may resolve to its files or to the legacy modules.
  const aliases = discovery.aliasPrefixes ? new ModuleAliases(discovery, options.root, index, options.matchers) : undefined;
  if (aliases) index.useAliases(aliases);
  const matchers: ModuleMatchers = aliases ? { ...options.matchers, aliases } : options.matchers;
  const symbols = new SymbolTable(index, matchers);
  const scans = options.scans ?? scanSources(discovery.files, (absPath) => index.text(absPath), scanContext(discovery, prefilterNeedles(matchers)));

  let frontier: SourceRecord[] = [];
  const outside = options.singleFile ? undefined : (options.previous?.outside?.forIndex(index) ?? new OutsideModules(index, matchers));
  // The idempotency pass's: the same, since the migration does not change these scripts (they are not the run's files).
  const legacyScripts = options.previous?.legacyScripts ?? findLegacyScripts(options, discovery, matchers, outside);
  const aliasCandidate = aliases && aliasCandidates(aliases, scans, outside);
  for (const [absPath, scan] of scans) {
    // The modules outside the run its relative imports name (their own imports of the run's files too).
    const outsideLegacy = scan.outside !== undefined && outside?.visitFrom(absPath, scan.outside) === true;
    // A file that imports the legacy module only through an alias names none of the needles;
    // one importing a module outside the run that uses it, none either.
    // A test runner's manual mock of the legacy module names none of them either: the verification reports it.
    if (!scan.legacy && !(scan.aliased && aliasCandidate?.(absPath, scan.aliased)) && !outsideLegacy && !(absPath.includes('__mocks__') && mockedModuleRole(absPath, matchers))) continue;
    const record = index.load(absPath);
    if (record) frontier.push(record);
  }
  // Importers of loaded files that export something (barrels, handler bases, route
  // tables, task functions) may use legacy symbols without naming them.
  const imports = ImportGraph.of(discovery.files, scans, options.previous?.imports);
  const expanded = new Set<string>();
  while (frontier.length > 0) {
    const next: SourceRecord[] = [];
    for (const record of frontier) {
      if (expanded.has(record.absPath) || record.parseProblem) continue;
      expanded.add(record.absPath);
      if (!/\bexports?\b/.test(record.text)) continue;
      for (const importers of imports.importerCandidates(record.absPath, index)) {
        for (const absPath of importers) {
          if (index.isLoaded(absPath)) continue;
          if (!imports.importsOf(absPath, index).has(record.absPath)) continue;
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
  const appYamls = analyzeAppYamls(discovery.files.filter((f) => f.kind === 'app-yaml'), index, options.paths ?? [options.root], options.singleFile ? undefined : options.root, discovery.ignoredYamls);
  const queueYamls = analyzeQueueYamls(discovery.files.filter((f) => f.kind === 'app-yaml' && !YAML_TEMPLATE.test(f.absPath)), index);
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
    paths: options.paths ?? [options.root],
    jsdocTyped: candidates.some((r) => !r.isTypeScript && /@(type|param|returns?)\s*\{/.test(r.text)),
    nodeModulesIn: discovery.nodeModulesIn ?? [],
    configs: discovery.configs ?? [],
    legacyScripts,
    scans,
    imports,
    ...(outside ? { outside } : {}),
  };
}
