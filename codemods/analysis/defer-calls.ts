// Calls of `defer` (legacy or shim, any import style) with their callable and
// their trailing options object, as the contract defines it: the last argument
// when it is an object literal whose keys all begin with `_`.
import { Node, SyntaxKind, ts, type CallExpression, type Identifier, type ObjectLiteralExpression } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import { resolveIdentifier, resolveModuleMember } from './declarations.js';
import { getterResult, isDeferRef, isEmittedReexportValue, isExportedObject, isIndirectValue, isMember, unwrap, type SymbolRef, type SymbolTable } from './legacy-symbols.js';
import { declaringScope } from './scope.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import { BUILTIN_URL } from './route-tables.js';

export interface DeferCall {
  record: SourceRecord;
  call: CallExpression;
  fn: Node | undefined;
  options?: ObjectLiteralExpression;
  /** The call's argument when `options` is the literal of a `const` it names (in this file or another). */
  optionsArgument?: Node;
  /**
   * Options the codemod cannot read, which may set any option: a spread in them
   * (`{ ...fromElsewhere, _name }`), a spread last argument (`defer(fn, ...args)`),
   * a `let`/`var` holding them.
   */
  unreadOptions?: Node;
  /** `_url` value: a literal string, 'dynamic' when not a literal, undefined when absent. */
  url: string | undefined;
}

function optionKey(property: Node): string | undefined {
  if (Node.isPropertyAssignment(property) || Node.isShorthandPropertyAssignment(property)) {
    const name = property.getNameNode();
    if (Node.isIdentifier(name) || Node.isStringLiteral(name)) return Node.isStringLiteral(name) ? name.getLiteralValue() : name.getText();
  }
  return undefined;
}

/**
 * An object of `_` options: every property a `_` key or a spread, at least one of
 * them a `_` key or a spread of such options (`{ ...fromElsewhere, _name }` is
 * options whose spread is not read: see unreadSpread).
 */
export function isOptionsLiteral(node: Node | undefined, seen = new Set<Node>()): node is ObjectLiteralExpression {
  if (!node || !Node.isObjectLiteralExpression(node) || seen.has(node)) return false;
  seen.add(node);
  let known = false;
  for (const property of node.getProperties()) {
    if (optionKey(property)?.startsWith('_')) known = true;
    else if (!Node.isSpreadAssignment(property)) return false;
    else if (spreadOptions(property, seen)) known = true;
  }
  return known;
}

/** The first spread of the options, through the consts it reads, whose value the codemod cannot read. */
export function unreadSpread(options: ObjectLiteralExpression, seen = new Set<Node>()): Node | undefined {
  if (seen.has(options)) return undefined;
  seen.add(options);
  for (const property of options.getProperties()) {
    if (!Node.isSpreadAssignment(property)) continue;
    const spread = spreadOptions(property);
    const inner = spread ? unreadSpread(spread, seen) : property;
    if (inner) return inner;
  }
  return undefined;
}

/** The option `key` of an options literal, through the spreads of `const` options it holds; the last one wins. */
export function optionProperty(options: ObjectLiteralExpression, key: string, seen = new Set<Node>()): Node | undefined {
  if (seen.has(options)) return undefined;
  seen.add(options);
  let found: Node | undefined;
  for (const property of options.getProperties()) {
    if (optionKey(property) === key) found = property;
    else if (Node.isSpreadAssignment(property)) {
      const spread = spreadOptions(property);
      // A spread the codemod cannot read may set it again.
      found = spread ? (optionProperty(spread, key, seen) ?? found) : undefined;
    }
  }
  return found;
}

/** The expression inside parentheses, `as`, `satisfies` and `Object.freeze(...)` (a frozen literal holds the same options). */
function unwrapCompiler(node: ts.Expression | undefined): ts.Expression | undefined {
  let current = node;
  for (;;) {
    if (current && (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isSatisfiesExpression(current))) current = current.expression;
    else if (current && isFreezeCall(current)) current = current.arguments[0];
    else return current;
  }
}

