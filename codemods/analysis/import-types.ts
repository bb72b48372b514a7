// `import('<legacy module>')` in types: TypeScript import types
// (`typeof import('…/deferred')`, `import('…/deferred').TaskHandler`) and the
// same inside JSDoc comments of JavaScript files (`@typedef {import('…/webapp').Route}`),
// which no import statement shows and the resolver does not bind.
import { Node, SyntaxKind } from 'ts-morph';
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

/** With `withShim`, the shim's import types too (what the legacy ones became). */
export function findImportTypes(record: SourceRecord, matchers: ModuleMatchers, withShim = false): ImportType[] {
  const result: ImportType[] = [];
  const text = record.text;
  if (!text.includes('import(')) return result;
  for (const match of text.matchAll(IMPORT_TYPE)) {
    const role = roleOfSpecifier(match[2]!, matchers, record.absPath);
    if (role !== 'deferred' && role !== 'webapp' && !(withShim && role === 'shim')) continue;
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

/**
 * `function use(d: typeof deferred)`, `(d?: typeof import(L) | null) =>`: a parameter whose
 * type is the module object (not a member's type), with no default (a default the tracker follows, row 24).
 */
export function typedParameter(type: Node): boolean {
  let node = type;
  for (let parent = node.getParent(); parent && (Node.isUnionTypeNode(parent) || Node.isParenthesizedTypeNode(parent)); parent = parent.getParent()) node = parent;
  const parameter = node.getParent();
  if (!parameter || !Node.isParameterDeclaration(parameter) || parameter.getTypeNode() !== node || parameter.hasInitializer()) return false;
  // A function with a body, where the value is used (not a function type or an overload).
  const owner = parameter.getParent();
  if (!owner || !(Node.isBodied(owner) || (Node.isBodyable(owner) && owner.hasBody()))) return false;
  // An immediately invoked function's parameters hold its arguments, which the tracker follows.
  let callee: Node = owner;
  while (Node.isParenthesizedExpression(callee.getParent())) callee = callee.getParentOrThrow();
  const call = callee.getParent();
  return !(Node.isCallExpression(call) && call.getExpression() === callee);
}

/** `(d: typeof import(L))`, or JSDoc's `@param {typeof import(L)} d` in JavaScript (where JSDoc is parsed): that import type. */
export function moduleTypedParameter(record: SourceRecord, found: ImportType): Node | undefined {
  if (found.member || found.inComment) return undefined;
  const importType = record.sourceFile.getDescendantAtPos(found.start)?.getParent();
  if (!importType || !Node.isImportTypeNode(importType) || !importType.compilerNode.isTypeOf) return undefined;
  if (typedParameter(importType)) return importType;
  // The JSDoc's parameter itself (a marker inside the comment would break it).
  const tag = importType.getFirstAncestor((node) => Node.isJSDocParameterTag(node));
  if (!tag || !Node.isJSDocParameterTag(tag)) return undefined;
  const host = tag.getParent()?.getParent();
  const parameters = host && (Node.isFunctionDeclaration(host) || Node.isFunctionExpression(host) || Node.isArrowFunction(host) || Node.isMethodDeclaration(host)) ? host.getParameters() : [];
  return parameters.find((p) => p.getName() === tag.getName()) ?? host ?? tag;
}
