// Which app receives tasks sent to custom URLs. The local backends deliver every task
// in process to one app: the last one `wrapApp` (useDeferred, `deliver` not false) was
// called on. A task for the built-in URL goes straight to that app's endpoint, which
// is the same in every wrapped app; a task sent to a custom `_url` goes through that
// app's own routes. With more than one app wrapped, which wrapApp runs last in the
// serving process is not something the codemod reads: when it is a sub-app mounted
// under a prefix (`app.use('/api', api)`, which sees `/api/tasks/run` unprefixed
// nowhere) or a second server (metrics, admin), the task is answered 404 and retried
// for ever, where App Engine delivered it to the app serving the URL. Likewise a Handler
// subclass one app's wrapApp is given for the built-in URL runs only when that app is
// the target: otherwise its overrides are skipped, with no error.
import { dirname, sep } from 'node:path';
import { Node, SyntaxKind } from 'ts-morph';
import { findDeferCalls, usesDefaultUrl } from './defer-calls.js';
import { resolveName } from './declarations.js';
import type { HostApp } from './host-app.js';
import { requireSpecifier } from './legacy-symbols.js';
import { bindingDeclaration } from './scope.js';
import { isTestFile } from './unrecognised-servers.js';
import type { Analysis } from './index.js';
import { mountPrefix } from './route-tables.js';
import type { WrapPlan } from './wrap-plan.js';

const DEFAULT_URL = '/_ah/queue/deferred';

export interface DeliveryConflict {
  /** The custom URLs tasks are sent to, as the report names them. */
  urls: string[];
  /** Apps that answer the built-in URL with a handler of their own (a Handler subclass): in process, only the target's endpoint runs. */
  handlers: HostApp[];
  /** The distinct apps that become (or already are) delivery targets. */
  apps: HostApp[];
  /** Apps among them made anew each time a function runs, which the serving code calls more than once. */
  repeated: Map<HostApp, RepeatedApp>;
}

/** An app its function makes more than once (rewrite/app-factories.ts): the function and its calls. */
export interface RepeatedApp {
  factory: string;
  calls: string[];
  /** Why not every call of the factory is known, when that is why it counts as made more than once. */
  unknown?: string;
}

/** Custom task URLs of the run: `_url` options (literal or not) and the custom rows of mounted route tables. */
function customTaskUrls(analysis: Analysis): string[] {
  const urls = new Set<string>();
  for (const call of findDeferCalls(analysis.symbols, analysis.candidates)) {
    if (call.unreadOptions) urls.add('options the codemod cannot read');
    else if (!usesDefaultUrl(call)) urls.add(call.url === 'dynamic' ? 'a computed _url' : call.url!);
  }
  for (const table of analysis.tables) {
    if (table.mounts.length === 0) continue;
    const prefix = mountPrefix(table);
    for (const row of table.rows) if (row.kind === 'custom') urls.add(row.path === undefined || prefix === undefined ? 'a route-table row' : prefix + row.path);
  }
  for (const url of handlerRoutes(analysis)) urls.add(url);
  return [...urls];
}

/** What the route-table rule writes for a custom row: `new MailTask().post(deferred.environ(req, ...))` (also `environFrom`). */
const HANDLER_ROUTE_BODY = /\bnew\s+[\w$.]+\s*\([^)]*\)\s*\.post\(\s*(?:[\w$]+\.)?environ(?:From)?\(/;

/**
 * The paths of routes that run a Handler (`app.post('/tasks/mail', async (req, res) => { ... new
 * MailTask().post(deferred.environ(req)) ... })`): a route table's custom rows once migrated, so
 * that a run on migrated code sees the custom URLs the first run saw in the table.
 */
function handlerRoutes(analysis: Analysis): string[] {
  const urls: string[] = [];
  for (const record of analysis.candidates) {
    const text = record.sourceFile.getFullText();
    if (!/\benviron(?:From)?\(|\)\(req, res\)/.test(text)) continue;
    for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const callee = call.getExpression();
      if (Node.isNewExpression(callee)) {
        const node = nodeListenerRoute(call);
        if (node !== undefined) urls.push(node);
        continue;
      }
      if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'use') {
        const koa = koaHandlerRoute(call);
        if (koa !== undefined) urls.push(koa);
        continue;
      }
      if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'post') continue;
      const [path, ...rest] = call.getArguments();
      if (!path || !Node.isStringLiteral(path) || path.getLiteralText() === DEFAULT_URL) continue;
      if (rest.some((arg) => (Node.isArrowFunction(arg) || Node.isFunctionExpression(arg)) && HANDLER_ROUTE_BODY.test(arg.getText()))) urls.push(path.getLiteralText());
    }
  }
  return urls;
}

