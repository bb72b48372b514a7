// TaskHandler (or the shim's Handler it becomes) used as a value the rules do not
// migrate: a prototype-based subclass (`util.inherits(F, TaskHandler)`,
// `Object.create(TaskHandler.prototype)`), a call of its methods
// (`TaskHandler.prototype.post.call(this)`), a patch of its prototype, an
// assignment to a global. The rename to Handler keeps such code running against
// a class whose methods take `environ` and return [body, status, headers], so
// each is reported (docs/manual-steps.md#handler-as-value).
import { Node, SyntaxKind, ts, type Identifier, type SourceFile } from 'ts-morph';
import { compilerDescendants, compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import type { HandlerClasses } from './handlers.js';
import { addBindingNames, isShadowed, sameScopeReferences } from './scope.js';
import { resolveModuleMember, resolveName } from './declarations.js';
import { isKeptByResolver } from './defer-calls.js';
import { isHandlerRef, isIndirectValue, isWsgiApplicationRef, type SymbolTable } from './legacy-symbols.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import type { RouteTable } from './route-tables.js';

/** What the rules migrate or report elsewhere: rows of the tables found, and the names class bases are read through. */
export interface ServedPlaces {
  rows: Set<Node>;
  /** Identifiers named in `extends` clauses (a function or getter returning the base is followed by handlers.ts). */
  baseNames: Set<string>;
  /** Files that create a route table: a row there that the analysis could not place is reported with its table. */
  tableFiles: Set<string>;
}

export function servedPlaces(tables: RouteTable[], records: SourceRecord[]): ServedPlaces {
  const baseNames = new Set<string>();
  for (const record of records) {
    for (const clause of compilerNodesOfKind<ts.HeritageClause>(record.sourceFile, SyntaxKind.HeritageClause)) {
      if (clause.token !== SyntaxKind.ExtendsKeyword) continue;
      for (const identifier of compilerDescendants<ts.Identifier>(clause, (n) => ts.isIdentifier(n))) baseNames.add(identifier.text);
    }
  }
  return { rows: new Set(tables.flatMap((table) => table.rows.map((row) => row.handler))), baseNames, tableFiles: new Set(tables.map((table) => table.record.absPath)) };
}

/** References of TaskHandler/Handler in `record` that are not a class base, a row, a type, an import/export or an alias. */
export function findHandlerValueUses(symbols: SymbolTable, record: SourceRecord, served: ServedPlaces): Node[] {
  const nodes = symbols.legacyReferences(record).filter((reference) => isHandlerRef(reference.ref)).map((reference) => reference.node);
  // `require(L).TaskHandler` read inline binds no name.
  for (const site of symbols.of(record).sites) {
    if (site.kind !== 'cjs-inline') continue;
    const read = site.node.getParent();
    if (read && (Node.isPropertyAccessExpression(read) || Node.isElementAccessExpression(read)) && read.getExpression() === site.node && isHandlerRef(symbols.resolve(record, read))) nodes.push(read);
  }
  return nodes.filter((node) => !isMigratedUse(node, served, record)).sort((a, b) => a.getStart() - b.getStart());
}

/**
 * A handler class (TaskHandler or a subclass the analysis follows) used in
 * prototype-based code: `X.prototype`, `X.call(this)` / `X.apply(this, ...)`,
 * `inherits(F, X)`, `Object.setPrototypeOf(F, X)`. A migrated subclass's methods
 * take `environ` now, so code that wires or calls them by prototype no longer fits.
 */
export function findPrototypeUses(handlers: HandlerClasses, record: SourceRecord): Node[] {
  const sf = record.sourceFile;
  if (!/\bprototype\b|\binherits\b|setPrototypeOf|\.(?:call|apply)\s*\(\s*this\b/.test(record.text)) return [];
  const bases: ts.Expression[] = [];
  for (const node of compilerDescendants(sf.compilerNode, (n) => ts.isPropertyAccessExpression(n) || ts.isCallExpression(n))) {
    if (ts.isPropertyAccessExpression(node)) {
      if (node.name.text === 'prototype') bases.push(node.expression);
      else if ((node.name.text === 'call' || node.name.text === 'apply') && ts.isCallExpression(node.parent) && node.parent.expression === node && node.parent.arguments[0]?.kind === SyntaxKind.ThisKeyword) bases.push(node.expression);
      continue;
    }
    const call = node as ts.CallExpression;
    const callee = call.expression;
    const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
    if ((name === 'inherits' || name === 'setPrototypeOf') && call.arguments[1]) bases.push(call.arguments[1]);
  }
  const found: Node[] = [];
  for (const base of bases) {
    // `X.prototype` itself is read as X; only identifiers and member chains name a class.
    let expression: ts.Expression = base;
    if (ts.isPropertyAccessExpression(expression) && expression.name.text === 'prototype') expression = expression.expression;
    if (!ts.isIdentifier(expression) && !ts.isPropertyAccessExpression(expression)) continue;
    const node = wrapCompilerNode(sf, expression);
    if (handlers.statusOf(record, node).kind === 'handler') found.push(node);
  }
  return found;
}

/**
 * WSGIApplication used otherwise than to create a table (`new WSGIApplication(rows)`),
 * aliased, typed, imported or exported: a subclass (`class TasksApp extends
 * WSGIApplication`), a branch of `?:`, an argument. Tables made that way are not
 * read, so TaskHandler rows in them would stay on a router that cannot run the
 * migrated classes. `subclass` tells the first case.
 */
export function findRouterValueUses(symbols: SymbolTable, record: SourceRecord): Array<{ node: Node; subclass: boolean }> {
  const found: Array<{ node: Node; subclass: boolean }> = [];
  for (const reference of symbols.legacyReferences(record)) {
    if (!isWsgiApplicationRef(reference.ref)) continue;
    let current = reference.node;
    let parent = current.getParent();
    while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent) || Node.isNonNullExpression(parent) || Node.isSatisfiesExpression(parent) || isIndirectValue(parent, current))) {
      current = parent;
      parent = parent.getParent();
    }
    if (!parent) continue;
    if (Node.isExpressionWithTypeArguments(parent) && parent.getParent()?.isKind(SyntaxKind.HeritageClause)) {
      const clause = parent.getParentOrThrow().asKindOrThrow(SyntaxKind.HeritageClause);
      if (clause.getToken() === SyntaxKind.ExtendsKeyword) found.push({ node: current, subclass: true });
      continue;
    }
    if (Node.isNewExpression(parent) && parent.getExpression() === current) continue;
    if (Node.isTypeReference(parent) || Node.isQualifiedName(parent) || Node.isImportSpecifier(parent) || Node.isExpressionWithTypeArguments(parent)) continue;
    if (Node.isBinaryExpression(parent) && parent.getRight() === current && parent.getOperatorToken().getKind() === SyntaxKind.InstanceOfKeyword) continue;
    if (isKeptByResolver(current, parent)) continue;
    found.push({ node: current, subclass: false });
  }
  return found;
}

