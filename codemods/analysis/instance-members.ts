// A function held by an instance member of a class (a method, or an arrow or
// function expression initialising a property: `create = (req, res) => {...}`)
// is reached through the instances. When every instance is a `const` binding of
// `new C(...)` and the class is not used otherwise (no subclass, no
// `C.prototype`, not passed on), its callers are the reads of that member on those
// bindings and on `this` inside the class. This module finds the member and the
// class's own `this`; the async planner follows the bindings.
import { Node, SyntaxKind, type ClassDeclaration, type Identifier } from 'ts-morph';
import { outermost } from './legacy-symbols.js';

export interface InstanceMember {
  /** The member's name (`#name` for a private one). */
  key: string;
  cls: ClassDeclaration;
  /** The class's name. */
  name: Identifier;
}

/** The instance member of a named class declaration that `fn` is, if it is one (not static, not abstract). */
export function instanceMember(fn: Node): InstanceMember | undefined {
  const member = Node.isMethodDeclaration(fn) ? fn : outermost(fn).getParent();
  if (!member || !(Node.isMethodDeclaration(member) || (Node.isPropertyDeclaration(member) && member.getInitializer() === outermost(fn)))) return undefined;
  if (member.isStatic() || member.isAbstract()) return undefined;
  const cls = member.getParent();
  const name = Node.isClassDeclaration(cls) ? cls.getNameNode() : undefined;
  const nameNode = member.getNameNode();
  const key = Node.isIdentifier(nameNode) || Node.isPrivateIdentifier(nameNode) ? nameNode.getText() : Node.isStringLiteral(nameNode) ? nameNode.getLiteralText() : undefined;
  return name && key !== undefined && Node.isClassDeclaration(cls) ? { key, cls, name } : undefined;
}

/** The member of `cls` whose code `node` is in, and whether it is static; undefined when a nested function or class has its own `this` there. */
function thisOwner(cls: ClassDeclaration, node: Node): { isStatic: boolean } | undefined {
  let current: Node | undefined = node.getParent();
  while (current) {
    if (Node.isClassDeclaration(current) || Node.isClassExpression(current)) {
      // A property initialiser's own `this`: the instance (a static one's: the class).
      return current === cls ? { isStatic: false } : undefined;
    }
    if (Node.isClassStaticBlockDeclaration(current)) return current.getParent() === cls ? { isStatic: true } : undefined;
    if (Node.isFunctionLikeDeclaration(current) && !Node.isArrowFunction(current)) {
      const member = Node.isMethodDeclaration(current) || Node.isConstructorDeclaration(current) || Node.isGetAccessorDeclaration(current) || Node.isSetAccessorDeclaration(current) ? current : outermost(current).getParent();
      if (!member || member.getParent() !== cls) return undefined;
      return { isStatic: (Node.isMethodDeclaration(member) || Node.isPropertyDeclaration(member) || Node.isGetAccessorDeclaration(member) || Node.isSetAccessorDeclaration(member)) && member.isStatic() };
    }
    if (Node.isPropertyDeclaration(current) && current.getParent() === cls && current.isStatic()) return { isStatic: true };
    current = current.getParent();
  }
  return undefined;
}

/** Every `this` of `cls` that is an instance: in its constructor, instance methods, accessors and property initialisers (arrows included). */
export function instanceThis(cls: ClassDeclaration): Node[] {
  return cls.getDescendantsOfKind(SyntaxKind.ThisKeyword).filter((keyword) => thisOwner(cls, keyword)?.isStatic === false);
}

/**
 * Where `cls` makes an instance the planner does not see: `new this()` (or any use of
 * the class's own `this` other than a member read) in a static member, or
 * `this.constructor` in an instance member.
 */
export function unseenConstruction(cls: ClassDeclaration): Node | undefined {
  for (const keyword of cls.getDescendantsOfKind(SyntaxKind.ThisKeyword)) {
    const owner = thisOwner(cls, keyword);
    if (!owner) continue;
    const access = outermost(keyword).getParent();
    const isMemberRead = !!access && (Node.isPropertyAccessExpression(access) || Node.isElementAccessExpression(access)) && access.getExpression() === outermost(keyword);
    if (owner.isStatic && !isMemberRead) return keyword;
    if (!owner.isStatic && isMemberRead && Node.isPropertyAccessExpression(access) && access.getName() === 'constructor') return access;
  }
  return undefined;
}

/** `cls` declares a static member named `name`. */
export function isStaticMember(cls: ClassDeclaration, name: string): boolean {
  return cls.getStaticMembers().some((member) => !Node.isClassStaticBlockDeclaration(member) && member.getName() === name);
}
