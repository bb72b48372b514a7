// A function held by a member of an object literal that a `const` binds
// (`const handlers = { send(req, res) {...} }`) is reached only through that
// binding: its callers are the reads of that member (`handlers.send`,
// `handlers['send']`, `const { send } = handlers`), as long as every other use
// of the object is known too. This module finds the member and sorts the uses;
// the async planner and the route tables decide what each use means.
import { Node, SyntaxKind, type BinaryExpression, type ElementAccessExpression, type Identifier, type ObjectLiteralExpression, type PropertyAccessExpression, type SourceFile, type VariableDeclaration } from 'ts-morph';
import { unwrapFrozen } from './defer-calls.js';
import { outermost, outermostExpression, unwrap } from './legacy-symbols.js';
import { where } from './positions.js';
import { declaringScope, isReassigned, isShadowed, isWritten } from './scope.js';
import { resolveIdentifier } from './declarations.js';
import type { ProjectIndex } from './project.js';

export interface HeldMember {
  /** The property the function is stored under. */
  key: string;
  literal: ObjectLiteralExpression;
  declaration: VariableDeclaration;
  /** The `const` binding of the object. */
  name: Identifier;
}

/** The key a member's name gives, when it is not computed: `send`, `#send`, `'send-sms'`, `2`. */
export function propertyKey(name: Node): string | undefined {
  if (Node.isIdentifier(name) || Node.isPrivateIdentifier(name)) return name.getText();
  if (Node.isStringLiteral(name) || Node.isNoSubstitutionTemplateLiteral(name) || Node.isNumericLiteral(name)) return name.getLiteralText();
  return undefined;
}

/** The key a member access reads: `x.k`, `x['k']`, `x[0]`; undefined when computed (`x[k]`: an identifier names a key only as a property name). */
export function accessKey(access: PropertyAccessExpression | ElementAccessExpression): string | undefined {
  if (Node.isPropertyAccessExpression(access)) return access.getName();
  const argument = access.getArgumentExpression();
  return argument && !Node.isIdentifier(argument) ? propertyKey(argument) : undefined;
}

export interface MemberRead {
  access: PropertyAccessExpression | ElementAccessExpression;
  /** undefined when computed (`jobs[name]`). */
  key: string | undefined;
}

/** The member read `ref` (a reference of an object: a binding, a `this`, a namespace member) is the object of: `jobs.k`, `jobs['k']`, `jobs[k]`. */
export function memberRead(ref: Node): MemberRead | undefined {
  const use = objectUse(ref);
  const access = use.getParent();
  if (!access || !(Node.isPropertyAccessExpression(access) || Node.isElementAccessExpression(access)) || access.getExpression() !== use) return undefined;
  return { access, key: accessKey(access) };
}

/** The member reads among `refs` (references of one object). */
export function memberReads(refs: readonly Node[]): MemberRead[] {
  return refs.map(memberRead).filter((read): read is MemberRead => !!read);
}

/** The `const` declaration whose initializer is `literal` (through parentheses, `as const`, `satisfies`, `Object.freeze()`). */
function bindingOf(literal: ObjectLiteralExpression): VariableDeclaration | undefined {
  let holder: Node | undefined = literal.getParent();
  while (holder && (Node.isParenthesizedExpression(holder) || Node.isAsExpression(holder) || Node.isSatisfiesExpression(holder) || Node.isTypeAssertion(holder) || Node.isCallExpression(holder))) {
    holder = holder.getParent();
  }
  if (!holder || !Node.isVariableDeclaration(holder) || !Node.isIdentifier(holder.getNameNode())) return undefined;
  const initializer = holder.getInitializer();
  if (!initializer || unwrapFrozen(initializer) !== literal) return undefined;
  const list = holder.getParent();
  return Node.isVariableDeclarationList(list) && list.getDeclarationKind() === 'const' ? holder : undefined;
}