/**
 * A node:http listener's custom row, as the route-table rule writes it: `if (path === '/tasks/mail')
 * new MailTask()(req, res);` (a Handler instance is a listener), an `else if` after the first.
 */
function nodeListenerRoute(call: Node): string | undefined {
  if (!Node.isCallExpression(call) || call.getArguments().length !== 2) return undefined;
  const statement = call.getParent();
  const branch = statement && Node.isExpressionStatement(statement) ? statement.getParent() : undefined;
  if (!branch || !Node.isIfStatement(branch) || branch.getThenStatement() !== statement) return undefined;
  const condition = branch.getExpression();
  if (!Node.isBinaryExpression(condition) || condition.getOperatorToken().getKind() !== SyntaxKind.EqualsEqualsEqualsToken) return undefined;
  const path = condition.getRight();
  if (!Node.isStringLiteral(path) || !Node.isIdentifier(condition.getLeft())) return undefined;
  return path.getLiteralText() === DEFAULT_URL ? undefined : path.getLiteralText();
}

/**
 * Koa has no router of its own: the route-table rule writes a custom row as a middleware,
 * `app.use(async (ctx, next) => { if (ctx.method !== 'POST' || ctx.path !== '/tasks/mail') return next(); ... new MailTask().post(environFrom(ctx)) ... })`.
 */
function koaHandlerRoute(call: Node): string | undefined {
  if (!Node.isCallExpression(call)) return undefined;
  const [fn, ...others] = call.getArguments();
  if (!fn || others.length > 0 || !(Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) return undefined;
  const ctx = fn.getParameters()[0]?.getNameNode();
  if (!ctx || !Node.isIdentifier(ctx)) return undefined;
  const text = fn.getText();
  if (!HANDLER_ROUTE_BODY.test(text)) return undefined;
  const name = ctx.getText().replace(/\$/g, '\\$');
  const guard = new RegExp(`\\b${name}\\.path\\s*!==?\\s*(?:'([^'\\\\]*)'|"([^"\\\\]*)")`).exec(text);
  if (!guard) return undefined;
  const path = guard[1] ?? guard[2]!;
  return path === DEFAULT_URL ? undefined : path;
}

/** The framework app a node listener is (`http.createServer(app)`, `app.callback()`, in this file or imported), if it is one of `hosts`. */
function frameworkAppOf(analysis: Analysis, host: HostApp, hosts: readonly HostApp[]): HostApp | undefined {
  let listener = host.listener;
  // `wrapApp(app, ...)` written already, `app.callback()` of Koa.
  if (listener && Node.isCallExpression(listener) && host.wrapped) listener = listener.getArguments()[0];
  // `http.createServer(createApp())`, `createApp().callback()`: the one app a factory of the run makes.
  const factoryApp = (call: Node): HostApp | undefined => {
    const callee = Node.isCallExpression(call) ? call.getExpression() : undefined;
    if (!callee || !Node.isIdentifier(callee)) return undefined;
    const resolution = resolveName(analysis.index, host.record, callee.getText(), 0);
    if (resolution.kind !== 'module') return undefined;
    const scope = resolution.node;
    const made = hosts.filter((h) => h !== host && h.framework !== 'node' && h.create.getSourceFile() === scope.getSourceFile() && h.create.getStart() >= scope.getStart() && h.create.getEnd() <= scope.getEnd());
    return made.length === 1 ? made[0] : undefined;
  };
  if (listener && Node.isCallExpression(listener)) {
    const made = factoryApp(listener);
    if (made) return made;
    const callee = listener.getExpression();
    listener = Node.isPropertyAccessExpression(callee) && callee.getName() === 'callback' ? callee.getExpression() : undefined;
    const madeForCallback = listener && factoryApp(listener);
    if (madeForCallback) return madeForCallback;
  }
  if (!listener || !Node.isIdentifier(listener)) return undefined;
  const name = listener.getText();
  const local = hosts.find((h) => h !== host && h.record === host.record && h.variable?.getName() === name);
  if (local) return local;
  const resolution = resolveName(analysis.index, host.record, name, 0);
  if (resolution.kind === 'module') return hosts.find((h) => h !== host && h.variable !== undefined && h.variable === resolution.node);
  return defaultExportedApp(analysis, listener, hosts);
}

/** `import app from './app'` / `const app = require('./app')` of a module whose default export is an app itself (`export default express()`, `module.exports = express()`). */
function defaultExportedApp(analysis: Analysis, identifier: Node, hosts: readonly HostApp[]): HostApp | undefined {
  const declaration = bindingDeclaration(identifier);
  let specifier: string | undefined;
  const importDeclaration = declaration && Node.isImportClause(declaration) ? declaration.getParent() : undefined;
  if (importDeclaration && Node.isImportDeclaration(importDeclaration)) specifier = importDeclaration.getModuleSpecifierValue();
  else if (declaration && Node.isVariableDeclaration(declaration) && Node.isIdentifier(declaration.getNameNode())) {
    const initializer = declaration.getInitializer();
    specifier = initializer && requireSpecifier(initializer)?.getLiteralValue();
  }
  const target = specifier && analysis.index.resolve(identifier.getSourceFile().getFilePath(), specifier);
  if (!target) return undefined;
  return hosts.find((h) => h.record.absPath === target && isDefaultExport(h.served ?? h.create));
}

/** `export default <app>`, `module.exports = <app>`, through wrapApp(...) and parentheses. */
function isDefaultExport(app: Node): boolean {
  let current = app;
  let parent = current.getParent();
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent) || (Node.isCallExpression(parent) && parent.getArguments()[0] === current && parent.getExpression().getText().endsWith('wrapApp')))) {
    current = parent;
    parent = current.getParent();
  }
  if (!parent) return false;
  if (Node.isExportAssignment(parent)) return true;
  return Node.isBinaryExpression(parent) && parent.getRight() === current && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken && parent.getLeft().getText().replace(/\s/g, '') === 'module.exports';
}

