// Host apps: where the application object is created (express(), new Koa(),
// Fastify(), new Hono(), http.createServer(listener)), found by resolving the
// creating call to its module, and whether it is already wrapped.
import { Node, SyntaxKind, ts, type CallExpression, type ImportDeclaration, type NewExpression, type VariableDeclaration } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import { importEqualsRequire, interopHelperKind, mayBeRequireCall, requireSpecifier, unwrapCompiler } from './legacy-symbols.js';
import type { SourceRecord } from './project.js';
import { isShadowed } from './scope.js';

export type Framework = 'express' | 'connect' | 'koa' | 'fastify' | 'hono' | 'node';

export interface HostApp {
  record: SourceRecord;
  framework: Framework;
  /** The creating expression: `express()`, `new Koa()`, `http.createServer(listener)`... */
  create: CallExpression | NewExpression;
  /** What wrapApp goes around, when not `create`: `new Hono().basePath('/v1')`, whose result is another app. */
  served?: CallExpression;
  /** `const app = express()`. */
  variable?: VariableDeclaration;
  /** Already inside `wrapApp(...)`. */
  wrapped: boolean;
  /** node: the listener argument of createServer. */
  listener?: Node;
}

export const MODULE_FRAMEWORKS: Record<string, Framework> = {
  express: 'express',
  express4: 'express',
  connect: 'connect',
  koa: 'koa',
  fastify: 'fastify',
  hono: 'hono',
  http: 'node',
  'node:http': 'node',
  https: 'node',
  'node:https': 'node',
};

/**
 * A local name bound to a framework module: the module itself, one of its members, or
 * (compiled CommonJS) the object an interop helper made of it: `{ default: module }`
 * (`__importDefault`) or a copy of its members with `default: module` (`__importStar`).
 */
export interface FrameworkBinding {
  framework: Framework;
  member?: string;
  interop?: 'default' | 'namespace';
}

/** Local names bound to a framework module (default, namespace, named or required). */
export function frameworkBindings(record: SourceRecord): Map<string, FrameworkBinding> {
  const names = new Map<string, FrameworkBinding>();
  const sf = record.sourceFile;
  // Runs for every loaded file: statements are judged on the compiler's nodes and
  // only imports and requires of a framework module are wrapped.
  for (const statement of sf.compilerNode.statements) {
    // TypeScript's `import express = require('express')`: the module object, as a CommonJS require gives it.
    const importEquals = importEqualsRequire(statement);
    if (importEquals) {
      const framework = importEquals.typeOnly ? undefined : MODULE_FRAMEWORKS[importEquals.specifier];
      if (framework) names.set(importEquals.name, { framework });
      continue;
    }
    if (!ts.isImportDeclaration(statement)) continue;
    if (ts.isStringLiteral(statement.moduleSpecifier) && !MODULE_FRAMEWORKS[statement.moduleSpecifier.text]) continue;
    const declaration = wrapCompilerNode<ImportDeclaration>(sf, statement);
    const framework = MODULE_FRAMEWORKS[declaration.getModuleSpecifierValue()];
    if (!framework) continue;
    const defaultImport = declaration.getDefaultImport();
    if (defaultImport) names.set(defaultImport.getText(), { framework });
    const namespaceImport = declaration.getNamespaceImport();
    if (namespaceImport) names.set(namespaceImport.getText(), { framework });
    for (const named of declaration.getNamedImports()) {
      names.set(named.getAliasNode()?.getText() ?? named.getName(), { framework, member: named.getName() });
    }
  }
  for (const statement of sf.compilerNode.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const compilerDeclaration of statement.declarationList.declarations) {
      if (!mayBeRequire(compilerDeclaration.initializer)) continue;
      const declaration = wrapCompilerNode<VariableDeclaration>(sf, compilerDeclaration);
      const initializer = declaration.getInitializer();
      if (!initializer) continue;
      const helped = interopHelped(initializer);
      const literal = requireSpecifier(helped?.argument ?? initializer);
      const framework = literal && MODULE_FRAMEWORKS[literal.getLiteralValue()];
      if (!framework) continue;
      const nameNode = declaration.getNameNode();
      if (helped) {
        if (Node.isIdentifier(nameNode)) names.set(nameNode.getText(), { framework, interop: helped.interop });
        continue;
      }
      if (Node.isIdentifier(nameNode)) names.set(nameNode.getText(), { framework });
      else if (Node.isObjectBindingPattern(nameNode)) {
        for (const element of nameNode.getElements()) {
          names.set(element.getName(), { framework, member: element.getPropertyNameNode()?.getText() ?? element.getName() });
        }
      }
    }
  }
  return names;
}

