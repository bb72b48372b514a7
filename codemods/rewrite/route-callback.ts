// Route handlers of a host framework: a function passed directly to a routing
// call (`app.get('/x', fn)`, `router.use(fn)`, `fastify.route({ handler: fn })`)
// on an object the analysis identified as a host app (or an Express Router made
// from the express module). Their caller is the framework, which ignores the
// handler's return value (Express 5, Koa, Fastify and Hono await a returned
// promise), so such a handler may become async although its caller is not code.
import * as path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression, type Identifier, type MethodDeclaration, type PropertyAccessExpression } from 'ts-morph';
import { readJsonObject } from '../analysis/alias-config.js';
import { compilerNodesOfKind, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import { frameworkBindings, type Framework, type HostApp } from '../analysis/host-app.js';
import { declaringScope, isShadowed, sameScopeReferences } from '../analysis/scope.js';
import { outermost } from '../analysis/legacy-symbols.js';
import { heldMember, memberUses, type HeldMember } from '../analysis/object-members.js';
import { resolveIdentifier } from '../analysis/declarations.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';

const ROUTE_METHODS: Partial<Record<Framework, Set<string>>> = {
  express: new Set(['get', 'post', 'put', 'delete', 'patch', 'all', 'use', 'options', 'head', 'param']),
  connect: new Set(['use']),
  koa: new Set(['use']),
  fastify: new Set(['get', 'post', 'put', 'delete', 'patch', 'all', 'options', 'head', 'route', 'addHook', 'setErrorHandler', 'setNotFoundHandler']),
  hono: new Set(['get', 'post', 'put', 'delete', 'patch', 'all', 'use', 'options', 'on']),
};

/** A Koa router's (`@koa/router`, `koa-router`) routing methods: it routes for the Koa app that uses its routes(). */
const KOA_ROUTER_METHODS: ReadonlySet<string> = new Set(['get', 'post', 'put', 'delete', 'del', 'patch', 'all', 'use', 'options', 'head']);

/** Every method name some framework routes with: a cheap filter before routeCallbackOf. */
const ROUTING_METHOD_NAMES: ReadonlySet<string> = new Set([...Object.values(ROUTE_METHODS).flatMap((methods) => [...methods!]), ...KOA_ROUTER_METHODS]);

const ROUTING_CALL_TEXT = new RegExp(`\\.\\s*(?:${[...ROUTING_METHOD_NAMES].join('|')})\\s*\\(`);

/** Whether a file's text may hold a routing call (`.get(`, `.use(`...): files without one need no parse for routes. */
export function mayHoldRoutes(text: string): boolean {
  return ROUTING_CALL_TEXT.test(text);
}

export interface RouteCallback {
  framework: Framework;
  /** The routing call (`app.get(...)`). */
  call: CallExpression;
}

/**
 * The app or router a chain of routing calls starts from: `app` of
 * `app.route('/book').get(h).post(h2)` or `app.use(a).get('/x', h)` (each framework's
 * routing calls return the app, or Express's route, which route to the same handlers).
 */
function routingBase(object: Node): Node {
  let base = object;
  while (Node.isCallExpression(base)) {
    const callee = base.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || (callee.getName() !== 'route' && !ROUTING_METHOD_NAMES.has(callee.getName()))) break;
    base = callee.getExpression();
  }
  return base;
}

/** The framework of the host app or Express Router that `object` names, if the analysis knows it. */
function frameworkOfObject(analysis: Analysis, routed: Node): Framework | undefined {
  return routeOwnerOf(analysis, routed)?.framework;
}

/** What routes through an object: its framework, and the methods that take handlers on it. */
interface RouteOwner {
  framework: Framework;
  methods: ReadonlySet<string>;
}

function ownerOf(framework: Framework | undefined): RouteOwner | undefined {
  const methods = framework && ROUTE_METHODS[framework];
  return framework && methods ? { framework, methods } : undefined;
}

