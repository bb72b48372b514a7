// What a handler class's own members do with webapp's RequestHandler, beyond the
// class chain (handlers.ts): this.request/this.response reads, other RequestHandler
// members and hooks, verbs other than POST, and whether a migrated entry method always
// ends with the Handler's answer. The task-handler-subclass rule reports from these.
import { Node, SyntaxKind, ts } from 'ts-morph';
import { compilerDescendants, morphTextIs, wrapCompilerNode } from './compiler-nodes.js';
import type { ClassNode } from './handlers.js';

/** The entry methods of a handler, in webapp's TaskHandler and in the shim's Handler. */
export const ENTRY_METHODS = new Set(['post', 'runFromRequest']);

/** `super.post(...)`, `super.runFromRequest(...)`, `this.runFromRequest(...)`: a call of the Handler's own entry. */
export function isEntryCall(node: ts.Node): node is ts.CallExpression {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return false;
  const { expression: object, name } = node.expression;
  if (object.kind === SyntaxKind.SuperKeyword) return ENTRY_METHODS.has(name.text);
  return object.kind === SyntaxKind.ThisKeyword && name.text === 'runFromRequest';
}

/**
 * `this.x` / `super.x` reads in a class's own members (not in nested classes) that
 * `wanted` accepts, on the compiler's nodes: a class body holds many member reads,
 * few of them the ones asked for.
 */
function ownMemberReads(node: ClassNode, wanted: (access: ts.PropertyAccessExpression) => boolean): ts.PropertyAccessExpression[] {
  const owner = node.compilerNode;
  return compilerDescendants<ts.PropertyAccessExpression>(owner, (candidate) => {
    if (candidate.kind !== SyntaxKind.PropertyAccessExpression) return false;
    const access = candidate as ts.PropertyAccessExpression;
    if (access.expression.kind !== SyntaxKind.ThisKeyword && access.expression.kind !== SyntaxKind.SuperKeyword) return false;
    if (!wanted(access)) return false;
    let ancestor = access.parent;
    while (ancestor && ancestor.kind !== SyntaxKind.ClassDeclaration && ancestor.kind !== SyntaxKind.ClassExpression) ancestor = ancestor.parent;
    return ancestor === owner;
  });
}

/**
 * `this.request` / `this.response` reads in a handler class's own methods (not
 * nested classes): legacy-only members, which a migrated Handler does not have.
 */
export function legacyAccesses(node: ClassNode): Array<import('ts-morph').PropertyAccessExpression> {
  const sf = node.getSourceFile();
  const reads = ownMemberReads(
    node,
    (access) => access.expression.kind === SyntaxKind.ThisKeyword && (morphTextIs(sf.compilerNode, access.name, 'request') || morphTextIs(sf.compilerNode, access.name, 'response')),
  );
  return reads.map((access) => wrapCompilerNode<import('ts-morph').PropertyAccessExpression>(sf, access));
}

/** Comparisons and member reads that take nothing from `this` but itself. */
const THIS_COMPARISONS = new Set([SyntaxKind.InstanceOfKeyword, SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken]);

/**
 * `this` in a handler class's own members handed on otherwise than as `this.member`:
 * destructured (`const { request } = this`), read with a computed key
 * (`this['request']`, `this[key]`), aliased (`const self = this`), passed to a function
 * (`log(this)`), returned or stored. Reads of `request`/`response` through it are not
 * followed (legacyAccesses sees `this.request` only). `this` of a nested non-arrow
 * function or class is another value and is left out.
 */
export function thisEscapes(node: ClassNode): Node[] {
  const sf = node.getSourceFile();
  const owner = node.compilerNode;
  const found: ts.Node[] = [];
  const visit = (current: ts.Node, inMember: boolean): void => {
    if (current !== owner && (ts.isClassLike(current) || ts.isFunctionDeclaration(current) || ts.isFunctionExpression(current))) return;
    if (current.kind === SyntaxKind.ThisKeyword && inMember && escapes(current)) found.push(current);
    ts.forEachChild(current, (child) => visit(child, inMember || (current === owner && !isStaticMember(child))));
  };
  visit(owner, false);
  return found.map((n) => wrapCompilerNode(sf, n));
}