/** The options literal of an app's written wrapApp call, if any. */
function wrapOptionsOf(host: HostApp): import('ts-morph').ObjectLiteralExpression | undefined {
  if (!host.wrapped) return undefined;
  let call: Node | undefined = host.framework === 'node' ? host.listener : (host.served ?? host.create).getParent();
  while (call && (Node.isParenthesizedExpression(call) || Node.isAsExpression(call))) call = call.getParent();
  const options = call && Node.isCallExpression(call) ? call.getArguments()[1] : undefined;
  return options && Node.isObjectLiteralExpression(options) ? options : undefined;
}

/** An app already wrapped with `deliver: false` written in its options: never the delivery target. */
function deliversNothing(host: HostApp): boolean {
  const deliver = wrapOptionsOf(host)?.getProperty('deliver');
  return !!deliver && Node.isPropertyAssignment(deliver) && deliver.getInitializer()?.getText() === 'false';
}

/**
 * The queue directory the app's file chooses for its process: `configure({ dataDir })` (the
 * shim's, by any name ending in `configure`), or the environment variable set
 * (`process.env.DEFERRED_DATA_DIR = ...`, `??=`, a `DEFERRED_DATA_DIR` key of an object literal:
 * `Object.assign(process.env, {...})`, a child's `env`). Undefined when it chooses none: only a
 * mention (a comment, a variable named `dataDir` for uploads, a read of the variable) chooses
 * nothing, and `.deferred` is the default. A literal directory is its normalised text (processes
 * started from one directory and naming the same one share it); any other value is a key of its
 * own (taken to differ).
 */