/**
 * The object literal member that `value` is: a method, a property's value
 * (`send: (req, res) => {...}`, `send: sendMail`), a shorthand's name (`{ sendMail }`).
 */
function literalMember(value: Node): { key: string; literal: ObjectLiteralExpression } | undefined {
  const property = Node.isMethodDeclaration(value) ? value : outermost(value).getParent();
  if (!property) return undefined;
  const isMember =
    Node.isMethodDeclaration(property) ||
    (Node.isPropertyAssignment(property) && property.getInitializer() === outermost(value)) ||
    (Node.isShorthandPropertyAssignment(property) && property.getNameNode() === value);
  const literal = isMember ? property.getParent() : undefined;
  const key = isMember ? propertyKey(property.getNameNode()) : undefined;
  return literal && Node.isObjectLiteralExpression(literal) && key !== undefined ? { key, literal } : undefined;
}

/** The member of a `const` object literal that holds `value` (a function, or a reference to one), if it is one. */
export function heldMember(value: Node): HeldMember | undefined {
  const member = literalMember(value);
  const declaration = member && bindingOf(member.literal);
  return member && declaration ? { ...member, declaration, name: declaration.getNameNode() as Identifier } : undefined;
}

/**
 * The member of a module-level `module.exports = { ... }` literal that `fn` is (a method,
 * or a function as a property's value): importers reach it as the export `key`.
 */
export function exportsLiteralMember(fn: Node): { key: string; literal: ObjectLiteralExpression } | undefined {
  if (Node.isIdentifier(fn)) return undefined;
  const member = literalMember(fn);
  return member && moduleExportsAssignment(member.literal) ? member : undefined;
}

/** `module.exports` (not shadowed: the CommonJS module's own). */
export function isModuleExports(node: Node): boolean {
  if (!Node.isPropertyAccessExpression(node) || node.getName() !== 'exports') return false;
  const object = node.getExpression();
  return Node.isIdentifier(object) && object.getText() === 'module' && !isShadowed(object);
}

/** The module-level statement's assignment `module.exports = value` whose right side is `value` (parentheses aside). */
export function moduleExportsAssignment(value: Node): BinaryExpression | undefined {
  const assignment = outermost(value).getParent();
  if (!assignment || !Node.isBinaryExpression(assignment) || assignment.getRight() !== outermost(value) || assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) return undefined;
  const statement = assignment.getParent();
  return isModuleExports(assignment.getLeft()) && !!statement && Node.isExpressionStatement(statement) && Node.isSourceFile(statement.getParent()) ? assignment : undefined;
}

/**
 * The member of a module's `export default { ... }` literal (through parentheses, `as`,
 * `satisfies`) that `fn` is: importers reach it as `jobs.key` of a default import.
 */
export function defaultExportMember(fn: Node): { key: string; literal: ObjectLiteralExpression } | undefined {
  if (Node.isIdentifier(fn)) return undefined;
  const member = literalMember(fn);
  return member && isDefaultExported(member.literal) ? member : undefined;
}

/** `literal` is what the module's `export default` statement exports. */
function isDefaultExported(literal: ObjectLiteralExpression): boolean {
  const holder = outermostExpression(literal).getParent();
  return !!holder && Node.isExportAssignment(holder) && !holder.isExportEquals() && Node.isSourceFile(holder.getParent());
}

export type MemberUses =
  /**
   * `reads`: the nodes that denote the function (for the planner's calls and route uses);
   * `bindings`: names destructured from the object that hold it (`const { send } = handlers`),
   * whose references are reads too, wherever they reach (an exported one: its importers);
   * `whole`: uses of the object as a whole.
   */
  | { ok: true; reads: Node[]; bindings: Identifier[]; whole: Node[] }
  | { ok: false; reason: string };