function isStaticMember(member: ts.Node): boolean {
  return ts.isClassElement(member) && (ts.getCombinedModifierFlags(member as ts.Declaration) & ts.ModifierFlags.Static) !== 0;
}

function escapes(self: ts.Node): boolean {
  let node = self;
  let parent = node.parent;
  while (ts.isParenthesizedExpression(parent) || ts.isNonNullExpression(parent) || ts.isAsExpression(parent) || ts.isTypeAssertionExpression(parent) || ts.isSatisfiesExpression(parent)) {
    node = parent;
    parent = parent.parent;
  }
  if (ts.isPropertyAccessExpression(parent) && parent.expression === node) return false;
  if (ts.isElementAccessExpression(parent) && parent.expression === node) {
    const key = parent.argumentExpression;
    return !(ts.isStringLiteralLike(key) && !['request', 'response'].includes(key.text));
  }
  return !(ts.isBinaryExpression(parent) && THIS_COMPARISONS.has(parent.operatorToken.kind));
}

/**
 * Members of a handler class that may override an entry method but are not methods the
 * codemod migrates: a quoted or computed name (`'post'() {}`, `['post']() {}`, `[verb]() {}`,
 * `'post' = () => {}`), an accessor (`get post() { return ... }`). Fields named plainly are
 * task-handler-subclass's entryFields.
 */
export function unmigratedEntryMembers(node: ClassNode): Node[] {
  const sf = node.getSourceFile();
  const found: ts.Node[] = [];
  for (const member of node.compilerNode.members) {
    if (!member.name || isStaticMember(member)) continue;
    if (!ts.isMethodDeclaration(member) && !ts.isGetAccessorDeclaration(member) && !ts.isSetAccessorDeclaration(member) && !ts.isPropertyDeclaration(member)) continue;
    const name = member.name;
    const accessor = ts.isGetAccessorDeclaration(member) || ts.isSetAccessorDeclaration(member);
    if (ts.isIdentifier(name)) {
      if (accessor && ENTRY_METHODS.has(name.text)) found.push(name);
      continue;
    }
    if (ts.isStringLiteralLike(name) || ts.isNumericLiteral(name)) {
      if (ENTRY_METHODS.has(name.text)) found.push(name);
      continue;
    }
    if (ts.isComputedPropertyName(name)) {
      const key = name.expression;
      if (ts.isStringLiteralLike(key) ? ENTRY_METHODS.has(key.text) : !isSymbolKey(key)) found.push(name);
    }
  }
  return found.map((n) => wrapCompilerNode(sf, n));
}

/** `[Symbol.iterator]`, `[Symbol.for('x')]`: not a string name. */
function isSymbolKey(key: ts.Expression): boolean {
  const target = ts.isCallExpression(key) ? key.expression : key;
  return ts.isPropertyAccessExpression(target) && ts.isIdentifier(target.expression) && target.expression.text === 'Symbol';
}

/** RequestHandler members of webapp that the shim's Handler does not have. */
const WEBAPP_MEMBERS = new Set(['initialize', 'error', 'redirect', 'handleException']);
/** Hooks webapp's router called on the handler; nothing calls them once migrated. */
const WEBAPP_HOOKS = new Set(['initialize', 'handleException']);
/** The HTTP verbs other than POST that a webapp handler answered with a method of that name. */
const OTHER_VERBS = new Set(['get', 'put', 'delete', 'head', 'options', 'patch']);

export type WebappMemberUse =
  /** `this.error(...)`, `super.redirect(...)`: a member the class does not declare itself. */
  | { kind: 'use'; node: Node; name: string }
  /** An override of a router hook (`handleException`, `initialize`). */
  | { kind: 'hook'; node: Node; name: string }
  /** `get()`, `put()`...: a verb the webapp router dispatched to. */
  | { kind: 'verb'; node: Node; name: string };

/**
 * What a handler class (its own members, not nested classes) takes from webapp's
 * RequestHandler beyond this.request/this.response: members the shim's Handler does
 * not have, router hooks it overrides, and methods for other HTTP verbs.
 */