/** The framework and routing methods of the host app or router that `routed` names (or a chain of routing calls starts from). */
function routeOwnerOf(analysis: Analysis, routed: Node): RouteOwner | undefined {
  const object = routingBase(routed);
  if (!Node.isIdentifier(object)) return undefined;
  // The app declared in the same file, by its binding: no checker (it builds the whole program).
  const record = analysis.index.load(object.getSourceFile().getFilePath());
  const local = record && localHost(analysis, record, object);
  if (local) return ownerOf(local.framework);
  if (record && koaRouterOf(analysis, record, object)) return { framework: 'koa', methods: KOA_ROUTER_METHODS };
  if (fastifyPluginOf(analysis, object)) return ownerOf('fastify');
  const declarations = object.getSymbol()?.getDeclarations() ?? [];
  for (const host of analysis.hosts) {
    if (host.variable && declarations.includes(host.variable)) return ownerOf(host.framework);
  }
  // `const router = express.Router()` / `Router()` imported from express.
  for (const declaration of declarations) {
    if (!Node.isVariableDeclaration(declaration)) continue;
    const initializer = declaration.getInitializer();
    if (!initializer || !Node.isCallExpression(initializer)) continue;
    const callee = initializer.getExpression();
    const record = analysis.index.load(declaration.getSourceFile().getFilePath());
    if (!record) continue;
    const bindings = frameworkBindings(record);
    if (Node.isPropertyAccessExpression(callee) && callee.getName() === 'Router' && Node.isIdentifier(callee.getExpression())) {
      const binding = bindings.get(callee.getExpression().getText());
      if (binding?.framework === 'express' && binding.member === undefined) return ownerOf('express');
    }
    if (Node.isIdentifier(callee)) {
      const binding = bindings.get(callee.getText());
      if (binding?.framework === 'express' && binding.member === 'Router') return ownerOf('express');
    }
  }
  return undefined;
}

/** Packages whose router routes for a Koa app (`const router = new Router(); router.get(...)`). */
const KOA_ROUTER_MODULES = new Set(['@koa/router', 'koa-router']);

/** Whether `object` is a module-level `new Router()` (or `Router()`) of a Koa router package. */
function koaRouterOf(analysis: Analysis, record: SourceRecord, object: Identifier): boolean {
  if (isShadowed(object)) return false;
  const created = record.sourceFile.getVariableDeclaration(object.getText())?.getInitializer();
  if (!created || !(Node.isNewExpression(created) || Node.isCallExpression(created))) return false;
  const callee = created.getExpression();
  if (!Node.isIdentifier(callee)) return false;
  const resolution = resolveIdentifier(analysis.index, record, callee);
  return resolution.kind === 'external' && KOA_ROUTER_MODULES.has(resolution.specifier);
}

/** Whether `object` is the instance parameter of a plugin passed inline to a Fastify app's `register()`. */
function fastifyPluginOf(analysis: Analysis, object: Identifier): boolean {
  const plugin = declaringScope(object, object.getText());
  if (!plugin || !(Node.isArrowFunction(plugin) || Node.isFunctionExpression(plugin))) return false;
  const [instance] = plugin.getParameters();
  if (!instance || instance.getName() !== object.getText()) return false;
  const call = plugin.getParentIfKind(SyntaxKind.CallExpression);
  const callee = call?.getExpression();
  if (!call || call.getArguments()[0] !== plugin || !callee || !Node.isPropertyAccessExpression(callee) || callee.getName() !== 'register') return false;
  return frameworkOfObject(analysis, callee.getExpression()) === 'fastify';
}

/**
 * The routing call that `value` (a function, or a reference to one) is passed
 * to directly as a handler, when its object is a known host app or router.
 */
export function routeCallbackOf(analysis: Analysis, value: Node): RouteCallback | undefined {
  let argument = outermost(value);
  let parent = argument.getParent();
  // fastify.route({ method, url, handler })
  if (parent && Node.isPropertyAssignment(parent) && parent.getName() === 'handler' && parent.getInitializer() === argument) {
    const literal = parent.getParent();
    argument = literal ? outermost(literal) : argument;
    parent = argument.getParent();
    if (!parent || !Node.isCallExpression(parent)) return undefined;
    const callee = parent.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== 'route') return undefined;
    return frameworkOfObject(analysis, callee.getExpression()) === 'fastify' && parent.getArguments().includes(argument) ? { framework: 'fastify', call: parent } : undefined;
  }
  // const routes = { '/audit': (req, res) => {...} }, registered in a loop over its entries.
  const held = (parent && Node.isPropertyAssignment(parent)) || Node.isMethodDeclaration(value) ? heldMember(value) : undefined;
  if (held) return tableRouteCallback(analysis, held);
  // app.post('/x', [auth, handler]): Express takes arrays of handlers, nested too.
  let inArray = false;
  while (parent && Node.isArrayLiteralExpression(parent)) {
    argument = outermost(parent);
    parent = argument.getParent();
    inArray = true;
  }
  if (!parent || !Node.isCallExpression(parent) || !parent.getArguments().includes(argument)) return undefined;
  const callee = parent.getExpression();
  if (!Node.isPropertyAccessExpression(callee)) return undefined;
  const owner = routeOwnerOf(analysis, callee.getExpression());
  if (!owner || !owner.methods.has(callee.getName()) || (owner.framework === 'fastify' && callee.getName() === 'route')) return undefined;
  const framework = owner.framework;
  if (inArray && framework !== 'express') return undefined;
  return { framework, call: parent };
}