/** Whether `fn` is a member of an object literal other than `literal` (a method, an accessor, a property's function value). */
function isMemberOfOtherLiteral(fn: Node, literal: ObjectLiteralExpression | undefined): boolean {
  const member = Node.isMethodDeclaration(fn) || Node.isGetAccessorDeclaration(fn) || Node.isSetAccessorDeclaration(fn) ? fn : outermost(fn).getParent();
  const owner = member && (Node.isMethodDeclaration(member) || Node.isGetAccessorDeclaration(member) || Node.isSetAccessorDeclaration(member) || Node.isPropertyAssignment(member)) ? member.getParent() : undefined;
  return !!owner && Node.isObjectLiteralExpression(owner) && owner !== literal;
}

/**
 * A `this` in `root` that may denote the object `literal` when a function holding it is
 * called as a member of it: in a function (not an arrow, which takes the outer `this`) that
 * is neither a member of another object literal nor of a class. Any such function in the
 * literal counts, not only its members: a callback inside a member may be called with that
 * member's `this` (`fn.call(this)`, a wrapper forwarding it).
 */
function freeThis(root: Node, literal: ObjectLiteralExpression | undefined): Node | undefined {
  for (const keyword of root.getDescendantsOfKind(SyntaxKind.ThisKeyword)) {
    let container: Node | undefined = keyword.getParent();
    while (container && !(Node.isFunctionDeclaration(container) || Node.isFunctionExpression(container) || Node.isMethodDeclaration(container) || Node.isGetAccessorDeclaration(container) || Node.isSetAccessorDeclaration(container) || Node.isConstructorDeclaration(container) || Node.isClassLikeDeclarationBase(container))) container = container.getParent();
    if (!container || Node.isClassLikeDeclarationBase(container) || Node.isClassLikeDeclarationBase(container.getParent() ?? container)) continue;
    if (!isMemberOfOtherLiteral(container, literal)) return keyword;
  }
  return undefined;
}

/**
 * The declaration `id` (a member's value) denotes, in its file or through imports; in a
 * function or block, its declaration there. Undefined when not found.
 */
function declarationOf(index: ProjectIndex, id: Identifier): Node | undefined {
  const record = index.load(id.getSourceFile().getFilePath());
  const resolution = record && resolveIdentifier(index, record, id);
  if (resolution?.kind === 'module' || resolution?.kind === 'exported-function' || resolution?.kind === 'class-value') return resolution.node;
  if (resolution?.kind !== 'nested') return undefined;
  const name = id.getText();
  const scope = declaringScope(id, name);
  return scope?.getDescendants().find((node) => (Node.isFunctionDeclaration(node) || Node.isVariableDeclaration(node)) && node.getNameNode()?.getText() === name && declaringScope(node.getNameNode()!, name) === scope);
}

/**
 * Where a `this` may call a member of `literal` unseen: `this.send()` in a function of the
 * literal, or in a function a member names (`{ send, retryAll }`, `retryAll` declared
 * elsewhere: `handlers.retryAll()` runs it with `this` the object). A member whose value
 * may be a function the analysis does not read (an import it cannot resolve, `a.b`, a
 * call's result, a spread) may too. Says where, or undefined.
 */
