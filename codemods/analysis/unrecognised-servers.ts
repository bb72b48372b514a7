// Servers the host-app finder does not recognise. When tasks go to the built-in URL
// and some other app was found and wrapped, the report that no host app was found
// does not come, yet the app that serves requests may be one of these: its process
// never answers /_ah/queue/deferred (Cloud Tasks' requests get 404) and, if it calls
// no wrapApp at all, the embedded queue has no target and its tasks wait for ever.
// The same holds when the only apps found are in test files.
import { Node, SyntaxKind, ts, type CallExpression, type NewExpression } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import { frameworkBindings, frameworkCallee, MODULE_FRAMEWORKS, type HostApp } from './host-app.js';
import type { Analysis } from './index.js';
import { interopHelperKind, requireSpecifier, unwrap } from './legacy-symbols.js';
import type { SourceRecord } from './project.js';
import { bindingDeclaration } from './scope.js';

export interface UnrecognisedServer {
  record: SourceRecord;
  node: Node;
  /** What it is, for the report. */
  what: string;
}

/** Servers that serve no HTTP app (sockets, websockets): not hosts of the task URL. */
const NOT_HTTP = new Set(['net', 'node:net', 'tls', 'node:tls', 'dgram', 'node:dgram', 'ws', 'socket.io']);

/** The module specifier an identifier is imported or required from, when it is. */
function moduleOf(identifier: Node): string | undefined {
  const declaration = bindingDeclaration(identifier);
  if (!declaration) return undefined;
  const importDeclaration = declaration.getFirstAncestorByKind(SyntaxKind.ImportDeclaration);
  if (importDeclaration) return importDeclaration.getModuleSpecifierValue();
  if (Node.isImportEqualsDeclaration(declaration)) {
    const reference = declaration.getModuleReference();
    return Node.isExternalModuleReference(reference) ? reference.getExpressionIfKind(SyntaxKind.StringLiteral)?.getLiteralValue() : undefined;
  }
  if (!Node.isVariableDeclaration(declaration)) return undefined;
  let initializer = declaration.getInitializer() && unwrap(declaration.getInitializer()!);
  if (initializer && Node.isPropertyAccessExpression(initializer)) initializer = initializer.getExpression();
  // `__importDefault(require('net'))` of compiled CommonJS.
  if (initializer && Node.isCallExpression(initializer) && initializer.getArguments().length === 1) {
    const helper = initializer.getExpression();
    if (Node.isIdentifier(helper) && interopHelperKind(helper.getText())) initializer = initializer.getArguments()[0]!;
  }
  return (initializer && requireSpecifier(initializer))?.getLiteralValue();
}

/** The module a callee (`restify.createServer`, `createServer`, `http2.Server`) comes from. */
function calleeModule(callee: Node): string | undefined {
  const value = unwrap(callee);
  if (Node.isIdentifier(value)) return moduleOf(value);
  if (Node.isPropertyAccessExpression(value)) {
    const object = unwrap(value.getExpression());
    if (Node.isIdentifier(object)) return moduleOf(object);
    const literal = requireSpecifier(object);
    return literal?.getLiteralValue();
  }
  return undefined;
}

function calleeName(callee: Node): string | undefined {
  const value = unwrap(callee);
  return Node.isIdentifier(value) ? value.getText() : Node.isPropertyAccessExpression(value) ? value.getName() : undefined;
}

/** Inside `wrapApp(...)` already, or given a `wrapApp(...)` listener: the user wrapped it. */
function mentionsWrapApp(node: CallExpression | NewExpression): boolean {
  const wrapCall = (n: Node) => Node.isCallExpression(n) && calleeName(n.getExpression()) === 'wrapApp';
  return node.getArguments().some(wrapCall) || !!node.getFirstAncestor(wrapCall);
}

/** Parentheses, type assertions and `await` around an expression. */
function strip(node: Node): Node {
  let current = unwrap(node);
  while (Node.isAwaitExpression(current)) current = unwrap(current.getExpression());
  return current;
}

/**
 * Where a value comes from, followed through `const` initializers and method chains
 * (`polka().get(...)`, `await NestFactory.create(M)`): the first call that made it
 * (`root`) and the identifier that call starts from (`leaf`).
 */
function origin(node: Node, depth = 0): { root?: CallExpression | NewExpression; leaf?: Node } {
  const value = strip(node);
  if (Node.isIdentifier(value)) {
    const declaration = bindingDeclaration(value);
    const initializer = declaration && Node.isVariableDeclaration(declaration) && Node.isIdentifier(declaration.getNameNode()) ? declaration.getInitializer() : undefined;
    return initializer && depth < 4 ? origin(initializer, depth + 1) : { leaf: value };
  }
  if (!Node.isCallExpression(value) && !Node.isNewExpression(value)) return {};
  // `wrapApp(app, ...)`: the app it was given.
  const [wrappedApp] = value.getArguments();
  if (Node.isCallExpression(value) && calleeName(value.getExpression()) === 'wrapApp' && wrappedApp) return origin(wrappedApp, depth);
  let object = strip(value.getExpression());
  while (Node.isPropertyAccessExpression(object)) object = strip(object.getExpression());
  if (Node.isCallExpression(object) || Node.isNewExpression(object)) return origin(object, depth);
  if (!Node.isIdentifier(object)) return {};
  const inner = origin(object, depth);
  return inner.root ? inner : { root: value, leaf: inner.leaf ?? object };
}

