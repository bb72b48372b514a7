// What a value given to defer() (or serialize()) enqueues, as registrations: the
// shim runs only functions registered by name, so each function that can reach
// defer() must be registered where it is declared. Followed: module-level
// functions (also through imports), static methods and members of module-level
// const objects and arrays (also a registry read with a computed key), the
// elements a loop hands over, and a wrapper's parameter back to what its callers
// pass (forwarded-arguments.ts). Anything else is a problem with its reason,
// reported where the value is written.
import { Node, SyntaxKind, type CallExpression, type ClassDeclaration, type ElementAccessExpression, type Identifier, type PropertyAccessExpression, type VariableDeclaration } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import { isAssignedMember, resolveIdentifier, resolveModuleMember, type DeclarationNode, type Resolution } from '../analysis/declarations.js';
import { unwrapFrozen } from '../analysis/defer-calls.js';
import { outermostExpression, unwrap } from '../analysis/legacy-symbols.js';
import { accessKey } from '../analysis/object-members.js';
import type { SourceRecord } from '../analysis/project.js';
import { declaringScope, isReassigned, isWritten } from '../analysis/scope.js';
import { quoted } from '../analysis/style.js';
import { enclosingFunction } from './async-plan.js';
import { isFunctionLike, nameOf } from './function-like.js';
import { forwardedArguments, type Forwarded } from './forwarded-arguments.js';
import { registryChange } from './registry-uses.js';

/** One registration: `register(<expression>)` after `statement`, a module-level statement of `record`. */
export interface RegistrationTarget {
  record: SourceRecord;
  statement: Node;
  /** What is registered: `sendMail`, `Tasks.run`, `TASKS.mail`. */
  expression: string;
  /** The function's own name at run time (`fn.name`), the default registered name. */
  name: string;
  /** The function's declaration: one registration per function. */
  declaration: Node;
  /** Where code hands it to defer() (or to a wrapper that does): the values written. */
  sites: Node[];
}

/** A value that reaches defer() and cannot be registered: `what` completes "defer() is given ...". */
export interface Unregistrable {
  record: SourceRecord;
  at: Node;
  what: string;
  via: readonly Forwarded[];
  /** The package (or file outside the run) the function comes from: it is registered there, not here. */
  external?: string;
}

/** A function name the legacy payload could carry (the reference runtime refused others). */
const PLAIN_NAME = /^[A-Za-z_$][\w$]*$/;

function isModuleFunction(node: DeclarationNode): boolean {
  if (Node.isFunctionDeclaration(node)) return !!node.getName();
  if (Node.isVariableDeclaration(node)) {
    const initializer = node.getInitializer();
    return !!initializer && (Node.isFunctionExpression(initializer) || Node.isArrowFunction(initializer)) && Node.isIdentifier(node.getNameNode());
  }
  return false;
}

/**
 * The line where the binding a module-level function is declared by (`let task = ...`,
 * `function send() {}`) is assigned again: the registration at its declaration
 * registers only its first value. Undefined for a binding never assigned again.
 */
function reassignment(node: DeclarationNode): number | undefined {
  const name = Node.isFunctionDeclaration(node) || Node.isVariableDeclaration(node) ? node.getNameNode() : undefined;
  if (!name || !Node.isIdentifier(name)) return undefined;
  if (Node.isVariableDeclaration(node) && node.getVariableStatement()?.getDeclarationKind() === 'const') return undefined;
  return isReassigned(name) ? firstWrite(name) : undefined;
}

/** The line of the first write of `name` other than its declaration (for the report; the declaration's line when not found). */
function firstWrite(name: Identifier): number {
  for (const reference of name.findReferencesAsNodes()) {
    if (reference === name) continue;
    const parent = reference.getParent();
    // `var send = a; ... var send = b`: a later `var` assigns it again.
    if ((Node.isVariableDeclaration(parent) && parent.getNameNode() === reference) || isWritten(outermostExpression(reference))) return reference.getStartLineNumber();
  }
  return name.getStartLineNumber();
}