/** `__importDefault(<argument>)` and the like: the helper's kind and its one argument. */
function interopHelped(node: Node): { interop: 'default' | 'namespace'; argument: Node } | undefined {
  if (!Node.isCallExpression(node) || node.getArguments().length !== 1) return undefined;
  const callee = node.getExpression();
  const interop = Node.isIdentifier(callee) ? interopHelperKind(callee.getText()) : undefined;
  return interop && { interop, argument: node.getArguments()[0]! };
}

/** Whether `requireSpecifier` can find a `require('...')` call in this expression, maybe inside an interop helper (a cheap, conservative test). */
function mayBeRequire(expression: ts.Expression | undefined): boolean {
  if (!expression) return false;
  const value = unwrapCompiler(expression);
  const helped = ts.isCallExpression(value) && ts.isIdentifier(value.expression) && interopHelperKind(value.expression.text) !== undefined && value.arguments.length === 1;
  return mayBeRequireCall(helped ? value.arguments[0]! : value);
}

/** `(0, f)`, as compiled CommonJS calls an imported function without a `this`: `f`. */
function withoutZeroComma(expression: ts.Expression): ts.Expression {
  let current = expression;
  while (ts.isParenthesizedExpression(current)) current = current.expression;
  return ts.isBinaryExpression(current) && current.operatorToken.kind === SyntaxKind.CommaToken && ts.isNumericLiteral(current.left) ? current.right : expression;
}

/** `withoutZeroComma` on a wrapped node. */
function calleeWithoutZeroComma(expression: Node): Node {
  const inner = withoutZeroComma(expression.compilerNode as ts.Expression);
  return inner === expression.compilerNode ? expression : wrapCompilerNode<Node>(expression.getSourceFile(), inner);
}

/**
 * Whether `frameworkOfCreate` can find a framework in this creation: its callee (or
 * the object of a member callee) is an identifier bound to a framework module
 * (an identifier's getText() there is its compiler `text`).
 */
function mayCreateApp(node: ts.CallExpression | ts.NewExpression, bindings: ReturnType<typeof frameworkBindings>): boolean {
  let callee = withoutZeroComma(node.expression);
  // `express_1.default`, `http_1.default.createServer`: compiled CommonJS reaches the module through the helper's object.
  for (let depth = 0; depth < 2 && ts.isPropertyAccessExpression(callee); depth++) callee = callee.expression;
  return ts.isIdentifier(callee) && bindings.has(callee.text);
}

/** What a callee denotes of a framework module: the module itself (no member), or one of its members. */
function frameworkValue(node: Node, bindings: ReturnType<typeof frameworkBindings>): FrameworkBinding | undefined {
  const value = calleeWithoutZeroComma(node);
  if (Node.isIdentifier(value)) return isShadowed(value) ? undefined : bindings.get(value.getText());
  if (!Node.isPropertyAccessExpression(value)) return undefined;
  const object = frameworkValue(value.getExpression(), bindings);
  if (!object || object.member !== undefined) return undefined;
  const name = value.getName();
  // The helper's `default` is the module (`__importStar` of a CommonJS module also copies its members).
  if (object.interop) return name === 'default' ? { framework: object.framework } : object.interop === 'namespace' ? { framework: object.framework, member: name } : undefined;
  return { framework: object.framework, member: name };
}

/** What a callee denotes of a framework module in its file (`http.createServer`, `http_1.default.createServer`), if anything. */
export function frameworkCallee(record: SourceRecord, callee: Node, bindings = frameworkBindings(record)): FrameworkBinding | undefined {
  return frameworkValue(callee, bindings);
}

function frameworkOfCreate(record: SourceRecord, node: CallExpression | NewExpression, bindings: ReturnType<typeof frameworkBindings>): Framework | undefined {
  const isNew = Node.isNewExpression(node);
  const binding = frameworkValue(node.getExpression(), bindings);
  // An interop helper's object itself is not callable.
  if (!binding || binding.interop) return undefined;
  const { framework, member } = binding;
  if (framework === 'node') return member === 'createServer' && !isNew ? 'node' : undefined;
  if (framework === 'koa') return isNew && member === undefined ? 'koa' : undefined;
  if (framework === 'hono') return isNew && (member === 'Hono' || member === undefined) ? 'hono' : undefined;
  if (framework === 'fastify') return !isNew && (member === undefined || member === 'fastify' || member === 'default') ? 'fastify' : undefined;
  if (framework === 'express' || framework === 'connect') return !isNew && member === undefined ? framework : undefined;
  return undefined;
}

