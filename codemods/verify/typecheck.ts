// Verification (b): the type checker's view of the migration. For every changed
// file under a tsconfig.json / jsconfig.json, the diagnostics of the changed files
// and of the files importing them are compared before and after (after = the
// migrated texts, in memory); each diagnostic only the after side has is a
// regression the migration introduced.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Project, ts } from 'ts-morph';

const CONFIG_NAMES = ['tsconfig.json', 'jsconfig.json'];

export interface NewDiagnostic {
  absPath: string;
  /** Offset in the migrated text. */
  offset: number;
  code: number;
  message: string;
}

export interface ShimResolution {
  /** A file importing the shim (where the item goes) and the offset of the specifier. */
  absPath: string;
  offset: number;
  /** The project cannot resolve the shim and no fallback types were given: its diagnostics were dropped. */
  unresolved: boolean;
  /** The running tool's shim types stood in for the uninstalled package. */
  fallback: boolean;
}

export interface TypeCheckResult {
  /** Config files used; empty when no changed file is under one (nothing checked). */
  configs: string[];
  /** Files whose diagnostics were compared. */
  compared: number;
  diagnostics: NewDiagnostic[];
  shim?: ShimResolution;
  /**
   * Compared files whose own imports did not resolve before the migration (the
   * project's dependencies are not installed): their new diagnostics are left
   * out, because an unresolved import turns types to `any` differently before and after.
   */
  unverified: Array<{ absPath: string; modules: string[] }>;
}

export interface TypeCheckInput {
  root: string;
  /** absPath → migrated text, for every file the migration changes. */
  changed: ReadonlyMap<string, string>;
  shimModule: string;
  /** Declaration (or source) file standing in for the shim module when the project cannot resolve it. */
  shimTypes?: string;
  /** Whether a specifier, imported from a file, denotes the legacy modules (which need not resolve: the migration removes them). */
  isLegacySpecifier?: (specifier: string, fromAbsPath: string) => boolean;
}

/** The nearest tsconfig.json / jsconfig.json from the file's directory up to `root`. */
export function findConfigFor(absPath: string, root: string): string | undefined {
  let dir = path.dirname(absPath);
  const stop = path.resolve(root);
  for (;;) {
    for (const name of CONFIG_NAMES) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (dir === stop || parent === dir || path.relative(stop, parent).startsWith('..')) return undefined;
    dir = parent;
  }
}

/** Whether any of the files is under a config (the 'auto' verify setting). */
export function hasTypeConfig(absPaths: Iterable<string>, root: string): boolean {
  for (const absPath of absPaths) if (findConfigFor(absPath, root)) return true;
  return false;
}

function readConfig(configPath: string): ts.ParsedCommandLine | undefined {
  const read = ts.readConfigFile(configPath, ts.sys.readFile);
  if (read.error) return undefined;
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(configPath), undefined, configPath);
  // As editors read a jsconfig.json: it is about JavaScript.
  if (path.basename(configPath) === 'jsconfig.json') parsed.options.allowJs = true;
  return parsed;
}

/**
 * The standard library's declarations for these options. The TypeScript bundled
 * with ts-morph has no lib files on disk (ts-morph serves them from memory), so
 * they are taken, parsed, from an in-memory ts-morph program with the same
 * options, and cached: every run of a process checks against the same libs.
 */
const LIB_DIR = '/node_modules/typescript/lib';
const libCache = new Map<string, Map<string, ts.SourceFile>>();

function libFilesFor(options: ts.CompilerOptions): Map<string, ts.SourceFile> {
  const key = JSON.stringify([options.lib ?? null, options.target ?? null, options.noLib ?? false, options.jsx ?? null]);
  let files = libCache.get(key);
  if (!files) {
    const memory = new Project({
      useInMemoryFileSystem: true,
      compilerOptions: { ...(options.lib ? { lib: options.lib } : {}), ...(options.target !== undefined ? { target: options.target } : {}), noLib: options.noLib ?? false, types: [] },
    });
    memory.createSourceFile('/empty.ts', 'export {};');
    files = new Map(
      memory
        .getProgram()
        .compilerObject.getSourceFiles()
        .filter((f) => f.fileName.startsWith(`${LIB_DIR}/`))
        .map((f) => [path.posix.basename(f.fileName), f]),
    );
    libCache.set(key, files);
  }
  return files;
}

/** Declarations under node_modules do not change between the two programs (nor between runs): parse them once. */
const packageCache = new Map<string, ts.SourceFile>();

/** What the two programs of one check share: parsed files and the disk's answers (the disk does not change meanwhile). */
interface SharedHostState {
  parsed: Map<string, ts.SourceFile>;
  fileExists: Map<string, boolean>;
  directoryExists: Map<string, boolean>;
}

