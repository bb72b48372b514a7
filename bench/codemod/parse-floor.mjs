// Child process of the codemod benchmark: the floor. Reads and parses only the given
// files with TypeScript's createSourceFile (no binding, no checker, no edits).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import ts from 'typescript';

const files = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const kinds = { '.tsx': ts.ScriptKind.TSX, '.jsx': ts.ScriptKind.JSX, '.js': ts.ScriptKind.JS, '.cjs': ts.ScriptKind.JS, '.mjs': ts.ScriptKind.JS };
let statements = 0;
for (const file of files) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, kinds[extname(file)] ?? ts.ScriptKind.TS);
  statements += source.statements.length;
}
process.stdout.write(JSON.stringify({ files: files.length, statements }));