function isFreezeCall(node: ts.Expression): node is ts.CallExpression {
  return ts.isCallExpression(node) && node.arguments.length === 1 && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'freeze' && ts.isIdentifier(node.expression.expression) && node.expression.expression.text === 'Object';
}

/** `unwrap`, also through `Object.freeze(...)` (a frozen literal holds the same entries). */
export function unwrapFrozen(node: Node): Node {
  const inner = unwrap(node);
  return Node.isCallExpression(inner) && isFreezeCall(inner.compilerNode) ? unwrapFrozen(inner.getArguments()[0]!) : inner;
}

/** `...base` in an options literal, where `const base = { _queue: 'q', ... }` in the file: that literal. */
function spreadOptions(property: Node, seen = new Set<Node>()): ObjectLiteralExpression | undefined {
  if (!Node.isSpreadAssignment(property)) return undefined;
  const literal = constOptions(property.getExpression());
  return literal && isOptionsLiteral(literal, new Set(seen)) ? literal : undefined;
}

/**
 * The object literal a `const` of the file holds, for an identifier naming it
 * (`defer(fn, 1, TX)` with `const TX = { _transactional: true }`): the options
 * the call passes, though not written at the call.
 */
export function constOptions(node: Node): ObjectLiteralExpression | undefined {
  const value = unwrap(node);
  if (Node.isPropertyAccessExpression(value)) return importedOptions(value);
  if (!Node.isIdentifier(value)) return undefined;
  const declaration = objectDeclaration(value);
  if (!declaration) return importedOptions(value);
  return constLiteral(declaration);
}

/** The declaration of the file, in the identifier's scope, that initialises it with an object literal. */
function objectDeclaration(value: Identifier): import('ts-morph').VariableDeclaration | undefined {
  const name = value.getText();
  const scope = declaringScope(value, name);
  // Declarations of that name, found on the compiler's nodes: only they are wrapped.
  const sf = value.getSourceFile();
  return compilerNodesOfKind<ts.VariableDeclaration>(sf, SyntaxKind.VariableDeclaration)
    .filter((d) => { const init = unwrapCompiler(d.initializer); return ts.isIdentifier(d.name) && d.name.text === name && !!init && ts.isObjectLiteralExpression(init); })
    .map((d) => wrapCompilerNode<import('ts-morph').VariableDeclaration>(sf, d))
    .find((d) => declaringScope(d.getNameNode(), name) === scope);
}

/**
 * A last argument that may be options the codemod cannot read: a spread
 * (`defer(fn, ...args)`), or a `let`/`var` initialised with options (which
 * something may change before the call).
 */
function unreadArgument(last: Node): Node | undefined {
  if (Node.isSpreadElement(last)) return last;
  const value = unwrap(last);
  if (!Node.isIdentifier(value)) return undefined;
  const declaration = objectDeclaration(value);
  const initializer = declaration?.getInitializer();
  return declaration && !constLiteral(declaration) && initializer && isOptionsLiteral(unwrapFrozen(initializer)) ? last : undefined;
}

function constLiteral(declaration: import('ts-morph').VariableDeclaration): ObjectLiteralExpression | undefined {
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return undefined;
  const initializer = declaration.getInitializer();
  const literal = initializer && unwrapFrozen(initializer);
  return literal && Node.isObjectLiteralExpression(literal) ? literal : undefined;
}

/**
 * The project of each file whose defer() calls were collected (and of the files
 * their options were read from), so that options imported from another module
 * are read there, spreads included.
 */
const projectOfFile = new WeakMap<ts.SourceFile, ProjectIndex>();

/**
 * The literal of an exported `const` of another project file, for `TX` imported
 * by name (ESM or `require`) or `opts.TX` of a module object: options written
 * there, passed here.
 */