/** A module of a package (not a relative path), none the host finder knows, speaking HTTP as far as the codemod knows. */
function unknownPackage(module: string | undefined): module is string {
  return module !== undefined && !module.startsWith('.') && !module.startsWith('/') && !MODULE_FRAMEWORKS[module] && !NOT_HTTP.has(module);
}

/** `server.on('request', app)` in the file, every listener an app the finder found there (or already wrapped). */
function requestListenersAreHosts(record: SourceRecord, calls: readonly Node[], hostNames: ReadonlySet<string>): boolean {
  const listeners = calls.flatMap((call) => {
    if (!Node.isCallExpression(call)) return [];
    const callee = call.getExpression();
    const [event, listener] = call.getArguments();
    return Node.isPropertyAccessExpression(callee) && callee.getName() === 'on' && event && Node.isStringLiteral(event) && event.getLiteralValue() === 'request' && listener ? [listener] : [];
  });
  return listeners.length > 0 && listeners.every((l) => (Node.isIdentifier(l) && hostNames.has(l.getText())) || (Node.isCallExpression(l) && calleeName(l.getExpression()) === 'wrapApp'));
}

const CALLEE_NAMES = new Set(['require', 'createServer', 'createSecureServer', 'Server', 'server', 'listen', 'on', 'serve']);

/** Whether a callee may be one the checks below look at: a name among CALLEE_NAMES, `import(...)`, or a `require(...)` call. */
function mayMatch(callee: ts.Expression): boolean {
  let value = callee;
  while (ts.isParenthesizedExpression(value)) value = value.expression;
  if (value.kind === SyntaxKind.ImportKeyword) return true;
  if (ts.isIdentifier(value)) return CALLEE_NAMES.has(value.text);
  if (ts.isPropertyAccessExpression(value)) return CALLEE_NAMES.has(value.name.text);
  return ts.isCallExpression(value) && ts.isIdentifier(value.expression) && value.expression.text === 'require';
}

/** `serve({ fetch: app.fetch })`, `serve({ fetch: app })`, `serve(app)`, `serve(wrapApp(...))` of an app the finder found (a variable of this file). */
function servesFoundApp(call: CallExpression, isFoundApp: (identifier: Node) => boolean): boolean {
  const args = call.getArguments();
  const options = args.find((a) => Node.isObjectLiteralExpression(a));
  const fetchProperty = options && Node.isObjectLiteralExpression(options) ? options.getProperty('fetch') : undefined;
  let served: Node | undefined = fetchProperty && Node.isPropertyAssignment(fetchProperty) ? fetchProperty.getInitializer() : fetchProperty && Node.isShorthandPropertyAssignment(fetchProperty) ? fetchProperty.getNameNode() : args.find((a) => !Node.isObjectLiteralExpression(a) && !Node.isStringLiteral(a));
  // `fetch(req) { ... }` written in place: a handler, not an app.
  if (fetchProperty && !Node.isPropertyAssignment(fetchProperty) && !Node.isShorthandPropertyAssignment(fetchProperty)) return false;
  if (!served) return true;
  served = unwrap(served);
  if (Node.isCallExpression(served) && calleeName(served.getExpression()) === 'wrapApp') return true;
  // `app.fetch`, `app.fetch.bind(app)`.
  while (Node.isCallExpression(served) || Node.isPropertyAccessExpression(served)) served = unwrap(served.getExpression());
  return Node.isIdentifier(served) && isFoundApp(served);
}

