// Type-checks many generated programs in one TypeScript program (typescript 6
// compiler API): the legacy specifiers resolve to fixtures/legacy-runtime, and
// `deferred-migrate/shim` to shim/index.ts, through `paths`. File texts come from
// a map (the inputs, which are no longer on disk) or from disk.
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { turnTaker } from '../../support/diagnostics.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)));
export const LEGACY_DEFERRED_ENTRY = join(REPO_ROOT, 'fixtures/legacy-runtime/google/appengine/ext/deferred/index.ts');
const LEGACY_WEBAPP_ENTRY = join(REPO_ROOT, 'fixtures/legacy-runtime/google/appengine/ext/webapp/index.ts');
const SHIM_ENTRY = join(REPO_ROOT, 'shim/index.ts');

const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
  strict: true,
  noImplicitOverride: true,
  esModuleInterop: true,
  skipLibCheck: true,
  noEmit: true,
  allowImportingTsExtensions: true,
  paths: {
    '*/appengine/ext/deferred': [LEGACY_DEFERRED_ENTRY],
    '*/appengine/ext/deferred/index.js': [LEGACY_DEFERRED_ENTRY],
    '*/appengine/ext/webapp': [LEGACY_WEBAPP_ENTRY],
    'deferred-migrate/shim': [SHIM_ENTRY],
    express: [join(REPO_ROOT, 'node_modules/@types/express/index.d.ts')],
  },
};

export interface FileDiagnostic {
  file: string;
  line: number;
  message: string;
}

/** Diagnostics per root file (absolute path); texts in `overrides` win over the disk. */
export async function typeCheckFiles(rootFiles: string[], overrides: Map<string, string> = new Map()): Promise<Map<string, FileDiagnostic[]>> {
  const host = ts.createCompilerHost(OPTIONS, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (file) => overrides.get(resolve(file)) ?? readFile(file);
  host.fileExists = (file) => overrides.has(resolve(file)) || fileExists(file);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) => {
    const text = overrides.get(resolve(file));
    return text !== undefined ? ts.createSourceFile(file, text, languageVersion, true) : getSourceFile(file, languageVersion, onError, shouldCreate);
  };
  const program = ts.createProgram({ rootNames: rootFiles, options: OPTIONS, host });
  const byFile = new Map<string, FileDiagnostic[]>(rootFiles.map((file) => [resolve(file), []]));
  for (const diagnostic of [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()]) {
    throw new Error(`type-check set-up is broken: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
  }
  // Back to the event loop now and then (checking thousands of files on a loaded machine).
  const turn = turnTaker();
  for (const file of rootFiles) {
    await turn();
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`type-check: ${file} is not in the program`);
    for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const line = diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line + 1;
      byFile.get(resolve(file))!.push({
        file: relative(REPO_ROOT, file).split(sep).join('/'),
        line,
        message: `TS${diagnostic.code} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`,
      });
    }
  }
  return byFile;
}

/** Syntax errors of one text, parsed as TypeScript (the file name picks TS/TSX/JS). */
export function syntaxErrors(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const diagnostics = (source as unknown as { parseDiagnostics: ts.Diagnostic[] }).parseDiagnostics;
  return diagnostics.map((d) => `${fileName}:${source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

export function vendorReexport(vendorFile: string): string {
  let specifier = relative(dirname(vendorFile), LEGACY_DEFERRED_ENTRY).split(sep).join('/');
  if (!specifier.startsWith('.')) specifier = `./${specifier}`;
  return `export * from '${specifier}';\nexport { default } from '${specifier}';\n`;
}
