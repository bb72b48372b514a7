// TaskHandler subclasses: classes whose `extends` chain reaches the legacy
// TaskHandler (or the shim's Handler, for code already migrated), through aliases
// and across files. A base the analysis cannot follow is "unknown", never
// "ordinary": such classes are reported, and route rows using them are not
// judged (docs/manual-steps.md#unknown-handler-base).
import { Node, SyntaxKind, ts, type ClassDeclaration, type ClassExpression } from 'ts-morph';
import type { CheckerResolver } from './checker.js';
import { compilerDescendants, compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import { declaredInModule, resolveModuleMember, resolveName, resolveRequiredMember } from './declarations.js';
import { isHandlerRef, isLegacyRole, requireSpecifier, unwrap, type SymbolTable } from './legacy-symbols.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import { declaringScope } from './scope.js';

export type ClassNode = ClassDeclaration | ClassExpression;

export interface HandlerClass {
  record: SourceRecord;
  node: ClassNode;
  /** Declared name, or the variable it is assigned to. */
  name: string | undefined;
  /** Extends TaskHandler/Handler itself rather than another subclass. */
  direct: boolean;
  /** Steps from TaskHandler (1 = direct subclass). */
  depth: number;
}

/** A class (in a file that uses the legacy API) whose base the analysis could not follow. */
export interface UnknownBaseClass {
  record: SourceRecord;
  node: ClassNode;
  /** The `extends` expression that could not be followed. */
  base: Node;
}

/** What an expression denotes as a class: a handler chain (depth from TaskHandler), an ordinary class, or unknown. */
export type BaseStatus = { kind: 'handler'; depth: number } | { kind: 'other' } | { kind: 'unknown'; at: Node };

export interface HandlerClasses {
  classes: HandlerClass[];
  /** Classes in legacy-using files whose base is unknown (reported, never treated as ordinary). */
  unknownBases: UnknownBaseClass[];
  /** Whether an expression in `record` denotes TaskHandler, Handler or one of their subclasses. */
  isHandlerExpression(record: SourceRecord, expression: Node): boolean;
  /** Handler, ordinary class, or a value the analysis cannot follow. */
  statusOf(record: SourceRecord, expression: Node): BaseStatus;
  of(node: ClassNode): HandlerClass | undefined;
}

const OTHER: BaseStatus = { kind: 'other' };

/** A file that imports or requires the legacy modules (directly or through a barrel), or the shim they become. */
function usesDeferredApi(symbols: SymbolTable, record: SourceRecord): boolean {
  return symbols.of(record).sites.some((site) => isLegacyRole(site.role) || site.role === 'shim' || site.viaBarrel);
}

export function findHandlerClasses(index: ProjectIndex, symbols: SymbolTable, records: SourceRecord[], checker?: CheckerResolver): HandlerClasses {
  const memo = new Map<ClassNode, BaseStatus>();
  const recordOf = (node: Node): SourceRecord | undefined => index.load(node.getSourceFile().getFilePath());

  function classNameOf(node: ClassNode): string | undefined {
    const own = node.getName();
    if (own) return own;
    const parent = node.getParent();
    if (parent && Node.isVariableDeclaration(parent)) return parent.getName();
    return undefined;
  }

  /** What the value of a variable's initializer is, as a class. */
  function statusOfInitializer(record: SourceRecord, initializer: Node | undefined, at: Node, seen: Set<Node>): BaseStatus {
    if (!initializer) return { kind: 'unknown', at };
    return statusIn(record, initializer, seen);
  }

  /** The syntactic answer, and the checker's where that is "unknown" and the legacy module is a project file. */
  function statusIn(record: SourceRecord, node: Node, seen: Set<Node>): BaseStatus {
    const status = syntacticStatus(record, node, seen);
    if (status.kind !== 'unknown' || !checker?.available()) return status;
    const depth = checker.handlerDepth(unwrap(node));
    return depth === undefined ? status : { kind: 'handler', depth };
  }

  function syntacticStatus(record: SourceRecord, node: Node, seen: Set<Node>): BaseStatus {
    const expression = unwrap(node);
    const ref = symbols.resolve(record, expression);
    if (isHandlerRef(ref)) return { kind: 'handler', depth: 0 };
    // A name that is a namespace of legacy bindings may also be a class TypeScript merges with it
    // (`class Audit extends TaskHandler {}` + `namespace Audit { export const send = deferred.defer }`): asked as a class.
    const merged = ref?.kind === 'barrel-namespace' && Node.isIdentifier(expression);
    if (ref && !merged) return ref.kind === 'unresolved' ? { kind: 'unknown', at: expression } : OTHER;
    if (Node.isClassExpression(expression)) return classify(expression, seen);
    if (Node.isConditionalExpression(expression)) {
      return combine([statusIn(record, expression.getWhenTrue(), seen), statusIn(record, expression.getWhenFalse(), seen)], expression);
    }
    if (Node.isCallExpression(expression)) {
      // `extends baseFor('mail')`: a project function whose every return is followed.
      const callee = unwrap(expression.getExpression());
      const resolution = Node.isIdentifier(callee) && !declaringScope(callee, callee.getText()) ? resolveName(index, record, callee.getText(), 0) : undefined;
      const fn = resolution?.kind === 'module' ? functionOf(resolution.node) : undefined;
      if (resolution?.kind === 'module' && fn && !seen.has(fn)) {
        seen.add(fn);
        const returned = returnedExpressions(fn);
        if (returned.length > 0) return combine(returned.map((r) => statusIn(resolution.record, r, seen)), expression);
      }
      return { kind: 'unknown', at: expression };
    }
    if (Node.isIdentifier(expression)) {
      const name = expression.getText();
      const scope = declaringScope(expression, name);
      if (scope) {
        // A class or const declared in a nearer scope.
        const declaration = declarationIn(scope, name);
        if (declaration && Node.isClassDeclaration(declaration)) return classify(declaration, seen);
        if (declaration && Node.isVariableDeclaration(declaration) && Node.isIdentifier(declaration.getNameNode()) && !seen.has(declaration)) {
          seen.add(declaration);
          return statusOfInitializer(record, declaration.getInitializer(), expression, seen);
        }
        return { kind: 'unknown', at: expression };
      }
      const resolution = resolveName(index, record, name, 0);
      if (resolution.kind === 'external') return OTHER;
      if (resolution.kind === 'class-value') return classify(resolution.node, seen);
      if (resolution.kind === 'unknown') return declaredInModule(record, name) ? { kind: 'unknown', at: expression } : globalStatus(name, seen); // a global (Error, EventEmitter)
      if (resolution.kind !== 'module') return { kind: 'unknown', at: expression };
      const declaration = resolution.node;
      if (Node.isClassDeclaration(declaration)) return classify(declaration, seen);
      if (Node.isFunctionDeclaration(declaration)) return constructorStatus(resolution.record, declaration, seen);
      if (seen.has(declaration)) return { kind: 'unknown', at: expression };
      seen.add(declaration);
      const list = declaration.getParent();
      if (Node.isVariableDeclarationList(list) && list.getDeclarationKind() !== 'const' && symbols.resolve(resolution.record, declaration.getNameNode())?.kind === 'unresolved') {
        return { kind: 'unknown', at: expression };
      }
      const initializer = declaration.getInitializer();
      if (initializer && Node.isIdentifier(unwrap(initializer)) && unwrap(initializer).getText() === name) return { kind: 'unknown', at: expression };
      return statusOfInitializer(resolution.record, initializer, expression, seen);
    }
    if (Node.isPropertyAccessExpression(expression)) {
      const object = unwrap(expression.getExpression());
      // `require('./tasks').Audit`, written inline.
      const required = requireSpecifier(object);
      if (required) {
        const resolution = resolveRequiredMember(index, record, required.getLiteralValue(), expression.getName());
        if (resolution.kind === 'external') return OTHER;
        if (resolution.kind === 'class-value') return classify(resolution.node, seen);
        if (resolution.kind === 'module' && Node.isClassDeclaration(resolution.node)) return classify(resolution.node, seen);
      }
      if (Node.isIdentifier(object)) {
        const resolution = resolveModuleMember(index, record, object, expression.getName());
        if (resolution.kind === 'external') return OTHER;
        if (resolution.kind === 'class-value') return classify(resolution.node, seen);
        if (resolution.kind === 'module' && Node.isClassDeclaration(resolution.node)) return classify(resolution.node, seen);
        // `NS.A`, where this file declares `namespace NS { export class A extends TaskHandler {} }`.
        const inNamespace = declaringScope(object, object.getText()) ? undefined : namespaceMember(record, object.getText(), expression.getName());
        if (inNamespace === 'namespace') return { kind: 'unknown', at: expression };
        if (inNamespace && Node.isClassDeclaration(inNamespace)) return classify(inNamespace, seen);
        if (inNamespace && !seen.has(inNamespace)) {
          seen.add(inNamespace);
          return statusIn(record, inNamespace, seen);
        }
        const objectResolution = resolveName(index, record, object.getText(), 0);
        if (objectResolution.kind === 'external') return OTHER; // a member of a package (events.EventEmitter)
        if (objectResolution.kind === 'unknown' && !declaringScope(object, object.getText()) && !declaredInModule(record, object.getText())) return OTHER;
        // `handlers.audit`, where `const handlers = { audit: class extends TaskHandler {...} }`.
        const held = constObjectMember(record, object, expression.getName(), objectResolution);
        if (held && !seen.has(held.value)) {
          seen.add(held.value);
          return statusIn(held.record, held.value, seen);
        }
      }
    }
    return { kind: 'unknown', at: expression };
  }

  /**
   * What a module-level `namespace <name> { ... }` of the file exports as `member`: its
   * class declaration, or a `const`'s initializer; 'namespace' when the file declares
   * such a namespace but the member is not one of those (so the row is reported, not
   * judged ordinary); undefined when it declares none.
   */
  function namespaceMember(record: SourceRecord, name: string, member: string): Node | 'namespace' | undefined {
    const sf = record.sourceFile;
    let declared = false;
    for (const statement of sf.compilerNode.statements) {
      if (!ts.isModuleDeclaration(statement) || !ts.isIdentifier(statement.name) || statement.name.text !== name) continue;
      declared = true;
      const body = statement.body;
      if (!body || !ts.isModuleBlock(body)) continue;
      for (const inner of body.statements) {
        if (!ts.getModifiers(inner as ts.HasModifiers)?.some((m) => m.kind === SyntaxKind.ExportKeyword)) continue;
        if (ts.isClassDeclaration(inner) && inner.name?.text === member) return wrapCompilerNode(sf, inner);
        if (!ts.isVariableStatement(inner) || (inner.declarationList.flags & ts.NodeFlags.Const) === 0) continue;
        for (const declaration of inner.declarationList.declarations) {
          if (ts.isIdentifier(declaration.name) && declaration.name.text === member && declaration.initializer) return wrapCompilerNode(sf, declaration.initializer);
        }
      }
    }
    return declared ? 'namespace' : undefined;
  }

  /**
   * The value a `const` object literal holds under `name`, when nothing can have
   * replaced it: the last property of that name with no spread after it, and no
   * assignment to the object's members (or `Object.assign` on it) in its file or here.
   */
  function constObjectMember(record: SourceRecord, object: Node, name: string, resolution: ReturnType<typeof resolveName>): { record: SourceRecord; value: Node } | undefined {
    const objectName = object.getText();
    let declaration: Node | undefined;
    let owner = record;
    const scope = declaringScope(object, objectName);
    if (scope) declaration = declarationIn(scope, objectName);
    else if (resolution.kind === 'module') {
      declaration = resolution.node;
      owner = resolution.record;
    }
    if (!declaration || !Node.isVariableDeclaration(declaration) || !Node.isIdentifier(declaration.getNameNode())) return undefined;
    const list = declaration.getParent();
    if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return undefined;
    const literal = declaration.getInitializer() && unwrap(declaration.getInitializer()!);
    if (!literal || !Node.isObjectLiteralExpression(literal)) return undefined;
    let value: Node | undefined;
    for (const property of literal.getProperties()) {
      if (Node.isSpreadAssignment(property)) value = undefined;
      else if (Node.isPropertyAssignment(property) && property.getName() === name) value = property.getInitializer();
      else if (Node.isShorthandPropertyAssignment(property) && property.getName() === name) value = property.getNameNode();
      else if ((Node.isMethodDeclaration(property) || Node.isGetAccessorDeclaration(property) || Node.isSetAccessorDeclaration(property)) && property.getName() === name) value = undefined;
    }
    if (!value) return undefined;
    const localName = declaration.getName();
    for (const file of new Set([owner, record])) {
      if (mutatesObject(file, file === owner ? localName : objectName)) return undefined;
    }
    return { record: owner, value };
  }

  // Per file and object name: every member of one object asks the same question.
  const mutated = new Map<string, boolean>();

  /** `o.x = ...`, `o[k] = ...`, `delete o.x`, `Object.assign(o, ...)` anywhere in the file. */
  function mutatesObject(file: SourceRecord, objectName: string): boolean {
    const key = `${file.absPath}\0${objectName}`;
    const known = mutated.get(key);
    if (known !== undefined) return known;
    const found = compilerDescendants(file.sourceFile.compilerNode, (node) => {
      if (ts.isBinaryExpression(node) && node.operatorToken.kind >= SyntaxKind.FirstAssignment && node.operatorToken.kind <= SyntaxKind.LastAssignment) {
        const left = node.left;
        return (ts.isPropertyAccessExpression(left) || ts.isElementAccessExpression(left)) && ts.isIdentifier(left.expression) && left.expression.text === objectName;
      }
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'assign') {
        const first = node.arguments[0];
        return first !== undefined && ts.isIdentifier(first) && first.text === objectName;
      }
      if (ts.isDeleteExpression(node) && (ts.isPropertyAccessExpression(node.expression) || ts.isElementAccessExpression(node.expression))) {
        return ts.isIdentifier(node.expression.expression) && node.expression.expression.text === objectName;
      }
      return false;
    });
    mutated.set(key, found.length > 0);
    return found.length > 0;
  }

  /**
   * A constructor function is an ordinary class unless its file wires its
   * prototype to a handler, or to something not followed (`util.inherits(F, B)`,
   * `F.prototype = Object.create(B.prototype)`, `Object.setPrototypeOf(F.prototype,
   * B.prototype)`, `B.call(this)`): such a prototype-based subclass is not
   * migrated, so it is unknown, never ordinary.
   */
  function constructorStatus(record: SourceRecord, fn: import('ts-morph').FunctionDeclaration, seen: Set<Node>): BaseStatus {
    const name = fn.getName();
    if (!name || seen.has(fn)) return OTHER;
    seen.add(fn);
    const statuses = prototypeBases(record, name).map((base) => (base ? statusIn(record, base, seen) : undefined));
    const wired = statuses.find((status) => !status || status.kind !== 'other');
    if (wired === undefined && !statuses.includes(undefined)) return OTHER;
    return { kind: 'unknown', at: wired && wired.kind === 'unknown' ? wired.at : fn.getNameNode() ?? fn };
  }

  let globals: Map<string, GlobalAssignment[]> | undefined;

  /**
   * A name no file declares: a global. Ordinary (Error, EventEmitter) unless a file
   * of the run assigns it onto the global object (`global.TaskHandler =
   * require(L).TaskHandler`, `Object.assign(globalThis, deferred)`) a value that is
   * not known to be ordinary: then unknown, at that assignment.
   */
  function globalStatus(name: string, seen: Set<Node>): BaseStatus {
    globals ??= globalAssignments(records);
    const assignments = [...(globals.get(name) ?? []), ...(globals.get('*') ?? [])];
    for (const { record, value, at } of assignments) {
      const status = value && !seen.has(value) ? (seen.add(value), statusIn(record, value, seen)) : undefined;
      if (!status || status.kind !== 'other') return { kind: 'unknown', at };
    }
    return OTHER;
  }

  function classify(node: ClassNode, seen = new Set<Node>()): BaseStatus {
    const cached = memo.get(node);
    if (cached !== undefined) return cached;
    if (seen.has(node)) return { kind: 'unknown', at: node };
    seen.add(node);
    const record = recordOf(node);
    const heritage = node.getExtends();
    let result: BaseStatus = OTHER;
    if (record && heritage) {
      const base = statusIn(record, heritage.getExpression(), seen);
      result = base.kind === 'handler' ? { kind: 'handler', depth: base.depth + 1 } : base;
    }
    memo.set(node, result);
    return result;
  }

  /** A subclass (anywhere) of a class whose base, in a file using the deferred API, was not followed. */
  function inheritsLegacyUnknown(at: Node): boolean {
    const owner = recordOf(at);
    return !!owner && usesDeferredApi(symbols, owner);
  }

  const classes: HandlerClass[] = [];
  const unknownBases: UnknownBaseClass[] = [];
  for (const record of records) {
    let legacy: boolean | undefined; // computed only for a class whose base is unknown
    const sf = record.sourceFile;
    const compilerClasses = [...compilerNodesOfKind(sf, SyntaxKind.ClassDeclaration), ...compilerNodesOfKind(sf, SyntaxKind.ClassExpression)];
    for (const node of compilerClasses.map((c) => wrapCompilerNode<ClassDeclaration | ClassExpression>(sf, c))) {
      const status = classify(node);
      if (status.kind === 'handler') classes.push({ record, node, name: classNameOf(node), direct: status.depth === 1, depth: status.depth });
      else if (status.kind === 'unknown' && node.getExtends() && ((legacy ??= usesDeferredApi(symbols, record)) || inheritsLegacyUnknown(status.at))) {
        unknownBases.push({ record, node, base: node.getExtends()!.getExpression() });
      }
    }
  }
  const order = (a: { record: SourceRecord; node: Node }, b: { record: SourceRecord; node: Node }): number =>
    a.record.rel === b.record.rel ? a.node.getStart() - b.node.getStart() : a.record.rel < b.record.rel ? -1 : 1;
  classes.sort(order);
  unknownBases.sort(order);
  const statusOf = (record: SourceRecord, expression: Node): BaseStatus => statusIn(record, expression, new Set());
  return {
    classes,
    unknownBases,
    statusOf,
    isHandlerExpression: (record, expression) => statusOf(record, expression).kind === 'handler',
    of: (node) => {
      const status = classify(node);
      const record = recordOf(node);
      return status.kind === 'handler' && record ? { record, node, name: classNameOf(node), direct: status.depth === 1, depth: status.depth } : undefined;
    },
  };
}