/** Local names of the shim's wrapApp in a file (aliased when the file has a wrapApp of its own). */
function wrapAppNames(record: SourceRecord, shimModule: string): Set<string> {
  const names = new Set<string>();
  for (const declaration of record.sourceFile.getImportDeclarations()) {
    if (declaration.getModuleSpecifierValue() !== shimModule) continue;
    for (const named of declaration.getNamedImports()) if (named.getName() === 'wrapApp') names.add(named.getAliasNode()?.getText() ?? 'wrapApp');
  }
  for (const statement of record.sourceFile.getVariableStatements()) {
    for (const declaration of statement.getDeclarations()) {
      const nameNode = declaration.getNameNode();
      const literal = declaration.getInitializer() && requireSpecifier(declaration.getInitializer()!);
      if (!literal || literal.getLiteralValue() !== shimModule || !Node.isObjectBindingPattern(nameNode)) continue;
      for (const element of nameNode.getElements()) if ((element.getPropertyNameNode()?.getText() ?? element.getName()) === 'wrapApp') names.add(element.getName());
    }
  }
  return names;
}

function isWrapAppCall(node: Node | undefined, names: Set<string>): boolean {
  if (!node || !Node.isCallExpression(node)) return false;
  const callee = calleeWithoutZeroComma(node.getExpression());
  return (Node.isIdentifier(callee) && names.has(callee.getText())) || (Node.isPropertyAccessExpression(callee) && callee.getName() === 'wrapApp');
}

/**
 * `new Hono().basePath('/v1')` (maybe repeated): the outermost call. basePath returns a
 * new Hono object with its own `fetch`, and that object is the one served; wrapApp
 * around `new Hono()` alone would leave the served `fetch` without the task URL.
 */
function basePathChain(create: CallExpression | NewExpression): CallExpression | undefined {
  let served: CallExpression | undefined;
  let current: Node = create;
  for (;;) {
    const access = current.getParent();
    const call = access?.getParent();
    if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'basePath' || !call || !Node.isCallExpression(call) || call.getExpression() !== access) return served;
    served = call;
    current = call;
  }
}

export function findHostApps(records: SourceRecord[], shimModule: string): HostApp[] {
  const hosts: HostApp[] = [];
  for (const record of records) {
    const bindings = frameworkBindings(record);
    if (bindings.size === 0) continue;
    const wrapNames = wrapAppNames(record, shimModule);
    const sf = record.sourceFile;
    const creates = [...compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression), ...compilerNodesOfKind<ts.NewExpression>(sf, SyntaxKind.NewExpression)]
      .filter((node) => mayCreateApp(node, bindings))
      .map((node) => ({ node, start: node.getStart(sf.compilerNode) }))
      .sort((a, b) => a.start - b.start)
      .map(({ node }) => wrapCompilerNode<CallExpression | NewExpression>(sf, node));
    const frameworkVariables = new Set<string>();
    for (const create of creates) {
      const framework = frameworkOfCreate(record, create, bindings);
      if (!framework) continue;
      const served = framework === 'hono' ? basePathChain(create) : undefined;
      let container: Node | undefined = (served ?? create).getParent();
      while (container && (Node.isParenthesizedExpression(container) || Node.isAsExpression(container))) container = container.getParent();
      const wrapped = isWrapAppCall(container, wrapNames);
      const holder = wrapped ? container?.getParent() : container;
      const variable = holder && Node.isVariableDeclaration(holder) ? holder : undefined;
      const host: HostApp = { record, framework, create, wrapped };
      if (served) host.served = served;
      if (variable) host.variable = variable;
      if (framework === 'node') {
        const args = create.getArguments();
        const listener = args[args.length - 1];
        if (!listener || Node.isObjectLiteralExpression(listener)) continue;
        // http.createServer(app) of a framework app is that app's consumer, not another host.
        if (Node.isIdentifier(listener) && frameworkVariables.has(listener.getText())) continue;
        host.listener = listener;
        host.wrapped = isWrapAppCall(listener, wrapNames);
      } else if (variable) {
        frameworkVariables.add(variable.getName());
      }
      hosts.push(host);
    }
  }
  return hosts;
}