/**
 * A function held by a member of a `const` object literal that is only read by
 * loops registering each value as a route: `for (const [path, handler] of
 * Object.entries(routes)) app.get(path, handler)`, also `Object.values(routes)` and
 * `Object.entries(routes).forEach(([path, handler]) => app.get(path, handler))`.
 * The framework calls every value the loops pass; nothing else does.
 */
function tableRouteCallback(analysis: Analysis, held: HeldMember): RouteCallback | undefined {
  // Its uses in its own scope are all there are: not exported (then importers could read it too).
  if (held.declaration.getVariableStatement()?.hasExportKeyword()) return undefined;
  const refs = sameScopeReferences(held.name);
  if (refs.some((ref) => Node.isExportSpecifier(ref.getParent()))) return undefined;
  const uses = memberUses(held, refs, analysis.index);
  if (!uses.ok || uses.reads.length > 0 || uses.bindings.length > 0) return undefined;
  let found: RouteCallback | undefined;
  for (const use of uses.whole) {
    const route = loopRegistration(analysis, use);
    if (!route || (found && found.framework !== route.framework)) return undefined;
    found ??= route;
  }
  return found;
}

/** `Object.entries(use)` / `Object.values(use)` whose values a loop passes as route handlers, each to one routing call. */
export function loopRegistration(analysis: Analysis, use: Node): RouteCallback | undefined {
  const call = outermost(use).getParent();
  if (!call || !Node.isCallExpression(call) || call.getArguments()[0] !== outermost(use)) return undefined;
  const method = call.getExpression().getText().replace(/\s+/g, '');
  if (method !== 'Object.entries' && method !== 'Object.values') return undefined;
  const valueAt = method === 'Object.entries' ? 1 : undefined;
  // The binding that takes each value: a for-of's declaration, or a forEach callback's first parameter.
  let binding: Node | undefined;
  const holder = outermost(call).getParent();
  if (holder && Node.isForOfStatement(holder) && holder.getExpression() === outermost(call)) {
    const initializer = holder.getInitializer();
    if (Node.isVariableDeclarationList(initializer) && initializer.getDeclarations().length === 1) binding = initializer.getDeclarations()[0]!.getNameNode();
  } else if (holder && Node.isPropertyAccessExpression(holder) && holder.getName() === 'forEach') {
    const forEach = holder.getParent();
    const callback = forEach && Node.isCallExpression(forEach) ? forEach.getArguments()[0] : undefined;
    if (callback && (Node.isArrowFunction(callback) || Node.isFunctionExpression(callback))) binding = callback.getParameters()[0]?.getNameNode();
  }
  if (!binding) return undefined;
  let value: Node | undefined = binding;
  if (valueAt !== undefined) {
    if (!Node.isArrayBindingPattern(binding)) return undefined;
    const element = binding.getElements()[valueAt];
    value = element && Node.isBindingElement(element) && !element.getDotDotDotToken() ? element.getNameNode() : undefined;
  }
  if (!value || !Node.isIdentifier(value)) return undefined;
  const valueName = value as Identifier;
  const refs = sameScopeReferences(valueName);
  if (refs.length !== 1) return undefined;
  return routeCallbackOf(analysis, refs[0]!);
}

/** The host app of `record` that `object` names by its declaration's binding, if any. */
function localHost(analysis: Analysis, record: SourceRecord, object: Node): HostApp | undefined {
  if (!Node.isIdentifier(object)) return undefined;
  const name = object.getText();
  return analysis.hosts.find((h) => h.record === record && h.variable?.getName() === name && declaringScope(object, name) === declaringScope(h.variable.getNameNode(), name));
}

/**
 * The route handlers (inline functions, functions passed by name or as a module's
 * member) of the host
 * apps in `record`'s routing calls, with their framework.
 */