function queueDirectoryOf(host: HostApp): string | undefined {
  const text = host.record.text;
  if (!/\bdataDir\b|DEFERRED_DATA_DIR/.test(text)) return undefined;
  const sourceFile = host.create.getSourceFile();
  const own = `(set in ${host.record.absPath})`;
  const valueOf = (node: Node | undefined): string => {
    if (node && (Node.isStringLiteral(node) || Node.isNoSubstitutionTemplateLiteral(node))) {
      const dir = node.getLiteralText().replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
      return dir === '.deferred' ? '' : dir;
    }
    return own;
  };
  const initializerOf = (property: Node | undefined): Node | undefined =>
    property && Node.isPropertyAssignment(property) ? property.getInitializer() : undefined;
  let chosen: string | undefined;
  const choose = (dir: string): void => {
    chosen = chosen === undefined || chosen === dir ? dir : own;
  };
  const configureCalls = sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression).filter((call) => /(?:^|\.)\s*configure$/.test(call.getExpression().getText()));
  for (const call of configureCalls) {
    for (const arg of call.getArguments()) {
      if (Node.isObjectLiteralExpression(arg)) {
        const property = arg.getProperty('dataDir');
        if (property !== undefined) choose(valueOf(initializerOf(property)));
        else if (arg.getProperties().some((p) => Node.isSpreadAssignment(p))) choose(own);
      } else if (Node.isIdentifier(arg) && sourceFile.getDescendantsOfKind(SyntaxKind.ObjectLiteralExpression).some((o) => o.getProperty('dataDir') !== undefined)) {
        // `configure(options)`: options built elsewhere in the file, with a dataDir key.
        choose(own);
      }
    }
  }
  for (const literal of sourceFile.getDescendantsOfKind(SyntaxKind.ObjectLiteralExpression)) {
    const property = literal.getProperty('DEFERRED_DATA_DIR') ?? literal.getProperty("'DEFERRED_DATA_DIR'") ?? literal.getProperty('"DEFERRED_DATA_DIR"');
    if (property !== undefined) choose(valueOf(initializerOf(property)));
  }
  for (const binary of sourceFile.getDescendantsOfKind(SyntaxKind.BinaryExpression)) {
    const operator = binary.getOperatorToken().getKind();
    if (operator !== SyntaxKind.EqualsToken && operator !== SyntaxKind.QuestionQuestionEqualsToken && operator !== SyntaxKind.BarBarEqualsToken) continue;
    const left = binary.getLeft().getText().replace(/\s+/g, '');
    if (/^process\.env(?:\.DEFERRED_DATA_DIR|\[(['"`])DEFERRED_DATA_DIR\1\])$/.test(left)) choose(valueOf(binary.getRight()));
  }
  return chosen === '' ? undefined : chosen;
}

/** An app whose built-in URL a handler of its own answers: the one wrapApp is given now (a route table's subclass), or a `handler` written already. */
function hasOwnHandler(host: HostApp, plan: WrapPlan): boolean {
  return plan.defaultUrlHandlers.some((e) => e.host === host && !e.problem) || wrapOptionsOf(host)?.getProperty('handler') !== undefined;
}

/** Files an upward walk visits at most before it gives up (and takes the apps to share a process). */
const MAX_WALK = 5000;

/**
 * The entry modules (imported by no file of the run) that load `absPath`: the processes
 * its app can run in. Undefined when the walk is too large to tell.
 */
export function entriesOf(analysis: Analysis, absPath: string): Set<string> | undefined {
  return analysis.imports.importerClosure([absPath], analysis.index, MAX_WALK)?.entries;
}

/** The apps that share a process with another of them (their files are loaded from a common entry module). */
function sharingAProcess(analysis: Analysis, apps: readonly HostApp[]): HostApp[] {
  const entries = new Map<string, Set<string> | undefined>();
  for (const app of apps) if (!entries.has(app.record.absPath)) entries.set(app.record.absPath, entriesOf(analysis, app.record.absPath));
  const shares = (a: HostApp, b: HostApp): boolean => {
    const x = entries.get(a.record.absPath);
    const y = entries.get(b.record.absPath);
    return a.record === b.record || !x || !y || [...x].some((entry) => y.has(entry));
  };
  return apps.filter((app) => apps.some((other) => other !== app && shares(app, other)));
}

/**
 * More than one app receives deliveries while tasks go to custom URLs: which one gets them is not known.
 * `repeatedCreation`: whether an app is made more than once in the serving process (a factory called
 * twice), each made app a delivery target in turn.
 */
export function deliveryConflict(analysis: Analysis, plan: WrapPlan, repeatedCreation?: (host: HostApp) => RepeatedApp | undefined): DeliveryConflict | undefined {
  // Apps of test files are not in the serving process (a test that loads two apps sees its tasks fail).
  const candidates = [...plan.toWrap, ...plan.wrapped].filter((h) => !deliversNothing(h) && !isTestFile(h.record.rel));
  if (candidates.length === 0) return undefined;
  // `http.createServer(app)` of an app in the list is that app again, not a second target.
  const distinct = candidates.filter((h) => h.framework !== 'node' || !frameworkAppOf(analysis, h, candidates));
  const inFunction = (h: HostApp) => (h.served ?? h.create).getFirstAncestor((n) => Node.isFunctionLikeDeclaration(n) || Node.isArrowFunction(n) || Node.isFunctionExpression(n) || Node.isClassDeclaration(n) || Node.isIterationStatement(n)) !== undefined;
  if (distinct.length < 2 && !(repeatedCreation && distinct.some(inFunction))) return undefined;
  const urls = customTaskUrls(analysis);
  // One app made by a function the serving code calls more than once: its apps differ only in what
  // the function does with its arguments (`if (opts.tasks) app.use(tasks)`), so custom URLs only.
  const repeated = new Map<HostApp, RepeatedApp>();
  if (urls.length > 0 && repeatedCreation) {
    // `deliver: opts.tasks` written: the factory's apps say themselves which one receives the tasks.
    for (const host of distinct.filter((h) => inFunction(h) && wrapOptionsOf(h)?.getProperty('deliver') === undefined)) {
      const made = repeatedCreation(host);
      if (made) repeated.set(host, made);
    }
  }
  if (distinct.length < 2 && repeated.size === 0) return undefined;
  if (urls.length === 0 && !distinct.some((h) => hasOwnHandler(h, plan))) return undefined;
  // Apps of separate services (no module loads both) run in separate processes, each its own target.
  const apps = distinct.length >= 2 ? sharingAProcess(analysis, distinct) : [];
  for (const host of repeated.keys()) if (!apps.includes(host)) apps.push(host);
  const handlers = apps.filter((h) => hasOwnHandler(h, plan));
  return apps.length + repeated.size >= 2 && (urls.length > 0 || handlers.length > 0) ? { urls, handlers, apps, repeated } : undefined;
}

/** The directory of the nearest package.json the discovery read above `absPath`, if any. */
function packageDirOf(analysis: Analysis, absPath: string): string | undefined {
  let best: string | undefined;
  for (const config of analysis.configs) {
    if (!config.endsWith(`${sep}package.json`)) continue;
    const dir = dirname(config);
    if (absPath.startsWith(dir + sep) && (best === undefined || dir.length > best.length)) best = dir;
  }
  return best;
}

/**
 * Apps wrapped in separate processes of one package (no module of the run loads both: a web
 * server and a worker or admin service, a `child_process.fork()` child): each opens the embedded
 * queue in `.deferred` under its working directory, so started from one directory they share it,
 * and each process claims and runs whichever due task comes first, through its own app and with
 * its own registry. A task function only the other process registers fails permanently there
 * (PermanentTaskFailure: the task is lost), and a custom URL its app does not serve is answered
 * 404 and retried. Apps given `deliver: false`, apps in test files, apps of other packages (started
 * from their own directory, as workspace scripts are) and apps whose files choose another queue
 * directory (`dataDir`, `DEFERRED_DATA_DIR`: `queueDirectoryOf`) are left out. Each entry: an app and the apps of other processes.
 */
export function sharedQueueApps(analysis: Analysis, plan: WrapPlan): Map<HostApp, HostApp[]> {
  const result = new Map<HostApp, HostApp[]>();
  const candidates = [...plan.toWrap, ...plan.wrapped].filter(
    (h) => !deliversNothing(h) && !isTestFile(h.record.rel),
  );
  const distinct = candidates.filter((h) => h.framework !== 'node' || !frameworkAppOf(analysis, h, candidates));
  if (distinct.length < 2) return result;
  const directories = new Map(distinct.map((h) => [h, queueDirectoryOf(h)]));
  const entries = new Map<string, Set<string> | undefined>();
  for (const app of distinct) if (!entries.has(app.record.absPath)) entries.set(app.record.absPath, entriesOf(analysis, app.record.absPath));
  const separate = (a: HostApp, b: HostApp): boolean => {
    const x = entries.get(a.record.absPath);
    const y = entries.get(b.record.absPath);
    return a.record !== b.record && !!x && !!y && x.size > 0 && y.size > 0 && ![...x].some((entry) => y.has(entry)) && directories.get(a) === directories.get(b);
  };
  // By package first: a tree of hundreds of services would otherwise compare every pair's package.
  const byPackage = new Map<string | undefined, HostApp[]>();
  for (const app of distinct) {
    const pkg = packageDirOf(analysis, app.record.absPath);
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), app]);
  }
  for (const apps of byPackage.values()) {
    for (const app of apps) {
      const others = apps.filter((other) => other !== app && separate(app, other));
      if (others.length > 0) result.set(app, others);
    }
  }
  return result;
}