export function webappMemberUses(node: ClassNode): WebappMemberUse[] {
  const sf = node.getSourceFile();
  const owner = node.compilerNode;
  const declared = new Set<string>();
  const uses: WebappMemberUse[] = [];
  for (const member of owner.members) {
    if (!member.name || !(ts.isIdentifier(member.name) || ts.isStringLiteral(member.name))) continue;
    if ((ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) !== 0) continue;
    const name = member.name.text;
    declared.add(name);
    if (!ts.isMethodDeclaration(member)) continue;
    if (WEBAPP_HOOKS.has(name)) uses.push({ kind: 'hook', node: wrapCompilerNode(sf, member.name), name });
    else if (OTHER_VERBS.has(name)) uses.push({ kind: 'verb', node: wrapCompilerNode(sf, member.name), name });
  }
  // On super, always webapp's; on this, unless the class declares the member itself.
  const reads = ownMemberReads(node, (access) => WEBAPP_MEMBERS.has(access.name.text) && (access.expression.kind === SyntaxKind.SuperKeyword || !declared.has(access.name.text)));
  for (const access of reads) uses.push({ kind: 'use', node: wrapCompilerNode(sf, access), name: access.name.text });
  return uses.sort((a, b) => a.node.getStart() - b.node.getStart());
}

/**
 * Whether a migrated entry method (`post(environ)`, `runFromRequest(environ)`) can end
 * without its answer: a bare `return`, a return of something else (see isHandlerResult),
 * or the end of its body. The shim's Handler answers
 * with what they resolve to ([body, status, headers]); webapp answered 200 to a post()
 * that wrote nothing. Conservative: a body whose end it cannot rule out counts.
 */
export function endsWithoutResult(method: import('ts-morph').MethodDeclaration): Node | undefined {
  const body = method.compilerNode.body;
  if (!body) return undefined;
  const sf = method.getSourceFile();
  // The method's own returns: not those of functions or classes nested in it.
  let bare: ts.ReturnStatement | undefined;
  const visit = (node: ts.Node): void => {
    if (bare || ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isReturnStatement(node) && (!node.expression || !isHandlerResult(node.expression, body))) bare = node;
    else ts.forEachChild(node, visit);
  };
  ts.forEachChild(body, visit);
  if (bare) return wrapCompilerNode(sf, bare);
  return ends(body) ? undefined : method.getNameNode();
}

/**
 * What a migrated entry method may return: the Handler's own answer (directly, awaited,
 * or through a const the method set from it), or a literal triple. Anything else was a
 * value webapp ignored and is now the response.
 */
function isHandlerResult(expression: ts.Expression, body: ts.Block): boolean {
  let inner: ts.Expression = expression;
  while (ts.isAwaitExpression(inner) || ts.isParenthesizedExpression(inner)) inner = inner.expression;
  if (isEntryCall(inner) || ts.isArrayLiteralExpression(inner)) return true;
  if (ts.isConditionalExpression(inner)) return isHandlerResult(inner.whenTrue, body) && isHandlerResult(inner.whenFalse, body);
  if (!ts.isIdentifier(inner)) return false;
  const name = inner.text;
  return body.statements.some(
    (statement) =>
      ts.isVariableStatement(statement) &&
      (statement.declarationList.flags & ts.NodeFlags.Const) !== 0 &&
      statement.declarationList.declarations.some((d) => ts.isIdentifier(d.name) && d.name.text === name && d.initializer !== undefined && isHandlerResult(d.initializer, body)),
  );
}

/** Whether control cannot run past the statement: every path returns a value or throws. */
function ends(statement: ts.Statement): boolean {
  if (ts.isReturnStatement(statement)) return statement.expression !== undefined;
  if (ts.isThrowStatement(statement)) return true;
  if (ts.isBlock(statement)) {
    const last = statement.statements[statement.statements.length - 1];
    return last !== undefined && ends(last);
  }
  if (ts.isIfStatement(statement)) return statement.elseStatement !== undefined && ends(statement.thenStatement) && ends(statement.elseStatement);
  if (ts.isTryStatement(statement)) {
    if (statement.finallyBlock && ends(statement.finallyBlock)) return true;
    return ends(statement.tryBlock) && (!statement.catchClause || ends(statement.catchClause.block));
  }
  return false;
}
