// A function held by a member of an object literal that a `const` binds
// (`const handlers = { send(req, res) {...} }`) is reached only through that
// binding: its callers are the reads of that member (`handlers.send`,
// `handlers['send']`, `const { send } = handlers`), as long as every other use
// of the object is known too. This module finds the member and sorts the uses;
// the async planner and the route tables decide what each use means.
import { Node, SyntaxKind, type Identifier, type ObjectLiteralExpression, type VariableDeclaration } from 'ts-morph';
import { unwrapFrozen } from './defer-calls.js';
import { outermost } from './legacy-symbols.js';
import { where } from './positions.js';
import { isReassigned, sameScopeReferences } from './scope.js';

export interface HeldMember {
  /** The property the function is stored under. */
  key: string;
  literal: ObjectLiteralExpression;
  declaration: VariableDeclaration;
  /** The `const` binding of the object. */
  name: Identifier;
}

/** The key a property is named by, when it is not computed: `send`, `'send-sms'`, `2`. */
function propertyKey(name: Node): string | undefined {
  if (Node.isIdentifier(name)) return name.getText();
  if (Node.isStringLiteral(name) || Node.isNoSubstitutionTemplateLiteral(name) || Node.isNumericLiteral(name)) return name.getLiteralText();
  return undefined;
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
  const assignment = member && outermost(member.literal).getParent();
  if (!member || !assignment || !Node.isBinaryExpression(assignment) || assignment.getRight() !== outermost(member.literal)) return undefined;
  if (assignment.getOperatorToken().getKind() !== SyntaxKind.EqualsToken || assignment.getLeft().getText().replace(/\s+/g, '') !== 'module.exports') return undefined;
  const statement = assignment.getParent();
  return statement && Node.isExpressionStatement(statement) && Node.isSourceFile(statement.getParent()) ? member : undefined;
}

export type MemberUses =
  /** `reads`: the nodes that denote the function (for the planner's calls and route uses); `whole`: uses of the object as a whole. */
  | { ok: true; reads: Node[]; whole: Node[] }
  | { ok: false; reason: string };

/** `access` is written (`x.k = v`, `x.k += v`, `x.k++`, `delete x.k`, a destructuring target). */
export function isWritten(access: Node): boolean {
  const outer = outermost(access);
  const parent = outer.getParent();
  if (!parent) return false;
  if (Node.isBinaryExpression(parent)) {
    const operator = parent.getOperatorToken().getKind();
    return parent.getLeft() === outer && operator >= SyntaxKind.FirstAssignment && operator <= SyntaxKind.LastAssignment;
  }
  if (Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent)) {
    const operator = parent.getOperatorToken();
    return operator === SyntaxKind.PlusPlusToken || operator === SyntaxKind.MinusMinusToken;
  }
  if (Node.isDeleteExpression(parent)) return true;
  return Node.isArrayLiteralExpression(parent) || Node.isShorthandPropertyAssignment(parent) || Node.isPropertyAssignment(parent) ? isDestructuringTarget(parent) : false;
}

/** An array or object literal on the left of `=` (or nested in one). */
function isDestructuringTarget(node: Node): boolean {
  let current: Node | undefined = node;
  while (current && (Node.isArrayLiteralExpression(current) || Node.isObjectLiteralExpression(current) || Node.isPropertyAssignment(current) || Node.isShorthandPropertyAssignment(current) || Node.isSpreadElement(current) || Node.isParenthesizedExpression(current))) {
    const parent: Node | undefined = current.getParent();
    if (parent && Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken && parent.getLeft() === current) return true;
    current = parent;
  }
  return false;
}

/**
 * A `this` in a member function of the literal (not in an arrow's own scope, which
 * takes the outer `this`): `this.send()` there may call the member unseen.
 */
export function thisInMembers(literal: ObjectLiteralExpression): Node | undefined {
  for (const keyword of literal.getDescendantsOfKind(SyntaxKind.ThisKeyword)) {
    let container: Node | undefined = keyword.getParent();
    while (container && (Node.isArrowFunction(container) || !(Node.isFunctionLikeDeclaration(container) || Node.isClassLikeDeclarationBase(container)))) container = container.getParent();
    if (!container || Node.isClassLikeDeclarationBase(container)) continue;
    const member = Node.isMethodDeclaration(container) || Node.isGetAccessorDeclaration(container) || Node.isSetAccessorDeclaration(container) ? container : outermost(container).getParent();
    if (member?.getParent() === literal) return keyword;
  }
  return undefined;
}

/** `const { send, other: o } = <use>` (no rest element): the identifier bound to `key`, `null` when none is, or why it cannot be followed. */
function destructured(declaration: VariableDeclaration, key: string): Identifier | null | string {
  const pattern = declaration.getNameNode();
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
export function memberUses(held: HeldMember, refs: readonly Node[]): MemberUses {
  const self = thisInMembers(held.literal);
  if (self) return { ok: false, reason: `\`this\` at ${where(self)}, in a member function of \`${held.name.getText()}\`, may call it` };
  return keyUses(`\`${held.name.getText()}\``, held.key, refs);
}

/** The expression a reference of an object's binding denotes it by: `ns.handlers` through a namespace import, else the reference (parentheses included). */
export function objectUse(ref: Node): Node {
  const parent = ref.getParent();
  return outermost(parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === ref ? parent : ref);
}

/**
 * Sorts `refs`, references of an object (`object` names it in reasons: a literal's binding,
 * a class's instances), into reads of its member `key` and uses of the whole object, or
 * says why a reference could reach the member otherwise (a write, a computed key).
 */
export function keyUses(object: string, memberKey: string, refs: readonly Node[]): MemberUses {
  const reads: Node[] = [];
  const whole: Node[] = [];
  for (const ref of refs) {
    const parent = ref.getParent();
    if (!parent || Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isExportSpecifier(parent) || Node.isTypeQuery(parent)) continue;
    const use = objectUse(ref);
    const access = use.getParent();
    if (access && (Node.isPropertyAccessExpression(access) || Node.isElementAccessExpression(access)) && access.getExpression() === use) {
      const argument = Node.isElementAccessExpression(access) ? access.getArgumentExpression() : undefined;
      // `jobs[name]` is computed: an identifier names a key only as a property name.
      const key = Node.isPropertyAccessExpression(access) ? access.getName() : argument && !Node.isIdentifier(argument) ? propertyKey(argument) : undefined;
      if (key === undefined) return { ok: false, reason: `${object} is read with a computed key at ${where(access)}` };
      if (key !== memberKey) continue;
      if (isWritten(access)) return { ok: false, reason: `\`${access.getText()}\` is assigned at ${where(access)}` };
      reads.push(Node.isPropertyAccessExpression(access) ? access.getNameNode() : access);
      continue;
    }
    if (access && Node.isVariableDeclaration(access) && access.getInitializer() === use) {
      const bound = destructured(access, memberKey);
      if (typeof bound === 'string') return { ok: false, reason: `${object} is destructured at ${where(access)}, and ${bound}` };
      if (bound) reads.push(...sameScopeReferences(bound));
      continue;
    }
    whole.push(use);
  }
  return { ok: true, reads, whole };
}