/**
 * `new Sub()` of a handler subclass outside what the rules write (`new Sub().post(environ)`,
 * `new Sub()(req, res)`): a hand-made dispatch (`const h = new Sub(); await h.post()`,
 * as tests and custom routers do) calls the migrated methods without `environ`.
 */
export function findInstantiations(handlers: HandlerClasses, record: SourceRecord): Node[] {
  const sf = record.sourceFile;
  if (!/\bnew\b/.test(record.text)) return [];
  const found: Node[] = [];
  for (const created of compilerNodesOfKind<ts.NewExpression>(sf, SyntaxKind.NewExpression)) {
    const expression = created.expression;
    if (!ts.isIdentifier(expression) && !ts.isPropertyAccessExpression(expression)) continue;
    if (isWrittenDispatch(created)) continue;
    const node = wrapCompilerNode(sf, expression);
    if (handlers.statusOf(record, node).kind === 'handler') found.push(node);
  }
  return found;
}

/** The methods webapp called with no argument that the migrated Handler calls with environ. */
const ENTRY_METHODS = new Set(['post', 'runFromRequest']);

/**
 * `h.post()` / `h.runFromRequest()` without arguments on a parameter or variable typed as
 * `TaskHandler` or a subclass found (a TypeScript annotation, or JSDoc's `@param {...}` /
 * `@type {...}` in JavaScript, also through a `@typedef` or `type` alias of the file): a dispatch
 * written for webapp's handlers, which now need environ. In TypeScript the type check says so
 * when the run type-checks; in JavaScript only a checkJs config would.
 */
