// The ts-morph project of one run: only the files the analysis asks for (prefilter
// candidates and their import neighbours) are read and parsed, each once.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as tsMorph from 'ts-morph';
import { Project, ts, type FileSystemHost, type SourceFile } from 'ts-morph';
import { isComponentPath, type DiscoveredFile } from './discover.js';
import { detectStyle, type CodeStyle } from './style.js';

export interface ParseProblem {
  line: number;
  column: number;
  message: string;
  /** A file the codemod does not read at all (a `.vue` component): it was not parsed. */
  unread?: true;
}

export interface SourceRecord {
  absPath: string;
  rel: string;
  text: string;
  /** TypeScript (types may be written) rather than JavaScript. */
  isTypeScript: boolean;
  sourceFile: SourceFile;
  parseProblem?: ParseProblem;
  style: CodeStyle;
}

/** What `module-aliases.ts` answers for a bare specifier (only its files matter here). */
export interface AliasFiles {
  resolve(fromAbsPath: string, specifier: string): { kind: string; absPath?: string } | undefined;
}

export type TextSource = (absPath: string) => string;

export const readUtf8: TextSource = (absPath) => readFileSync(absPath, 'utf8');

const RESOLUTION_EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs'];
const JS_TO_TS: Record<string, string[]> = {
  '.js': ['.ts', '.tsx', '.js', '.jsx'],
  '.jsx': ['.tsx', '.jsx'],
  '.mjs': ['.mts', '.mjs'],
  '.cjs': ['.cts', '.cjs'],
};

/** The real file system, except the one file being created from a text (if any). */
interface HidingFileSystem extends FileSystemHost {
  hidden: string | undefined;
}

// ts-morph's createSourceFile(path, text, { overwrite: true }) first reads and parses the
// file on disk when the project does not hold it yet, then parses the given text over
// it: a read and two parses per loaded file. While a file is created, the project's file
// system says it does not exist, so only the given text is parsed. Everything else (the
// checker's reads, directories) goes to the real file system.
// The error ts-morph expects from a file system for a missing file: exported at run
// time, not in its type declarations. Without it, nothing is hidden (slower, same result).
const FileNotFoundError = (tsMorph as unknown as { FileNotFoundError?: new (filePath: string) => Error }).FileNotFoundError;

/** ts-morph catches this error for every file created from a text: no stack to capture. */
function notFound(filePath: string): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new FileNotFoundError!(filePath);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function hidingFileSystem(): HidingFileSystem {
  const real = new Project({ skipAddingFilesFromTsConfig: true, skipLoadingLibFiles: true }).getFileSystem();
  const state = { hidden: undefined as string | undefined };
  const isHidden = (filePath: string): boolean => FileNotFoundError !== undefined && state.hidden !== undefined && path.resolve(filePath) === state.hidden;
  return new Proxy(real as HidingFileSystem, {
    get(target, property) {
      switch (property) {
        case 'hidden':
          return state.hidden;
        case 'readFileSync':
          return (filePath: string, encoding?: string) => {
            if (isHidden(filePath)) throw notFound(filePath);
            return target.readFileSync(filePath, encoding);
          };
        case 'readFile':
          return (filePath: string, encoding?: string) => (isHidden(filePath) ? Promise.reject(notFound(filePath)) : target.readFile(filePath, encoding));
        case 'fileExistsSync':
          return (filePath: string) => !isHidden(filePath) && target.fileExistsSync(filePath);
        case 'fileExists':
          return (filePath: string) => (isHidden(filePath) ? Promise.resolve(false) : target.fileExists(filePath));
        default: {
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        }
      }
    },
    set(target, property, value) {
      if (property !== 'hidden') return Reflect.set(target, property, value, target);
      state.hidden = value as string | undefined;
      return true;
    },
  });
}

/** The files a relative specifier's path may name, in the order Node, TypeScript and bundlers try them (`.js` → `.ts`, extensions, index files). */
export function resolutionCandidates(base: string): string[] {
  const candidates: string[] = [];
  const ext = path.extname(base);
  const mapped = JS_TO_TS[ext];
  if (mapped) candidates.push(...mapped.map((e) => base.slice(0, -ext.length) + e));
  candidates.push(base);
  for (const e of RESOLUTION_EXTENSIONS) candidates.push(base + e);
  for (const e of RESOLUTION_EXTENSIONS) candidates.push(path.join(base, 'index' + e));
  return candidates;
}

