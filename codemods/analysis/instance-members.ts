// A function held by an instance member of a class (a method, or an arrow or
// function expression initialising a property: `create = (req, res) => {...}`)
// is reached through the instances. When every instance is a `const` binding of
// `new C(...)` and the class is not used otherwise (no subclass, no
// `C.prototype`, not passed on), its callers are the reads of that member on those
// bindings and on `this` inside the class. A static member's are the reads on the
// class's name and on `this` in its static members, under the same conditions.
// This module finds the member and the class's own `this`; the async planner
// follows the bindings.
import { Node, SyntaxKind, type ClassDeclaration, type Identifier, type ObjectLiteralExpression } from 'ts-morph';
import { outermost, outermostExpression } from './legacy-symbols.js';
import { memberReads, objectUse, propertyKey, type MemberRead } from './object-members.js';
import { isWritten } from './scope.js';

export interface InstanceMember {
  /** The member's name (`#name` for a private one). */
  key: string;
  cls: ClassDeclaration;
  /** The class's name. */
  name: Identifier;
  /** A static member: reached through the class, not its instances. */
  isStatic: boolean;
}

/** The member of a named class declaration that `fn` is, if it is one (not abstract). */
export function instanceMember(fn: Node): InstanceMember | undefined {
  const member = Node.isMethodDeclaration(fn) ? fn : outermost(fn).getParent();
  if (!member || !(Node.isMethodDeclaration(member) || (Node.isPropertyDeclaration(member) && member.getInitializer() === outermost(fn)))) return undefined;
  if (member.isAbstract()) return undefined;
  const cls = member.getParent();
  const name = Node.isClassDeclaration(cls) ? cls.getNameNode() : undefined;
  const key = propertyKey(member.getNameNode());
  return name && key !== undefined && Node.isClassDeclaration(cls) ? { key, cls, name, isStatic: member.isStatic() } : undefined;
}

/** The member of `cls` whose code `node` is in, and whether it is static; undefined when a nested function or class has its own `this` there. */
function thisOwner(cls: ClassDeclaration, node: Node): { isStatic: boolean } | undefined {
  let previous: Node = node;
  let current: Node | undefined = node.getParent();
  while (current) {
    // A heritage clause, a decorator, a member's computed name: evaluated where their class (or object
    // literal) is defined, so in the `this` around it (`class extends (this.constructor) {}` in a method).
    const member = Node.isMethodDeclaration(current) || Node.isPropertyDeclaration(current) || Node.isGetAccessorDeclaration(current) || Node.isSetAccessorDeclaration(current);
    if (Node.isHeritageClause(previous) || Node.isDecorator(previous) || (Node.isComputedPropertyName(previous) && member)) {
      const holder = Node.isClassDeclaration(current) || Node.isClassExpression(current) || Node.isObjectLiteralExpression(current) ? current : current.getFirstAncestor((a) => Node.isClassDeclaration(a) || Node.isClassExpression(a) || Node.isObjectLiteralExpression(a));
      if (!holder || holder === cls) return undefined;
      previous = holder;
      current = holder.getParent();
      continue;
    }
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
    previous = current;
    current = current.getParent();
  }
  return undefined;
}

/** Every `this` of `cls` that is an instance: in its constructor, instance methods, accessors and property initialisers (arrows included). */
export function instanceThis(cls: ClassDeclaration): Node[] {
  return cls.getDescendantsOfKind(SyntaxKind.ThisKeyword).filter((keyword) => thisOwner(cls, keyword)?.isStatic === false);
}

/** Every `this` of `cls` that is the class itself: in its static members and static blocks. */
export function staticThis(cls: ClassDeclaration): Node[] {
  return cls.getDescendantsOfKind(SyntaxKind.ThisKeyword).filter((keyword) => thisOwner(cls, keyword)?.isStatic === true);
}

/** Keys that lead from an instance to its class or prototype (`new jobs.constructor()`, `jobs.__proto__.run()`), or from the class to its prototype. */
function reachesClass(key: string | undefined, isStatic: boolean): boolean {
  return isStatic ? key === 'prototype' : key === 'constructor' || key === '__proto__';
}

/** Methods every object inherits that call none of its members (unless the class declares or the code assigns them: checked apart). */
const OBJECT_METHODS = new Set(['hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', 'toString', 'valueOf']);

/**
 * The keys of `cls` whose calls run code of the class with `this` = the object (an
 * instance, or the class when `isStatic`): its methods and the properties it initialises
 * with a function or arrow. Not a property holding another value (a function stored
 * there from outside), nor an accessor (what it returns is not known).
 */
function methodKeys(cls: ClassDeclaration, isStatic: boolean): Set<string> {
  const keys = new Set<string>();
  for (const member of cls.getMembers()) {
    if (Node.isClassStaticBlockDeclaration(member) || Node.isConstructorDeclaration(member) || member.isStatic() !== isStatic) continue;
    const key = propertyKey(member.getNameNode());
    if (key === undefined) continue;
    if (Node.isMethodDeclaration(member)) keys.add(key);
    if (Node.isPropertyDeclaration(member)) {
      const initializer = member.getInitializer();
      if (initializer && (Node.isArrowFunction(initializer) || Node.isFunctionExpression(initializer))) keys.add(key);
    }
  }
  return keys;
}