function importedOptions(value: Node): ObjectLiteralExpression | undefined {
  const sf = value.getSourceFile();
  const index = projectOfFile.get(sf.compilerNode);
  const record = index?.load(sf.getFilePath());
  if (!index || !record) return undefined;
  let resolution: ReturnType<typeof resolveIdentifier> | undefined;
  if (Node.isIdentifier(value)) resolution = resolveIdentifier(index, record, value);
  else if (Node.isPropertyAccessExpression(value) && Node.isIdentifier(value.getExpression())) resolution = resolveModuleMember(index, record, value.getExpression() as Identifier, value.getName());
  if (resolution?.kind !== 'module' || resolution.record === record || !Node.isVariableDeclaration(resolution.node)) return undefined;
  projectOfFile.set(resolution.record.sourceFile.compilerNode, index);
  return constLiteral(resolution.node);
}

/** A `this` argument that cannot matter to a function: `null`, `undefined`, a literal. */
function isLiteralThis(node: Node | undefined): boolean {
  if (!node) return false;
  const kind = node.getKind();
  return (
    kind === SyntaxKind.NullKeyword ||
    (Node.isIdentifier(node) && node.getText() === 'undefined') ||
    Node.isStringLiteral(node) ||
    Node.isNumericLiteral(node) ||
    kind === SyntaxKind.TrueKeyword ||
    kind === SyntaxKind.FalseKeyword
  );
}

/**
 * `f.call(<literal>, a, b)` / `f.apply(<literal>, [a, b])`, which call `f` with
 * those arguments: the callee `f` and the arguments it receives (undefined when
 * they are not written out, e.g. `apply(null, args)`).
 */
export function forwardedCall(call: CallExpression): { callee: Node; args: Node[] | undefined } | undefined {
  const expression = call.getExpression();
  if (!Node.isPropertyAccessExpression(expression)) return undefined;
  const method = expression.getName();
  if (method !== 'call' && method !== 'apply') return undefined;
  const [self, ...rest] = call.getArguments();
  if (!isLiteralThis(self)) return undefined;
  if (method === 'call') return { callee: expression.getExpression(), args: rest };
  const [list] = rest;
  const args = rest.length === 1 && list && Node.isArrayLiteralExpression(list) && !list.getElements().some((e) => Node.isSpreadElement(e)) ? list.getElements() : undefined;
  return { callee: expression.getExpression(), args };
}

// The rules ask for the calls of the same candidates several times (options, results,
// error handling, registration, the wrap plan); the trees are never edited in place,
// so the first answer holds for the run.
const callsCache = new WeakMap<SymbolTable, WeakMap<SourceRecord[], Map<string, readonly DeferCall[]>>>();

function cachedCalls(symbols: SymbolTable, records: SourceRecord[], member: 'defer' | 'run' | 'serialize'): DeferCall[] {
  let byRecords = callsCache.get(symbols);
  if (!byRecords) {
    byRecords = new WeakMap();
    callsCache.set(symbols, byRecords);
  }
  let byMember = byRecords.get(records);
  if (!byMember) {
    byMember = new Map();
    byRecords.set(records, byMember);
  }
  let calls = byMember.get(member);
  if (!calls) {
    const found = collectDeferCalls(symbols, records, member);
    calls = member === 'defer' ? found : found.map(({ record, call, fn }) => ({ record, call, fn, url: undefined }));
    byMember.set(member, calls);
  }
  return [...calls];
}

export function findDeferCalls(symbols: SymbolTable, records: SourceRecord[]): DeferCall[] {
  return cachedCalls(symbols, records, 'defer');
}

/**
 * Calls of `serialize(fn, ...args)` or `run(data)` of the legacy module (or the
 * shim): `fn` is the first argument, as for defer; no options.
 */
export function findPayloadCalls(symbols: SymbolTable, records: SourceRecord[], member: 'run' | 'serialize'): DeferCall[] {
  return cachedCalls(symbols, records, member);
}

