// The diagnostics of a whole TypeScript program, file by file, with turns of the event
// loop between files: vitest's worker fails a run whose RPC reply waits 60 s behind
// synchronous work, and checking a few hundred files on a loaded machine can take that.
import ts from 'typescript';

/** A function that gives the event loop a turn when `everyMs` have passed since its last one. */
export function turnTaker(everyMs = 100): () => Promise<void> {
  let last = Date.now();
  return async () => {
    if (Date.now() - last < everyMs) return;
    await new Promise((resolve) => setImmediate(resolve));
    last = Date.now();
  };
}

/**
 * What `ts.getPreEmitDiagnostics(program)` returns, computed one source file at a time;
 * with `only`, for those files alone (the program's own and global diagnostics still).
 */
export async function preEmitDiagnostics(program: ts.Program, only?: readonly string[]): Promise<ts.Diagnostic[]> {
  const diagnostics: ts.Diagnostic[] = [
    ...program.getConfigFileParsingDiagnostics(),
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
  ];
  const options = program.getCompilerOptions();
  const declarations = !!(options.declaration || options.composite);
  const turn = turnTaker();
  const sources = only ? only.map((file) => program.getSourceFile(file) ?? missing(file)) : program.getSourceFiles();
  for (const source of sources) {
    await turn();
    diagnostics.push(...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source));
    if (declarations) diagnostics.push(...program.getDeclarationDiagnostics(source));
  }
  return diagnostics;
}

function missing(file: string): never {
  throw new Error(`type-check: ${file} is not in the program`);
}
