// webapp route tables (`new WSGIApplication([[pattern, Handler], ...])`): their
// rows, and where each table is mounted (app.use, a Koa connect adapter,
// http.createServer, or a call inside a plain listener), across files.
import {
  Node,
  SyntaxKind,
  type ArrayLiteralExpression,
  type CallExpression,
  type NewExpression,
  type VariableDeclaration,
  type VariableStatement,
} from 'ts-morph';
import { resolveName } from './declarations.js';
import type { HandlerClasses } from './handlers.js';
import { isWsgiApplicationRef, type SymbolTable } from './legacy-symbols.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import { isShadowed } from './scope.js';

export const BUILTIN_URL = '/_ah/queue/deferred';

export type RowKind = 'builtin' | 'custom' | 'webapp';

export interface RouteRow {
  node: ArrayLiteralExpression;
  pattern: Node;
  /** String value of the pattern with `^`/`$` anchors removed; undefined for a non-literal. */
  path: string | undefined;
  /** The pattern is a regular expression a framework route cannot express. */
  regex: boolean;
  handler: Node;
  kind: RowKind;
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
  variable?: VariableDeclaration;
  statement?: VariableStatement;
  mounts: Mount[];
  /** Other uses of the table variable (exports, assignments...). */
  otherUses: Node[];
}

const PLAIN_PATH = /^\/[A-Za-z0-9_\-/.~%]*$/;

function rowOf(node: Node, record: SourceRecord, handlers: HandlerClasses): RouteRow | undefined {
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
  const isHandler = handlers.isHandlerExpression(record, handler);
  const kind: RowKind = !isHandler ? 'webapp' : path === BUILTIN_URL ? 'builtin' : 'custom';
  return { node, pattern, path, regex, handler, kind };
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
  if (callee === reference) return { kind: 'listener-call', record, call: parent, reference };
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

export function findRouteTables(index: ProjectIndex, symbols: SymbolTable, handlers: HandlerClasses, records: SourceRecord[]): RouteTable[] {
  const tables: RouteTable[] = [];
  for (const record of records) {
    for (const create of record.sourceFile.getDescendantsOfKind(SyntaxKind.NewExpression)) {
      if (!isWsgiApplicationRef(symbols.resolve(record, create.getExpression()))) continue;
      const table: RouteTable = { record, create, rows: [], mounts: [], otherUses: [] };
      const [first] = create.getArguments();
      if (first && Node.isArrayLiteralExpression(first)) {
        table.rowsArray = first;
        for (const element of first.getElements()) {
          const row = rowOf(element, record, handlers);
          if (row) table.rows.push(row);
        }
      }
      const parent = unwrapParent(create);
      if (parent && Node.isVariableDeclaration(parent) && parent.getInitializer() && Node.isIdentifier(parent.getNameNode())) {
        table.variable = parent;
        const statement = parent.getVariableStatement();
        if (statement) table.statement = statement;
      } else {
        const mount = mountOf(record, create);
        if (mount) table.mounts.push(mount);
      }
      tables.push(table);
    }
  }
  // Uses of each table variable, in its own file and in files importing it.
  const byDeclaration = new Map<Node, RouteTable>();
  for (const table of tables) if (table.variable) byDeclaration.set(table.variable, table);
  if (byDeclaration.size === 0) return tables;
  for (const record of records) {
    for (const identifier of record.sourceFile.getDescendantsOfKind(SyntaxKind.Identifier)) {
      const parent = identifier.getParent();
      if (!parent || Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isVariableDeclaration(parent) && parent.getNameNode() === identifier) continue;
      if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === identifier) continue;
      if (Node.isExportSpecifier(parent) || Node.isBindingElement(parent)) continue;
      if (isShadowed(identifier)) continue;
      const name = identifier.getText();
      let table: RouteTable | undefined;
      const local = record.sourceFile.getVariableDeclaration(name);
      if (local && byDeclaration.has(local)) table = byDeclaration.get(local);
      else if (!local) {
        const resolution = resolveName(index, record, name, 0);
        if (resolution.kind === 'module' && byDeclaration.has(resolution.node)) table = byDeclaration.get(resolution.node);
      }
      if (!table) continue;
      const mount = mountOf(record, identifier);
      if (mount) table.mounts.push(mount);
      else table.otherUses.push(identifier);
    }
  }
  return tables;
}