export function routeHandlersIn(analysis: Analysis, record: SourceRecord, functionsOf: (name: Node) => Node[]): Array<{ handler: Node; route: RouteCallback }> {
  const found: Array<{ handler: Node; route: RouteCallback }> = [];
  // routeCallbackOf asks the checker (which builds the whole program the first time)
  // only for an object that is not an app declared in the file: done where the file
  // may make a router or register a Fastify plugin, the other objects that can route.
  const mayHaveRouter = /Router|\.register\s*\(/.test(record.text);
  for (const compilerCall of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
    const callee = compilerCall.expression;
    if (!ts.isPropertyAccessExpression(callee) || !ROUTING_METHOD_NAMES.has(callee.name.text)) continue;
    if (!ts.isIdentifier(callee.expression) && !ts.isCallExpression(callee.expression)) continue;
    const call = wrapCompilerNode<CallExpression>(record.sourceFile, compilerCall);
    if (!mayHaveRouter && !localHost(analysis, record, routingBase((call.getExpression() as PropertyAccessExpression).getExpression()))) continue;
    const candidates: Node[] = [...call.getArguments()];
    // fastify.route({ handler }); Express's arrays of handlers
    for (const argument of candidates) {
      if (Node.isArrayLiteralExpression(argument)) candidates.push(...argument.getElements());
      else if (Node.isObjectLiteralExpression(argument)) {
        const handler = argument.getProperty('handler');
        if (handler && Node.isPropertyAssignment(handler) && handler.getInitializer()) candidates.push(handler.getInitializer()!);
      }
    }
    for (let value of candidates) {
      while (Node.isParenthesizedExpression(value)) value = value.getExpression();
      const route = routeCallbackOf(analysis, value);
      if (!route) continue;
      if (Node.isIdentifier(value) || Node.isPropertyAccessExpression(value)) for (const handler of functionsOf(value)) found.push({ handler, route });
      else found.push({ handler: value, route });
    }
  }
  return found;
}

/**
 * Why `handler` cannot become async where `route` passes it, if it cannot: a Fastify
 * hook that takes `done` (Fastify refuses an async hook with it, at registration).
 */
export function asyncRefused(route: RouteCallback, handler: Node): string | undefined {
  const callee = route.call.getExpression();
  if (route.framework !== 'fastify' || !Node.isPropertyAccessExpression(callee) || callee.getName() !== 'addHook') return undefined;
  const parameters = Node.isFunctionDeclaration(handler) || Node.isFunctionExpression(handler) || Node.isArrowFunction(handler) ? handler.getParameters() : [];
  return parameters.length >= 3 ? 'it is a Fastify hook that takes done, and Fastify refuses an async hook that takes done' : undefined;
}

/**
 * Why the framework would not observe a rejection of the handler, if it would
 * not: Connect never awaits a handler's promise, nor does Express before 5
 * (its major version read from the run's package.json, or its installed
 * node_modules/express; unknown counts as 5).
 */
export function ignoresRejection(analysis: Analysis, framework: Framework): string | undefined {
  if (framework === 'connect') return 'Connect ignores the promise of an async handler, so an error thrown after the await would be an unhandled rejection';
  if (framework !== 'express') return undefined;
  const major = expressMajor(analysis.root);
  if (major !== undefined && major < 5) return `Express ${major} ignores the promise of an async handler, so an error thrown after the await would be an unhandled rejection`;
  return undefined;
}

function expressMajor(root: string): number | undefined {
  const pkg = readJsonObject(path.join(root, 'package.json'));
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
    const range = (pkg?.[field] as Record<string, unknown> | undefined)?.express;
    const major = typeof range === 'string' ? /(\d+)/.exec(range)?.[1] : undefined;
    if (major) return Number(major);
  }
  const installed = readJsonObject(path.join(root, 'node_modules', 'express', 'package.json'))?.version;
  const major = typeof installed === 'string' ? /^(\d+)/.exec(installed)?.[1] : undefined;
  return major ? Number(major) : undefined;
}

/** NestJS's route decorators (`@Post()` on a controller's method): Nest calls the method and answers its throw or rejection with its exception filters. */
const NEST_ROUTE_DECORATORS: ReadonlySet<string> = new Set(['Get', 'Post', 'Put', 'Delete', 'Patch', 'All', 'Options', 'Head']);

/** The methods of `record` decorated as NestJS routes (`@Post()` imported from @nestjs/common). */
export function decoratedRouteMethods(record: SourceRecord): MethodDeclaration[] {
  if (!record.text.includes('@nestjs/common')) return [];
  const decorators = new Set<string>();
  for (const statement of record.sourceFile.compilerNode.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier) || statement.moduleSpecifier.text !== '@nestjs/common') continue;
    const bindings = statement.importClause?.namedBindings;
    if (!bindings || !ts.isNamedImports(bindings)) continue;
    for (const element of bindings.elements) if (NEST_ROUTE_DECORATORS.has((element.propertyName ?? element.name).text)) decorators.add(element.name.text);
  }
  if (decorators.size === 0) return [];
  const methods: MethodDeclaration[] = [];
  for (const method of compilerNodesOfKind<ts.MethodDeclaration>(record.sourceFile, SyntaxKind.MethodDeclaration)) {
    const routed = ts.getDecorators(method)?.some((d) => ts.isCallExpression(d.expression) && ts.isIdentifier(d.expression.expression) && decorators.has(d.expression.expression.text));
    if (routed && method.body) methods.push(wrapCompilerNode<MethodDeclaration>(record.sourceFile, method));
  }
  return methods;
}

