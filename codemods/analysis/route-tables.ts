// webapp route tables (`new WSGIApplication([[pattern, Handler], ...])`): their
// rows, and where each table is mounted (app.use, a Koa connect adapter,
// http.createServer, or a call inside a plain listener), across files.
import {
  Node,
  SyntaxKind,
  ts,
  type ArrayLiteralExpression,
  type CallExpression,
  type Identifier,
  type NewExpression,
  type VariableDeclaration,
  type VariableStatement,
} from 'ts-morph';
import { compilerIdentifiers, compilerNodesOfKind, compilerText, morphText, wrapCompilerNode } from './compiler-nodes.js';
import { resolveModuleMember, resolveName, resolveRequiredMember, type Resolution } from './declarations.js';
import type { HandlerClasses } from './handlers.js';
import type { HostApp } from './host-app.js';
import { isWsgiApplicationRef, requireSpecifier, unwrap, type SymbolTable } from './legacy-symbols.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import { declaringScope, isReference, isShadowedAt } from './scope.js';

export const BUILTIN_URL = '/_ah/queue/deferred';

/** `unknown`: the handler's class could not be followed (neither a task handler nor known ordinary). */
export type RowKind = 'builtin' | 'custom' | 'webapp' | 'unknown';

export interface RouteRow {
  node: ArrayLiteralExpression;
  /** The list's element when a TypeScript assertion wraps the row (`['/x', A] as Route`, `<Route>[...]`): what removing the row removes. */
  element?: import('ts-morph').Expression;
  pattern: Node;
  /** String value of the pattern with `^`/`$` anchors removed; undefined for a non-literal. */
  path: string | undefined;
  /** The pattern is a regular expression a framework route cannot express (or the row is shadowed: `shadowedBy`). */
  regex: boolean;
  /**
   * An earlier row of the table whose pattern matches this row's path (or may: a pattern that is
   * not a literal): webapp's router took the first match, so this row never answered its path,
   * while a route made of it would now answer ahead of the table. It stays in the table.
   */
  shadowedBy?: RouteRow;
  handler: Node;
  kind: RowKind;
  /** The list that holds the row: an array literal, or a `push`/`concat` call whose argument it is. */
  container: Node;
  /** `...rows` that brought the row's const array into the table. */
  spread?: Node;
}

export type MountKind = 'use' | 'adapter-use' | 'create-server' | 'listener-call';

export interface Mount {
  kind: MountKind;
  record: SourceRecord;
  /** The call that consumes the table: `app.use(tasks)`, `http.createServer(tasks)`, `tasks(req, res)`. */
  call: CallExpression;
  /** `app` in `app.use(...)`. */
  app?: Node;
  /** The expression that denotes the table in the call (identifier or `new WSGIApplication`). */
  reference: Node;
}

export interface RouteTable {
  record: SourceRecord;
  create: NewExpression;
  /** The rows array; undefined when the first argument is not an array literal. */
  rowsArray?: ArrayLiteralExpression;
  rows: RouteRow[];
  /** Rows come from elsewhere than the literal argument: a variable, spreads, `push`, `concat`. */
  composed: boolean;
  /** Where the rows come from something the analysis cannot enumerate (a call, an import, a mutated array). */
  rowsUnknown?: Node;
  variable?: VariableDeclaration;
  statement?: VariableStatement;
  mounts: Mount[];
  /** Other uses of the table variable (exports, assignments...). */
  otherUses: Node[];
  /** The named function that returns the table (`function createApp() { return new WSGIApplication(...) }`). */
  provider?: Node;
}

/** `function f() { return <create> }` / `const f = () => <create>`: the declaration of f. */
function providerOf(create: Node): Node | undefined {
  const parent = unwrapParent(create);
  let fn: Node | undefined;
  if (parent && Node.isReturnStatement(parent)) fn = parent.getFirstAncestor((a) => Node.isFunctionDeclaration(a) || Node.isFunctionExpression(a) || Node.isArrowFunction(a));
  else if (parent && Node.isArrowFunction(parent)) fn = parent;
  if (!fn) return undefined;
  if (Node.isFunctionDeclaration(fn)) return fn.getName() && Node.isSourceFile(fn.getParent()) ? fn : undefined;
  const holder = fn.getParent();
  return holder && Node.isVariableDeclaration(holder) && Node.isVariableStatement(holder.getVariableStatement()) && Node.isSourceFile(holder.getVariableStatement()!.getParent()) ? holder : undefined;
}