function describe(fn: Node): string {
  if (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) return 'an inline function';
  if (Node.isCallExpression(fn) && Node.isPropertyAccessExpression(fn.getExpression()) && fn.getExpression().getText().endsWith('.bind')) return 'a bound function';
  if (Node.isPropertyAccessExpression(fn) || Node.isElementAccessExpression(fn)) return 'a method or property';
  return 'an expression';
}

/** What a name declared inside a function is, for the report. */
function describeLocal(identifier: Identifier): string {
  const name = identifier.getText();
  const scope = declaringScope(identifier, name);
  const owner = scope && (isFunctionLike(scope) ? scope : enclosingFunction(scope));
  const of = owner ? ` of ${nameOf(owner)}` : '';
  if (scope && isFunctionLike(scope)) {
    const parameter = scope.getParameters().find((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === name);
    if (parameter?.isRestParameter()) return `\`${name}\`, an element of the rest parameter${of}`;
    if (parameter) return `\`${name}\`, a parameter${of} that is assigned again, so what it holds is not only what its callers pass`;
  }
  const statements = scope && (Node.isBlock(scope) || Node.isCaseClause(scope) || Node.isDefaultClause(scope) || Node.isModuleBlock(scope)) ? scope.getStatements() : [];
  const declaresFunction = (statement: Node): boolean =>
    Node.isFunctionDeclaration(statement)
      ? statement.getName() === name
      : Node.isVariableStatement(statement) && statement.getDeclarations().some((d) => d.getName() === name && isFunctionLike(unwrap(d.getInitializer() ?? d)));
  if (statements.some(declaresFunction)) return `\`${name}\`, a function declared inside another function (a closure)`;
  return `\`${name}\`, a local variable${of}, whose value the codemod does not follow`;
}

/** How to write the member `key` of `object` in a registration, in the file's quotes. */
function memberExpression(record: SourceRecord, object: string, key: string): string {
  return PLAIN_NAME.test(key) ? `${object}.${key}` : `${object}[${/^\d+$/.test(key) ? key : quoted(record.style, key)}]`;
}

interface LiteralEntry {
  key: string;
  value: Node | undefined;
  entry: Node;
}

/**
 * The values of the pairs a module-level `const` Map is built from
 * (`new Map([['one', t1], ['two', t2]])`), undefined in place of an entry that is
 * not a plain pair; undefined when the declaration is not such a Map.
 */
function mapLiteralPairs(declaration: VariableDeclaration): Array<Node | undefined> | undefined {
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const' || !Node.isIdentifier(declaration.getNameNode())) return undefined;
  const initializer = declaration.getInitializer() && unwrap(declaration.getInitializer()!);
  if (!initializer || !Node.isNewExpression(initializer) || initializer.getExpression().getText() !== 'Map') return undefined;
  const [entries, ...rest] = initializer.getArguments();
  if (!entries || rest.length > 0 || !Node.isArrayLiteralExpression(unwrap(entries))) return undefined;
  return (unwrap(entries) as import('ts-morph').ArrayLiteralExpression).getElements().map((element) => {
    const pair = unwrap(element);
    return Node.isArrayLiteralExpression(pair) && pair.getElements().length === 2 && !pair.getElements().some((e) => Node.isSpreadElement(e) || Node.isOmittedExpression(e)) ? pair.getElements()[1] : undefined;
  });
}

/** The initializer of the local `const` (inside a function or block) `identifier` names, if it is one. */
function localConstValue(identifier: Identifier): Node | undefined {
  const declarations = identifier.getSymbol()?.getDeclarations() ?? [];
  const declaration = declarations.length === 1 ? declarations[0] : undefined;
  if (!declaration || !Node.isVariableDeclaration(declaration) || !Node.isIdentifier(declaration.getNameNode())) return undefined;
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const' || Node.isSourceFile(list.getParent()?.getParent())) return undefined;
  // A `for (const f of ...)` binding takes each element: addIterated's.
  if (!Node.isVariableStatement(list.getParent())) return undefined;
  // Only a value read from elsewhere (`const t = w1`, `TASKS[k]`, `TASKS.get(k)`); a local function is reported as the closure it is.
  const initializer = declaration.getInitializer();
  const value = initializer && unwrap(initializer);
  return value && (Node.isIdentifier(value) || Node.isPropertyAccessExpression(value) || Node.isElementAccessExpression(value) || Node.isCallExpression(value)) ? initializer : undefined;
}

/** The entries of a module-level const object or array literal (`Object.freeze(...)`, `as const` included). */
function literalEntries(declaration: VariableDeclaration): { array: boolean; entries: LiteralEntry[] } | undefined {
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const' || !Node.isIdentifier(declaration.getNameNode())) return undefined;
  const initializer = declaration.getInitializer() && unwrapFrozen(declaration.getInitializer()!);
  if (initializer && Node.isArrayLiteralExpression(initializer)) {
    const entries = initializer.getElements().map((element, index) => ({ key: String(index), value: Node.isSpreadElement(element) || Node.isOmittedExpression(element) ? undefined : element, entry: element }));
    return { array: true, entries };
  }
  if (!initializer || !Node.isObjectLiteralExpression(initializer)) return undefined;
  const entries = initializer.getProperties().map((property) => {
    const name = Node.isPropertyAssignment(property) || Node.isMethodDeclaration(property) || Node.isShorthandPropertyAssignment(property) ? property.getNameNode() : undefined;
    const key = name && (Node.isIdentifier(name) || Node.isStringLiteral(name) || Node.isNumericLiteral(name)) ? (Node.isIdentifier(name) ? name.getText() : name.getLiteralText()) : '';
    const value = !key ? undefined : Node.isPropertyAssignment(property) ? property.getInitializer() : Node.isShorthandPropertyAssignment(property) ? property.getNameNode() : Node.isMethodDeclaration(property) ? property : undefined;
    return { key, value, entry: property };
  });
  return { array: false, entries };
}

export class TaskFunctionValues {
  readonly targets = new Map<Node, RegistrationTarget>();
  readonly problems: Unregistrable[] = [];

  constructor(private readonly analysis: Analysis) {}

  /** Everything `value` (given to defer() in `record`) can enqueue; `via`: the parameters it came through. */
  add(record: SourceRecord, value: Node, via: readonly Forwarded[] = []): void {
    const fn = unwrap(value);
    if (Node.isPropertyAccessExpression(fn) || Node.isElementAccessExpression(fn)) return this.addMember(record, fn, via);
    if (Node.isCallExpression(fn) && this.addMapRead(record, fn, via)) return;
    if (!Node.isIdentifier(fn)) return void this.problems.push({ record, at: fn, what: describe(fn), via });
    const resolution = resolveIdentifier(this.analysis.index, record, fn as Identifier);
    if (resolution.kind === 'nested') {
      const initializer = localConstValue(fn as Identifier);
      if (initializer && !this.following.has(initializer)) {
        this.following.add(initializer);
        return this.add(record, initializer, via);
      }
      return this.addForwarded(record, fn as Identifier, via);
    }
    this.addResolved(record, fn, resolution, via);
  }

  /** Local `const` initializers being followed (a guard against `const a = b, b = a`). */
  private readonly following = new Set<Node>();

  /**
   * `TASKS.get(kind)`, `TASKS` a module-level `const TASKS = new Map([['one', t1], ...])`
   * that nothing changes: every value of its pairs. False when `call` is not such a read.
   */
  private addMapRead(record: SourceRecord, call: CallExpression, via: readonly Forwarded[]): boolean {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'get') return false;
    const object = unwrap(callee.getExpression());
    if (!Node.isIdentifier(object)) return false;
    const owner = resolveIdentifier(this.analysis.index, record, object as Identifier);
    const pairs = owner.kind === 'module' && Node.isVariableDeclaration(owner.node) ? mapLiteralPairs(owner.node) : undefined;
    if (owner.kind !== 'module' || !pairs) return false;
    const problem = (what: string): void => void this.problems.push({ record, at: call, what, via });
    if (pairs.some((pair) => !pair)) {
      problem(`\`${call.getText()}\`, which reads \`${owner.name}\`, a Map whose entries are not all written as \`[key, value]\` pairs`);
      return true;
    }
    const change = registryChange(this.analysis, owner.record, owner.node as VariableDeclaration, new Set(['get', 'has']));
    // Its entries are registered all the same: what the code adds is what the item is about.
    if (change) problem(`\`${call.getText()}\`, read from the Map \`${owner.name}\`, which code may change (${change}), so it may hold functions the registrations written from its entries miss`);
    for (const pair of pairs) this.add(owner.record, pair!, via);
    return true;
  }

  private addResolved(record: SourceRecord, fn: Node, resolution: Resolution, via: readonly Forwarded[]): void {
    if (resolution.kind === 'module') {
      const reassigned = reassignment(resolution.node);
      // Its first value is registered all the same: the item is about the values assigned later.
      if (reassigned) this.problems.push({ record, at: fn, what: `\`${fn.getText()}\`, a module-level binding that is assigned again (${resolution.record.rel}:${reassigned}), so the function it holds when defer() runs may not be the one registered at its declaration`, via });
      if (isModuleFunction(resolution.node)) {
        const statement = Node.isVariableDeclaration(resolution.node) ? resolution.node.getVariableStatement() : resolution.node;
        // `const send = function sendMail() {}` is registered as `send`, under its own name, sendMail.
        const initializer = Node.isVariableDeclaration(resolution.node) ? resolution.node.getInitializer() : undefined;
        const ownName = (initializer && Node.isFunctionExpression(initializer) && initializer.getName()) || resolution.name;
        if (statement) this.target(fn, resolution.record, statement, resolution.name, ownName, resolution.node);
      } else if (!reassigned) this.problems.push({ record, at: fn, what: `\`${fn.getText()}\`, which is not a function declared at module level`, via });
    } else if (resolution.kind === 'external') {
      this.problems.push({ record, at: fn, what: `\`${fn.getText()}\``, via, external: resolution.specifier });
    } else if (resolution.kind === 'nested') {
      this.problems.push({ record, at: fn, what: `\`${fn.getText()}\`, a local value`, via });
    } else {
      this.problems.push({ record, at: fn, what: `\`${fn.getText()}\`, whose declaration was not found`, via });
    }
  }

  /** Registers `declaration` (in `record`) for the value `site` given to defer(). */
  private target(site: Node, record: SourceRecord, statement: Node, expression: string, name: string, declaration: Node): void {
    if (statement.getParent()?.getKind() !== SyntaxKind.SourceFile) return;
    const known = this.targets.get(declaration);
    if (known) known.sites.push(site);
    else this.targets.set(declaration, { record, statement, expression, name, declaration, sites: [site] });
  }

  /** `function later(fn, ...a) { defer(fn, ...a) }`: the functions its callers pass are the ones enqueued. */
  private addForwarded(record: SourceRecord, fn: Identifier, via: readonly Forwarded[]): void {
    if (this.addIterated(record, fn, via)) return;
    const passed = forwardedArguments(this.analysis, record, fn, via);
    if (!passed) return void this.problems.push({ record, at: fn, what: describeLocal(fn), via });
    if (!passed.ok) return void this.problems.push({ record, at: fn, what: `\`${fn.getText()}\`, a parameter of ${nameOf(passed.fn)}, ${passed.reason}`, via });
    for (const spread of passed.spreads) this.problems.push({ record: spread.record, at: spread.value, what: `a spread argument in the place of \`${spread.via[0]!.parameter}\``, via: spread.via });
    for (const value of passed.values) this.add(value.record, value.value, value.via);
  }

  /**
   * `Tasks.run` (a static method), `TASKS.mail` / `TASKS[kind]` (members of a
   * module-level const object or array: every function entry when the key is
   * computed), `jobs.send` through a namespace import.
   */
  private addMember(record: SourceRecord, access: PropertyAccessExpression | ElementAccessExpression, via: readonly Forwarded[]): void {
    const problem = (what: string): void => void this.problems.push({ record, at: access, what, via });
    const object = unwrap(access.getExpression());
    if (!Node.isIdentifier(object)) return problem(describe(access));
    const key = accessKey(access);
    if (Node.isPropertyAccessExpression(access)) {
      const member = resolveModuleMember(this.analysis.index, record, object as Identifier, access.getName());
      if (member.kind === 'module') return this.addResolved(record, access, member, via);
    }
    const owner = resolveIdentifier(this.analysis.index, record, object as Identifier);
    if (owner.kind !== 'module') return problem(describe(access));
    const ownerName = owner.name;
    const ownerFile = owner.record.sourceFile;
    if (Node.isClassDeclaration(owner.node)) {
      const method = key === undefined ? undefined : staticMethod(owner.node, key);
      if (!method || isAssignedMember(ownerFile, ownerName, key!)) return problem(describe(access));
      if (key!.startsWith('#')) return problem(`\`${access.getText()}\`, a private static method (register() outside the class cannot name it)`);
      const change = registryChange(this.analysis, owner.record, owner.node, new Set(), key!);
      if (change) problem(`\`${access.getText()}\`, a static method that code may replace (${change}), so defer() may be given a function its registration misses`);
      return this.target(access, owner.record, owner.node, memberExpression(owner.record, ownerName, key!), key!, method);
    }
    this.addEntries(record, access, owner, key, via);
  }

  /** The entries of the module-level const object or array `owner` read at `at` (all of them for a computed key). */
  private addEntries(record: SourceRecord, at: Node, owner: Extract<Resolution, { kind: 'module' }>, key: string | undefined, via: readonly Forwarded[]): void {
    const problem = (what: string): void => void this.problems.push({ record, at, what, via });
    const ownerName = owner.name;
    const ownerFile = owner.record.sourceFile;
    const literal = Node.isVariableDeclaration(owner.node) ? literalEntries(owner.node) : undefined;
    const statement = Node.isVariableDeclaration(owner.node) ? owner.node.getVariableStatement() : undefined;
    if (!literal || !statement) return problem(describe(at));
    const read = key === undefined ? literal.entries : literal.entries.filter((entry) => entry.key === key);
    if (read.length === 0) return problem(describe(at));
    // A member written elsewhere holds what the analysis did not see.
    if (read.some((entry) => !entry.key || isAssignedMember(ownerFile, ownerName, entry.key))) {
      return problem(`\`${at.getText()}\`, a member of \`${ownerName}\` that is written elsewhere or has no plain key`);
    }
    const change = registryChange(this.analysis, owner.record, owner.node as VariableDeclaration, new Set(literal.entries.map((entry) => entry.key)));
    if (change) problem(`\`${at.getText()}\`, read from \`${ownerName}\`, which code may change (${change}), so it may hold functions the registrations written from its literal miss`);
    for (const entry of read) {
      const value = entry.value && unwrap(entry.value);
      const where = `${owner.record.rel}:${entry.entry.getStartLineNumber()}`;
      if (!value) {
        problem(`\`${at.getText()}\`, which reads an entry of \`${ownerName}\` that is a spread or a hole (${where})`);
      } else if (Node.isMethodDeclaration(value) || Node.isFunctionExpression(value) || Node.isArrowFunction(value)) {
        // Its name at run time: its own, else the property's (an array element's function has none).
        const name = (Node.isFunctionExpression(value) && value.getName()) || (literal.array ? '' : entry.key);
        if (!PLAIN_NAME.test(name)) {
          problem(`\`${at.getText()}\`, which reads a function of \`${ownerName}\` ${name ? `named '${name}'` : 'without a name'} (${where}): not a plain function name, which the legacy payload named it by`);
        } else this.target(at, owner.record, statement, memberExpression(owner.record, ownerName, entry.key), name, value);
      } else if (Node.isIdentifier(value)) {
        this.add(owner.record, value, via);
      } else {
        problem(`\`${at.getText()}\`, which reads an entry of \`${ownerName}\` that is not a function (${where})`);
      }
    }
  }

  /**
   * `for (const fn of TASKS)`, `[a, b].forEach((fn) => defer(fn))`,
   * `Object.values(TASKS).forEach(...)`: `fn` takes each element of the
   * collection in turn. False when `fn` is not such a binding.
   */
  private addIterated(record: SourceRecord, fn: Identifier, via: readonly Forwarded[]): boolean {
    const collection = iteratedCollection(fn);
    if (!collection) return false;
    const problem = (what: string): void => void this.problems.push({ record, at: fn, what, via });
    if (Node.isArrayLiteralExpression(collection)) {
      for (const element of collection.getElements()) {
        if (Node.isSpreadElement(element) || Node.isOmittedExpression(element)) problem(`\`${fn.getText()}\`, an element of an array with a spread or a hole`);
        else this.add(record, element, via);
      }
      return true;
    }
    // Object.values(TASKS): every entry; TASKS itself: an array's elements.
    const valuesOf = Node.isCallExpression(collection) && collection.getExpression().getText() === 'Object.values' && collection.getArguments().length === 1 ? unwrap(collection.getArguments()[0]!) : undefined;
    const object = valuesOf ?? collection;
    const owner = Node.isIdentifier(object) ? resolveIdentifier(this.analysis.index, record, object as Identifier) : undefined;
    const literal = owner?.kind === 'module' && Node.isVariableDeclaration(owner.node) ? literalEntries(owner.node) : undefined;
    if (!owner || owner.kind !== 'module' || !literal || (!valuesOf && !literal.array)) {
      problem(`\`${fn.getText()}\`, an element of \`${collection.getText()}\`, whose elements the codemod does not follow`);
      return true;
    }
    this.addEntries(record, fn, owner, undefined, via);
    return true;
  }
}

