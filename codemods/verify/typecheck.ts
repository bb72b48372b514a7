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
  /** Whether a specifier denotes the legacy modules (which need not resolve: the migration removes them). */
  isLegacySpecifier?: (specifier: string) => boolean;
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

/**
 * The project of one config, through ts-morph (which also supplies the standard
 * library's declarations). When the project cannot resolve the shim module (not
 * installed yet) and `shimTypes` is given, the shim module resolves to it.
 */
function createProject(configPath: string, anyFile: string, input: TypeCheckInput): { project: Project; fallback: boolean } {
  const probe = new Project({ tsConfigFilePath: configPath, skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true });
  const options = probe.getCompilerOptions();
  if (path.basename(configPath) === 'jsconfig.json') options.allowJs = true; // as editors read a jsconfig
  const resolvesShim = ts.resolveModuleName(input.shimModule, anyFile, options, ts.sys).resolvedModule !== undefined;
  const fallback = !resolvesShim && input.shimTypes !== undefined;
  const shimTypes = input.shimTypes;
  const project = new Project({
    tsConfigFilePath: configPath,
    compilerOptions: { ...options, noEmit: true },
    ...(fallback && shimTypes
      ? {
          resolutionHost: (host: ts.ModuleResolutionHost, getOptions: () => ts.CompilerOptions) => ({
            resolveModuleNames: (names: string[], containingFile: string) =>
              names.map((name) => {
                const resolved = ts.resolveModuleName(name, containingFile, getOptions(), host).resolvedModule;
                if (resolved || name !== input.shimModule) return resolved;
                return { resolvedFileName: shimTypes, extension: /\.d\.[cm]?ts$/.test(shimTypes) ? ts.Extension.Dts : ts.Extension.Ts, isExternalLibraryImport: true };
              }),
          }),
        }
      : {}),
  });
  return { project, fallback };
}

function diagnosticsOf(program: ts.Program, sourceFile: ts.SourceFile | undefined): ts.Diagnostic[] {
  if (!sourceFile) return [];
  return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)];
}

function identity(d: ts.Diagnostic): string {
  return `${d.code}\u0000${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
}

const MISSING_MODULE_CODES = new Set([2307, 2792, 7016]);

/** Files of the project (outside node_modules) that import one of `targets`. */
function importersOf(project: Project, targets: ReadonlySet<string>): string[] {
  const importers: string[] = [];
  for (const sourceFile of project.getSourceFiles()) {
    const file = path.resolve(sourceFile.getFilePath());
    if (sourceFile.isDeclarationFile() || sourceFile.isInNodeModules() || targets.has(file)) continue;
    const imports = [...sourceFile.getImportDeclarations(), ...sourceFile.getExportDeclarations()].map((d) => d.getModuleSpecifierSourceFile());
    if (imports.some((target) => target && targets.has(path.resolve(target.getFilePath())))) importers.push(file);
    else if (/\brequire\s*\(/.test(sourceFile.getFullText())) {
      // CommonJS: `require('./x')` resolved like an import.
      const program = project.getProgram().compilerObject;
      for (const imported of ts.preProcessFile(sourceFile.getFullText(), true, true).importedFiles) {
        const resolved = ts.resolveModuleName(imported.fileName, file, program.getCompilerOptions(), ts.sys).resolvedModule;
        if (resolved && targets.has(path.resolve(resolved.resolvedFileName))) {
          importers.push(file);
          break;
        }
      }
    }
  }
  return importers;
}

export function typeCheckMigration(input: TypeCheckInput): TypeCheckResult {
  const byConfig = new Map<string, string[]>();
  for (const absPath of input.changed.keys()) {
    if (!/\.[cm]?[jt]sx?$/.test(absPath)) continue;
    const config = findConfigFor(absPath, input.root);
    if (config) byConfig.set(config, [...(byConfig.get(config) ?? []), absPath]);
  }
  const result: TypeCheckResult = { configs: [...byConfig.keys()].sort(), compared: 0, diagnostics: [], unverified: [] };
  for (const [configPath, files] of byConfig) {
    const { project, fallback } = createProject(configPath, files[0]!, input);
    const inProgram = files.filter((f) => project.getSourceFile(f) !== undefined);
    if (inProgram.length === 0) continue;
    const targets = new Set(inProgram);
    const compared = [...inProgram, ...importersOf(project, targets)];
    result.compared += compared.length;
    const before = project.getProgram().compilerObject;
    const beforeRaw = new Map(compared.map((f) => [f, diagnosticsOf(before, before.getSourceFile(f))]));
    const beforeDiagnostics = new Map([...beforeRaw].map(([f, list]) => [f, list.map(identity)]));
    const unresolvedBefore = new Map<string, string[]>();
    for (const [absPath, list] of beforeRaw) {
      const modules = list
        .filter((d) => MISSING_MODULE_CODES.has(d.code))
        .map((d) => /'([^']+)'/.exec(ts.flattenDiagnosticMessageText(d.messageText, '\n'))?.[1] ?? '?')
        .filter((m) => m !== input.shimModule && !(input.isLegacySpecifier?.(m) ?? false));
      if (modules.length > 0) unresolvedBefore.set(absPath, [...new Set(modules)]);
    }
    for (const absPath of inProgram) project.getSourceFileOrThrow(absPath).replaceWithText(input.changed.get(absPath)!);
    const after = project.getProgram().compilerObject;
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