const PLAIN_PATH = /^\/[A-Za-z0-9_\-/.~%]*$/;

function rowOf(element: Node, record: SourceRecord, handlers: HandlerClasses, container: Node): RouteRow | undefined {
  const node = unwrap(element);
  if (!Node.isArrayLiteralExpression(node)) return undefined;
  const [pattern, handler] = node.getElements();
  if (!pattern || !handler) return undefined;
  let path: string | undefined;
  let regex = true;
  if (Node.isStringLiteral(pattern) || Node.isNoSubstitutionTemplateLiteral(pattern)) {
    const value = pattern.getLiteralValue();
    const stripped = value.replace(/^\^/, '').replace(/\$$/, '');
    path = stripped;
    regex = !PLAIN_PATH.test(stripped);
  }
  const status = handlers.statusOf(record, handler).kind;
  // At the built-in URL a class not known to be a task handler (one from a package, which may
  // extend TaskHandler) is not judged ordinary: wrapApp answers that URL ahead of it now.
  const kind: RowKind = status === 'unknown' || (status === 'other' && path === BUILTIN_URL) ? 'unknown' : status === 'other' ? 'webapp' : path === BUILTIN_URL ? 'builtin' : 'custom';
  return { node, pattern, path, regex, handler, kind, container, ...(node !== element ? { element: element as import('ts-morph').Expression } : {}) };
}

interface RowCollection {
  rows: RouteRow[];
  composed: boolean;
  unknown?: Node;
}

/**
 * The `const`/`let` declaration `identifier` denotes: module-level, or a
 * statement of the block (a function body...) that declares it.
 */
function declarationInScope(record: SourceRecord, identifier: Node): { declaration: VariableDeclaration; scope: Node | undefined } | undefined {
  const name = identifier.getText();
  const scope = declaringScope(identifier, name);
  if (!scope) {
    const declaration = record.sourceFile.getVariableDeclaration(name);
    return declaration ? { declaration, scope } : undefined;
  }
  // A parameter, a catch binding, a loop variable: not an array the codemod can enumerate.
  if (!Node.isBlock(scope)) return undefined;
  for (const statement of scope.getStatements()) {
    if (!Node.isVariableStatement(statement)) continue;
    const declaration = statement.getDeclarations().find((d) => Node.isIdentifier(d.getNameNode()) && d.getName() === name);
    if (declaration) return { declaration, scope };
  }
  return undefined;
}

/**
 * `const rows = [...]` (or `= a.concat(b)`) in the same file, at module level
 * or in a function, with the `rows.push(...)` statements of the same block
 * that add to it. A push anywhere else (a branch, a loop, a callback) is not followed.
 */
function constArray(record: SourceRecord, identifier: Node): { initializer: Node; pushes: CallExpression[] } | undefined {
  if (!Node.isIdentifier(identifier)) return undefined;
  const found = declarationInScope(record, identifier);
  if (!found) return undefined;
  const { declaration, scope } = found;
  const raw = declaration.getInitializer();
  const initializer = raw && unwrap(raw);
  if (!initializer) return undefined;
  const concat = Node.isCallExpression(initializer) && Node.isPropertyAccessExpression(initializer.getExpression()) && (initializer.getExpression() as import('ts-morph').PropertyAccessExpression).getName() === 'concat';
  if (!Node.isArrayLiteralExpression(initializer) && !concat) return undefined;
  const statement = declaration.getVariableStatement();
  if (statement?.getDeclarationKind() !== 'const') return undefined;
  // Exported, the array can gain rows in files that import it.
  if (!scope && isExported(record, declaration)) return undefined;
  const name = identifier.getText();
  const pushes: CallExpression[] = [];
  const sf = record.sourceFile;
  const within = scope ?? sf;
  const from = within.getPos();
  const to = within.getEnd();
  for (const compilerReference of compilerIdentifiers(sf)) {
    if (compilerReference.pos < from || compilerReference.end > to || compilerText(sf, compilerReference) !== name) continue;
    const reference = wrapCompilerNode<Identifier>(sf, compilerReference);
    if (reference === declaration.getNameNode() || declaringScope(reference, name) !== scope) continue;
    const access = reference.getParent();
    if (!access || !Node.isPropertyAccessExpression(access) || access.getExpression() !== reference) {
      // Read into a table (`new WSGIApplication(rows)`, `[...rows]`, `other.concat(rows)`); handed to
      // anything else (`addRows(rows)`, `Object.assign(rows, ...)`, an export), it may gain rows not followed.
      if (access && (Node.isNewExpression(access) || Node.isSpreadElement(access) || Node.isTypeQuery(access) || isConcatArgument(access, reference))) continue;
      return undefined;
    }
    const call = access.getParent();
    const method = access.getName();
    if (method === 'concat') continue; // read as rows of another list
    // `export const paths = ROWS.map(([path]) => path)`: code that reads the rows the migration moves out
    // of the array would see only those that stay: not followed (the table is reported, its rows kept).
    if (method === 'slice' || method === 'map' || method === 'filter') return undefined;
    // `rows.push(...)` beside the declaration: more rows. Any other method changes the array in ways not followed.
    if (method === 'push' && call && Node.isCallExpression(call) && Node.isExpressionStatement(call.getParent()) && call.getParent()!.getParent() === statement.getParent()) pushes.push(call);
    else return undefined;
  }
  return { initializer, pushes };
}