function memoized(cache: Map<string, boolean>, ask: (name: string) => boolean): (name: string) => boolean {
  return (name) => {
    let answer = cache.get(name);
    if (answer === undefined) {
      answer = ask(name);
      cache.set(name, answer);
    }
    return answer;
  };
}

/**
 * A compiler host over the real files, with `overrides` standing in for the
 * migrated ones. `shared.parsed` is shared by the before and after hosts: the after
 * program then reuses every unchanged file as it is (TypeScript's structure reuse).
 */
function createHost(options: ts.CompilerOptions, overrides: ReadonlyMap<string, string>, input: TypeCheckInput, fallback: boolean, shared: SharedHostState): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const libs = libFilesFor(options);
  const libPath = (fileName: string) => (fileName.startsWith(`${LIB_DIR}/`) ? path.posix.basename(fileName) : undefined);
  const getSourceFile = host.getSourceFile.bind(host);
  const parsed = shared.parsed;
  // Module resolution asks the disk the same questions for every file, and again for
  // the second program: one stat per path and kind.
  const fileExists = memoized(shared.fileExists, host.fileExists.bind(host));
  if (host.directoryExists) host.directoryExists = memoized(shared.directoryExists, host.directoryExists.bind(host));
  const readFile = host.readFile.bind(host);
  host.getDefaultLibLocation = () => LIB_DIR;
  host.getDefaultLibFileName = (o) => `${LIB_DIR}/${ts.getDefaultLibFileName(o)}`;
  host.fileExists = (fileName) => (libPath(fileName) !== undefined ? libs.has(libPath(fileName)!) : overrides.has(path.resolve(fileName)) || fileExists(fileName));
  host.readFile = (fileName) => {
    const lib = libPath(fileName);
    if (lib !== undefined) return libs.get(lib)?.text;
    return overrides.get(path.resolve(fileName)) ?? readFile(fileName);
  };
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    const lib = libPath(fileName);
    if (lib !== undefined) return libs.get(lib);
    const override = overrides.get(path.resolve(fileName));
    if (override !== undefined) return ts.createSourceFile(fileName, override, languageVersion, true);
    const cache = fileName.includes('/node_modules/') ? packageCache : parsed;
    const key = `${typeof languageVersion === 'object' ? JSON.stringify(languageVersion) : languageVersion}\u0000${fileName}`;
    let file = cache.get(key);
    if (!file) {
      file = getSourceFile(fileName, languageVersion, onError, shouldCreate);
      if (file) cache.set(key, file);
    }
    return file;
  };
  if (fallback && input.shimTypes) {
    const shimTypes = input.shimTypes;
    const cache = ts.createModuleResolutionCache(host.getCurrentDirectory(), (f) => host.getCanonicalFileName(f), options);
    host.resolveModuleNameLiterals = (literals, containingFile, redirected, compilerOptions, containingSourceFile) =>
      literals.map((literal) => {
        const mode = ts.getModeForUsageLocation(containingSourceFile, literal, compilerOptions);
        const resolved = ts.resolveModuleName(literal.text, containingFile, compilerOptions, host, cache, redirected, mode);
        if (resolved.resolvedModule || literal.text !== input.shimModule) return resolved;
        const extension = /\.d\.[cm]?ts$/.test(shimTypes) ? ts.Extension.Dts : ts.Extension.Ts;
        return { resolvedModule: { resolvedFileName: shimTypes, extension, isExternalLibraryImport: true } };
      });
  }
  return host;
}

function diagnosticsOf(program: ts.Program, sourceFile: ts.SourceFile | undefined): ts.Diagnostic[] {
  if (!sourceFile) return [];
  return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
}

