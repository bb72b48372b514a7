// Where a new import statement goes in a file, and in which module system:
// after the last import (or top-level require), else above the first statement
// and the comments attached to it (a file header stays on top).
import * as path from 'node:path';
import { Node, ts, type Statement } from 'ts-morph';
import type { SourceRecord } from '../analysis/project.js';
import { quoted, semi } from '../analysis/style.js';
import type { RuleOutput } from './context.js';

export function isCommonJs(record: SourceRecord): boolean {
  // A `.cts` file is CommonJS too, but TypeScript's `import { x } from` compiles to require() there and keeps the
  // shim's types (a `const { x } = require()` is `any`): it gets the style its imports have, as a `.ts` file does.
  if (/\.cjs$/.test(record.absPath)) return true;
  if (/\.m[jt]s$/.test(record.absPath)) return false;
  const sf = record.sourceFile;
  if (sf.getImportDeclarations().length > 0 || sf.getExportDeclarations().length > 0 || sf.getExportAssignments().length > 0) return false;
  if (sf.getStatements().some((s) => Node.isModifierable(s) && s.hasModifier(ts.SyntaxKind.ExportKeyword))) return false;
  return /\brequire\s*\(|module\.exports|\bexports\./.test(record.text);
}

/**
 * Where the comments attached to a statement begin: its leading comments not
 * separated from it (or from each other) by a blank line. A file header stays
 * above an added import; a comment that belongs to the statement stays on it.
 */
function attachedCommentsStart(text: string, fullStart: number, start: number): number {
  const comments = ts.getLeadingCommentRanges(text, fullStart) ?? [];
  let at = start;
  for (let i = comments.length - 1; i >= 0; i--) {
    if (/\n[ \t]*\r?\n/.test(text.slice(comments[i]!.end, at))) break;
    at = comments[i]!.pos;
  }
  return at;
}

/** Adds one import statement (ESM `import` or CommonJS `const ... = require()`, already rendered). */
/** `removed`: spans earlier rules removed; an import inside one is no anchor (the insertion would conflict with its removal). */
export function insertImportStatement(out: RuleOutput, record: SourceRecord, statement: string, description: string, removed: ReadonlyArray<[number, number]> = []): void {
  const style = record.style;
  const sf = record.sourceFile;
  const statements = sf.getStatements();
  // TypeScript's `import x = require('y')` is an import too (an anchor when the ES imports are all removed).
  const esImports = statements.filter((s) => Node.isImportDeclaration(s) || (Node.isImportEqualsDeclaration(s) && Node.isExternalModuleReference(s.getModuleReference())));
  const imports = (isCommonJs(record) ? leadingRequires(statements) : esImports).filter((i) => !removed.some(([start, end]) => start <= i.getStart() && i.getEnd() <= end));
  const lastImport = imports[imports.length - 1];
  if (lastImport) {
    out.edit(record, lastImport.getEnd(), lastImport.getEnd(), style.newline + statement, description);
    return;
  }
  const first = statements.find((s) => !(Node.isExpressionStatement(s) && Node.isStringLiteral(s.getExpression())));
  if (first) {
    const at = attachedCommentsStart(record.text, first.getFullStart(), first.getStart());
    out.edit(record, at, at, statement + style.newline + style.newline, description);
  } else {
    const lead = record.text.endsWith('\n') || record.text === '' ? '' : style.newline;
    out.edit(record, record.text.length, record.text.length, lead + statement + style.newline, description);
  }
}

/** Whether `statement` is one of the `require()` statements that open its CommonJS file: names it binds precede every use. */
export function isLeadingRequire(record: SourceRecord, statement: Node): boolean {
  return leadingRequires(record.sourceFile.getStatements()).includes(statement as Statement);
}

/**
 * The `const x = require('y')` statements that open a CommonJS file ('use strict'
 * aside). A require added after them precedes every use of its names; one added
 * after a later statement that merely mentions require( (a string, a lazy
 * `() => require(...)`) would not: `const` is not hoisted.
 */
function leadingRequires(statements: Statement[]): Statement[] {
  const found: Statement[] = [];
  for (const statement of statements) {
    if (Node.isExpressionStatement(statement) && Node.isStringLiteral(statement.getExpression())) continue;
    if (!Node.isVariableStatement(statement) || !statement.getDeclarations().every((d) => isRequireCall(d.getInitializer()))) break;
    found.push(statement);
  }
  return found;
}

/** `require('x')`, also with member accesses (`require('x').y`). */
function isRequireCall(node: Node | undefined): boolean {
  let current = node;
  while (current && Node.isPropertyAccessExpression(current)) current = current.getExpression();
  return current !== undefined && Node.isCallExpression(current) && current.getExpression().getText() === 'require';
}

/** `import { a, b } from 'x';` or `const { a, b } = require('x');` in the file's style. */
export function importStatement(record: SourceRecord, names: string[], specifier: string): string {
  const list = `{ ${names.join(', ')} }`;
  const end = semi(record.style);
  return isCommonJs(record) ? `const ${list} = require(${quoted(record.style, specifier)})${end}` : `import ${list} from ${quoted(record.style, specifier)}${end}`;
}

/**
 * A relative specifier from one project file to another, following the
 * importer's habit: with `.js` extensions if its relative imports have them,
 * extensionless (and without `/index`) otherwise.
 */
export function relativeSpecifier(from: SourceRecord, toAbsPath: string): string {
  const existing = [
    ...from.sourceFile.getImportDeclarations().map((d) => d.getModuleSpecifierValue()),
    ...[...from.text.matchAll(/require\(\s*['"`](\.[^'"`]+)['"`]\s*\)/g)].map((m) => m[1]!),
  ].filter((s) => s.startsWith('.'));
  const withExtension = existing.some((s) => /\.(m|c)?js$/.test(s));
  let rel = path.relative(path.dirname(from.absPath), toAbsPath).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = './' + rel;
  const ext = path.extname(rel);
  const jsExt = ({ '.ts': '.js', '.tsx': '.js', '.mts': '.mjs', '.cts': '.cjs' } as Record<string, string>)[ext] ?? ext;
  if (withExtension || ext === '.cjs' || ext === '.mjs' || ext === '.cts' || ext === '.mts') return rel.slice(0, -ext.length) + jsExt;
  return rel.slice(0, -ext.length).replace(/\/index$/, '');
}