/** Array methods whose callback's first parameter is each element in turn. */
const ELEMENT_CALLBACKS = new Set(['forEach', 'map', 'flatMap', 'filter', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex']);

/** The collection `fn` iterates: a for-of's `const fn`, or the first parameter of an array method's callback; never assigned again. */
function iteratedCollection(fn: Identifier): Node | undefined {
  const name = fn.getText();
  const scope = declaringScope(fn, name);
  if (!scope) return undefined;
  if (Node.isForOfStatement(scope)) {
    const list = scope.getInitializer();
    if (!Node.isVariableDeclarationList(list) || list.getDeclarations().length !== 1) return undefined;
    const declaration = list.getDeclarations()[0]!;
    if (!Node.isIdentifier(declaration.getNameNode()) || isReassigned(declaration.getNameNode() as Identifier)) return undefined;
    return unwrap(scope.getExpression());
  }
  if (!isFunctionLike(scope)) return undefined;
  const first = scope.getParameters()[0];
  if (!first || !Node.isIdentifier(first.getNameNode()) || first.getName() !== name || isReassigned(first.getNameNode() as Identifier)) return undefined;
  let callback: Node = scope;
  while (Node.isParenthesizedExpression(callback.getParent())) callback = callback.getParent()!;
  const call = callback.getParent();
  if (!call || !Node.isCallExpression(call) || call.getArguments()[0] !== callback) return undefined;
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || !ELEMENT_CALLBACKS.has(callee.getName())) return undefined;
  return unwrap(callee.getExpression());
}

/** The class's own static method `name` with a body (not an accessor). */
function staticMethod(node: ClassDeclaration, name: string): Node | undefined {
  if (!node.getName()) return undefined;
  return node.getStaticMethods().find((method) => method.getName() === name && method.hasBody());
}