/** `other.concat(rows)`: the array read as rows of another list. */
function isConcatArgument(call: Node, reference: Node): boolean {
  if (!Node.isCallExpression(call) || !call.getArguments().includes(reference as never)) return false;
  const callee = call.getExpression();
  return Node.isPropertyAccessExpression(callee) && callee.getName() === 'concat';
}

/** The rows of a table's first argument, through variables, spreads, `push` and `concat`. */
function collectRows(record: SourceRecord, handlers: HandlerClasses, expression: Node, seen: Set<Node>, result: RowCollection, spread?: Node): void {
  const node = unwrap(expression);
  if (seen.has(node)) return;
  seen.add(node);
  const addList = (elements: Node[], container: Node): void => {
    for (const element of elements) {
      if (Node.isSpreadElement(element)) {
        result.composed = true;
        collectRows(record, handlers, element.getExpression(), seen, result, element);
        continue;
      }
      const row = rowOf(element, record, handlers, container);
      if (row && spread && Node.isArrayLiteralExpression(container)) row.spread = spread;
      if (row) result.rows.push(row);
      else if (!Node.isArrayLiteralExpression(element)) result.unknown ??= element;
    }
  };
  if (Node.isArrayLiteralExpression(node)) {
    addList(node.getElements(), node);
    return;
  }
  const constant = constArray(record, node);
  if (constant) {
    result.composed = true;
    if (Node.isArrayLiteralExpression(constant.initializer)) addList(constant.initializer.getElements(), constant.initializer);
    else collectRows(record, handlers, constant.initializer, seen, result);
    for (const push of constant.pushes) addList(push.getArguments(), push);
    return;
  }
  if (Node.isCallExpression(node)) {
    const callee = node.getExpression();
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'concat') {
      result.composed = true;
      collectRows(record, handlers, callee.getExpression(), seen, result);
      for (const arg of node.getArguments()) {
        const inner = unwrap(arg);
        // concat takes arrays of rows, or single rows.
        if (Node.isArrayLiteralExpression(inner) && !isRowLiteral(inner)) addList(inner.getElements(), inner);
        else if (Node.isArrayLiteralExpression(inner)) addList([inner], node);
        else collectRows(record, handlers, arg, seen, result);
      }
      return;
    }
  }
  result.unknown ??= node;
}

/** `['/path', Handler]` rather than an array of such rows. */
function isRowLiteral(array: ArrayLiteralExpression): boolean {
  const first = array.getElements()[0];
  return !!first && !Node.isArrayLiteralExpression(first) && !Node.isSpreadElement(first);
}


function unwrapParent(node: Node): Node | undefined {
  let parent = node.getParent();
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent))) parent = parent.getParent();
  return parent;
}