function unrecognisedIn(analysis: Analysis, record: SourceRecord, creates: ReadonlySet<Node>): UnrecognisedServer[] {
  const hosts = analysis.hosts;
  const found: UnrecognisedServer[] = [];
  const sf = record.sourceFile;
  if (!/createServer|createSecureServer|[Ss]erver\(|require\(|import\(|\.listen\(|serve\(/.test(record.text)) return found;
  const bindings = frameworkBindings(record);
  const hostNames = new Set(hosts.filter((h) => h.record === record && h.variable).map((h) => h.variable!.getName()));
  // A framework app of this file, or one imported from a file of the run that creates one.
  const isFoundApp = (identifier: Node): boolean => {
    if (hostNames.has(identifier.getText())) return true;
    const declaration = bindingDeclaration(identifier);
    const importDeclaration = declaration?.getFirstAncestorByKind(SyntaxKind.ImportDeclaration);
    const target = importDeclaration && analysis.index.resolve(record.absPath, importDeclaration.getModuleSpecifierValue());
    return !!target && hosts.some((h) => h.framework !== 'node' && h.record.absPath === target);
  };
  // Only the calls the checks below can match are wrapped (wrapping every call of a large file costs).
  const calls = [...compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression), ...compilerNodesOfKind<ts.NewExpression>(sf, SyntaxKind.NewExpression)]
    .filter((n) => mayMatch(n.expression))
    .map((n) => wrapCompilerNode<CallExpression | NewExpression>(sf, n));
  const seen = new Set<Node>();
  const add = (node: CallExpression | NewExpression, what: string) => {
    if (seen.has(node) || creates.has(node) || mentionsWrapApp(node)) return;
    seen.add(node);
    found.push({ record, node, what });
  };
  for (const node of calls) {
    const callee = node.getExpression();
    const name = calleeName(callee);
    // `require('express')()`, `new (require('koa'))()`: a framework app the finder does not follow.
    const required = requireSpecifier(callee);
    if (required && MODULE_FRAMEWORKS[required.getLiteralValue()] && MODULE_FRAMEWORKS[required.getLiteralValue()] !== 'node') {
      add(node, `an app of ${required.getLiteralValue()} created straight from require()`);
      continue;
    }
    // `const express = require('express')` inside a function, `await import('express')`: the finder reads module-level imports and requires only.
    const specifier = requireSpecifier(node);
    const imported = Node.isCallExpression(node) && callee.getKind() === SyntaxKind.ImportKeyword && node.getArguments()[0];
    const loaded = specifier?.getLiteralValue() ?? (imported && Node.isStringLiteral(imported) ? imported.getLiteralValue() : undefined);
    if (loaded !== undefined && MODULE_FRAMEWORKS[loaded] && MODULE_FRAMEWORKS[loaded] !== 'node') {
      if (imported) add(node, `${loaded} loaded with import()`);
      else if (node.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a))) add(node, `${loaded} required inside a function`);
      continue;
    }
    // `<server>.listen(...)` of a server some package made (`polka()`, `await NestFactory.create(M)`).
    if (name === 'listen' && Node.isCallExpression(node) && Node.isPropertyAccessExpression(callee)) {
      const { root, leaf } = origin(callee.getExpression());
      const module = leaf && calleeModule(leaf);
      if (root && unknownPackage(module)) add(root, `${root.getExpression().getText()}(...) of ${module}, listening`);
      continue;
    }
    // `Bun.serve({ fetch })`, `Deno.serve(handler)`, `serve({ fetch })` of @hono/node-server: served is whatever `fetch` is.
    if (name === 'serve' && Node.isCallExpression(node)) {
      const runtime = Node.isPropertyAccessExpression(unwrap(callee)) ? unwrap((unwrap(callee) as import('ts-morph').PropertyAccessExpression).getExpression()).getText() : undefined;
      if ((runtime === 'Bun' || runtime === 'Deno' || calleeModule(callee) === '@hono/node-server') && !servesFoundApp(node, isFoundApp)) add(node, `${callee.getText()}(...) of a handler that is not a found app`);
      continue;
    }
    // hapi's `Hapi.server({ port })` (started with `server.start()`, not `listen`), or its `server` imported by name.
    if (name === 'server' && Node.isCallExpression(node)) {
      const module = calleeModule(callee);
      if (unknownPackage(module)) add(node, `${callee.getText()}(...) of ${module}`);
      continue;
    }
    if (name !== 'createServer' && name !== 'createSecureServer' && !(name === 'Server' && Node.isNewExpression(node))) continue;
    const module = calleeModule(callee);
    if (module === undefined || NOT_HTTP.has(module)) continue;
    if (!Node.isNewExpression(node) && name === 'createServer' && frameworkCallee(record, callee, bindings)?.framework === 'node') {
      // http.createServer(listener) is a host, or the server of one; with no listener, one is attached later (server.on('request', ...)).
      const args = node.getArguments();
      const listener = args[args.length - 1];
      if ((listener && !Node.isObjectLiteralExpression(listener)) || requestListenersAreHosts(record, calls, hostNames)) continue;
      add(node, `${node.getExpression().getText()}() with no listener (one attached later, server.on('request', ...))`);
      continue;
    }
    add(node, `${node.getExpression().getText()}(...) of ${module}`);
  }
  return found;
}

/** Servers in the run's loaded files that the host-app finder does not recognise. */
export function findUnrecognisedServers(analysis: Analysis): UnrecognisedServer[] {
  const creates = new Set<Node>(analysis.hosts.map((h) => h.create));
  return analysis.index
    .loaded()
    .filter((record) => !record.parseProblem)
    .flatMap((record) => unrecognisedIn(analysis, record, creates));
}

const TEST_PATH = /(^|\/)(test|tests|__tests__|spec|__mocks__)\/|\.(test|spec)\.[cm]?[jt]sx?$/;

/** A file tests load, not the serving process: `test/`, `__tests__/`, `*.test.ts`, `*.spec.js`. */
export function isTestFile(rel: string): boolean {
  return TEST_PATH.test(rel);
}

/** Every app found lives in test files. */
export function onlyTestApps(apps: readonly HostApp[]): boolean {
  return apps.length > 0 && apps.every((h) => isTestFile(h.record.rel));
}