/** The class or variable named `name` that `scope` itself declares (not a nested scope). */
function declarationIn(scope: Node, name: string): Node | undefined {
  return scope.getDescendants().find((d) => (Node.isClassDeclaration(d) || Node.isVariableDeclaration(d)) && d.getName() === name && declaringScope(d.getNameNode()!, name) === scope);
}

/** One status for several possible values: all handlers (the nearest depth), all ordinary, else unknown. */
function combine(statuses: BaseStatus[], at: Node): BaseStatus {
  if (statuses.every((s) => s.kind === 'handler')) return { kind: 'handler', depth: Math.min(...statuses.map((s) => (s.kind === 'handler' ? s.depth : 0))) };
  if (statuses.every((s) => s.kind === 'other')) return OTHER;
  return { kind: 'unknown', at };
}

/** The function a declaration gives a value: `function f() {}`, `const f = () => ...`. */
function functionOf(declaration: Node): FunctionLike | undefined {
  if (Node.isFunctionDeclaration(declaration)) return declaration;
  if (Node.isVariableDeclaration(declaration)) {
    const initializer = declaration.getInitializer();
    const fn = initializer && unwrap(initializer);
    if (fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return fn;
  }
  return undefined;
}

type FunctionLike = import('ts-morph').FunctionDeclaration | import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression;

/** The expressions a function returns (its own returns, not those of nested functions). */
function returnedExpressions(fn: FunctionLike): Node[] {
  const body = fn.getBody();
  if (!body) return [];
  if (!Node.isBlock(body)) return [body];
  const result: Node[] = [];
  let bare = false;
  body.forEachDescendant((node, traversal) => {
    if (Node.isFunctionDeclaration(node) || Node.isFunctionExpression(node) || Node.isArrowFunction(node) || Node.isClassDeclaration(node) || Node.isClassExpression(node) || Node.isMethodDeclaration(node)) {
      traversal.skip();
      return;
    }
    if (Node.isReturnStatement(node)) {
      const expression = node.getExpression();
      if (expression) result.push(expression);
      else bare = true;
    }
  });
  return bare ? [] : result;
}

/** `B.prototype` → `B` (what a prototype wiring names as the base). */
function withoutPrototype(node: Node): Node {
  const value = unwrap(node);
  return Node.isPropertyAccessExpression(value) && value.getName() === 'prototype' ? value.getExpression() : value;
}

/**
 * The bases a file wires the prototype of the constructor `name` to, or
 * undefined for a wiring whose base cannot be read (`F.prototype = make()`):
 * `inherits(F, B)`, `Object.setPrototypeOf(F[.prototype], B[.prototype])`
 * (also Reflect's), `Object.assign(F.prototype, B.prototype)`, `F.prototype =
 * Object.create(B.prototype) | new B() | B.prototype`, `F.prototype.__proto__ =
 * B.prototype`, and `B.call(this)` / `B.apply(this)` inside F.
 */
function prototypeBases(record: SourceRecord, name: string): Array<Node | undefined> {
  const sf = record.sourceFile;
  const isName = (node: ts.Node | undefined): boolean => !!node && ts.isIdentifier(node) && node.text === name;
  const isPrototypeOf = (node: ts.Node | undefined): boolean => !!node && ts.isPropertyAccessExpression(node) && node.name.text === 'prototype' && isName(node.expression);
  const bases: Array<Node | undefined> = [];
  if (!sf.getFullText().includes(name)) return bases;
  for (const node of compilerDescendants(sf.compilerNode, (n) => ts.isCallExpression(n) || ts.isBinaryExpression(n))) {
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const method = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
      const [first, second] = node.arguments;
      if (method === 'inherits' && isName(first) && second) bases.push(wrapCompilerNode(sf, second));
      else if ((method === 'setPrototypeOf' || method === 'assign') && (isName(first) || isPrototypeOf(first)) && second) bases.push(withoutPrototype(wrapCompilerNode(sf, second)));
      else if ((method === 'call' || method === 'apply') && ts.isPropertyAccessExpression(callee) && first?.kind === SyntaxKind.ThisKeyword) {
        const fn = wrapCompilerNode(sf, node).getFirstAncestor((a) => Node.isFunctionDeclaration(a));
        if (fn && Node.isFunctionDeclaration(fn) && fn.getName() === name && ts.isIdentifier(callee.expression)) bases.push(wrapCompilerNode(sf, callee.expression));
      }
      continue;
    }
    const binary = node as ts.BinaryExpression;
    if (binary.operatorToken.kind !== SyntaxKind.EqualsToken) continue;
    const left = binary.left;
    const wholePrototype =
      isPrototypeOf(left) ||
      (ts.isPropertyAccessExpression(left) && left.name.text === '__proto__' && (isName(left.expression) || isPrototypeOf(left.expression)));
    if (!wholePrototype) continue;
    const right = unwrap(wrapCompilerNode(sf, binary.right));
    if (Node.isObjectLiteralExpression(right)) {
      if (right.getProperties().some((p) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p)) && p.getName() === '__proto__')) bases.push(undefined);
    } else if (Node.isCallExpression(right) && /^Object\.create$/.test(right.getExpression().getText()) && right.getArguments()[0]) bases.push(withoutPrototype(right.getArguments()[0]!));
    else if (Node.isNewExpression(right)) bases.push(right.getExpression());
    else if (Node.isPropertyAccessExpression(right) && right.getName() === 'prototype') bases.push(right.getExpression());
    else bases.push(undefined);
  }
  return bases;
}