/** How `reference` (denoting a table) is consumed, if it is a mount. */
function mountOf(record: SourceRecord, reference: Node): Mount | undefined {
  const parent = unwrapParent(reference);
  if (!parent || !Node.isCallExpression(parent)) return undefined;
  const callee = parent.getExpression();
  // `tasks(req, res)`; with a third argument (`next`) the table was connect middleware,
  // passing what it did not route on, which a node:http listener does not do.
  if (callee === reference) return parent.getArguments().length <= 2 ? { kind: 'listener-call', record, call: parent, reference } : undefined;
  if (!parent.getArguments().includes(reference as never)) return undefined;
  const calleeName = Node.isPropertyAccessExpression(callee) ? callee.getName() : callee.getText();
  if (calleeName === 'createServer') return { kind: 'create-server', record, call: parent, reference };
  if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'use') {
    return { kind: 'use', record, call: parent, app: callee.getExpression(), reference };
  }
  // koaConnect(tasks) / c2k(tasks) passed to app.use(...)
  const outer = unwrapParent(parent);
  if (outer && Node.isCallExpression(outer) && parent.getArguments().length === 1) {
    const outerCallee = outer.getExpression();
    if (Node.isPropertyAccessExpression(outerCallee) && outerCallee.getName() === 'use') {
      return { kind: 'adapter-use', record, call: outer, app: outerCallee.getExpression(), reference };
    }
  }
  return undefined;
}

/** The host app a mount registers the table on (`app` in `app.use(table)`), in its file or imported. */
export function hostOfMount(index: ProjectIndex, hosts: readonly HostApp[], mount: Mount): HostApp | undefined {
  const app = mount.app;
  if (!app || !Node.isIdentifier(app)) return undefined;
  const local = hosts.find((h) => h.record === mount.record && h.variable?.getName() === app.getText());
  if (local) return local;
  const resolution = resolveName(index, mount.record, app.getText(), 0);
  if (resolution.kind !== 'module') return undefined;
  return hosts.find((h) => h.variable === resolution.node);
}

/**
 * The path a table's first mount serves it under: `app.use('/tasks', table)` gives
 * `/tasks`; '' at the root; undefined when the prefix is not a string literal.
 */
export function mountPrefix(table: RouteTable): string | undefined {
  const primary = table.mounts[0];
  return primary ? mountPrefixOf(primary) : '';
}

/** The path one mount serves its table under (see mountPrefix). */
export function mountPrefixOf(mount: Mount): string | undefined {
  if (mount.kind === 'create-server' || mount.kind === 'listener-call') return '';
  const args = mount.call.getArguments();
  if (args.length <= 1) return '';
  const first = args[0]!;
  if (!Node.isStringLiteral(first) && !Node.isNoSubstitutionTemplateLiteral(first)) return undefined;
  const path = first.getLiteralValue();
  // A pattern (`/tasks/:tenant`, `/tasks*`) matches paths it does not spell: the prefix the table saw is not known.
  return /[:*?+()[\]{}]/.test(path) ? undefined : path.replace(/\/$/, '');
}

/** What webapp's router matched a row's pattern as (`^...$` added), or undefined when the pattern is not a literal the analysis can read. */
function rowRegExp(row: RouteRow): RegExp | undefined {
  const pattern = row.pattern;
  let source: string;
  let flags = '';
  if (Node.isStringLiteral(pattern) || Node.isNoSubstitutionTemplateLiteral(pattern)) source = pattern.getLiteralValue();
  else if (Node.isRegularExpressionLiteral(pattern)) {
    const text = pattern.getText();
    const slash = text.lastIndexOf('/');
    source = text.slice(1, slash);
    flags = text.slice(slash + 1);
  } else return undefined;
  if (!source.startsWith('^')) source = `^${source}`;
  if (!source.endsWith('$')) source = `${source}$`;
  try {
    return new RegExp(source, flags);
  } catch {
    return undefined;
  }
}

/** Marks each task row with a plain path that an earlier row's pattern matches (or may match) as shadowed, which keeps it in the table. */
function markShadowedRows(rows: RouteRow[]): void {
  for (let i = 1; i < rows.length; i++) {
    const row = rows[i]!;
    if ((row.kind !== 'custom' && row.kind !== 'builtin') || row.regex || row.path === undefined) continue;
    for (let j = 0; j < i; j++) {
      const earlier = rows[j]!;
      if (earlier.path === row.path && earlier.kind === row.kind) continue;
      const regex = rowRegExp(earlier);
      if (regex && !regex.test(row.path)) continue;
      if (row.kind === 'builtin') {
        // wrapApp answers the built-in URL ahead of every row: the earlier row's handler stops answering it.
        row.shadowedBy = earlier;
        break;
      }
      row.shadowedBy = earlier;
      row.regex = true;
      break;
    }
  }
}