function identity(d: ts.Diagnostic): string {
  return `${d.code}\u0000${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
}

const MISSING_MODULE_CODES = new Set([2307, 2792, 7016]);

/**
 * Files of the project that import one of `targets`, found without parsing the
 * project: only texts that name a target's file stem are scanned for imports.
 */
function importersOf(fileNames: readonly string[], options: ts.CompilerOptions, targets: ReadonlySet<string>): string[] {
  const stems = [...new Set([...targets].map((t) => path.basename(t).replace(/\.(d\.)?[cm]?[jt]sx?$/, '')))];
  const dirNames = [...new Set([...targets].filter((t) => /^index\./.test(path.basename(t))).map((t) => path.basename(path.dirname(t))))];
  const cache = ts.createModuleResolutionCache(process.cwd(), (f) => f, options);
  const importers: string[] = [];
  for (const file of fileNames) {
    if (targets.has(file) || DECLARATION_FILE.test(file)) continue;
    const text = ts.sys.readFile(file);
    if (text === undefined || (!stems.some((stem) => text.includes(stem)) && !dirNames.some((dir) => text.includes(dir)))) continue;
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      if (!imported.fileName.startsWith('.')) continue;
      const resolved = ts.resolveModuleName(imported.fileName, file, options, ts.sys, cache).resolvedModule;
      if (resolved && targets.has(path.resolve(resolved.resolvedFileName))) {
        importers.push(file);
        break;
      }
    }
  }
  return importers;
}

const DECLARATION_FILE = /\.d\.[cm]?ts$/;

export function typeCheckMigration(input: TypeCheckInput): TypeCheckResult {
  const byConfig = new Map<string, string[]>();
  for (const absPath of input.changed.keys()) {
    if (!/\.[cm]?[jt]sx?$/.test(absPath)) continue;
    const config = findConfigFor(absPath, input.root);
    if (config) byConfig.set(config, [...(byConfig.get(config) ?? []), absPath]);
  }
  const result: TypeCheckResult = { configs: [...byConfig.keys()].sort(), compared: 0, diagnostics: [], unverified: [] };
  for (const [configPath, files] of byConfig) {
    const parsed = readConfig(configPath);
    if (!parsed) continue;
    const options: ts.CompilerOptions = { ...parsed.options, noEmit: true };
    const rootNames = parsed.fileNames.map((f) => path.resolve(f));
    const roots = new Set(rootNames);
    const inProgram = files.filter((f) => roots.has(f));
    if (inProgram.length === 0) continue;
    // The project resolves the shim itself once deferred-migrate is installed; before that, the given types stand in.
    const fallback = input.shimTypes !== undefined && ts.resolveModuleName(input.shimModule, inProgram[0]!, options, ts.sys).resolvedModule === undefined;
    const targets = new Set(inProgram);
    const compared = [...inProgram, ...importersOf(rootNames, options, targets)];
    result.compared += compared.length;
    // Only what the compared files need: themselves, the project's declaration files
    // (ambient modules, globals) and whatever they import. Not the whole project:
    // its other files cannot change these files' diagnostics, and parsing them all
    // would cost the time and memory of a full build.
    const programRoots = [...new Set([...compared, ...rootNames.filter((f) => DECLARATION_FILE.test(f))])];
    const shared: SharedHostState = { parsed: new Map(), fileExists: new Map(), directoryExists: new Map() };
    const before = ts.createProgram({ rootNames: programRoots, options, host: createHost(options, new Map(), input, fallback, shared) });
    const beforeRaw = new Map(compared.map((f) => [f, diagnosticsOf(before, before.getSourceFile(f))]));
    const beforeDiagnostics = new Map([...beforeRaw].map(([f, list]) => [f, list.map(identity)]));
    const unresolvedBefore = new Map<string, string[]>();
    for (const [absPath, list] of beforeRaw) {
      const modules = list
        .filter((d) => MISSING_MODULE_CODES.has(d.code))
        .map((d) => /'([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, '\n'))?.[1] ?? '?')
        .filter((m) => m !== input.shimModule && !(input.isLegacySpecifier?.(m, absPath) ?? false));
      if (modules.length > 0) unresolvedBefore.set(absPath, [...new Set(modules)]);
    }
    const after = ts.createProgram({ rootNames: programRoots, options, host: createHost(options, input.changed, input, fallback, shared), oldProgram: before });
    for (const absPath of compared) {
      const unresolved = unresolvedBefore.get(absPath);
      if (unresolved) {
        result.unverified.push({ absPath, modules: unresolved });
        continue;
      }
      const remaining = beforeDiagnostics.get(absPath) ?? [];
      for (const diagnostic of diagnosticsOf(after, after.getSourceFile(absPath))) {
        const key = identity(diagnostic);
        const index = remaining.indexOf(key);
        if (index >= 0) {
          remaining.splice(index, 1);
          continue;
        }
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
        const offset = diagnostic.start ?? 0;
        if (MISSING_MODULE_CODES.has(diagnostic.code) && message.includes(`'${input.shimModule}'`)) {
          // One clear item for the uninstalled package instead of one per importing file.
          result.shim ??= { absPath, offset, unresolved: true, fallback: false };
          continue;
        }
        result.diagnostics.push({ absPath, offset, code: diagnostic.code, message });
      }
    }
    if (fallback && !result.shim) {
      const first = inProgram.find((f) => input.changed.get(f)!.includes(input.shimModule));
      if (first) result.shim = { absPath: first, offset: Math.max(0, input.changed.get(first)!.indexOf(input.shimModule)), unresolved: false, fallback: true };
    }
  }
  return result;
}