/**
 * Parsed declaration files of installed packages (`node_modules/**.d.ts`), shared by every
 * analysis project of the process: the re-resolution pass and every run of a test process
 * would otherwise parse `@types/node` and its neighbours again (about 0.7 s each). Parsing
 * and binding depend only on the path, the text, the script kind and the compiler options,
 * which every analysis project shares; TypeScript's own document registry shares files
 * between programs the same way. The run's own files are not shared: analysis caches
 * keyed by a compiler source file take it to belong to one project.
 */
const packageDeclarations = new Map<string, ts.SourceFile>();
const PACKAGE_DECLARATION = /[\\/]node_modules[\\/].*\.d\.[cm]?ts$/;

interface DocumentRegistryLike {
  createOrUpdateSourceFile(fileName: string, settings: ts.CompilerOptions, snapshot: ts.IScriptSnapshot, scriptKind?: ts.ScriptKind): ts.SourceFile;
  acquireDocument(fileName: string, settings: ts.CompilerOptions, snapshot: ts.IScriptSnapshot, version: string, scriptKind?: ts.ScriptKind): ts.SourceFile;
  getSourceFileVersion(sourceFile: ts.SourceFile): string;
}

/**
 * ts-morph creates every compiler source file through its project's document registry
 * (not public API: without it, nothing is shared). Its language service (reference
 * searches) asks the same registry by path and version: it gets the shared file the
 * project's program holds, not a copy of its own.
 */
function sharePackageDeclarations(project: Project): void {
  const registry = (project as unknown as { _context?: { compilerFactory?: { documentRegistry?: DocumentRegistryLike } } })._context?.compilerFactory?.documentRegistry;
  if (!registry || typeof registry.createOrUpdateSourceFile !== 'function' || typeof registry.acquireDocument !== 'function') return;
  const create = registry.createOrUpdateSourceFile.bind(registry);
  const acquire = registry.acquireDocument.bind(registry);
  const shared = new Map<string, ts.SourceFile>();
  registry.createOrUpdateSourceFile = (fileName, settings, snapshot, scriptKind) => {
    if (!PACKAGE_DECLARATION.test(fileName)) return create(fileName, settings, snapshot, scriptKind);
    const key = `${settings.target ?? ''}\u0000${scriptKind ?? ''}\u0000${fileName}`;
    const cached = packageDeclarations.get(key);
    const file = cached?.text === snapshot.getText(0, snapshot.getLength()) ? cached : create(fileName, settings, snapshot, scriptKind);
    packageDeclarations.set(key, file);
    shared.set(fileName, file);
    return file;
  };
  registry.acquireDocument = (fileName, settings, snapshot, version, scriptKind) => {
    const held = shared.get(fileName);
    return held && registry.getSourceFileVersion(held) === version ? held : acquire(fileName, settings, snapshot, version, scriptKind);
  };
}

function analysisProject(fileSystem: FileSystemHost): Project {
  const project = new Project({
    fileSystem,
    skipAddingFilesFromTsConfig: true,
    skipFileDependencyResolution: true,
    skipLoadingLibFiles: true,
    compilerOptions: { allowJs: true, noLib: true, jsx: ts.JsxEmit.Preserve, target: ts.ScriptTarget.ES2022 },
  });
  sharePackageDeclarations(project);
  return project;
}

export class ProjectIndex {
  private readonly fileSystem = hidingFileSystem();
  readonly project = analysisProject(this.fileSystem);
  private readonly records = new Map<string, SourceRecord | null>();
  /** Bare specifiers that are aliases of the tree (`module-aliases.ts`); set by the analysis. */
  private aliases: AliasFiles | undefined;
  private readonly known = new Map<string, DiscoveredFile>();
  readonly unreadable = new Map<string, string>();

  constructor(files: DiscoveredFile[], private readonly readText: TextSource = readUtf8) {
    for (const file of files) this.known.set(file.absPath, file);
  }

  isKnown(absPath: string): boolean {
    return this.known.has(absPath);
  }