export function findRouteTables(index: ProjectIndex, symbols: SymbolTable, handlers: HandlerClasses, records: SourceRecord[]): RouteTable[] {
  const tables: RouteTable[] = [];
  for (const record of records) {
    for (const compilerCreate of compilerNodesOfKind<ts.NewExpression>(record.sourceFile, SyntaxKind.NewExpression)) {
      // Only a constructor rooted in a legacy binding can be WSGIApplication: the others are not wrapped.
      if (!symbols.mayResolve(record, compilerCreate.expression)) continue;
      const create = wrapCompilerNode<NewExpression>(record.sourceFile, compilerCreate);
      if (!isWsgiApplicationRef(symbols.resolve(record, create.getExpression()))) continue;
      const table: RouteTable = { record, create, rows: [], mounts: [], otherUses: [], composed: false };
      const [first] = create.getArguments();
      if (first) {
        const collected: RowCollection = { rows: [], composed: false };
        collectRows(record, handlers, first, new Set(), collected);
        table.rows = collected.rows;
        markShadowedRows(table.rows);
        table.composed = collected.composed;
        if (collected.unknown) table.rowsUnknown = collected.unknown;
        // Through TypeScript's assertions: `new WSGIApplication([...] satisfies Route[])`.
        const rowsArray = unwrap(first);
        if (Node.isArrayLiteralExpression(rowsArray) && !collected.composed) table.rowsArray = rowsArray;
      }
      const parent = unwrapParent(create);
      if (parent && Node.isVariableDeclaration(parent) && parent.getInitializer() && Node.isIdentifier(parent.getNameNode())) {
        table.variable = parent;
        const statement = parent.getVariableStatement();
        if (statement) table.statement = statement;
      } else {
        const mount = mountOf(record, create);
        if (mount) table.mounts.push(mount);
        const provider = providerOf(create);
        if (provider) table.provider = provider;
      }
      tables.push(table);
    }
  }
  // Uses of a table declared in a function (`createApp() { const tasks = ...; app.use(tasks) }`), in that function.
  for (const table of tables) {
    const name = table.variable?.getName();
    const scope = name ? declaringScope(table.variable!, name) : undefined;
    if (!name || !scope || !Node.isBlock(scope)) continue;
    for (const identifier of scope.getDescendantsOfKind(SyntaxKind.Identifier)) {
      if (identifier.getText() !== name || identifier === table.variable!.getNameNode() || !isReference(identifier) || declaringScope(identifier, name) !== scope) continue;
      const mount = mountOf(table.record, identifier);
      if (mount) table.mounts.push(mount);
      else table.otherUses.push(identifier);
    }
  }
  // Uses of each table variable, in its own file and in files importing it.
  const byDeclaration = new Map<Node, RouteTable>();
  for (const table of tables) if (table.variable) byDeclaration.set(table.variable, table);
  // Calls of a provider function denote its table: `http.createServer(createApp())`.
  const byProvider = new Map<Node, RouteTable>();
  for (const table of tables) if (table.provider) byProvider.set(table.provider, table);
  if (byDeclaration.size === 0 && byProvider.size === 0) return tables;
  const names = new Set([...byDeclaration.keys(), ...byProvider.keys()].map((d) => (d as unknown as { getName(): string }).getName()));
  for (const record of records) {
    const imported = importedNames(record);
    const resolutions = new Map<string, Resolution>();
    const sf = record.sourceFile;
    // The identifiers' source texts are compared below; one without a backslash is the
    // cooked `text`, so that rules out the rest unless a name itself has a backslash.
    const escaped = [...names, ...imported].some((n) => n.includes('\\'));
    for (const compilerIdentifier of compilerIdentifiers(sf)) {
      // Text first, on the compiler node: only the few identifiers that can name a table are wrapped.
      if (!escaped && !names.has(compilerIdentifier.text) && !imported.has(compilerIdentifier.text)) continue;
      const text = compilerText(sf, compilerIdentifier);
      if (!names.has(text) && !imported.has(text)) continue;
      // Declarations, property names and import/export lists name no table; all read on the compiler's nodes.
      const parent = compilerIdentifier.parent as ts.Node | undefined;
      if (!parent || parent.kind === SyntaxKind.ImportSpecifier || parent.kind === SyntaxKind.ImportClause) continue;
      if ((parent.kind === SyntaxKind.VariableDeclaration || parent.kind === SyntaxKind.FunctionDeclaration) && (parent as ts.NamedDeclaration).name === compilerIdentifier) continue;
      if (parent.kind === SyntaxKind.ExportSpecifier || parent.kind === SyntaxKind.BindingElement) continue;
      // `t.tasks` of `import * as t from './tasks'` (or `require('./tasks').tasks`): the table read off its module object.
      if (parent.kind === SyntaxKind.PropertyAccessExpression && (parent as ts.PropertyAccessExpression).name === compilerIdentifier) {
        const access = wrapCompilerNode<import('ts-morph').PropertyAccessExpression>(sf, parent);
        const table = byDeclaration.get(moduleMemberDeclaration(index, record, access) as Node);
        if (!table) continue;
        const mount = mountOf(record, access);
        if (mount) table.mounts.push(mount);
        else table.otherUses.push(access);
        continue;
      }
      if (parent.kind === SyntaxKind.PropertyAccessExpression) continue;
      const name = compilerIdentifier.text; // ts-morph's getText() of an identifier
      if (!names.has(name) && !imported.has(name)) continue;
      if (isShadowedAt(compilerIdentifier, name)) continue;
      // A name is used many times in a file; it resolves the same way each time.
      let resolution = resolutions.get(name);
      if (!resolution) {
        resolution = resolveName(index, record, name, 0);
        resolutions.set(name, resolution);
      }
      if (resolution.kind !== 'module') continue;
      const identifier = wrapCompilerNode<Identifier>(sf, compilerIdentifier);
      let table = byDeclaration.get(resolution.node);
      let reference: Node = identifier;
      if (!table) {
        table = byProvider.get(resolution.node);
        const call = identifier.getParent();
        if (!table || !call || !Node.isCallExpression(call) || call.getExpression() !== identifier) continue;
        reference = call;
      }
      const mount = mountOf(record, reference);
      if (mount) table.mounts.push(mount);
      else table.otherUses.push(reference);
    }
  }
  // An exported table none of whose uses was found is read where the analysis does not look
  // (a module object passed on, a file outside the run): not a table that served nothing.
  for (const table of tables) {
    if (table.mounts.length === 0 && table.otherUses.length === 0 && table.variable && isExported(table.record, table.variable)) table.otherUses.push(table.variable.getNameNode());
  }
  return tables;
}