export function thisReaching(literal: ObjectLiteralExpression, index: ProjectIndex, seen = new Set<Node>()): string | undefined {
  seen.add(literal);
  const own = freeThis(literal, literal);
  if (own) return `\`this\` at ${where(own)}, in a function of ${literalName(literal)}, may call it`;
  for (const property of literal.getProperties()) {
    if (Node.isMethodDeclaration(property) || Node.isGetAccessorDeclaration(property) || Node.isSetAccessorDeclaration(property)) continue;
    // `{ send, ...mixin }`: the members of `mixin` become the object's, their `this` too.
    if (Node.isSpreadAssignment(property)) {
      const spread = unwrap(property.getExpression());
      const declaration = Node.isIdentifier(spread) ? declarationOf(index, spread) : undefined;
      const initializer = declaration && Node.isVariableDeclaration(declaration) ? declaration.getInitializer() : undefined;
      const copied = initializer && unwrapFrozen(initializer);
      if (!copied || !Node.isObjectLiteralExpression(copied)) return `the members spread into it at ${where(spread)} may be functions the codemod does not read, which call it through \`this\``;
      if (seen.has(copied)) continue;
      const reached = thisReaching(copied, index, seen);
      if (reached) return reached;
      continue;
    }
    const value = Node.isShorthandPropertyAssignment(property) ? property.getNameNode() : Node.isPropertyAssignment(property) ? unwrap(property.getInitializer() ?? property) : undefined;
    if (!value || Node.isFunctionExpression(value) || Node.isArrowFunction(value) || Node.isObjectLiteralExpression(value) || Node.isLiteralExpression(value) || Node.isNoSubstitutionTemplateLiteral(value) || Node.isTemplateExpression(value) || Node.isArrayLiteralExpression(value) || Node.isTrueLiteral(value) || Node.isFalseLiteral(value) || Node.isNullLiteral(value) || Node.isClassExpression(value)) continue;
    if (Node.isIdentifier(value)) {
      const named = namedFunctionThis(value, index);
      if (named) return named;
      continue;
    }
    if (Node.isBinaryExpression(value) && ![SyntaxKind.BarBarToken, SyntaxKind.AmpersandAmpersandToken, SyntaxKind.QuestionQuestionToken, SyntaxKind.CommaToken].includes(value.getOperatorToken().getKind())) continue;
    if (Node.isPrefixUnaryExpression(value) || Node.isTypeOfExpression(value) || Node.isVoidExpression(value)) continue;
    // `cache: new Map()`: an object, whose own functions' `this` is that object (not `new Function`, `new Proxy`).
    if (Node.isNewExpression(value) && !['Function', 'Proxy'].includes(value.getExpression().getText())) continue;
    return `its member at ${where(value)} may be a function the codemod does not read, which calls it through \`this\``;
  }
  return undefined;
}

/**
 * Where a `this` may call an export of a CommonJS module unseen: a function the module
 * exports by assignment (`exports.again = function () { return this.retry() }`,
 * `module.exports.again = again`) runs, called as `jobs.again()`, with `this` the exports
 * object. (The `module.exports = {...}` literal's members are `thisReaching`'s.)
 */