export function findTypedDispatches(handlers: HandlerClasses, record: SourceRecord): Node[] {
  const text = record.text;
  if (!/\.(?:post|runFromRequest)\s*\(\s*\)/.test(text)) return [];
  const names = new Set(['TaskHandler', ...handlers.classes.map((c) => c.name).filter((name): name is string => name !== undefined)]);
  // Migrated code (the idempotency pass, a file migrated before): the shim's Handler takes environ too.
  if (text.includes('deferred-migrate/shim')) names.add('Handler');
  if (![...names].some((name) => text.includes(name))) return [];
  const word = (name: string) => new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  const mentions = (typeText: string): boolean => [...names].some((name) => word(name).test(typeText));
  // `/** @typedef {import('...').TaskHandler} Legacy */`, `type Legacy = deferred.TaskHandler`: aliases of the file.
  for (const match of text.matchAll(/@typedef\s*\{([^}]*)\}\s*([\w$]+)|\btype\s+([\w$]+)\s*(?:<[^>]*>)?\s*=\s*([^;\n]+)/g)) {
    const [typeText, alias] = match[1] !== undefined ? [match[1], match[2]!] : [match[4]!, match[3]!];
    if (mentions(typeText)) names.add(alias);
  }
  const sf = record.sourceFile;
  const found: Node[] = [];
  for (const kind of [SyntaxKind.Parameter, SyntaxKind.VariableDeclaration] as const) {
    for (const declaration of compilerNodesOfKind<ts.ParameterDeclaration | ts.VariableDeclaration>(sf, kind)) {
      if (!ts.isIdentifier(declaration.name)) continue;
      const type = declaration.type ?? (record.isTypeScript ? undefined : ts.getJSDocType(declaration));
      if (!type || !mentions(type.getText(sf.compilerNode))) continue;
      // `typeof TaskHandler`: the class, not an instance (handed-on classes are findHandOffs').
      if (/^\s*typeof\b/.test(type.getText(sf.compilerNode))) continue;
      const name = wrapCompilerNode<Identifier>(sf, declaration.name);
      for (const ref of sameScopeReferences(name)) {
        const access = ref.getParent();
        if (!access || !Node.isPropertyAccessExpression(access) || access.getExpression() !== ref || !ENTRY_METHODS.has(access.getName())) continue;
        const call = access.getParent();
        if (call && Node.isCallExpression(call) && call.getExpression() === access && call.getArguments().length === 0) found.push(call);
      }
    }
  }
  return found;
}

/**
 * Calls whose class argument is tested, not used: `instanceof` and identity hold after the rename
 * (`expect(h).toBeInstanceOf(Audit)`, `assert.strictEqual(h.constructor, Audit)`, `kinds.includes(H)`,
 * `expect(H)`, a Map's key); prototype wiring is findPrototypeUses'.
 */
const CLASS_TESTS = /^(?:toBeInstanceOf|instanceOf|instanceof|isPrototypeOf|inherits|setPrototypeOf|toBe|toEqual|toStrictEqual|equal|equals|strictEqual|deepEqual|deepStrictEqual|notStrictEqual|notEqual|is|same|includes|indexOf|has|get|expect)$/;

/**
 * A handler subclass handed on where the analysis does not follow it: an argument of a call or `new`
 * (`dispatch(AuditHandler, body)`, `Reflect.construct(AuditHandler, [])`, `router.add('/mail', MailTask)`,
 * also through a const alias or a registry member, `dispatch(registry.audit)`), or an element of an
 * array that is not a route-table row (`for (const H of [AuditHandler, MailTask]) new H().post()`). A
 * test's or a replay tool's dispatch helper makes an instance and calls `post()` without environ, as
 * webapp did; a custom router serves it as a webapp handler. Only files that spell the name of a
 * subclass found are looked at.
 */