/** The declaration `access` (`ns.tasks`, `require('./tasks').tasks`) reads off a module object, if the analysis follows it. */
function moduleMemberDeclaration(index: ProjectIndex, record: SourceRecord, access: import('ts-morph').PropertyAccessExpression): Node | undefined {
  const object = unwrap(access.getExpression());
  const required = requireSpecifier(object);
  const resolution = required
    ? resolveRequiredMember(index, record, required.getLiteralValue(), access.getName())
    : Node.isIdentifier(object)
      ? resolveModuleMember(index, record, object, access.getName())
      : undefined;
  return resolution?.kind === 'module' ? resolution.node : undefined;
}

/** `export const tasks = ...`, or `export { tasks }` / `export { tasks as t }` in its file. */
export function isExported(record: SourceRecord, variable: VariableDeclaration): boolean {
  if (variable.getVariableStatement()?.hasExportKeyword()) return true;
  const name = variable.getName();
  return record.sourceFile.getExportDeclarations().some((d) => !d.getModuleSpecifier() && d.getNamedExports().some((e) => e.getName() === name));
}

/**
 * Local names the file imports by name (ESM named imports, CommonJS destructured
 * requires), read from the compiler's statements (the file is often one that
 * only imports a table).
 */
function importedNames(record: SourceRecord): Set<string> {
  const names = new Set<string>();
  const sf = record.sourceFile;
  // As ts-morph's getText()/getName() read them (an identifier's cooked name).
  const text = (node: ts.Node): string => morphText(sf.compilerNode, node);
  for (const statement of sf.compilerNode.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const bindings = statement.importClause?.namedBindings;
    // The local name: the alias, else the imported identifier (`name` either way).
    if (bindings && ts.isNamedImports(bindings)) for (const named of bindings.elements) names.add(text(named.name));
  }
  for (const statement of sf.compilerNode.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const initializer = declaration.initializer;
      if (!initializer || !/\brequire\s*\(/.test(text(initializer))) continue;
      const nameNode = declaration.name;
      if (ts.isObjectBindingPattern(nameNode)) for (const element of nameNode.elements) names.add(text(element.name));
      else names.add(text(nameNode));
    }
  }
  return names;
}
