// `import('<legacy module>')` in types: TypeScript import types
// (`typeof import('…/deferred')`, `import('…/deferred').TaskHandler`) and the
// same inside JSDoc comments of JavaScript files (`@typedef {import('…/webapp').Route}`),
// which no import statement shows and the resolver does not bind.
import { SyntaxKind } from 'ts-morph';
import type { SourceRecord } from './project.js';
import { roleOfSpecifier, type ModuleMatchers, type ModuleRole } from './specifiers.js';

export interface ImportType {
  /** Offset of `import`. */
  start: number;
  /** The specifier, without its quotes. */
  specifierStart: number;
  specifierEnd: number;
  role: ModuleRole;
  /** `.TaskHandler` after the call: the member's name and offsets. */
  member?: { name: string; start: number; end: number };
  /** Written in a comment (JSDoc), not in code. */
  inComment: boolean;
}

const IMPORT_TYPE = /\bimport\(\s*(['"`])([^'"`\n]+)\1\s*\)(\s*\.\s*([A-Za-z_$][\w$]*))?/g;

export function findImportTypes(record: SourceRecord, matchers: ModuleMatchers): ImportType[] {
  const result: ImportType[] = [];
  const text = record.text;
  if (!text.includes('import(')) return result;
  for (const match of text.matchAll(IMPORT_TYPE)) {
    const role = roleOfSpecifier(match[2]!, matchers, record.absPath);
    if (role !== 'deferred' && role !== 'webapp') continue;
    const start = match.index;
    // In a comment, the token found at the offset starts after it; in code it is
    // `import` of an import type (a dynamic import() call is reported elsewhere).
    const token = record.sourceFile.getDescendantAtPos(start);
    let inComment: boolean;
    if (!token || token.getStart() > start) inComment = true;
    else if (token.getStart() === start && token.getKind() === SyntaxKind.ImportKeyword && token.getParent()?.getKind() === SyntaxKind.ImportType) inComment = false;
    else continue;
    const specifierStart = start + match[0].indexOf(match[1]!) + 1;
    const found: ImportType = { start, specifierStart, specifierEnd: specifierStart + match[2]!.length, role, inComment };
    if (match[4]) {
      const end = start + match[0].length;
      found.member = { name: match[4], start: end - match[4].length, end };
    }
    result.push(found);
  }
  return result;
}
