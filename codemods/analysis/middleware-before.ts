// The middleware a route table's mount sat behind. webapp's TaskHandler at
// /_ah/queue/deferred ran where the table was mounted, after the app's earlier
// middleware; wrapApp answers that URL before the app, so that middleware (a
// request context, auth, logging) no longer runs for tasks. Listed: `app.use(...)`
// (also Fastify's `app.addHook(...)`) on the same app before the mount, and calls
// that hand the app to a function before it (which may register some).
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import type { Mount } from './route-tables.js';
import { declaringScope } from './scope.js';

/** Middleware that cannot change what a task request does: body parsers for other content types, static files, response headers. */
const INERT = /^(express\.(json|urlencoded|text|static)|bodyParser\.(json|urlencoded|text)|helmet|compression|cors)\(/;

export interface EarlierMiddleware {
  /** The registration, or the call that hands the app to a function. */
  call: CallExpression;
  /** True when the app is only passed to a function that may register middleware. */
  passed: boolean;
}

/** Whether a path argument of `app.use(path, ...)` can match /_ah/queue/deferred. */
function pathMayMatch(argument: ts.Expression): boolean {
  if (!ts.isStringLiteralLike(argument)) return true;
  const path = argument.text.replace(/\/+$/, '');
  return path === '' || '/_ah/queue/deferred'.startsWith(path + '/') || path === '/_ah/queue/deferred';
}

export function middlewareBefore(mount: Mount): EarlierMiddleware[] {
  const app = mount.app;
  if (!app || !Node.isIdentifier(app) || (mount.kind !== 'use' && mount.kind !== 'adapter-use')) return [];
  const name = app.getText();
  const scope = declaringScope(app, name);
  const sf = mount.record.sourceFile;
  const before = mount.call.getStart();
  const sameApp = (node: ts.Node): boolean => ts.isIdentifier(node) && node.text === name && declaringScope(wrapCompilerNode(sf, node), name) === scope;
  const found: EarlierMiddleware[] = [];
  for (const call of compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression)) {
    if (call.getStart(sf.compilerNode) >= before || call === mount.call.compilerNode) continue;
    const callee = call.expression;
    if (ts.isPropertyAccessExpression(callee) && sameApp(callee.expression)) {
      const method = callee.name.text;
      if (method !== 'use' && method !== 'addHook') continue;
      const args = call.arguments;
      const handlers = method === 'use' && args[0] && ts.isStringLiteralLike(args[0]) ? (pathMayMatch(args[0]) ? args.slice(1) : []) : args;
      if (method === 'use' && handlers.every((arg) => INERT.test(arg.getText(sf.compilerNode)))) continue;
      if (handlers.length > 0) found.push({ call: wrapCompilerNode<CallExpression>(sf, call), passed: false });
    } else if (call.arguments.some(sameApp) && !/(^|\.)createServer$/.test(callee.getText(sf.compilerNode))) {
      found.push({ call: wrapCompilerNode<CallExpression>(sf, call), passed: true });
    }
  }
  return found;
}