export function findHandOffs(handlers: HandlerClasses, record: SourceRecord): Node[] {
  const names = handlers.classes.map((c) => c.name).filter((name): name is string => name !== undefined);
  if (names.length === 0 || !names.some((name) => record.text.includes(name))) return [];
  const sf = record.sourceFile;
  const found: Node[] = [];
  const holders = classHolders(sf, names);
  const consider = (value: ts.Expression): void => {
    while (ts.isParenthesizedExpression(value) || ts.isAsExpression(value) || ts.isNonNullExpression(value) || ts.isSatisfiesExpression(value)) value = value.expression;
    // `Object.entries({ audit: AuditHandler })`, `register({ AuditHandler })`: an object literal handed on holds it.
    if (ts.isObjectLiteralExpression(value)) {
      for (const property of value.properties) {
        if (ts.isPropertyAssignment(property)) consider(property.initializer);
        else if (ts.isShorthandPropertyAssignment(property)) consider(property.name);
      }
      return;
    }
    if (!ts.isIdentifier(value) && !ts.isPropertyAccessExpression(value)) return;
    // Only what may hold a subclass: resolving every argument of the file asks the type checker of most.
    let root: ts.Expression = value;
    while (ts.isPropertyAccessExpression(root)) root = root.expression;
    if (!ts.isIdentifier(root) || !holders.has(root.text)) return;
    const node = wrapCompilerNode(sf, value);
    if (handlers.statusOf(record, node).kind === 'handler') found.push(node);
  };
  for (const kind of [SyntaxKind.CallExpression, SyntaxKind.NewExpression] as const) {
    for (const call of compilerNodesOfKind<ts.CallExpression | ts.NewExpression>(sf, kind)) {
      const callee = call.expression;
      const calleeName = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : '';
      if (CLASS_TESTS.test(calleeName)) continue;
      // `Object.defineProperty(exports, 'X', { value: X })`: an export the resolver follows.
      if (calleeName === 'defineProperty' && call.arguments?.[0] && /^(?:module\.)?exports$/.test(call.arguments[0].getText(sf.compilerNode))) continue;
      for (const argument of call.arguments ?? []) consider(argument);
    }
  }
  for (const array of compilerNodesOfKind<ts.ArrayLiteralExpression>(sf, SyntaxKind.ArrayLiteralExpression)) {
    // `[pattern, Handler]`: a row (the route-table analysis reads it, or reports its table), unless it is an
    // entry given to a keyed collection (`Object.fromEntries([['audit', AuditHandler]])`, `new Map(...)`,
    // `new WeakMap(...)`) other than a module-level const Map registry, whose reads findRegistryReads reports.
    const [first] = array.elements;
    const pair = array.elements.length === 2 && first && (ts.isStringLiteralLike(first) || ts.isTemplateExpression(first) || ts.isRegularExpressionLiteral(first));
    if (pair && (!collectionEntry(array) || mapRegistryEntry(handlers, record, array))) continue;
    for (const element of array.elements) if (!ts.isSpreadElement(element)) consider(element);
  }
  // `Registry.table['mail'] = MailHandler` (a static block, a setup function): stored where the codemod does not follow it.
  for (const assignment of compilerNodesOfKind<ts.BinaryExpression>(sf, SyntaxKind.BinaryExpression)) {
    if (assignment.operatorToken.kind !== SyntaxKind.EqualsToken) continue;
    const left = assignment.left;
    if (!ts.isPropertyAccessExpression(left) && !ts.isElementAccessExpression(left)) continue;
    // `exports.AuditHandler = AuditHandler`, `module.exports.X = ...`: exports the resolver follows.
    if (/^(?:module\.)?exports\b/.test(left.getText(sf.compilerNode))) continue;
    consider(assignment.right);
  }
  return found;
}

/** `[key, value]` among the entries given to `Object.fromEntries(...)`, `new Map(...)`, `new WeakMap(...)`. */
function collectionEntry(pair: ts.ArrayLiteralExpression): boolean {
  const entries = pair.parent;
  const call = entries && ts.isArrayLiteralExpression(entries) ? entries.parent : undefined;
  if (!call || !(ts.isCallExpression(call) || ts.isNewExpression(call)) || call.arguments?.[0] !== entries) return false;
  const callee = call.expression.getText();
  return ts.isNewExpression(call) ? callee === 'Map' || callee === 'WeakMap' : callee === 'Object.fromEntries';
}