export function exportsThis(sourceFile: SourceFile, index: ProjectIndex): string | undefined {
  for (const statement of sourceFile.getStatements()) {
    const assignment = Node.isExpressionStatement(statement) ? statement.getExpression() : undefined;
    if (!assignment || !Node.isBinaryExpression(assignment) || assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    if (!/^(?:module\.)?exports\.[\w$]+$/.test(assignment.getLeft().getText().replace(/\s+/g, ''))) continue;
    const value = unwrap(assignment.getRight());
    const declaration = Node.isIdentifier(value) ? declarationOf(index, value) : Node.isFunctionExpression(value) ? value : undefined;
    const used = declaration && !Node.isClassLikeDeclarationBase(declaration) ? freeThis(declaration, undefined) : undefined;
    if (used) return `\`this\` at ${where(used)}, in the export \`${assignment.getLeft().getText()}\`, may call it`;
  }
  return undefined;
}

/**
 * `value`, a member's value naming a function declared elsewhere (`{ send, retryAll }`, a
 * class field `checkAll = checkAll`), whose own `this` is the object when it is called as
 * its member: where that `this` is, or why the name cannot be followed.
 */
export function namedFunctionThis(value: Identifier, index: ProjectIndex): string | undefined {
  if (value.getText() === 'undefined') return undefined;
  const declaration = declarationOf(index, value);
  if (!declaration) return `\`${value.getText()}\` at ${where(value)}, a member of it the codemod cannot resolve, may be a function that calls it through \`this\``;
  const used = Node.isClassLikeDeclarationBase(declaration) ? undefined : freeThis(declaration, undefined);
  return used ? `\`this\` at ${where(used)}, in \`${value.getText()}\`, a member of it, may call it` : undefined;
}

/** How the object is named in reasons: its `const`, the default export, or `module.exports`. */
function literalName(literal: ObjectLiteralExpression): string {
  const declaration = bindingOf(literal);
  if (declaration) return `\`${declaration.getName()}\``;
  return isDefaultExported(literal) ? 'the default export' : '`module.exports`';
}

/** `const { send, other: o } = <use>` (no rest element): the identifier bound to `key`, `null` when none is, or why it cannot be followed. */
function destructured(declaration: VariableDeclaration, key: string): Identifier | null | string {
  const pattern = declaration.getNameNode();
  if (Node.isIdentifier(pattern)) return `it is bound to another name, \`${pattern.getText()}\``;
  if (!Node.isObjectBindingPattern(pattern)) return 'it is destructured into an array pattern';
  for (const element of pattern.getElements()) {
    if (element.getDotDotDotToken()) return `a rest element at ${where(element)} collects it`;
    const propertyName = element.getPropertyNameNode();
    const read = propertyName ? propertyKey(propertyName) : element.getName();
    if (read === undefined) return `a computed key at ${where(element)} may read it`;
    if (read !== key) continue;
    const bound = element.getNameNode();
    if (!Node.isIdentifier(bound)) return `it is destructured again at ${where(bound)}`;
    return isReassigned(bound) ? `\`${bound.getText()}\`, destructured from it, is assigned again` : bound;
  }
  return null;
}

/**
 * Sorts `refs` (the references of the object's binding, in its file or in importers)
 * into reads of the member `held.key` and uses of the whole object, or says why a
 * reference could reach the member otherwise (a write, a computed key, a `this` of
 * a member function).
 */
export function memberUses(held: HeldMember, refs: readonly Node[], index: ProjectIndex): MemberUses {
  const self = thisReaching(held.literal, index);
  if (self) return { ok: false, reason: self };
  return keyUses(`\`${held.name.getText()}\``, held.key, refs);
}

/** The expression a reference of an object's binding denotes it by: `ns.handlers` through a namespace import, else the reference (parentheses included). */
export function objectUse(ref: Node): Node {
  const parent = ref.getParent();
  return outermost(parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === ref ? parent : ref);
}

/**
 * Sorts `refs`, references of an object (`object` names it in reasons: a literal's binding,
 * a class's instances), into reads of its member `key`, names destructured from it that
 * hold the member, and uses of the whole object, or says why a reference could reach the
 * member otherwise (a write, a computed key).
 */
export function keyUses(object: string, memberKey: string, refs: readonly Node[]): MemberUses {
  const reads: Node[] = [];
  const bindings: Identifier[] = [];
  const whole: Node[] = [];
  for (const ref of refs) {
    const parent = ref.getParent();
    if (!parent || Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isExportSpecifier(parent) || Node.isTypeQuery(parent)) continue;
    const read = memberRead(ref);
    if (read) {
      const { access, key } = read;
      if (key === undefined) return { ok: false, reason: `${object} is read with a computed key at ${where(access)}` };
      // The inherited `valueOf()` returns the object itself (`jobs.valueOf().create()`): a use of the whole.
      if (key === 'valueOf' && memberKey !== 'valueOf') {
        whole.push(access);
        continue;
      }
      if (key !== memberKey) continue;
      if (isWritten(access)) return { ok: false, reason: `\`${access.getText()}\` is assigned at ${where(access)}` };
      reads.push(Node.isPropertyAccessExpression(access) ? access.getNameNode() : access);
      continue;
    }
    const use = objectUse(ref);
    const declaration = use.getParent();
    if (declaration && Node.isVariableDeclaration(declaration) && declaration.getInitializer() === use) {
      const bound = destructured(declaration, memberKey);
      if (typeof bound === 'string') return { ok: false, reason: `${object} is destructured at ${where(declaration)}, and ${bound}` };
      if (bound) bindings.push(bound);
      continue;
    }
    whole.push(use);
  }
  return { ok: true, reads, bindings, whole };
}
