// Rule `route-table`: webapp route tables lose their TaskHandler rows. The
// built-in row goes (wrapApp serves that path); custom-URL rows become routes of
// the host framework, in its idiom, answering with `new H().post(environ)`; for
// plain node:http the table becomes a listener routing paths to Handler
// instances. Tables left empty disappear with their mounts.
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import { compilerIdentifiersNamed, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import { resolveName } from '../analysis/declarations.js';
import type { Framework } from '../analysis/host-app.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { BUILTIN_URL, hostOfMount, mountPrefix, type Mount, type RouteRow, type RouteTable } from '../analysis/route-tables.js';
import { middlewareBefore } from '../analysis/middleware-before.js';
import { wrapPlan, type DefaultUrlHandler } from '../analysis/wrap-plan.js';
import { quoted, semi } from '../analysis/style.js';
import { RuleOutput, type Rule, type RuleMeta } from './context.js';
import { addNeededImports } from './imports.js';
import { hasLocalName, legacyNameUses, namespaceAccess, translate, useShimName } from './names.js';
import { importStatement, insertImportStatement, isCommonJs, relativeSpecifier } from './import-placement.js';
import { isHandlerRef, outermostExpression, unwrap } from '../analysis/legacy-symbols.js';
import { findRouterValueUses } from '../analysis/handler-values.js';
import { roleOfSpecifier } from '../analysis/specifiers.js';
import { makeTransform } from './single-file.js';
import { builtinServedElsewhere, differentMounts, unfollowedUse } from './route-table-reach.js';
import { indentAt, listRemovalSpans, statementRemovalSpan, statementsRemovalSpans } from './text.js';

export const meta: RuleMeta = {
  id: 'route-table',
  description: 'Removes TaskHandler rows from webapp route tables and serves custom task URLs with routes of the host framework.',
  reasonCodes: ['regex-route', 'mount-not-found', 'handler-as-value', 'webapp-router-kept', 'unknown-framework', 'unknown-handler-base', 'middleware-bypassed'],
  docs: 'docs/manual-steps.md#mount-not-found',
};

interface Route {
  path: string;
  handler: string;
}

function expressionStatementOf(call: CallExpression): Node | undefined {
  let node: Node = call;
  for (;;) {
    const parent = node.getParent();
    if (!parent) return undefined;
    if (Node.isExpressionStatement(parent)) return parent;
    if (!(Node.isAwaitExpression(parent) || Node.isParenthesizedExpression(parent))) return undefined;
    node = parent;
  }
}


/**
 * Said wherever task rows stay in a webapp table: their handler classes are migrated
 * all the same, and the webapp router cannot run a Handler.
 */
const ROWS_FAIL_UNTIL_MOVED = 'Their handler classes are migrated to Handler, which the webapp router cannot run: until each is served by new Handler().post(environ), tasks sent to these routes fail and are retried.';

/**
 * How generated code builds an environ from the framework's request object. Under a
 * prefix (`app.use('/tasks', table)`) the prefix is the environ's SCRIPT_NAME, so that
 * PATH_INFO is the path below it, as the table saw it (`this.request.path`).
 */
function environCall(analysis: Analysis, out: RuleOutput, record: SourceRecord, request: string, prefix: string): string {
  const args = prefix === '' ? request : `${request}, { scriptName: ${quoted(record.style, prefix)} }`;
  const namespace = namespaceAccess(analysis, record);
  if (namespace) {
    out.use(record, [namespace.local]);
    return `${namespace.local}.${namespace.flat ? 'environFrom' : 'environ'}(${args})`;
  }
  return `${useShimName(analysis, out, record, 'environFrom')}(${args})`;
}

/**
 * `new X()` for a handler expression: `new f()()` would call what `new f()` makes,
 * so anything but a name or a member chain (`makeHandler('audit')`, `byName.get(k)!`)
 * is parenthesized.
 */
export function instantiate(handler: string): string {
  return isMemberChain(handler) ? `new ${handler}()` : `new (${handler})()`;
}

/** A name or a member chain (`Tasks.Audit`, `handlers['audit']`): anything else is an expression to evaluate. */
export function isMemberChain(handler: string): boolean {
  return /^[A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*|\[\s*(?:'[^'\\]*'|"[^"\\]*")\s*\])*$/.test(handler.trim());
}

/**
 * A row whose handler is the class a call returns (`makeHandler('mail')`): the table
 * called the factory once, and each request made an instance of that one class. Its
 * route must not call the factory per delivery (its side effects, the class's static
 * state), so the class is held in a `const` declared where the routes go.
 */
function hoistFactoryRows(record: SourceRecord, routes: Route[]): { routes: Route[]; declarations: string[] } {
  const declarations: string[] = [];
  const taken = new Set<string>();
  const hoisted = routes.map((route) => {
    if (isMemberChain(route.handler)) return route;
    const words = route.path.split(/[^A-Za-z0-9]+/).filter((w) => /^[A-Za-z]/.test(w));
    const base = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') + 'Handler';
    let name = uniqueName(record, base);
    for (let i = 2; taken.has(name); i++) name = uniqueName(record, `${base}${i}`);
    taken.add(name);
    declarations.push(`const ${name} = ${route.handler}${semi(record.style)}`);
    return { path: route.path, handler: name };
  });
  return { routes: hoisted, declarations };
}

function frameworkRoutes(framework: Framework, app: string, rows: Route[], environ: (request: string) => string, record: SourceRecord, indent: string): string {
  const style = record.style;
  const { routes, declarations } = hoistFactoryRows(record, rows);
  const i1 = indent + style.indent;
  const s = semi(style);
  const nl = style.newline;
  const q = (v: string): string => quoted(style, v);
  const generated = routes.map(({ path, handler }) => {
    switch (framework) {
      case 'koa':
        return [
          `${app}.use(async (ctx, next) => {`,
          `${i1}if (ctx.method !== ${q('POST')} || ctx.path !== ${q(path)}) return next()${s}`,
          `${i1}const [body, status, headers] = await ${instantiate(handler)}.post(${environ('ctx')})${s}`,
          `${i1}ctx.status = status${s}`,
          `${i1}ctx.set(headers)${s}`,
          `${i1}ctx.body = body${s}`,
          `${indent}})${s}`,
        ].join(nl);
      case 'fastify':
        return [
          `${app}.post(${q(path)}, async (request, reply) => {`,
          `${i1}const [body, status, headers] = await ${instantiate(handler)}.post(${environ('request')})${s}`,
          `${i1}return reply.code(status).headers(headers).send(body)${s}`,
          `${indent}})${s}`,
        ].join(nl);
      case 'hono':
        return [
          `${app}.post(${q(path)}, async (c) => {`,
          `${i1}const [body, status, headers] = await ${instantiate(handler)}.post(${environ('c.req.raw')})${s}`,
          `${i1}return new Response(body, { status, headers })${s}`,
          `${indent}})${s}`,
        ].join(nl);
      default:
        return [
          `${app}.post(${q(path)}, async (req, res) => {`,
          `${i1}const [body, status, headers] = await ${instantiate(handler)}.post(${environ('req')})${s}`,
          `${i1}res.status(status).set(headers).send(body)${s}`,
          `${indent}})${s}`,
        ].join(nl);
    }
  });
  return [...declarations, ...generated].join(nl + indent);
}

/** A node:http listener that routes task paths to Handler instances (a Handler instance is a listener). */
function nodeListener(record: SourceRecord, name: string, routes: Route[], fallback: string | undefined, indent: string, declarationKind: string, jsdoc: boolean): string {
  const style = record.style;
  const i1 = indent + style.indent;
  const i2 = i1 + style.indent;
  const s = semi(style);
  const nl = style.newline;
  const q = (v: string): string => quoted(style, v);
  // Typed for TypeScript, and for JavaScript that is type-checked through JSDoc.
  // A listener left with no route and no fallback only answers 404: it reads nothing of the request.
  const req = routes.length === 0 && !fallback ? '_req' : 'req';
  const params = record.isTypeScript
    ? `${req}: import(${q('node:http')}).IncomingMessage, res: import(${q('node:http')}).ServerResponse`
    : jsdoc
      ? `/** @type {import(${q('node:http')}).IncomingMessage} */ ${req}, /** @type {import(${q('node:http')}).ServerResponse} */ res`
      : `${req}, res`;
  const lines = [`${declarationKind} ${name} = (${params}) => {`];
  if (routes.length > 0) lines.push(`${i1}const path = (req.url ?? ${q('/')}).split(${q('?')})[0]${s}`);
  routes.forEach(({ path, handler }, index) => {
    lines.push(`${i1}${index === 0 ? 'if' : 'else if'} (path === ${q(path)}) ${instantiate(handler)}(req, res)${s}`);
  });
  const open = routes.length > 0 ? `${i1}else ` : i1;
  if (fallback) lines.push(`${open}${fallback}(req, res)${s}`);
  else if (routes.length > 0) lines.push(`${open}{`, `${i2}res.statusCode = 404${s}`, `${i2}res.end(${q('Not found')})${s}`, `${i1}}`);
  else lines.push(`${i1}res.statusCode = 404${s}`, `${i1}res.end(${q('Not found')})${s}`);
  lines.push(`${indent}}${s}`);
  return lines.join(nl);
}

function reportEmptyTable(out: RuleOutput, record: SourceRecord, table: RouteTable): void {
  const elsewhere = table.mounts.find((m) => m.record !== record);
  out.report(
    record,
    table.create,
    'mount-not-found',
    'warning',
    elsewhere
      ? `This route table only served deferred tasks: wrapApp serves the built-in URL and its other task routes are now routes of the app in ${elsewhere.record.rel}. It is left empty (it passes every request on) and still mounted there. Remove it, the arrays it was built from and its mount.`
      : table.mounts.length > 0 && table.otherUses.length === 0
        ? 'This route table only served deferred tasks: wrapApp serves the built-in URL and its other task routes are now routes of the app. It is left empty (it passes every request on) and still mounted, because the arrays it was built from stay (used elsewhere, or declared in a way the codemod does not remove). Remove it, its mount, and those arrays if nothing else needs them.'
        : 'This route table only served deferred tasks (wrapApp serves them now) but is used in ways the codemod does not follow; it is left empty. Remove it and its uses.',
  );
}

function reportWebappKept(out: RuleOutput, record: SourceRecord, table: RouteTable, webappRows: RouteRow[]): void {
  if (webappRows.length === 0) return;
  out.report(
    record,
    table.create,
    'webapp-router-kept',
    'warning',
    `The webapp router stays for ${webappRows.map(rowLabel).join(', ')}: those handlers are not deferred tasks. Port them to the host framework when you retire webapp.`,
  );
}

/** The built-in row's mount sat behind middleware that wrapApp's answer at /_ah/queue/deferred now skips. */
function reportBypassedMiddleware(out: RuleOutput, mount: Mount): void {
  const earlier = middlewareBefore(mount);
  if (earlier.length === 0) return;
  const line = (node: Node): string => `${mount.record.rel}:${node.getStartLineNumber()}`;
  // `app.use(session)`, `app.use(morgan(...))`, an inline function: short enough to read in one line.
  const label = (call: CallExpression): string => {
    const text = call.getText().replace(/\s+/g, ' ');
    if (text.length <= 50) return `\`${text}\` (${line(call)})`;
    const callee = call.getExpression().getText();
    return `\`${callee}(...)\` (${line(call)})`;
  };
  const registered = earlier.filter((m) => !m.passed).map((m) => label(m.call));
  const passed = earlier.filter((m) => m.passed).map((m) => label(m.call));
  const what = [
    registered.length > 0 ? `the middleware registered before it, ${registered.join(', ')}, no longer runs for tasks` : '',
    passed.length > 0 ? `${registered.length > 0 ? 'and ' : ''}what ${passed.join(', ')} registers on the app before it (the codemod does not follow that function) may not either` : '',
  ].filter(Boolean).join(' ');
  out.report(
    mount.record,
    mount.call,
    'middleware-bypassed',
    'warning',
    `Tasks at /_ah/queue/deferred were answered where this route table is mounted, after the app's earlier middleware; wrapApp now answers them before the app, so ${what}. If a task function relies on what it sets up (an AsyncLocalStorage context, a database session, auth, request logging), set that up in the task function, with the data it needs passed as arguments.`,
  );
}

/**
 * The statement declaring a table's provider function, when the table goes and nothing but its
 * mounts (all in its file) names the function: not exported, every reference a mount's call.
 */
function disposableProvider(record: SourceRecord, table: RouteTable): Node | undefined {
  const provider = table.provider;
  if (!provider || table.otherUses.length > 0 || table.mounts.length === 0 || table.mounts.some((m) => m.record !== record)) return undefined;
  const statement = Node.isVariableDeclaration(provider) ? provider.getVariableStatement() : provider;
  if (!statement || (Node.isExportable(statement) && statement.isExported())) return undefined;
  const name = (provider as unknown as { getName(): string | undefined }).getName();
  if (!name) return undefined;
  const mountCalls = new Set<Node>(table.mounts.map((m) => unwrap(m.reference)));
  for (const compilerId of compilerIdentifiersNamed(record.sourceFile, name)) {
    const id = wrapCompilerNode<Node>(record.sourceFile, compilerId);
    if (id.getStart() >= statement.getStart() && id.getEnd() <= statement.getEnd()) continue;
    const call = id.getParent();
    if (!call || !Node.isCallExpression(call) || call.getExpression() !== id || !mountCalls.has(call)) return undefined;
  }
  return statement;
}

function rowLabel(row: RouteRow): string {
  return row.path ?? row.pattern.getText();
}

function migrateTable(analysis: Analysis, out: RuleOutput, table: RouteTable): void {
  const { record } = table;
  if (table.rowsUnknown) {
    out.report(
      record,
      table.rowsUnknown,
      'unresolved-legacy-reference',
      'warning',
      'The rows of this route table come from something the codemod does not follow (a call, an import, an array changed in place or read by other code...): TaskHandler rows among them are not migrated. Build the rows as an array literal (or const arrays spread into it), or serve task URLs with new Handler().post(environ) by hand.',
    );
  }
  if (!table.rowsArray && !table.composed) return;
  // A subclass at the built-in URL that wrapApp cannot be given stays (wrap-app.ts reports it, on every run).
  const builtin = table.rows.filter((r) => r.kind === 'builtin' && !defaultUrlHandlerStays(analysis, table, r));
  const custom = table.rows.filter((r) => r.kind === 'custom');
  for (const row of table.rows.filter((r) => r.kind === 'unknown')) {
    out.report(
      record,
      row.handler,
      'unknown-handler-base',
      'warning',
      `The codemod could not tell whether ${row.handler.getText()} (route ${rowLabel(row)}) is a deferred task handler: its class or base is not something it can follow${row.path === BUILTIN_URL ? ' (a class from a package, say)' : ''}. The row stays in the webapp table; if it is a TaskHandler subclass, migrate it by hand (docs/manual-steps.md#unknown-handler-base).${row.path === BUILTIN_URL ? ` Where wrapApp wraps the app, it answers ${BUILTIN_URL} before the app's routes, so this row no longer runs: give what ${row.handler.getText()} adds to wrapApp's handler option, or move it into the task functions.` : ''}`,
    );
  }
  const mountedAt = differentMounts(table);
  if (mountedAt && (builtin.length > 0 || custom.length > 0)) {
    // Nothing is edited, so that a second run sees the same table.
    out.report(
      record,
      table.create,
      'mount-not-found',
      'warning',
      `This route table is mounted at more than one place: ${mountedAt}. Its task rows served a URL under each, and the codemod moves them to one place only, so it leaves the table as it is. Serve each task URL with new Handler().post(environ) where the table is mounted (the built-in URL at the app's root is wrapApp's), then remove the table and its mounts. ${ROWS_FAIL_UNTIL_MOVED}`,
    );
    return;
  }
  const unfollowed = mountedAt || table.mounts.length === 0 || (builtin.length === 0 && custom.length === 0) ? undefined : unfollowedUse(analysis, table);
  if (unfollowed) {
    // Like a table mounted twice: moving its rows to the mount found drops them where else it is mounted. Nothing is edited.
    const mount = table.mounts[0]!;
    out.report(
      record,
      table.create,
      'mount-not-found',
      'warning',
      `This route table is mounted at ${mount.record.rel}:${mount.call.getStartLineNumber()}, and also used where the codemod does not follow it (${unfollowed}: passed on, read by a computed name, loaded with import(), exported again), where it may be mounted too: its task rows served a URL under each mount, and the codemod moves them to the one it found only, so it leaves the table as it is. Serve each task URL with new Handler().post(environ) where the table is mounted (the built-in URL at the app's root is wrapApp's), then remove the table and its mounts. ${ROWS_FAIL_UNTIL_MOVED}`,
    );
    return;
  }
  const builtinElsewhere = builtin.length > 0 ? builtinServedElsewhere(analysis, table) : undefined;
  if (builtinElsewhere) {
    // The row stays (reported on every run): wrapApp answers /_ah/queue/deferred at the root of the app only.
    for (const row of builtin.splice(0)) {
      out.report(
        record,
        row.node,
        'mount-not-found',
        'warning',
        `This built-in row answered ${rowLabel(row)} where the table is mounted, ${builtinElsewhere}. wrapApp answers /_ah/queue/deferred at the root of the app, before any middleware, and nothing answers the URL this row served: the row stays, and fails once its handler is the shim's Handler. Serve that URL with new Handler().post(environ) where the table is mounted (or send the tasks to /_ah/queue/deferred), then remove the row. ${ROWS_FAIL_UNTIL_MOVED}`,
      );
    }
  }
  const nodeMount = table.mounts[0]?.kind === 'listener-call' || table.mounts[0]?.kind === 'create-server';
  if (builtinElsewhere && nodeMount) {
    // A node:http table would become a listener with the row in a table of its own, which a
    // second run would judge by another mount: the table stays as it is, custom rows too.
    if (custom.length > 0) {
      out.report(record, table.create, 'mount-not-found', 'warning', `This table keeps its built-in row (see there), so the codemod leaves it as it is: its custom task routes ${custom.map(rowLabel).join(', ')} stay too. Serve each with new Handler().post(environ) where the table is called. ${ROWS_FAIL_UNTIL_MOVED}`);
    }
    reportWebappKept(out, record, table, table.rows.filter((r) => r.kind === 'webapp'));
    return;
  }
  if (builtin.length === 0 && custom.length === 0) {
    reportWebappKept(out, record, table, table.rows.filter((r) => r.kind === 'webapp'));
    if (table.rows.length === 0 && !table.rowsUnknown) reportEmptyTable(out, record, table);
    return;
  }
  for (const row of custom.filter((r) => r.regex)) {
    const earlier = row.shadowedBy;
    out.report(
      record,
      row.pattern,
      'regex-route',
      'warning',
      earlier
        ? `The task route ${rowLabel(row)} comes after the row ${rowLabel(earlier)} (${earlier.handler.getText()}), whose pattern ${earlier.path === undefined ? 'may match' : 'matches'} it: webapp's router takes the first match, so ${rowLabel(row)} was answered by ${earlier.handler.getText()}, never by ${row.handler.getText()}, and a route made of this row would now answer ahead of the table. It stays in the webapp table: remove it, or reorder the rows if ${row.handler.getText()} was meant to answer. ${ROWS_FAIL_UNTIL_MOVED}`
        : `The task route ${rowLabel(row)} is a regular expression the host framework's router cannot take as is; it stays in the webapp table. Give it a plain path (and _url in defer), or route it by hand to new Handler().post(environ). ${ROWS_FAIL_UNTIL_MOVED}`,
    );
  }
  // A shadowed built-in row stays in the table (reported on every run): it never answered, and wrapApp answers its URL now.
  for (const row of builtin.filter((r) => r.shadowedBy)) {
    builtin.splice(builtin.indexOf(row), 1);
    const earlier = row.shadowedBy!;
    out.report(
      record,
      earlier.pattern,
      'regex-route',
      'warning',
      `The row ${rowLabel(earlier)} comes before the built-in row and its pattern ${earlier.path === undefined ? 'may match' : 'matches'} ${BUILTIN_URL}: webapp's router takes the first match, so ${earlier.handler.getText()} answered the deferred tasks, not ${row.handler.getText()} (the built-in row stays in the table, as it never answered). wrapApp now answers ${BUILTIN_URL} ahead of the app with a plain Handler: if ${earlier.handler.getText()} did more than run the task (checks, logging), give it to wrapApp's handler option (wrapApp(app, { useDeferred: true, handler: { post: (environ) => new ${earlier.handler.getText()}().post(environ) } })).`,
    );
  }
  const primary = table.mounts[0];
  let framework: Framework | undefined;
  const mountedUnder = mountPrefix(table);
  const prefix = mountedUnder ?? '';
  if (primary) {
    if (primary.kind === 'create-server' || primary.kind === 'listener-call') framework = 'node';
    else if (mountedUnder !== undefined) {
      framework = hostOfMount(analysis.index, analysis.hosts, primary)?.framework ?? (primary.kind === 'adapter-use' ? 'koa' : undefined);
    }
  }
  // Under a prefix (`app.use('/tasks', table)`) the built-in row served
  // `/tasks/_ah/queue/deferred`, not the URL wrapApp serves: it stays a route, at the same URL.
  if (prefix && framework) custom.push(...builtin.splice(0));
  if (builtin.length > 0 && primary) reportBypassedMiddleware(out, primary);
  const plain = custom.filter((r) => !r.regex);
  let converted: RouteRow[] = [];
  let crossFile: Map<RouteRow, string> | undefined;
  if (plain.length > 0) {
    if (!primary) {
      out.report(
        record,
        table.create,
        'mount-not-found',
        'warning',
        `The codemod could not find where this route table is mounted (app.use, http.createServer...), so its custom task routes stay here. Serve each with new Handler().post(environ) in the host app. ${ROWS_FAIL_UNTIL_MOVED}`,
      );
    } else if (table.composed && framework === 'node' && !composedNodeTableMovable(table, [...builtin, ...plain])) {
      // Nothing is removed (not even the built-in row), so that a second run sees the same table.
      out.report(
        record,
        table.create,
        'mount-not-found',
        'warning',
        `The rows of this table are assembled from several arrays and it is served by node:http, but it is not a named table whose task rows all come from those arrays: its task rows ${[...builtin, ...plain].map(rowLabel).join(', ')} stay. Serve each custom one with new Handler().post(environ) in the host app and drop the built-in one (wrapApp serves it), or write the table as one array literal. ${ROWS_FAIL_UNTIL_MOVED}`,
      );
      reportWebappKept(out, record, table, table.rows.filter((r) => r.kind === 'webapp'));
      return;
    } else if (framework !== undefined && framework !== 'node' && !expressionStatementOf(primary.call)) {
      // `mount = () => app.use(tasks)`, `cond && app.use(tasks)`, `app.use(tasks).listen()`: no statement to put the routes before.
      out.report(
        primary.record,
        primary.call,
        'mount-not-found',
        'warning',
        `This route table is mounted inside an expression (${primary.record.rel}:${primary.call.getStartLineNumber()}: \`${(primary.call.getFirstAncestor((n) => Node.isStatement(n)) ?? primary.call).getText().replace(/\s+/g, ' ').slice(0, 80)}\`: an arrow function's body, a condition, a chained call), not as a statement of its own, so the codemod has no place to serve its custom task routes ${plain.map(rowLabel).join(', ')} under the same conditions: they stay in the table. Serve each with new Handler().post(environ) where the table is mounted. ${ROWS_FAIL_UNTIL_MOVED}`,
      );
    } else if (!framework && mountedUnder === undefined) {
      out.report(
        primary.record,
        primary.call,
        'mount-not-found',
        'warning',
        `This route table is mounted under a path the codemod cannot read (a variable, a pattern such as /tenants/:tenant, several paths, a middleware before it in the same call): its custom task routes stay in the table. Serve each with new Handler().post(environ) at the URL the table served it (the mount path followed by the row's path). ${ROWS_FAIL_UNTIL_MOVED}`,
      );
    } else if (!framework) {
      out.report(primary.record, primary.call, 'unknown-framework', 'warning', `The app this route table is mounted on was not recognised (Express, Koa, Fastify, Hono, node:http); its custom task routes stay in the table. Serve each with new Handler().post(environ). ${ROWS_FAIL_UNTIL_MOVED}`);
    } else if (primary.record !== record && framework !== 'node') {
      // The mount's import of the table may go with the table: the handlers' import is not placed after it.
      const tableGoes = !table.composed && table.rows.every((r) => r.kind === 'builtin' || (r.kind === 'custom' && !r.regex));
      const mountImport = tableGoes && Node.isIdentifier(primary.reference) ? wholeImportsOf(primary.record, primary.reference.getText()) : [];
      crossFile = handlersForOtherFile(analysis, out, record, primary.record, plain, mountImport);
      if (crossFile) converted = plain;
      else {
        out.report(
          record,
          table.create,
          'mount-not-found',
          'warning',
          `This table is mounted in ${primary.record.rel}, and its task handlers cannot be imported there (not exported classes). Move the rows ${plain.map(rowLabel).join(', ')} to routes calling new Handler().post(environ) in ${primary.record.rel}. ${ROWS_FAIL_UNTIL_MOVED}`,
        );
      }
    } else converted = plain;
  }
  const removedRows = new Set([...builtin, ...converted]);
  const remaining = table.rows.filter((r) => !removedRows.has(r));
  const routes: Route[] = converted.map((row) => ({
    path: prefix + row.path!,
    handler: crossFile ? crossFile.get(row)! : translate(analysis, out, record, row.handler),
  }));
  reportWebappKept(out, record, table, remaining.filter((r) => r.kind === 'webapp'));

  // A composed table left without rows goes like a literal one, with the arrays only it used.
  if (table.composed && framework === 'node' && routes.length > 0) {
    // The rows leave their arrays; the table's declaration becomes a listener
    // of the same name (serving what stays through the table).
    const inside = (row: RouteRow): boolean => row.node.getStart() >= table.statement!.getStart() && row.node.getEnd() <= table.statement!.getEnd();
    removeRows(out, record, [...removedRows].filter((r) => !inside(r)));
    migrateNodeTable(analysis, out, table, routes, remaining, true);
    return;
  }
  const rowSources = table.composed && remaining.length === 0 && framework !== 'node' ? disposableRowSources(record, table) : undefined;
  if (table.composed && !rowSources) {
    // Rows live in several lists: each loses its task rows, the table stays (an empty one passes requests on).
    removeRows(out, record, [...removedRows]);
    if (remaining.length === 0) reportEmptyTable(out, record, table);
    // Handlers imported only for the rows that moved to another file lose their imports here.
    if (primary && primary.record !== record) {
      const moved = [...removedRows];
      const handlerNames = moved.map((r) => r.handler).filter(Node.isIdentifier).map((h) => h.getText());
      removeImportsIfUnused(analysis, out, record, handlerNames, moved.map((r): [number, number] => [r.node.getStart(), r.node.getEnd()]));
    }
    // The routes go where the table is mounted (in this file or another), before the mount.
    const statement = primary && routes.length > 0 ? expressionStatementOf(primary.call) : undefined;
    if (primary && statement) {
      const host = primary.record;
      const indent = indentAt(host.text, statement.getStart());
      const text = frameworkRoutes(framework!, primary.app!.getText(), routes, (r) => environCall(analysis, out, host, r, prefix), host, indent);
      insertRoutesBefore(out, host, statement, text, indent);
    }
    return;
  }

  if (framework === 'node') {
    migrateNodeTable(analysis, out, table, routes, remaining);
    return;
  }

  if (remaining.length > 0 && table.rowsArray) {
    const elements = table.rowsArray.getElements();
    const removed = new Set(table.rows.filter((r) => removedRows.has(r)).map((r) => elements.indexOf(r.element ?? r.node)));
    for (const [start, end] of listRemovalSpans(elements, removed)) out.remove(record, start, end, 'removed task rows from the route table');
    if (routes.length > 0 && primary) {
      const statement = expressionStatementOf(primary.call);
      if (statement) {
        const indent = indentAt(record.text, statement.getStart());
        const text = frameworkRoutes(framework!, primary.app!.getText(), routes, (r) => environCall(analysis, out, record, r, prefix), record, indent);
        insertRoutesBefore(out, record, statement, text, indent);
      }
    }
    return;
  }

  // The table disappears: with it its declaration and every mount.
  if (table.mounts.length === 0 || table.otherUses.length > 0) {
    if ((table.otherUses.length > 0 || !table.variable) && table.rowsArray) {
      out.remove(record, table.rowsArray.getStart() + 1, table.rowsArray.getEnd() - 1, 'removed task rows from the route table');
      reportEmptyTable(out, record, table);
      return;
    }
  }
  if (table.statement) {
    // Handlers only the table referred to lose their imports, unless routes generated in this file use them.
    const generatedHere = primary?.record === record ? new Set(routes.map((r) => r.handler)) : new Set<string>();
    const handlerNames = table.rows.map((r) => r.handler).filter(Node.isIdentifier).map((h) => h.getText()).filter((n) => !generatedHere.has(n));
    removeImportsIfUnused(analysis, out, record, handlerNames, [[table.statement.getStart(), table.statement.getEnd()]]);
  }
  const removals = new Map<SourceRecord, Node[]>();
  const removeStatement = (owner: SourceRecord, statement: Node): void => {
    removals.set(owner, [...(removals.get(owner) ?? []), statement]);
  };
  if (table.statement) removeStatement(record, table.statement);
  // `app.use(tasksTable())` of `function tasksTable() { return new WSGIApplication(...) }`: the
  // function goes with its mounts when nothing else names it (kept, it held the task rows a second
  // run would move again).
  const provider = !table.statement ? disposableProvider(record, table) : undefined;
  if (provider) {
    const generatedHere = primary?.record === record ? new Set(routes.map((r) => r.handler)) : new Set<string>();
    const handlerNames = table.rows.map((r) => r.handler).filter(Node.isIdentifier).map((h) => h.getText()).filter((n) => !generatedHere.has(n));
    removeImportsIfUnused(analysis, out, record, handlerNames, [[provider.getStart(), provider.getEnd()]]);
    removeStatement(record, provider);
  }
  if (table.statement && table.variable) {
    // `export { tasks }` names the declaration that goes: the importers were followed (their mounts go too).
    const name = table.variable.getName();
    for (const declaration of record.sourceFile.getExportDeclarations()) {
      if (declaration.getModuleSpecifier()) continue;
      const specifiers = declaration.getNamedExports();
      const removed = new Set(specifiers.map((e, i) => (e.getName() === name ? i : -1)).filter((i) => i >= 0));
      if (removed.size === 0) continue;
      if (removed.size === specifiers.length) removeStatement(record, declaration);
      else for (const [start, end] of listRemovalSpans(specifiers, removed)) out.remove(record, start, end, 'removed the export of the task route table');
    }
  }
  for (const statement of rowSources ?? []) removeStatement(record, statement);
  table.mounts.forEach((mount, index) => {
    const statement = expressionStatementOf(mount.call);
    if (!statement) {
      out.report(mount.record, mount.call, 'handler-as-value', 'warning', 'The task route table is used as a value here; it no longer exists. Remove this use.');
      return;
    }
    if (index === 0 && routes.length > 0) {
      const indent = indentAt(mount.record.text, statement.getStart());
      const text = frameworkRoutes(framework!, mount.app!.getText(), routes, (r) => environCall(analysis, out, mount.record, r, prefix), mount.record, indent);
      out.edit(mount.record, statement.getStart(), statement.getEnd(), text, 'custom task routes served by the host framework');
      out.markRemoved(mount.record, statement.getStart(), statement.getEnd());
    } else {
      removeStatement(mount.record, statement);
    }
    if (mount.record !== record && Node.isIdentifier(mount.reference)) removeImportOf(out, mount.record, mount.reference.getText());
  });
  for (const [owner, statements] of removals) {
    for (const [start, end] of statementsRemovalSpans(owner.text, statements)) out.remove(owner, start, end, 'removed the task route table and its mount');
  }
  // The connect-style adapter of a removed Koa mount (koaConnect(tasks)) may be unused now.
  for (const mount of table.mounts) {
    if (mount.kind !== 'adapter-use') continue;
    const adapterCall = mount.reference.getParent();
    const adapter = adapterCall && Node.isCallExpression(adapterCall) ? adapterCall.getExpression() : undefined;
    const statement = expressionStatementOf(mount.call);
    if (adapter && Node.isIdentifier(adapter) && statement) removeImportsIfUnused(analysis, out, mount.record, [adapter.getText()], [[statement.getStart(), statement.getEnd()]]);
  }
}

/**
 * The statements that only fed rows to a composed table which disappears (its
 * const arrays, `push` calls onto them); undefined when the table cannot go as a
 * whole (not a variable nor created in its mount, other uses, a mount that is
 * not a statement) or an array is used elsewhere.
 */
function disposableRowSources(record: SourceRecord, table: RouteTable): Node[] | undefined {
  // A named table, or one created inside its only mount (`app.use(new WSGIApplication(rows))`).
  const inline = !table.statement && table.mounts.length === 1 && table.mounts[0]!.reference === table.create ? expressionStatementOf(table.mounts[0]!.call) : undefined;
  const statement = table.statement ?? inline;
  if (!statement || table.rowsUnknown || table.otherUses.length > 0 || table.mounts.length === 0) return undefined;
  if (table.mounts.some((m) => m.record !== record || !expressionStatementOf(m.call))) return undefined;
  const inside = (node: Node, outer: Node): boolean => node.getStart() >= outer.getStart() && node.getEnd() <= outer.getEnd();
  const statements = new Set<Node>();
  for (const row of table.rows) {
    const container = row.container;
    if (inside(container, statement)) continue;
    if (Node.isCallExpression(container)) {
      const pushStatement = container.getParent();
      if (!pushStatement || !Node.isExpressionStatement(pushStatement)) return undefined;
      statements.add(pushStatement);
      continue;
    }
    // `const ROWS = [...] as const`: the declaration holds the array through its assertions.
    const declaration = outermostExpression(container).getParent();
    const variableStatement = declaration && Node.isVariableDeclaration(declaration) ? declaration.getVariableStatement() : undefined;
    if (!declaration || !Node.isVariableDeclaration(declaration) || !variableStatement || variableStatement.getDeclarations().length !== 1) return undefined;
    statements.add(variableStatement);
  }
  // Each array must be used only by the table and its pushes.
  const removed = [statement, ...statements];
  for (const source of statements) {
    if (!Node.isVariableStatement(source)) continue;
    const declaration = source.getDeclarations()[0]!;
    const uses = identifierUses(record, declaration.getName(), declaration.getNameNode());
    if (uses.some((id) => !removed.some((r) => inside(id, r)))) return undefined;
  }
  return [...statements];
}

/**
 * Removes rows from the lists that hold them. A `rows.push(...)` left without
 * arguments goes entirely; a const array left empty whose only use was a
 * spread into the table goes with its spread.
 */
function removeRows(out: RuleOutput, record: SourceRecord, rows: RouteRow[]): void {
  const elementsOf = (container: Node): Node[] => (Node.isArrayLiteralExpression(container) ? container.getElements() : Node.isCallExpression(container) ? container.getArguments() : []);
  const byContainer = new Map<Node, Set<Node>>();
  const add = (container: Node, element: Node): void => {
    byContainer.set(container, (byContainer.get(container) ?? new Set()).add(element));
  };
  for (const row of rows) add(row.container, row.element ?? row.node);
  const statements: Node[] = [];
  for (const [container, removed] of [...byContainer]) {
    const spread = rows.find((r) => r.container === container)?.spread;
    // `const rows = [...] as const satisfies Route[]`: the declaration through TypeScript's assertions.
    let declaration = container.getParent();
    while (declaration && (Node.isAsExpression(declaration) || Node.isSatisfiesExpression(declaration) || Node.isTypeAssertion(declaration) || Node.isParenthesizedExpression(declaration))) declaration = declaration.getParent();
    if (!spread || removed.size !== elementsOf(container).length || !declaration || !Node.isVariableDeclaration(declaration)) continue;
    const uses = identifierUses(record, declaration.getName(), declaration.getNameNode());
    const statement = declaration.getVariableStatement();
    if (uses.length !== 1 || !statement || statement.getDeclarations().length !== 1) continue;
    byContainer.delete(container);
    statements.push(statement);
    add(spread.getParentOrThrow(), spread);
  }
  for (const [start, end] of statementsRemovalSpans(record.text, statements)) out.remove(record, start, end, 'removed the emptied task rows array');
  for (const [container, removed] of byContainer) {
    const elements = elementsOf(container);
    const statement = Node.isCallExpression(container) ? container.getParent() : undefined;
    if (statement && Node.isExpressionStatement(statement) && removed.size === elements.length) {
      const [start, end] = statementRemovalSpan(record.text, statement);
      out.remove(record, start, end, 'removed task rows pushed onto the route table');
      continue;
    }
    if (removed.size === elements.length && Node.isArrayLiteralExpression(container)) {
      out.remove(record, container.getStart() + 1, container.getEnd() - 1, 'removed task rows from the route table');
      continue;
    }
    const indexes = new Set([...removed].map((node) => elements.indexOf(node)));
    for (const [start, end] of listRemovalSpans(elements, indexes)) out.remove(record, start, end, 'removed task rows from the route table');
  }
}

/**
 * The names under which the rows' handler classes can be used in the mount's
 * file, adding the imports that needs; undefined when one cannot be imported.
 */
/** The name the host's file gives the subclass a table served at the built-in URL (imported there if needed); undefined when it has none. */
export function defaultUrlHandlerName(analysis: Analysis, out: RuleOutput, entry: DefaultUrlHandler, removed?: ReadonlyArray<[number, number]>): string | undefined {
  const { table, row, host } = entry;
  if (!host || entry.problem) return undefined;
  if (table.record === host.record) return translate(analysis, out, host.record, row.handler);
  return handlersForOtherFile(analysis, out, table.record, host.record, [row], removed)?.get(row);
}

function defaultUrlHandlerStays(analysis: Analysis, table: RouteTable, row: RouteRow): boolean {
  const entries = wrapPlan(analysis).defaultUrlHandlers.filter((e) => e.table === table && e.row === row);
  return entries.some((e) => defaultUrlHandlerName(analysis, new RuleOutput('route-table'), e) === undefined);
}

/** Names the mount's file can use for the rows' handler classes (importing them), or undefined when one cannot be imported. */
export function handlersForOtherFile(
  analysis: Analysis,
  out: RuleOutput,
  tableRecord: SourceRecord,
  mountRecord: SourceRecord,
  rows: RouteRow[],
  removed: ReadonlyArray<[number, number]> = [],
): Map<RouteRow, string> | undefined {
  const names = new Map<RouteRow, string>();
  const imports = new Map<string, string[]>();
  const defaults = new Map<string, string>();
  for (const row of rows) {
    const handler = row.handler;
    if (isHandlerRef(analysis.symbols.resolve(tableRecord, handler))) {
      const namespace = namespaceAccess(analysis, mountRecord);
      if (namespace) out.use(mountRecord, [namespace.local]);
      names.set(row, namespace ? `${namespace.local}.Handler` : useShimName(analysis, out, mountRecord, 'Handler'));
      continue;
    }
    if (!Node.isIdentifier(handler)) return undefined;
    const resolution = resolveName(analysis.index, tableRecord, handler.getText(), 0);
    const defaultClass = resolution.kind === 'class-value' || resolution.kind === 'module' ? resolution.node : undefined;
    if (defaultClass && Node.isClassDeclaration(defaultClass) && defaultClass.hasDefaultKeyword()) {
      // `export default class ...`: a default import in the mount's file.
      const owner = (resolution as { record: SourceRecord }).record;
      if (owner === mountRecord || isCommonJs(mountRecord)) return undefined;
      const specifier = relativeSpecifier(mountRecord, owner.absPath);
      const existing = mountRecord.sourceFile.getImportDeclarations().find((d) => d.getDefaultImport() && analysis.index.resolve(mountRecord.absPath, d.getModuleSpecifierValue()) === owner.absPath);
      let local = existing?.getDefaultImport()?.getText() ?? defaults.get(specifier);
      if (!local) {
        local = defaultClass.getName() ?? handler.getText();
        if (hasLocalName(mountRecord, local)) return undefined;
        defaults.set(specifier, local);
      }
      names.set(row, local);
      continue;
    }
    if (resolution.kind !== 'module' || !isExportableClass(resolution.node)) return undefined;
    const name = resolution.name;
    if (resolution.record !== mountRecord) {
      const seen = resolveName(analysis.index, mountRecord, name, 0);
      if (seen.kind === 'module' && seen.node === resolution.node) {
        // Already bound in the mount's file.
      } else if (hasLocalName(mountRecord, name) || !(isExportedByName(resolution.node) || exportsByName(resolution.record, name))) {
        return undefined;
      } else {
        const specifier = relativeSpecifier(mountRecord, resolution.record.absPath);
        imports.set(specifier, [...new Set([...(imports.get(specifier) ?? []), name])]);
      }
    }
    names.set(row, name);
  }
  for (const [specifier, list] of imports) {
    insertImportStatement(out, mountRecord, importStatement(mountRecord, list, specifier), 'imported the task handlers its routes use', removed);
  }
  for (const [specifier, local] of defaults) {
    insertImportStatement(out, mountRecord, `import ${local} from ${quoted(mountRecord.style, specifier)}${semi(mountRecord.style)}`, 'imported the default-exported task handler its routes use', removed);
  }
  return names;
}

/** A class declaration, or `const H = class ... {}`: a named class another file can import. */
function isExportableClass(node: Node): boolean {
  if (Node.isClassDeclaration(node)) return !!node.getName();
  if (!Node.isVariableDeclaration(node) || !Node.isIdentifier(node.getNameNode())) return false;
  const initializer = node.getInitializer();
  return !!initializer && Node.isClassExpression(unwrap(initializer)) && node.getVariableStatement()?.getDeclarationKind() === 'const';
}

/**
 * CommonJS exports of `name` under its own name: `module.exports = { name }`,
 * `module.exports = { name: name }`, `exports.name = name`, `module.exports.name = name`
 * (module level), which `require` destructuring and Node's ESM named imports both see.
 */
function exportsByName(record: SourceRecord, name: string): boolean {
  for (const statement of record.sourceFile.getStatements()) {
    if (!Node.isExpressionStatement(statement)) continue;
    const expression = statement.getExpression();
    if (!Node.isBinaryExpression(expression) || expression.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const left = expression.getLeft().getText().replace(/\s+/g, '');
    const right = unwrap(expression.getRight());
    if (left === 'module.exports' && Node.isObjectLiteralExpression(right)) {
      const property = right.getProperty(name);
      if (property && (Node.isShorthandPropertyAssignment(property) || (Node.isPropertyAssignment(property) && property.getInitializer()?.getText() === name))) return true;
    } else if ((left === `exports.${name}` || left === `module.exports.${name}`) && right.getText() === name) return true;
  }
  return false;
}

/** `export class H` / `export const H = class ...` (an ES named export). */
function isExportedByName(node: Node): boolean {
  if (Node.isClassDeclaration(node)) return node.hasExportKeyword() && !node.hasDefaultKeyword();
  return Node.isVariableDeclaration(node) && !!node.getVariableStatement()?.hasExportKeyword();
}

/** The identifiers named `name` in the file, other than `declared` (found on the compiler's nodes, only those wrapped). */
function identifierUses(record: SourceRecord, name: string, declared: Node): Node[] {
  return compilerIdentifiersNamed(record.sourceFile, name)
    .filter((id) => id !== declared.compilerNode)
    .map((id) => wrapCompilerNode(record.sourceFile, id));
}

function hasAncestorOfKind(node: ts.Node, kind: SyntaxKind): boolean {
  for (let parent = node.parent; parent; parent = parent.parent) if (parent.kind === kind) return true;
  return false;
}

/** Removes the project (non-legacy) imports of `names` when nothing outside `spans` uses them any more. */
function removeImportsIfUnused(analysis: Analysis, out: RuleOutput, record: SourceRecord, names: Iterable<string>, spans: Array<[number, number]>): void {
  const unused = new Set<string>();
  for (const name of new Set(names)) {
    const declaration = record.sourceFile.getImportDeclarations().find((d) => d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name) || d.getDefaultImport()?.getText() === name);
    if (!declaration || roleOfSpecifier(declaration.getModuleSpecifierValue(), analysis.matchers, record.absPath)) continue;
    const sf = record.sourceFile.compilerNode;
    const usedElsewhere = compilerIdentifiersNamed(record.sourceFile, name).some((id) => {
      const start = id.getStart(sf);
      return !spans.some(([s, e]) => start >= s && start < e) && !hasAncestorOfKind(id, SyntaxKind.ImportDeclaration);
    });
    if (!usedElsewhere) unused.add(name);
  }
  removeImportsOf(out, record, unused);
}

/**
 * Removes several names from the file's import declarations at once, so that
 * `import H, { G } from './handlers'` losing both goes as a whole.
 */
function removeImportsOf(out: RuleOutput, record: SourceRecord, names: Set<string>): void {
  if (names.size === 0) return;
  for (const declaration of record.sourceFile.getImportDeclarations()) {
    const defaultImport = declaration.getDefaultImport();
    const specifiers = declaration.getNamedImports();
    const removedDefault = !!defaultImport && names.has(defaultImport.getText());
    const removed = new Set(specifiers.map((s, i) => (names.has(s.getAliasNode()?.getText() ?? s.getName()) ? i : -1)).filter((i) => i >= 0));
    if (!removedDefault && removed.size === 0) continue;
    const allNamed = removed.size === specifiers.length;
    if ((removedDefault || !defaultImport) && allNamed && !declaration.getNamespaceImport()) {
      const [start, end] = statementRemovalSpan(record.text, declaration);
      out.remove(record, start, end, 'removed the imports of the task handlers');
      continue;
    }
    const namedBindings = declaration.getImportClause()?.getNamedBindings();
    if (removedDefault && namedBindings) out.remove(record, defaultImport!.getStart(), namedBindings.getStart(), 'removed the import of a task handler');
    if (allNamed && specifiers.length > 0 && defaultImport && !removedDefault && namedBindings) out.remove(record, defaultImport.getEnd(), namedBindings.getEnd(), 'removed the imports of the task handlers');
    else for (const [start, end] of listRemovalSpans(specifiers, removed)) out.remove(record, start, end, 'removed the import of a task handler');
  }
}

/** The spans of the import declarations that bind `name` alone (`import { tasks } from`, `import tasks from`), which removeImportOf removes whole. */
function wholeImportsOf(record: SourceRecord, name: string): Array<[number, number]> {
  return record.sourceFile.getImportDeclarations().filter((declaration) => {
    const specifiers = declaration.getNamedImports();
    const local = declaration.getDefaultImport()?.getText();
    if (declaration.getNamespaceImport() || (local !== undefined && local !== name)) return false;
    if (local !== undefined) return specifiers.length === 0;
    return specifiers.length === 1 && (specifiers[0]!.getAliasNode()?.getText() ?? specifiers[0]!.getName()) === name;
  }).map((declaration) => statementRemovalSpan(record.text, declaration));
}

function removeImportOf(out: RuleOutput, record: SourceRecord, name: string): void {
  for (const declaration of record.sourceFile.getImportDeclarations()) {
    if (declaration.getDefaultImport()?.getText() === name && declaration.getNamedImports().length === 0 && !declaration.getNamespaceImport()) {
      const [start, end] = statementRemovalSpan(record.text, declaration);
      out.remove(record, start, end, `removed the import of ${name}`);
      continue;
    }
    const specifiers = declaration.getNamedImports();
    const index = specifiers.findIndex((s) => (s.getAliasNode()?.getText() ?? s.getName()) === name);
    if (index === -1) continue;
    if (specifiers.length === 1 && !declaration.getDefaultImport() && !declaration.getNamespaceImport()) {
      const [start, end] = statementRemovalSpan(record.text, declaration);
      out.remove(record, start, end, 'removed the import of the task route table');
    } else {
      for (const [start, end] of listRemovalSpans(specifiers, new Set([index]))) out.remove(record, start, end, 'removed the import of the task route table');
    }
  }
}

/** The table expression's text with some rows removed, layout kept; the names it uses stay imported. */
function tableTextWithout(analysis: Analysis, out: RuleOutput, table: RouteTable, removedRows: RouteRow[]): string {
  const { record } = table;
  const start = table.create.getStart();
  const elements = table.rowsArray!.getElements();
  const removed = new Set(removedRows.map((r) => elements.indexOf(r.element ?? r.node)));
  const spans = listRemovalSpans(elements, removed);
  // Legacy names in what stays (a built-in row kept: `deferred.TaskHandler`) are renamed as the imports rule would.
  const renames = legacyNameUses(analysis, record).filter((u) => u.start >= start && u.end <= table.create.getEnd() && !spans.some(([s, e]) => u.start >= s && u.end <= e));
  const edits = [...spans.map(([s, e]) => ({ start: s, end: e, text: '' })), ...renames.map((u) => ({ start: u.start, end: u.end, text: u.text }))].sort((a, b) => b.start - a.start);
  let text = record.text.slice(start, table.create.getEnd());
  for (const edit of edits) text = text.slice(0, edit.start - start) + edit.text + text.slice(edit.end - start);
  out.use(record, renames.map((u) => u.binding).filter(Boolean));
  translate(analysis, out, record, table.create.getExpression());
  return text;
}

export function uniqueName(record: SourceRecord, base: string): string {
  let name = base;
  for (let i = 2; new RegExp(`\\b${name}\\b`).test(record.text); i++) name = `${base}${i}`;
  return name;
}

/**
 * The generated routes, before the mount's statement. A mount that is the body of an
 * `if` (or a loop) without braces gets them, so that both stay under that condition.
 */
function insertRoutesBefore(out: RuleOutput, record: SourceRecord, statement: Node, text: string, indent: string): void {
  const parent = statement.getParent();
  const inList = !!parent && (Node.isBlock(parent) || Node.isSourceFile(parent) || Node.isModuleBlock(parent) || Node.isCaseClause(parent) || Node.isDefaultClause(parent));
  if (inList) {
    out.edit(record, statement.getStart(), statement.getStart(), text + record.style.newline + indent, 'custom task routes served by the host framework');
    return;
  }
  out.edit(record, statement.getStart(), statement.getStart(), '{ ' + text + record.style.newline + indent, 'custom task routes served by the host framework, under the mount\'s condition');
  out.edit(record, statement.getEnd(), statement.getEnd(), ' }', 'custom task routes served by the host framework, under the mount\'s condition');
}

/**
 * A composed node:http table whose task rows can move: a named table, and, when
 * webapp rows stay (the table is kept as the listener's fallback), none of the
 * task rows is written inside the table's own declaration.
 */
function composedNodeTableMovable(table: RouteTable, moved: RouteRow[]): boolean {
  const statement = table.statement;
  if (!statement || !table.variable || !Node.isIdentifier(table.variable.getNameNode()) || table.rowsUnknown) return false;
  const staying = table.rows.some((r) => !moved.includes(r));
  return !staying || moved.every((r) => r.node.getStart() >= statement.getEnd() || r.node.getEnd() <= statement.getStart());
}

function migrateNodeTable(analysis: Analysis, out: RuleOutput, table: RouteTable, routes: Route[], remaining: RouteRow[], composed = false): void {
  const { record } = table;
  const style = record.style;
  const s = semi(style);
  if (remaining.length > 0 && routes.length === 0 && !composed) {
    const elements = table.rowsArray!.getElements();
    const removed = new Set(table.rows.filter((r) => !remaining.includes(r)).map((r) => elements.indexOf(r.element ?? r.node)));
    for (const [start, end] of listRemovalSpans(elements, removed)) out.remove(record, start, end, 'removed task rows from the route table');
    return;
  }
  const removedRows = table.rows.filter((r) => !remaining.includes(r));
  const name = table.variable?.getName();
  if (table.statement && name) {
    const statement = table.statement;
    const indent = indentAt(record.text, statement.getStart());
    const exported = statement.hasExportKeyword() ? 'export ' : '';
    const parts: string[] = [];
    let fallback: string | undefined;
    if (remaining.length > 0) {
      fallback = uniqueName(record, `${name}Webapp`);
      // A composed table's rows left their arrays already; its own text is kept.
      const text = composed ? record.text.slice(table.create.getStart(), table.create.getEnd()) : tableTextWithout(analysis, out, table, removedRows);
      if (composed) translate(analysis, out, record, table.create.getExpression());
      parts.push(`const ${fallback} = ${text}${s}`);
    }
    const hoisted = hoistFactoryRows(record, routes);
    parts.push(...hoisted.declarations, exported + nodeListener(record, name, hoisted.routes, fallback, indent, statement.getDeclarationKind(), analysis.jsdocTyped));
    out.edit(record, statement.getStart(), statement.getEnd(), parts.join(style.newline + indent), 'the route table becomes a node:http listener');
    out.markRemoved(record, statement.getStart(), statement.getEnd());
    return;
  }
  // The table is an expression (returned by a function, passed inline): a listener takes its place,
  // and a table kept for webapp routes is declared just before the statement.
  let container: Node = table.create;
  while (container.getParent() && !Node.isBlock(container.getParent()!) && !Node.isSourceFile(container.getParent()!)) container = container.getParent()!;
  const indent = indentAt(record.text, container.getStart());
  let fallback: string | undefined;
  if (remaining.length > 0) {
    if (Node.isArrowFunction(table.create.getParent())) {
      out.report(record, table.create, 'mount-not-found', 'warning', 'Give this route table a name (const tasks = ...) so the codemod can split task routes from webapp routes.');
      return;
    }
    fallback = uniqueName(record, 'webappRoutes');
    const declaration = `const ${fallback} = ${tableTextWithout(analysis, out, table, removedRows)}${s}`;
    out.edit(record, container.getStart(), container.getStart(), declaration + style.newline + indent, 'webapp routes stay in a table of their own');
  }
  const hoisted = hoistFactoryRows(record, routes);
  if (hoisted.declarations.length > 0) out.edit(record, container.getStart(), container.getStart(), hoisted.declarations.join(style.newline + indent) + style.newline + indent, 'a factory row\'s class made once, as the table did');
  const listener = nodeListener(record, 'listener', hoisted.routes, fallback, indent, 'const', analysis.jsdocTyped)
    .replace(/^const listener = /, '')
    .replace(/;$/, '');
  out.edit(record, table.create.getStart(), table.create.getEnd(), listener, 'the route table becomes a node:http listener');
  out.markRemoved(record, table.create.getStart(), table.create.getEnd());
}

export const rule: Rule = {
  meta,
  run(analysis, out) {
    for (const table of analysis.tables) migrateTable(analysis, out, table);
    for (const record of analysis.candidates) {
      for (const { node, subclass } of findRouterValueUses(analysis.symbols, record)) {
        const what = subclass ? `A subclass of ${node.getText()}` : `${node.getText()} used as a value`;
        out.report(
          record,
          node,
          'unresolved-legacy-reference',
          'warning',
          `${what}: the codemod does not read the route tables built with it, so TaskHandler rows in them stay on the webapp router while their classes are migrated to Handler, which that router cannot run. Serve those task URLs with new Handler().post(environ) from the host app, or build the table with new WSGIApplication([...]) itself.`,
        );
      }
    }
  },
};

export default makeTransform(rule, addNeededImports);
