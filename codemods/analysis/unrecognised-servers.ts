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

export interface UnrecognisedServer {
  record: SourceRecord;
  node: Node;
  /** What it is, for the report. */
  what: string;
}

/** Servers that speak no HTTP: not hosts of the task URL. */
const NOT_HTTP = new Set(['net', 'node:net', 'tls', 'node:tls', 'dgram', 'node:dgram']);

/** The module specifier an identifier is imported or required from, when it is. */
function moduleOf(identifier: Node): string | undefined {
  for (const declaration of identifier.getSymbol()?.getDeclarations() ?? []) {
    const importDeclaration = declaration.getFirstAncestorByKind(SyntaxKind.ImportDeclaration);
    if (importDeclaration) return importDeclaration.getModuleSpecifierValue();
    const variable = Node.isVariableDeclaration(declaration) ? declaration : declaration.getFirstAncestorByKind(SyntaxKind.VariableDeclaration);
    let initializer = variable?.getInitializer() && unwrap(variable.getInitializer()!);
    if (initializer && Node.isPropertyAccessExpression(initializer)) initializer = initializer.getExpression();
    // `__importDefault(require('net'))` of compiled CommonJS.
    if (initializer && Node.isCallExpression(initializer) && initializer.getArguments().length === 1) {
      const helper = initializer.getExpression();
      if (Node.isIdentifier(helper) && interopHelperKind(helper.getText())) initializer = initializer.getArguments()[0]!;
    }
    const literal = initializer && requireSpecifier(initializer);
    if (literal) return literal.getLiteralValue();
  }
  return undefined;
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

function unrecognisedIn(record: SourceRecord, creates: ReadonlySet<Node>): UnrecognisedServer[] {
  const found: UnrecognisedServer[] = [];
  const sf = record.sourceFile;
  const text = record.text;
  if (!/createServer|createSecureServer|Server\(|require\(/.test(text)) return found;
  const bindings = frameworkBindings(record);
  const calls = [...compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression), ...compilerNodesOfKind<ts.NewExpression>(sf, SyntaxKind.NewExpression)];
  for (const compilerNode of calls) {
    const node = wrapCompilerNode<CallExpression | NewExpression>(sf, compilerNode);
    if (creates.has(node)) continue;
    const callee = node.getExpression();
    const name = calleeName(callee);
    // `require('express')()`, `new (require('koa'))()`: a framework app the finder does not follow.
    const required = requireSpecifier(callee);
    if (required && MODULE_FRAMEWORKS[required.getLiteralValue()] && MODULE_FRAMEWORKS[required.getLiteralValue()] !== 'node') {
      if (!mentionsWrapApp(node)) found.push({ record, node, what: `an app of ${required.getLiteralValue()} created straight from require()` });
      continue;
    }
    // `const express = require('express')` inside a function: the finder reads module-level requires only.
    const specifier = requireSpecifier(node);
    if (specifier && MODULE_FRAMEWORKS[specifier.getLiteralValue()] && MODULE_FRAMEWORKS[specifier.getLiteralValue()] !== 'node') {
      if (node.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a))) {
        found.push({ record, node, what: `${specifier.getLiteralValue()} required inside a function` });
      }
      continue;
    }
    if (name !== 'createServer' && name !== 'createSecureServer' && !(name === 'Server' && Node.isNewExpression(node))) continue;
    const module = calleeModule(callee);
    if (module !== undefined && NOT_HTTP.has(module)) continue;
    if (mentionsWrapApp(node)) continue;
    if (!Node.isNewExpression(node) && name === 'createServer' && frameworkCallee(record, callee, bindings)?.framework === 'node') {
      // http.createServer(listener) is a host, or the server of one; with no listener, one is attached later (server.on('request', ...)).
      const args = node.getArguments();
      const listener = args[args.length - 1];
      if (listener && !Node.isObjectLiteralExpression(listener)) continue;
      found.push({ record, node, what: `${node.getExpression().getText()}() with no listener (one attached later, server.on('request', ...))` });
      continue;
    }
    found.push({ record, node, what: `${node.getExpression().getText()}(...)${module ? ` of ${module}` : ''}` });
  }
  return found;
}

/** Servers in the run's loaded files that the host-app finder does not recognise. */
export function findUnrecognisedServers(analysis: Analysis): UnrecognisedServer[] {
  const creates = new Set<Node>(analysis.hosts.map((h) => h.create));
  return analysis.index
    .loaded()
    .filter((record) => !record.parseProblem)
    .flatMap((record) => unrecognisedIn(record, creates));
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
