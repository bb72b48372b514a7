// Type-check an app copy with the TypeScript compiler API, using the app's own
// tsconfig.json, and compare diagnostics before and after migration.
import { dirname, relative, sep } from 'node:path';
import ts from 'typescript';
import { preEmitDiagnostics } from '../../support/diagnostics.js';

export interface Diagnostic {
  /** Relative to `relativeTo`, POSIX; '' for global diagnostics. */
  file: string;
  line: number;
  code: number;
  message: string;
}

export async function typeCheck(tsconfigPath: string, relativeTo: string): Promise<Diagnostic[]> {
  const read = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfigPath));
  if (parsed.errors.length > 0) {
    throw new Error(parsed.errors.map((error) => ts.flattenDiagnosticMessageText(error.messageText, '\n')).join('\n'));
  }
  const options = { ...parsed.options, noEmit: true };
  const program = ts.createProgram({ rootNames: parsed.fileNames, options, host: cachingHost(options) });
  return (await preEmitDiagnostics(program)).map((diagnostic) => {
    const file = diagnostic.file;
    const line = file && diagnostic.start !== undefined ? file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0;
    return {
      file: file ? relative(relativeTo, file.fileName).split(sep).join('/') : '',
      line,
      code: diagnostic.code,
      message: ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
    };
  });
}

/**
 * Declaration files of packages and of the standard library do not change
 * between the before and after checks: parse them once per process.
 */
const parsedLibraries = new Map<string, ts.SourceFile>();

function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!fileName.includes('/node_modules/')) return getSourceFile(fileName, languageVersion, onError, shouldCreate);
    const key = `${typeof languageVersion === 'object' ? JSON.stringify(languageVersion) : languageVersion}\u0000${fileName}`;
    let file = parsedLibraries.get(key);
    if (!file) {
      file = getSourceFile(fileName, languageVersion, onError, shouldCreate);
      if (file) parsedLibraries.set(key, file);
    }
    return file;
  };
  return host;
}

/** Diagnostics of `after` that `before` did not have (matched by file, code and message: lines move). */
export function newDiagnostics(before: Diagnostic[], after: Diagnostic[]): Diagnostic[] {
  const remaining = before.map(identity);
  return after.filter((diagnostic) => {
    const index = remaining.indexOf(identity(diagnostic));
    if (index < 0) return true;
    remaining.splice(index, 1);
    return false;
  });
}

function identity(diagnostic: Diagnostic): string {
  return `${diagnostic.file}\u0000${diagnostic.code}\u0000${diagnostic.message}`;
}

export function formatDiagnostics(diagnostics: Diagnostic[]): string {
  return diagnostics.map((d) => `${d.file}:${d.line} TS${d.code} ${d.message}`).join('\n');
}