  knownFiles(): DiscoveredFile[] {
    return [...this.known.values()];
  }

  /** Reads the text of a known file; undefined (and recorded) when unreadable. */
  text(absPath: string): string | undefined {
    const loaded = this.records.get(absPath);
    if (loaded) return loaded.text;
    try {
      return this.readText(absPath);
    } catch (error) {
      this.unreadable.set(absPath, (error as Error).message);
      return undefined;
    }
  }

  /** The text of a file this index parsed (no read). */
  loadedText(absPath: string): string | undefined {
    return this.records.get(absPath)?.text;
  }

  loaded(): SourceRecord[] {
    return [...this.records.values()].filter((r): r is SourceRecord => r !== null);
  }

  isLoaded(absPath: string): boolean {
    return this.records.has(absPath);
  }

  /** Parses a known source file (once); undefined if unknown or unreadable. */
  load(absPath: string): SourceRecord | undefined {
    const cached = this.records.get(absPath);
    if (cached !== undefined) return cached ?? undefined;
    const known = this.known.get(absPath);
    if (!known || known.kind !== 'source') return undefined;
    const text = this.text(absPath);
    if (text === undefined) {
      this.records.set(absPath, null);
      return undefined;
    }
    // A component's script is not TypeScript of its own: it stands in the project empty, unread.
    const component = isComponentPath(absPath);
    this.fileSystem.hidden = path.resolve(absPath);
    let sourceFile: SourceFile;
    try {
      sourceFile = this.project.createSourceFile(absPath, component ? '' : text, { overwrite: true });
    } finally {
      this.fileSystem.hidden = undefined;
    }
    const record: SourceRecord = {
      absPath,
      rel: known.rel,
      text,
      isTypeScript: /\.(m|c)?tsx?$/.test(absPath),
      sourceFile,
      style: detectStyle(text, sourceFile),
    };
    const problem = component ? { line: 1, column: 1, message: `a ${path.extname(absPath)} file, which the codemod does not read`, unread: true as const } : firstParseProblem(sourceFile);
    if (problem) record.parseProblem = problem;
    this.records.set(absPath, record);
    return record;
  }

  // Resolutions by directory and specifier: the import expansion asks the same ones
  // for every exporting file whose name an importer mentions (dense trees: millions).
  private readonly resolutions = new Map<string, string | undefined>();

  /** Resolves bare specifiers through the tree's aliases from now on (they keep their own answers). */
  useAliases(aliases: AliasFiles): void {
    this.aliases = aliases;
  }

  /** Whether a bare specifier is an alias of the tree that leads to no source file of the run. */
  isUnfollowedAlias(fromAbsPath: string, specifier: string): boolean {
    return this.aliases?.resolve(fromAbsPath, specifier)?.kind === 'unfollowed';
  }

  /** Resolves a relative specifier, or an alias of the tree, to a known project file. */
  resolve(fromAbsPath: string, specifier: string): string | undefined {
    if (!specifier.startsWith('.')) {
      const resolved = this.aliases?.resolve(fromAbsPath, specifier);
      return resolved?.kind === 'file' ? resolved.absPath : undefined;
    }
    const fromDir = path.dirname(fromAbsPath);
    const key = fromDir + '\0' + specifier;
    if (this.resolutions.has(key)) return this.resolutions.get(key);
    const resolved = this.resolveUncached(fromDir, specifier);
    this.resolutions.set(key, resolved);
    return resolved;
  }

  private resolveUncached(fromDir: string, specifier: string): string | undefined {
    return this.source(path.resolve(fromDir, specifier));
  }

  /** The known source file a path without (or with a JavaScript) extension names, as a relative specifier would. */
  source(base: string): string | undefined {
    return resolutionCandidates(base).find((c) => this.known.get(c)?.kind === 'source');
  }
}

function firstParseProblem(sourceFile: SourceFile): ParseProblem | undefined {
  const diagnostics = (sourceFile.compilerNode as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics;
  const first = diagnostics?.[0];
  if (!first) return undefined;
  const { line, character } = ts.getLineAndCharacterOfPosition(sourceFile.compilerNode, first.start);
  return { line: line + 1, column: character + 1, message: ts.flattenDiagnosticMessageText(first.messageText, '\n') };
}