/**
 * Where a function the codemod does not follow may get the object as its `this` (so its
 * `this.create()` is a caller it does not see), among `refs` (references of the instances,
 * or of the class when `isStatic`): a read leading to the class or prototype (`constructor`,
 * `__proto__`; `prototype`, `bind` and any key the class does not declare on the static
 * side), or a method call (`jobs.k()`, a tagged template) through a key that is assigned
 * somewhere (`jobs.k = function () { this.create() }`) or that the class does not give a
 * method (a function stored from outside).
 */
export function unseenReceiver(cls: ClassDeclaration, refs: readonly Node[], isStatic: boolean): { access: Node; called: boolean } | undefined {
  const reads = memberReads(refs);
  // `const { constructor: Ctor } = jobs`: a read by destructuring (computed keys and rest elements: keyUses reports them).
  for (const ref of refs) {
    const declaration = objectUse(ref).getParent();
    const pattern = declaration && Node.isVariableDeclaration(declaration) && declaration.getInitializer() === objectUse(ref) ? declaration.getNameNode() : undefined;
    if (!pattern || !Node.isObjectBindingPattern(pattern)) continue;
    for (const element of pattern.getElements()) {
      if (reachesClass(propertyKey(element.getPropertyNameNode() ?? element.getNameNode()), isStatic)) return { access: element, called: false };
    }
  }
  for (const { access, key } of reads) {
    if (reachesClass(key, isStatic)) return { access, called: false };
    // `this.bind(null)`, `this[k]` in a static member: the class's own members are all that is followed there
    // (`name` and `length` are the function's strings).
    if (isStatic && (key === undefined || !(isStaticMember(cls, key) || key === 'name' || key === 'length'))) return { access, called: false };
  }
  const stored = storedFunctionCall(reads, methodKeys(cls, isStatic), !isStatic);
  return stored && { access: stored.access, called: true };
}

/** `read` is called as a method: `o.k()`, `o.k!()`, `(o.k as F)()`, `` o.k`...` ``. */
function isMethodCall(read: MemberRead): boolean {
  const outer = outermostExpression(read.access);
  const parent = outer.getParent();
  return !!parent && ((Node.isCallExpression(parent) && parent.getExpression() === outer) || (Node.isTaggedTemplateExpression(parent) && parent.getTag() === outer));
}

/**
 * Among `reads` of an object (computed keys aside: the caller reports them), a method call
 * through a key that is not one of its `methods`, or that some read writes: the function
 * called there was stored from outside and gets the object as its `this`. `inherited`:
 * the methods every object has (`toString()`) count as methods while not written.
 */
export function storedFunctionCall(reads: readonly MemberRead[], methods: ReadonlySet<string>, inherited: boolean): MemberRead | undefined {
  const written = new Set(reads.filter((read) => read.key !== undefined && isWritten(read.access)).map((read) => read.key));
  return reads.find((read) => read.key !== undefined && isMethodCall(read) && (written.has(read.key) || !(methods.has(read.key) || (inherited && OBJECT_METHODS.has(read.key)))));
}

/** The keys of an object literal's members that hold functions (methods, functions, arrows, or a name a function may be bound to). */
export function literalMethodKeys(literal: ObjectLiteralExpression): Set<string> {
  const keys = new Set<string>();
  for (const property of literal.getProperties()) {
    if (Node.isSpreadAssignment(property)) continue;
    const key = propertyKey(property.getNameNode());
    if (key === undefined) continue;
    if (Node.isMethodDeclaration(property) || Node.isShorthandPropertyAssignment(property)) keys.add(key);
    if (Node.isPropertyAssignment(property)) {
      const value = property.getInitializer();
      if (value && (Node.isArrowFunction(value) || Node.isFunctionExpression(value) || Node.isIdentifier(value) || Node.isPropertyAccessExpression(value))) keys.add(key);
    }
  }
  return keys;
}

/**
 * Where `cls` makes an instance the planner does not see: `new this()` (or any use of
 * the class's own `this` other than a member read) in a static member,
 * `this.constructor` in an instance member, `new.target` in the constructor.
 */
export function unseenConstruction(cls: ClassDeclaration): Node | undefined {
  // `new.target` in the constructor: the class, as `this.constructor` is.
  for (const meta of cls.getDescendantsOfKind(SyntaxKind.MetaProperty)) {
    const fn = meta.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) && !Node.isArrowFunction(a));
    if (meta.getKeywordToken() === SyntaxKind.NewKeyword && fn && Node.isConstructorDeclaration(fn) && fn.getParent() === cls) return meta;
  }
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
  return cls.getStaticMembers().some((member) => !Node.isClassStaticBlockDeclaration(member) && propertyKey(member.getNameNode()) === name);
}