interface GlobalAssignment {
  record: SourceRecord;
  /** The value assigned; undefined when it cannot be read (a getter, a whole object merged in). */
  value: Node | undefined;
  at: Node;
}

const GLOBAL_OBJECTS = new Set(['global', 'globalThis', 'window', 'self']);

/**
 * Names the files assign onto the global object, by name ('*' for a merge of a
 * whole value): `global.X = v`, `globalThis['X'] = v`, `Object.assign(global, { X: v }
 * | value)`, `Object.defineProperty(global, 'X', { value: v })`.
 */
function globalAssignments(records: SourceRecord[]): Map<string, GlobalAssignment[]> {
  const result = new Map<string, GlobalAssignment[]>();
  const add = (name: string, assignment: GlobalAssignment): void => {
    result.set(name, [...(result.get(name) ?? []), assignment]);
  };
  const isGlobalObject = (node: ts.Node | undefined): boolean => !!node && ts.isIdentifier(node) && GLOBAL_OBJECTS.has(node.text);
  for (const record of records) {
    const sf = record.sourceFile;
    if (![...GLOBAL_OBJECTS].some((name) => record.text.includes(name))) continue;
    for (const node of compilerDescendants(sf.compilerNode, (n) => ts.isBinaryExpression(n) || ts.isCallExpression(n))) {
      if (ts.isBinaryExpression(node)) {
        if (node.operatorToken.kind !== SyntaxKind.EqualsToken) continue;
        const left = node.left;
        const name = ts.isPropertyAccessExpression(left) && isGlobalObject(left.expression) ? left.name.text : ts.isElementAccessExpression(left) && isGlobalObject(left.expression) && ts.isStringLiteralLike(left.argumentExpression) ? left.argumentExpression.text : undefined;
        if (name) add(name, { record, value: wrapCompilerNode(sf, node.right), at: wrapCompilerNode(sf, node) });
        continue;
      }
      const call = node as ts.CallExpression;
      const callee = call.expression;
      if (!ts.isPropertyAccessExpression(callee) || !ts.isIdentifier(callee.expression) || callee.expression.text !== 'Object' || !isGlobalObject(call.arguments[0])) continue;
      const at = wrapCompilerNode(sf, call);
      if (callee.name.text === 'assign') {
        for (const source of call.arguments.slice(1)) {
          if (!ts.isObjectLiteralExpression(source)) {
            add('*', { record, value: undefined, at });
            continue;
          }
          for (const property of source.properties) {
            if (ts.isPropertyAssignment(property) && (ts.isIdentifier(property.name) || ts.isStringLiteralLike(property.name))) add(property.name.text, { record, value: wrapCompilerNode(sf, property.initializer), at });
            else if (ts.isShorthandPropertyAssignment(property)) add(property.name.text, { record, value: wrapCompilerNode(sf, property.name), at });
            else add('*', { record, value: undefined, at });
          }
        }
      } else if (callee.name.text === 'defineProperty' || callee.name.text === 'defineProperties') {
        const key = call.arguments[1];
        const descriptor = call.arguments[2];
        const valueProperty = descriptor && ts.isObjectLiteralExpression(descriptor) ? descriptor.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === 'value') : undefined;
        if (callee.name.text === 'defineProperty' && key && ts.isStringLiteralLike(key)) add(key.text, { record, value: valueProperty && wrapCompilerNode(sf, valueProperty.initializer), at });
        else add('*', { record, value: undefined, at });
      }
    }
  }
  return result;
}
