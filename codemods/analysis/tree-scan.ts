// The text-only pass over a tree: which files there are (discovery) and what cheap
// text scans find in each source (prefilter hits, relative specifiers). It needs no
// parser, so the CLI runs it in a worker thread while the main thread loads the
// TypeScript toolchain (`cli/background-scan.ts`). Texts are not kept: only the files
// the analysis loads are read again, so memory does not grow with the tree's text.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { discoverSync, type DiscoveredFile, type Discovery } from './discover.js';
import { aliasSpecifiers, bareSpecifiers, containsAny, DIRECTORY_LOADERS, HOST_APP_NEEDLES, relativeSpecifiers, unnamedLoads } from './prefilter.js';
import { runFilesOf, type RunFiles } from './run-files.js';

/** The text-only facts of one source file. */
export interface TextScan {
  /** Names the legacy API (or the shim): the file is parsed. */
  legacy: boolean;
  /** Creates a host app (express(), new Koa(), ...). */
  host: boolean;
  /** Relative specifiers it imports or requires, in text order. */
  specifiers: string[];
  /** Those of `specifiers` that name no source file of the run by their path (outside-modules.ts resolves them); absent when none. */
  outside?: string[];
  /** Bare specifiers that may be aliases (`alias-config.ts`), in text order; absent when none. */
  aliased?: string[];
  /** Every distinct bare specifier (packages, aliases); absent when none. */
  bare?: string[];
  /** Requires or imports a computed path (`require(name)`), may read the module registry (`require.cache`) or load by a pattern or directory (`import.meta.glob`, `require-all`); absent when it does not. */
  computedImport?: true;
  /** May load a module by other means than `require()`/`import()`/`from` (`createRequire`, `module.require`); absent when it may not. */
  unseenLoad?: true;
}

/** Text scans by absolute path. */
export type TextScans = Map<string, TextScan>;

export interface TreeScan {
  /** Unreadable entries include the files that could not be read for their scan. */
  discovery: Discovery;
  scans: TextScans;
}

/** What the engine does while a scan completes (on its own thread, between scans). */
export interface ScanHooks {
  /** The file list, before any file is scanned. */
  discovered?(discovery: Discovery): void;
  /** One source file's scan, as soon as it is known (in no particular order). */
  scanned?(absPath: string, scan: TextScan): void;
}

/**
 * A scan of the run's tree that may already be under way (the CLI's worker thread):
 * `finish` completes it, calling the hooks as it goes, so the engine can parse the
 * files that name the legacy API while the rest of the tree is still being read.
 */
export interface TreeScanSource {
  finish(hooks?: ScanHooks): Promise<TreeScan>;
}

/** What every file of a tree is scanned against. */
export interface ScanContext {
  needles: readonly string[];
  /** The discovery's (absent in a tree that declares no aliases). */
  aliasPrefixes?: readonly string[];
  runFiles: RunFiles;
}

/** The scan context of a discovery. */
export function scanContext(discovery: Discovery, needles: readonly string[]): ScanContext {
  return { needles, ...(discovery.aliasPrefixes ? { aliasPrefixes: discovery.aliasPrefixes } : {}), runFiles: runFilesOf(discovery.files) };
}

export function scanText(absPath: string, text: string, context: ScanContext): TextScan {
  const scan: TextScan = { legacy: containsAny(text, context.needles), host: containsAny(text, HOST_APP_NEEDLES), specifiers: relativeSpecifiers(text) };
  const outside = context.runFiles.unnamed(dirname(absPath), scan.specifiers);
  if (outside.length > 0) scan.outside = outside;
  if (context.aliasPrefixes !== undefined) {
    const aliased = aliasSpecifiers(text, context.aliasPrefixes);
    if (aliased.length > 0) scan.aliased = aliased;
  }
  const bare = bareSpecifiers(text);
  if (bare.specifiers.length > 0) scan.bare = bare.specifiers;
  const loads = unnamedLoads(text);
  // Loads no specifier names: a computed path, the module registry, a pattern or a directory.
  if (bare.computed || loads.registry || loads.pattern || bare.specifiers.some((specifier) => DIRECTORY_LOADERS.has(specifier))) scan.computedImport = true;
  if (loads.unseen) scan.unseenLoad = true;
  return scan;
}

/** Scans the source files among `files`; a file whose text is undefined (unreadable) gets no scan. */
export function scanSources(files: readonly DiscoveredFile[], read: (absPath: string) => string | undefined, context: ScanContext): TextScans {
  const scans: TextScans = new Map();
  for (const file of files) {
    if (file.kind !== 'source') continue;
    const text = read(file.absPath);
    if (text !== undefined) scans.set(file.absPath, scanText(file.absPath, text, context));
  }
  return scans;
}

/** What scanning one file gave: its scan, or why it could not be read. */
export type FileScanResult = TextScan | { unreadable: string };

/** Reads and scans one source file. */
export function scanFile(absPath: string, context: ScanContext): FileScanResult {
  let text: string;
  try {
    text = readFileSync(absPath, 'utf8');
  } catch (error) {
    return { unreadable: (error as Error).message };
  }
  return scanText(absPath, text, context);
}

/**
 * The tree scan from per-file results (`results[i]` for `discovery.files[i]`; absent for
 * files that are not sources), in discovery order whoever scanned which file.
 */
export function assembleTreeScan(discovery: Discovery, results: ReadonlyArray<FileScanResult | undefined>): TreeScan {
  const scans: TextScans = new Map();
  const unreadable = [...discovery.unreadable];
  discovery.files.forEach((file, i) => {
    const result = results[i];
    if (result === undefined) return;
    if ('unreadable' in result) unreadable.push({ absPath: file.absPath, rel: file.rel, error: result.unreadable });
    else scans.set(file.absPath, result);
  });
  return { discovery: { ...discovery, unreadable }, scans };
}

/** Discovery and text scans of `paths`, reading every source file once. */
export function scanTree(paths: string[], root: string, needles: readonly string[]): TreeScan {
  const discovery = discoverSync(paths, root);
  const context = scanContext(discovery, needles);
  return assembleTreeScan(
    discovery,
    discovery.files.map((file) => (file.kind === 'source' ? scanFile(file.absPath, context) : undefined)),
  );
}

/** The scans of a tree after some texts changed (the idempotency pass): only those are scanned again. */
export function rescanChanged(scans: TextScans, changed: Iterable<[string, string]>, context: ScanContext): TextScans {
  const next: TextScans = new Map(scans);
  for (const [absPath, text] of changed) next.set(absPath, scanText(absPath, text, context));
  return next;
}