/** `[key, Handler]` inside the entries of a module-level const `new Map([...])` registry (registryKind 'map'). */
function mapRegistryEntry(handlers: HandlerClasses, record: SourceRecord, pair: ts.ArrayLiteralExpression): boolean {
  const entries = pair.parent;
  const created = entries && ts.isArrayLiteralExpression(entries) ? entries.parent : undefined;
  if (!created || !ts.isNewExpression(created)) return false;
  let holder: ts.Node | undefined = created.parent;
  while (holder && (ts.isParenthesizedExpression(holder) || ts.isAsExpression(holder) || ts.isSatisfiesExpression(holder) || ts.isNonNullExpression(holder))) holder = holder.parent;
  if (!holder || !ts.isVariableDeclaration(holder)) return false;
  return registryKind(handlers, record, wrapCompilerNode(record.sourceFile, holder)) === 'map';
}

/**
 * The names in a file that may hold a handler subclass: the classes' own names, what the file
 * imports (a module object, a renamed import), and variables whose initializer spells one of
 * those or a `require()` (aliases, registries), to a fixpoint. A parameter gets its class from
 * a call, which is a hand-off of its own.
 */
function classHolders(sf: SourceFile, classNames: readonly string[]): Set<string> {
  const holders = new Set(classNames);
  for (const statement of sf.compilerNode.statements) {
    if (ts.isImportEqualsDeclaration(statement)) holders.add(statement.name.text);
    if (!ts.isImportDeclaration(statement) || !statement.importClause) continue;
    const { name, namedBindings } = statement.importClause;
    if (name) holders.add(name.text);
    if (namedBindings && ts.isNamespaceImport(namedBindings)) holders.add(namedBindings.name.text);
    else if (namedBindings) for (const element of namedBindings.elements) holders.add(element.name.text);
  }
  const declarations = compilerNodesOfKind<ts.VariableDeclaration>(sf, SyntaxKind.VariableDeclaration).filter((d) => d.initializer !== undefined);
  const spells = (text: string): boolean => /\brequire\s*\(/.test(text) || [...holders].some((name) => text.includes(name) && new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`).test(text));
  for (let grown = true; grown; ) {
    grown = false;
    for (const declaration of declarations) {
      const bound = new Set<string>();
      addBindingNames(declaration.name, bound);
      if ([...bound].every((name) => holders.has(name)) || !mayHoldClass(declaration.initializer!) || !spells(declaration.initializer!.getText(sf.compilerNode))) continue;
      for (const name of bound) holders.add(name);
      grown = true;
    }
  }
  return holders;
}

/**
 * An initializer whose value may be a class or hold one: a name or member chain, an object or
 * array literal (a registry), a branch of a conditional or logical expression, a module
 * (`require()`, `await import()`), `Object.freeze({...})`. Not an instance (`new X()`) nor what a
 * call returns (`const [body, status] = await new X().post(environ)`, what the rules write).
 */
function mayHoldClass(initializer: ts.Expression): boolean {
  let value = initializer;
  while (ts.isParenthesizedExpression(value) || ts.isAsExpression(value) || ts.isSatisfiesExpression(value) || ts.isNonNullExpression(value) || ts.isAwaitExpression(value)) value = value.expression;
  if (ts.isIdentifier(value) || ts.isPropertyAccessExpression(value) || ts.isElementAccessExpression(value) || ts.isObjectLiteralExpression(value) || ts.isArrayLiteralExpression(value)) return true;
  if (ts.isConditionalExpression(value)) return mayHoldClass(value.whenTrue) || mayHoldClass(value.whenFalse);
  if (ts.isBinaryExpression(value)) return mayHoldClass(value.left) || mayHoldClass(value.right);
  if (ts.isCallExpression(value)) {
    let callee: ts.Expression = value.expression;
    while (ts.isPropertyAccessExpression(callee)) callee = callee.expression;
    return value.expression.kind === SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && (callee.text === 'require' || callee.text === 'Object'));
  }
  return false;
}

/** `new X().post(environ)`, `new X().runFromRequest(environ)`, `new X()(req, res)`: what the rules write. */
function isWrittenDispatch(created: ts.NewExpression): boolean {
  let parent = created.parent;
  let current: ts.Node = created;
  while (ts.isParenthesizedExpression(parent)) {
    current = parent;
    parent = parent.parent;
  }
  if (ts.isCallExpression(parent) && parent.expression === current) return parent.arguments.length === 2;
  if (!ts.isPropertyAccessExpression(parent) || !['post', 'runFromRequest'].includes(parent.name.text)) return false;
  const call = parent.parent;
  return ts.isCallExpression(call) && call.expression === parent && call.arguments.length === 1;
}

function isMigratedUse(node: Node, served: ServedPlaces, record: SourceRecord): boolean {
  const { rows } = served;
  if (rows.has(node)) return true;
  // Inside a class's `extends` expression: handlers.ts follows it or reports the class (unknown-handler-base).
  if (node.getFirstAncestor((a) => Node.isHeritageClause(a) || Node.isStatement(a) || Node.isClassDeclaration(a) || Node.isClassExpression(a))?.isKind(SyntaxKind.HeritageClause)) return true;
  if ((served.tableFiles.has(record.absPath) && isRowShaped(node)) || isReturnedBase(node, served.baseNames)) return true;
  let current = node;
  let parent = current.getParent();
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent) || Node.isNonNullExpression(parent) || Node.isSatisfiesExpression(parent) || isIndirectValue(parent, current))) {
    current = parent;
    parent = parent.getParent();
  }
  if (!parent) return true;
  if (rows.has(current)) return true;
  // `class X extends TaskHandler`, `implements`, and every type position.
  if (Node.isExpressionWithTypeArguments(parent) || Node.isTypeReference(parent) || Node.isQualifiedName(parent) || Node.isImportSpecifier(parent)) return true;
  // `x instanceof TaskHandler` holds after the rename.
  if (Node.isBinaryExpression(parent) && parent.getRight() === current && parent.getOperatorToken().getKind() === SyntaxKind.InstanceOfKeyword) return true;
  // What the rules write: `new Handler().post(environ)`, `new Handler()(req, res)`.
  if (Node.isNewExpression(parent) && parent.getExpression() === current) {
    const after = parent.getParent();
    if (after && Node.isCallExpression(after) && after.getExpression() === parent) return after.getArguments().length === 2;
    const call = after?.getParent();
    return !!after && Node.isPropertyAccessExpression(after) && ['post', 'runFromRequest'].includes(after.getName()) && !!call && Node.isCallExpression(call) && call.getArguments().length === 1;
  }
  return isKeptByResolver(current, parent);
}

/** `[pattern, X]` in a file with a route table: a row (rows the analysis could not place are reported with their table). */
function isRowShaped(node: Node): boolean {
  const row = node.getParent();
  if (!row || !Node.isArrayLiteralExpression(row)) return false;
  const [pattern, handler] = row.getElements();
  return handler === node && !!pattern && (Node.isStringLiteral(pattern) || Node.isNoSubstitutionTemplateLiteral(pattern) || Node.isTemplateExpression(pattern) || Node.isRegularExpressionLiteral(pattern));
}

/**
 * What a function or getter returns (possibly one branch of a conditional) when
 * its name is read in some `extends` clause: handlers.ts follows such a base.
 */
function isReturnedBase(node: Node, baseNames: Set<string>): boolean {
  let current = node;
  let parent = current.getParent();
  while (parent && (Node.isConditionalExpression(parent) || Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent))) {
    if (Node.isConditionalExpression(parent) && parent.getCondition() === current) return false;
    current = parent;
    parent = parent.getParent();
  }
  if (!parent) return false;
  const fn = Node.isReturnStatement(parent) ? parent.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a)) : Node.isArrowFunction(parent) && parent.getBody() === current ? parent : undefined;
  if (!fn) return false;
  const owner = Node.isArrowFunction(fn) || Node.isFunctionExpression(fn) ? fn.getParent() : fn;
  const name = owner && (Node.isFunctionDeclaration(owner) || Node.isGetAccessorDeclaration(owner) || Node.isMethodDeclaration(owner) || Node.isVariableDeclaration(owner) || Node.isPropertyAssignment(owner)) ? owner.getName() : undefined;
  return !!name && baseNames.has(name);
}

/** A module-level `const` registry of handler subclasses found, by declaration: 'object' (`{ audit: AuditHandler }`), 'map' (`new Map([[key, AuditHandler]])`), or null. */
const registryKinds = new WeakMap<Node, 'object' | 'map' | null>();

function registryKind(handlers: HandlerClasses, record: SourceRecord, declaration: Node): 'object' | 'map' | undefined {
  let kind = registryKinds.get(declaration);
  if (kind === undefined) {
    kind = null;
    registryKinds.set(declaration, kind);
    const list = declaration.getParent();
    if (Node.isVariableDeclaration(declaration) && Node.isIdentifier(declaration.getNameNode()) && Node.isVariableDeclarationList(list) && list.getDeclarationKind() === 'const') {
      let value: Node | undefined = declaration.getInitializer();
      for (;;) {
        if (value && (Node.isParenthesizedExpression(value) || Node.isAsExpression(value) || Node.isSatisfiesExpression(value) || Node.isNonNullExpression(value))) value = value.getExpression();
        else if (value && Node.isCallExpression(value) && /^Object\.freeze$/.test(value.getExpression().getText())) value = value.getArguments()[0];
        else break;
      }
      const isHandler = (node: Node | undefined): boolean => !!node && handlers.statusOf(record, node).kind === 'handler';
      if (value && Node.isObjectLiteralExpression(value)) {
        const held = value.getProperties().some((property) => (Node.isPropertyAssignment(property) ? isHandler(property.getInitializer()) : Node.isShorthandPropertyAssignment(property) ? isHandler(property.getNameNode()) : false));
        if (held) kind = 'object';
      } else if (value && Node.isNewExpression(value) && value.getExpression().getText() === 'Map') {
        const [entries] = value.getArguments();
        if (entries && Node.isArrayLiteralExpression(entries) && entries.getElements().some((entry) => Node.isArrayLiteralExpression(entry) && isHandler(entry.getElements()[1]))) kind = 'map';
      }
      registryKinds.set(declaration, kind);
    }
  }
  return kind ?? undefined;
}

/** The names of module-level consts of `records` whose initializer spells a handler subclass's name: the registries (`registryKind`) are among them. */
export function registryNames(handlers: HandlerClasses, records: readonly SourceRecord[]): Set<string> {
  const classNames = handlers.classes.map((c) => c.name).filter((name): name is string => name !== undefined);
  const names = new Set<string>();
  if (handlers.classes.length === 0) return names;
  for (const record of records) {
    for (const statement of record.sourceFile.compilerNode.statements) {
      if (!ts.isVariableStatement(statement) || !(statement.declarationList.flags & ts.NodeFlags.Const)) continue;
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name) || !declaration.initializer) continue;
        const text = declaration.initializer.getText(record.sourceFile.compilerNode);
        // Classes declared inline (`{ mail: class extends TaskHandler {} }`) spell no class name.
        if (/\bextends\b/.test(text) || classNames.some((name) => text.includes(name))) names.add(declaration.name.text);
      }
    }
  }
  // The names they are exported and imported under (`export { handlers as table }`, `import { table as t }`).
  for (let grown = names.size > 0; grown; ) {
    grown = false;
    for (const record of records) {
      if (!/\bas\b/.test(record.text)) continue;
      for (const specifier of [...compilerNodesOfKind<ts.ExportSpecifier>(record.sourceFile, SyntaxKind.ExportSpecifier), ...compilerNodesOfKind<ts.ImportSpecifier>(record.sourceFile, SyntaxKind.ImportSpecifier)]) {
        if (specifier.propertyName && ts.isIdentifier(specifier.propertyName) && names.has(specifier.propertyName.text) && ts.isIdentifier(specifier.name) && !names.has(specifier.name.text)) {
          names.add(specifier.name.text);
          grown = true;
        }
      }
    }
  }
  return names;
}

const OBJECT_READS = /^Object\.(?:values|entries|assign|getOwnPropertyDescriptors)$/;
const MAP_READS = new Set(['get', 'values', 'entries', 'forEach']);

/**
 * A registry of handler subclasses (a module-level `const` object or Map holding them, `registryKind`)
 * read where the codemod does not follow its classes: by an element access (`handlers[kind]`,
 * `handlers['/tasks/audit']` unless it is a row), whole (`Object.values(handlers)`,
 * `Object.entries(handlers).map(...)`, `[...table]`, `for (const H of table.values())`, handed to a
 * call) or by a computed key (`handlers[kind]`, `table.get(kind)`). A dispatch making an instance and
 * calling post() without environ, a custom router, or a route table built from it by code serves the
 * migrated classes as webapp handlers. A member read by name (`handlers.audit`) is followed elsewhere.
 */
export function findRegistryReads(handlers: HandlerClasses, index: ProjectIndex, record: SourceRecord, names: ReadonlySet<string>): Array<{ node: Node; declaration: Node; declared: SourceRecord }> {
  if (names.size === 0 || ![...names].some((name) => record.text.includes(name))) return [];
  const sf = record.sourceFile;
  const found: Array<{ node: Node; declaration: Node; declared: SourceRecord }> = [];
  for (const identifier of compilerNodesOfKind<ts.Identifier>(sf, SyntaxKind.Identifier)) {
    if (!names.has(identifier.text)) continue;
    let current: ts.Node = identifier;
    // `jobs.TABLE`, a member of a module object (`const jobs = require('./handlers')`, `import * as jobs`).
    const held = ts.isPropertyAccessExpression(identifier.parent) && identifier.parent.name === identifier && ts.isIdentifier(identifier.parent.expression) ? identifier.parent : undefined;
    if (ts.isPropertyAccessExpression(identifier.parent) && identifier.parent.name === identifier && !held) continue;
    if (held) current = held;
    while (ts.isParenthesizedExpression(current.parent) || ts.isAsExpression(current.parent) || ts.isNonNullExpression(current.parent) || ts.isSatisfiesExpression(current.parent)) current = current.parent;
    const parent = current.parent;
    let read: 'object' | 'map' | 'any' | undefined;
    if (ts.isElementAccessExpression(parent) && parent.expression === current) {
      const key = parent.argumentExpression;
      const written = ts.isBinaryExpression(parent.parent) && parent.parent.left === parent && parent.parent.operatorToken.kind >= SyntaxKind.FirstAssignment && parent.parent.operatorToken.kind <= SyntaxKind.LastAssignment;
      // A literal key names one class, as `handlers.audit` does: reported where it is handed on (findHandOffs
      // follows only names and member chains), not as a row `[pattern, handlers['/a']]` (the table's analysis reads it).
      const literal = ts.isStringLiteralLike(key) || ts.isNumericLiteral(key);
      const row = ts.isArrayLiteralExpression(parent.parent) && parent.parent.elements.length === 2 && parent.parent.elements[1] === parent && ts.isStringLiteralLike(parent.parent.elements[0]!);
      if (!written && !(literal && row)) read = 'object';
    } else if (ts.isPropertyAccessExpression(parent) && parent.expression === current) {
      if (MAP_READS.has(parent.name.text) && ts.isCallExpression(parent.parent) && parent.parent.expression === parent) read = 'map';
    } else if (ts.isSpreadElement(parent) || ts.isSpreadAssignment(parent) || (ts.isForOfStatement(parent) && parent.expression === current)) {
      read = 'any';
    } else if ((ts.isCallExpression(parent) || ts.isNewExpression(parent)) && parent.arguments?.includes(current as ts.Expression)) {
      const callee = parent.expression.getText(sf.compilerNode);
      const name = callee.replace(/^.*\./, '');
      if (OBJECT_READS.test(callee)) read = 'object';
      else if (callee === 'Array.from') read = 'any';
      else if (!callee.startsWith('Object.') && !CLASS_TESTS.test(name) && name !== 'freeze') read = 'any';
    }
    if (!read) continue;
    const node = wrapCompilerNode(sf, held ?? identifier);
    const root = held ? wrapCompilerNode(sf, held.expression) : node;
    if (isShadowed(root)) continue;
    const resolution = held ? resolveModuleMember(index, record, root as Identifier, identifier.text) : resolveName(index, record, identifier.text, 0);
    if (resolution.kind !== 'module') continue;
    const kind = registryKind(handlers, resolution.record, resolution.node);
    if (!kind || (read !== 'any' && read !== kind)) continue;
    found.push({ node, declaration: resolution.node, declared: resolution.record });
  }
  return found;
}
