// Type-check an app copy with the TypeScript compiler API, using the app's own
// tsconfig.json, and compare diagnostics before and after migration.
import { dirname, relative, sep } from 'node:path';
import ts from 'typescript';

export interface Diagnostic {
  /** Relative to `relativeTo`, POSIX; '' for global diagnostics. */
  file: string;
  line: number;
  code: number;
  message: string;
}

export function typeCheck(tsconfigPath: string, relativeTo: string): Diagnostic[] {
  const read = ts.readConfigFile(tsconfigPath, ts.sys.readFile);
  if (read.error) throw new Error(ts.flattenDiagnosticMessageText(read.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, dirname(tsconfigPath));
  if (parsed.errors.length > 0) {
    throw new Error(parsed.errors.map((error) => ts.flattenDiagnosticMessageText(error.messageText, '\n')).join('\n'));
  }
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, noEmit: true } });
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
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