function collectDeferCalls(symbols: SymbolTable, records: SourceRecord[], member = 'defer'): DeferCall[] {
  const isTarget = (ref: SymbolRef | undefined): boolean => (member === 'defer' ? isDeferRef(ref) : isMember(ref, [member]));
  const calls: DeferCall[] = [];
  for (const record of records) {
    projectOfFile.set(record.sourceFile.compilerNode, symbols.index);
    for (const compilerCall of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
      // Only a callee rooted in a legacy binding (or a require call) can be defer,
      // directly or through .call/.apply: the others are not wrapped.
      if (!symbols.mayResolve(record, compilerCall.expression)) continue;
      const call = wrapCompilerNode<CallExpression>(record.sourceFile, compilerCall);
      let args: Node[];
      if (isTarget(symbols.resolve(record, call.getExpression()))) args = call.getArguments();
      else {
        // deferred.defer.call(null, work, 1) is a call of defer.
        const forwarded = forwardedCall(call);
        if (!forwarded?.args || !isTarget(symbols.resolve(record, forwarded.callee))) continue;
        args = forwarded.args;
      }
      const last = args[args.length - 1];
      const deferCall: DeferCall = { record, call, fn: args[0], url: undefined };
      // Options written at the call, or held by a `const` of the file (`defer(fn, 1, TX)`).
      // Through TypeScript's assertions (`{ _transactional: true } as const`, `satisfies Opts`, `<Opts>{...}`) and
      // `Object.freeze()`: the same object at run time, where both APIs tell options apart.
      const literal = last && unwrapFrozen(last);
      const options = args.length > 1 ? (isOptionsLiteral(literal) ? literal : last && constOptions(last)) : undefined;
      const unreadLast = !options && args.length > 1 && last ? unreadArgument(last) : undefined;
      if (unreadLast) deferCall.unreadOptions = unreadLast;
      if (options && isOptionsLiteral(options)) {
        deferCall.options = options;
        if (options !== last) deferCall.optionsArgument = last;
        const unread = unreadSpread(options);
        if (unread) deferCall.unreadOptions = unread;
        const urlProperty = optionProperty(options, '_url');
        if (urlProperty) {
          const value = Node.isPropertyAssignment(urlProperty) ? urlProperty.getInitializer() : undefined;
          deferCall.url = value && (Node.isStringLiteral(value) || Node.isNoSubstitutionTemplateLiteral(value)) ? value.getLiteralValue() : 'dynamic';
        }
      }
      calls.push(deferCall);
    }
  }
  return calls;
}

/** The call sends its task to the built-in endpoint. */
export function usesDefaultUrl(call: DeferCall): boolean {
  return call.url === undefined || call.url === BUILTIN_URL;
}

/** Legacy functions whose calls the rules migrate; any other use of them is not followed. */
const CALLED_MEMBERS = ['defer', 'run', 'serialize'];

export interface DeferValueUse {
  node: Node;
  /** `defer`, `run` or `serialize`. */
  member: string;
}

/**
 * Uses of `defer` (`run`, `serialize`) that are not calls the rules see:
 * bound, passed as a callback, stored in a mutable place. After migration the
 * value returns a promise and the functions it enqueues are not registered, so
 * each is a manual item. Calls, `.call/.apply` with a literal `this`, aliases
 * the resolver follows (const bindings, const objects) and re-exports are not.
 */
export function findDeferValueUses(symbols: SymbolTable, record: SourceRecord): DeferValueUse[] {
  const uses: DeferValueUse[] = [];
  for (const reference of symbols.legacyReferences(record)) {
    const ref = reference.ref;
    if (ref.kind !== 'member' || (ref.role !== 'deferred' && ref.role !== 'shim') || !CALLED_MEMBERS.includes(ref.name)) continue;
    if (!isFollowedUse(reference.node)) uses.push({ node: reference.node, member: ref.name });
  }
  // An inline `require(L).defer` used as a value (`get defer() { log(); return require(L).defer }`,
  // `[require(L).defer]`): as a binding's read is (the file's references hold bindings only).
  for (const site of symbols.of(record).sites) {
    if (site.kind !== 'cjs-inline') continue;
    const access = site.node.getParent();
    if (!access || !(Node.isPropertyAccessExpression(access) || Node.isElementAccessExpression(access)) || access.getExpression() !== site.node) continue;
    const ref = symbols.resolve(record, access);
    if (ref?.kind !== 'member' || (ref.role !== 'deferred' && ref.role !== 'shim') || !CALLED_MEMBERS.includes(ref.name)) continue;
    if (!isFollowedUse(access) && !isFollowedGetterResult(access) && !uses.some((use) => use.node === access)) uses.push({ node: access, member: ref.name });
  }
  return uses;
}

/** `get defer() { return require(L).defer; }` in what the module exports or in a const object: the resolver follows that getter (getterResult). */
function isFollowedGetterResult(node: Node): boolean {
  const statement = node.getParent();
  const getter = statement?.getParent()?.getParent();
  const literal = getter?.getParent();
  if (!statement || !Node.isReturnStatement(statement) || !getter || !literal || !Node.isObjectLiteralExpression(literal) || getterResult(getter) !== node) return false;
  let holder: Node | undefined = literal.getParent();
  while (holder && (Node.isParenthesizedExpression(holder) || Node.isAsExpression(holder) || Node.isSatisfiesExpression(holder))) holder = holder.getParent();
  if (holder && Node.isVariableDeclaration(holder) && Node.isIdentifier(holder.getNameNode())) return holder.getVariableStatement()?.getDeclarationKind() === 'const';
  return isExportedObject(literal);
}

function isFollowedUse(node: Node): boolean {
  let current = node;
  let parent = current.getParent();
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent) || Node.isNonNullExpression(parent) || Node.isSatisfiesExpression(parent) || isIndirectValue(parent, current))) {
    current = parent;
    parent = parent.getParent();
  }
  if (!parent) return true;
  if (Node.isCallExpression(parent) && parent.getExpression() === current) return true;
  if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === current) {
    const call = parent.getParent();
    return !!call && Node.isCallExpression(call) && call.getExpression() === parent && !!forwardedCall(call)?.args;
  }
  return isKeptByResolver(current, parent);
}

/**
 * Places where a legacy value goes on being followed by the resolver: types,
 * export lists, `const` aliases, properties of a `const` object or of what the
 * module exports, and CommonJS export assignments.
 */
export function isKeptByResolver(current: Node, parent: Node): boolean {
  // The getter of an emitted re-export: `Object.defineProperty(exports, "X", { get: function () { return v; } })`.
  if (isEmittedReexportValue(current)) return true;
  // Types, export lists, and aliases the resolver binds (`const enqueue = deferred.defer`).
  if (Node.isTypeQuery(parent) || Node.isExportSpecifier(parent) || Node.isExportAssignment(parent)) return true;
  // TypeScript's alias `import enqueue = deferred.defer` (also `export import` in a namespace): bound like a const.
  if (Node.isImportEqualsDeclaration(parent)) return true;
  // (A reassigned `let` alias is reported by the resolver itself.)
  if (Node.isVariableDeclaration(parent) && parent.getInitializer() === current) return true;
  // A property of a const object the resolver follows, or of what the module exports.
  if (Node.isPropertyAssignment(parent) || Node.isShorthandPropertyAssignment(parent)) {
    let holder: Node | undefined = parent.getParent()?.getParent();
    while (holder && (Node.isParenthesizedExpression(holder) || Node.isAsExpression(holder) || Node.isSatisfiesExpression(holder))) holder = holder.getParent();
    if (holder && Node.isVariableDeclaration(holder) && Node.isIdentifier(holder.getNameNode())) return holder.getVariableStatement()?.getDeclarationKind() === 'const';
    return isExportedObject(parent.getParentOrThrow());
  }
  if (Node.isBinaryExpression(parent) && parent.getRight() === current && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
    return /^(?:module\.exports|(?:module\.)?exports\.[A-Za-z_$][\w$]*)$/.test(parent.getLeft().getText().replace(/\s+/g, '')) && Node.isExpressionStatement(parent.getParent()) && Node.isSourceFile(parent.getParent()?.getParent());
  }
  return false;
}
