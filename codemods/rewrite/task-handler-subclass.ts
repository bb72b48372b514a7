// Rule `task-handler-subclass`: TaskHandler subclasses (any alias, chain depth,
// file) become Handler subclasses. `post()`/`runFromRequest()` take `environ`,
// pass it to `super`, return its result; `this.request` reads with an environ
// equivalent are rewritten, the rest is reported.
import { Node, SyntaxKind, ts, type CallExpression, type MethodDeclaration, type PropertyAccessExpression } from 'ts-morph';
import { compilerDescendants, morphText, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import type { Analysis } from '../analysis/index.js';
import { endsWithoutResult, ENTRY_METHODS, isEntryCall, legacyAccesses, thisEscapes, unmigratedEntryMembers, webappMemberUses, type WebappMemberUse } from '../analysis/handler-members.js';
import type { HandlerClass } from '../analysis/handlers.js';
import { findHandlerValueUses, findHandOffs, findInstantiations, findTypedDispatches, findPrototypeUses, findRegistryReads, registryNames, servedPlaces } from '../analysis/handler-values.js';
import type { SourceRecord } from '../analysis/project.js';
import { quoted, semi } from '../analysis/style.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
import { AsyncPlanner } from './async-plan.js';
import { addNeededImports } from './imports.js';
import { namespaceAccess, useShimName } from './names.js';
import { makeTransform } from './single-file.js';
import { indentAt, skipSpaceAndComments } from './text.js';

export const meta: RuleMeta = {
  id: 'task-handler-subclass',
  description: 'Turns TaskHandler subclasses into Handler subclasses whose post/runFromRequest take and pass environ.',
  reasonCodes: ['request-access', 'response-access', 'handler-webapp-member', 'handler-result', 'unknown-handler-base', 'handler-as-value'],
  docs: 'docs/manual-steps.md#request-access',
};

/** The environ key of a request header: as in CGI and WSGI (and the shim's environ), Content-Type and Content-Length have no HTTP_ prefix. */
function headerKey(header: string): string {
  const key = header.toUpperCase().replace(/-/g, '_');
  return key === 'CONTENT_TYPE' || key === 'CONTENT_LENGTH' ? key : 'HTTP_' + key;
}

function environMember(environ: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${environ}.${key}` : `${environ}[${JSON.stringify(key).replace(/"/g, "'")}]`;
}

function bodyInPostCaveat(environ: string, input: string): string {
  return `In post(), until super.post(${environ}) has read the body, ${input} may be the request stream rather than the bytes \`this.request.body\` always was (custom routes). Read the body in runFromRequest(${environ}), or after \`await super.post(${environ})\`, where it is bytes.`;
}

/**
 * `environ['wsgi.input']` read in a Handler's post(): what `this.request.body` became. The
 * same caveat as when it was rewritten, so that a run over migrated code reports it again.
 */
function reportBodyReadsInPost(out: RuleOutput, record: SourceRecord, method: MethodDeclaration, environ: string): void {
  const body = method.getBody();
  if (!body) return;
  const sf = record.sourceFile;
  const reads = compilerDescendants<ts.ElementAccessExpression>(body.compilerNode, (node) => {
    if (node.kind !== SyntaxKind.ElementAccessExpression) return false;
    const { expression, argumentExpression } = node as ts.ElementAccessExpression;
    return ts.isIdentifier(expression) && morphText(sf.compilerNode, expression) === environ && ts.isStringLiteralLike(argumentExpression) && argumentExpression.text === 'wsgi.input';
  });
  for (const read of reads) {
    const node = wrapCompilerNode<Node>(sf, read);
    out.report(record, node, 'request-access', 'warning', bodyInPostCaveat(environ, node.getText()));
  }
}

/**
 * The environ expression replacing a `this.request...` read, with the node it replaces,
 * and what the reader must know when the two are not always the same value.
 */
function requestReplacement(access: PropertyAccessExpression, environ: string, quote: string, method: string): { node: Node; text: string; caveat?: string } | undefined {
  const parent = access.getParent();
  if (!parent) return undefined;
  if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === access) {
    const name = parent.getName();
    if (name === 'body') {
      const text = `${environ}[${quote}wsgi.input${quote}]`;
      // Handler.post reads the body before it calls runFromRequest, which then sees bytes;
      // a post() override runs first, and on a custom route the body may not be read yet.
      if (method !== 'post') return { node: parent, text };
      return { node: parent, text, caveat: bodyInPostCaveat(environ, text) };
    }
    if (name === 'path') return { node: parent, text: `${environ}.PATH_INFO` };
    if (name === 'method') return { node: parent, text: `${environ}.REQUEST_METHOD` };
    if (name === 'headers') {
      const outer = parent.getParent();
      if (outer && Node.isElementAccessExpression(outer) && outer.getExpression() === parent) {
        const key = outer.getArgumentExpression();
        if (key && (Node.isStringLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key))) {
          return { node: outer, text: environMember(environ, headerKey(key.getLiteralValue())) };
        }
      }
      if (outer && Node.isPropertyAccessExpression(outer) && outer.getExpression() === parent) {
        return { node: outer, text: environMember(environ, headerKey(outer.getName())) };
      }
      return undefined;
    }
    // `.get(name)` is a query or form parameter (webapp's request.get), which environ
    // holds unparsed: reported, not rewritten.
  }
  return undefined;
}

/** Why a `this.request...` read has no rewrite, for its report item. */
function requestAccessReason(access: PropertyAccessExpression, environ: string): string {
  const parent = access.getParent();
  if (parent && Node.isPropertyAccessExpression(parent) && parent.getExpression() === access && parent.getName() === 'get') {
    return `\`${parent.getParent()?.getText() ?? 'this.request.get'}\` reads a query or form parameter, which ${environ} holds unparsed: new URLSearchParams(${environ}.QUERY_STRING).get(name) for the query string; a form body is in ${environ}['wsgi.input'] (bytes once super.post(${environ}) has read it).`;
  }
  return `\`${parent?.getText() ?? 'this.request'}\` has no environ equivalent the codemod knows. Read it from \`${environ}\` (PEP 333 keys: PATH_INFO, QUERY_STRING, HTTP_*, wsgi.input).`;
}

/** `super.post()` / `super.runFromRequest()` / `this.runFromRequest()` calls without arguments. */
function chainedCalls(method: MethodDeclaration): CallExpression[] {
  const sf = method.getSourceFile();
  // On the compiler's nodes: only the few chained calls are wrapped.
  const calls = compilerDescendants<ts.CallExpression>(method.compilerNode, isEntryCall);
  return calls.map((call) => wrapCompilerNode<CallExpression>(sf, call));
}

/** The method's parameters but TypeScript's `this` parameter (`post(this: AuditHandler)`), which is no argument. */
function entryParameters(method: MethodDeclaration): import('ts-morph').ParameterDeclaration[] {
  const parameters = method.getParameters();
  return parameters[0]?.getName() === 'this' ? parameters.slice(1) : parameters;
}

function migrateEntryMethod(analysis: Analysis, out: RuleOutput, record: SourceRecord, method: MethodDeclaration): string {
  const parameters = entryParameters(method);
  const thisParameter = method.getParameters()[0]?.getName() === 'this' ? method.getParameters()[0] : undefined;
  const environ = parameters[0]?.getName() ?? 'environ';
  if (parameters.length === 0) {
    let parameter = environ;
    if (record.isTypeScript) {
      const namespace = namespaceAccess(analysis, record);
      if (namespace) {
        parameter += `: ${namespace.local}.Environ`;
        out.use(record, [namespace.local]);
      } else {
        parameter += `: ${useShimName(analysis, out, record, 'type Environ')}`;
      }
    } else if (analysis.jsdocTyped) {
      parameter = `/** @type {import(${quoted(record.style, analysis.matchers.shim)}).Environ} */ ${parameter}`;
    }
    if (thisParameter) out.edit(record, thisParameter.getEnd(), thisParameter.getEnd(), `, ${parameter}`, `${method.getName()}() takes environ`);
    else {
      const open = openParenEnd(method, method.compilerNode.parameters);
      out.edit(record, open, open, parameter, `${method.getName()}() takes environ`);
    }
  }
  // The legacy return type (void, unknown, Promise<void>) does not describe the response triple: Handler's does.
  const returnType = method.getReturnTypeNode();
  if (returnType && parameters.length === 0) {
    // Without a body (`abstract override post(): void;`) nothing infers it: Handler's own type, written out.
    if (method.getBody()) out.edit(record, closeParenEnd(method, method.compilerNode.parameters), returnType.getEnd(), '', 'return type now comes from Handler');
    else out.edit(record, returnType.getStart(), returnType.getEnd(), 'Promise<[body: string, status: number, headers: Record<string, string>]>', 'return type now Handler\'s');
  }
  const body = method.getBody();
  if (!body || !Node.isBlock(body)) return environ;
  const name = method.getName();
  for (const call of chainedCalls(method)) {
    if (call.getArguments().length > 0) continue;
    const open = openParenEnd(call, call.compilerNode.arguments);
    out.edit(record, open, open, environ, 'environ passed on');
    // The method answers with the result of the chained call it delegates to.
    const callee = call.getExpression() as PropertyAccessExpression;
    if (callee.getName() !== name && !(name === 'post' && callee.getName() === 'runFromRequest')) continue;
    let statement: Node = call;
    while (statement.getParent() && !Node.isExpressionStatement(statement)) {
      const parent = statement.getParent()!;
      if (!(Node.isAwaitExpression(parent) || Node.isParenthesizedExpression(parent) || Node.isExpressionStatement(parent))) break;
      statement = parent;
    }
    if (!Node.isExpressionStatement(statement) || statement.getParent() !== body) continue;
    if (compilerDescendants(body.compilerNode, (node) => ts.isReturnStatement(node) && node.expression !== undefined).length > 0) continue;
    const statements = body.getStatements();
    const isLast = statements[statements.length - 1] === statement;
    if (isLast) {
      out.edit(record, statement.getStart(), statement.getStart(), 'return ', `${name}() returns the response triple`);
    } else {
      const last = statements[statements.length - 1]!;
      out.edit(record, statement.getStart(), statement.getStart(), 'const result = ', `${name}() keeps the response triple`);
      out.edit(record, last.getEnd(), last.getEnd(), `${record.style.newline}${indentAt(record.text, last.getStart())}return result${semi(record.style)}`, `${name}() returns the response triple`);
    }
  }
  return environ;
}

/**
 * The class's own post()/runFromRequest() (not static), as `getMembers()` lists
 * them, found on the compiler's members: getMembers() wraps every member and asks
 * the class whether it is ambient. A method with a body is always listed; one
 * without (an overload, an abstract or ambient method) is left to getMembers().
 */
/**
 * `post = () => {...}`, or `this.post = ...` in the constructor: an entry method
 * overridden by an instance property (its name node).
 */
function entryFields(node: HandlerClass['node']): Node[] {
  const sf = node.getSourceFile();
  const found: ts.Node[] = node.compilerNode.members
    .filter((member): member is ts.PropertyDeclaration => ts.isPropertyDeclaration(member) && !!member.initializer && !(ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static) && ENTRY_METHODS.has(morphText(sf.compilerNode, member.name)))
    .map((member) => member.name);
  for (const member of node.compilerNode.members) {
    if (!ts.isConstructorDeclaration(member) || !member.body) continue;
    for (const assignment of compilerDescendants(member.body, (n) => ts.isBinaryExpression(n) && n.operatorToken.kind === SyntaxKind.EqualsToken)) {
      const left = (assignment as ts.BinaryExpression).left;
      if (ts.isPropertyAccessExpression(left) && left.expression.kind === SyntaxKind.ThisKeyword && ENTRY_METHODS.has(left.name.text)) found.push(left.name);
    }
  }
  return found.map((name) => wrapCompilerNode(sf, name));
}

function entryMethods(node: HandlerClass['node']): MethodDeclaration[] {
  const sf = node.getSourceFile();
  const candidates = node.compilerNode.members.filter(
    (member): member is ts.MethodDeclaration =>
      ts.isMethodDeclaration(member) && !(member.modifiers ?? []).some((m) => m.kind === SyntaxKind.StaticKeyword) && ENTRY_METHODS.has(morphText(sf.compilerNode, member.name)),
  );
  if (candidates.some((member) => !member.body)) {
    return node.getMembers().filter((member): member is MethodDeclaration => Node.isMethodDeclaration(member) && !member.isStatic() && ENTRY_METHODS.has(member.getName()));
  }
  return candidates.map((member) => wrapCompilerNode<MethodDeclaration>(sf, member));
}

/**
 * The end of the `(` (or `)`) around a method's or call's list: read from the list's
 * bounds, checked against the text, else found among the node's tokens (which
 * materialises them all).
 */
function openParenEnd(node: MethodDeclaration | CallExpression, list: ts.NodeArray<ts.Node>): number {
  const text = node.getSourceFile().getFullText();
  return text.charCodeAt(list.pos - 1) === 40 /* ( */ ? list.pos : node.getFirstChildByKindOrThrow(SyntaxKind.OpenParenToken).getEnd();
}

function closeParenEnd(node: MethodDeclaration, list: ts.NodeArray<ts.Node>): number {
  const text = node.getSourceFile().getFullText();
  const at = skipSpaceAndComments(text, list.end);
  return text.charCodeAt(at) === 41 /* ) */ ? at + 1 : node.getFirstChildByKindOrThrow(SyntaxKind.CloseParenToken).getEnd();
}

function migrateClass(analysis: Analysis, out: RuleOutput, handler: HandlerClass): void {
  const { record, node } = handler;
  const quote = record.style.quote;
  const environs = new Map<Node, string>();
  for (const member of entryMethods(node)) {
    const environ = migrateEntryMethod(analysis, out, record, member);
    environs.set(member, environ);
    if (member.getName() === 'post') reportBodyReadsInPost(out, record, member, environ);
  }
  for (const access of legacyAccesses(node)) {
    const isRequest = access.getName() === 'request';
    const method = access.getFirstAncestorByKind(SyntaxKind.MethodDeclaration);
    const environ = method ? environs.get(method) : undefined;
    if (isRequest && environ) {
      const replacement = requestReplacement(access, environ, quote, (method as MethodDeclaration).getName());
      if (replacement) {
        out.edit(record, replacement.node.getStart(), replacement.node.getEnd(), replacement.text, 'this.request read → environ');
        if (replacement.caveat) out.report(record, access, 'request-access', 'warning', replacement.caveat);
        continue;
      }
    }
    if (isRequest) {
      out.report(
        record,
        access,
        'request-access',
        'warning',
        environ
          ? requestAccessReason(access, environ)
          : 'this.request is not available outside post()/runFromRequest(): pass the environ those methods receive to this method and read it from there.',
      );
    } else {
      out.report(
        record,
        access,
        'response-access',
        'warning',
        'Handler methods do not write a response object: post() resolves to [body, status, headers]. Return that triple instead of writing this.response.',
      );
    }
  }
}

function webappMemberReason(use: WebappMemberUse): string {
  switch (use.kind) {
    case 'use':
      return `\`${use.node.getText()}\` is webapp's RequestHandler.${use.name}, which Handler does not have: the call fails once migrated. Write the response as post()'s result ([body, status, headers]) or throw (PermanentTaskFailure, SingularTaskFailure) instead.`;
    case 'hook':
      return `${use.name}() was called by webapp's router${use.name === 'handleException' ? ' for an error out of post()' : ' before each request'}; nothing calls it once migrated. Move what it does into post(environ) (around super.post(environ)).`;
    case 'verb':
      return `${use.name}() answered ${use.name.toUpperCase()} requests on the webapp route; the migrated route serves POST only (task deliveries). Serve ${use.name.toUpperCase()} with a route of its own in the host app.`;
  }
}

/** `super.post(...)`, with or without arguments. */
function isSuperPost(node: ts.Node): node is ts.CallExpression {
  return ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.expression.kind === SyntaxKind.SuperKeyword && node.expression.name.text === 'post';
}

/** Whether `statement` reads `name` (an identifier of that text anywhere in it). */
function mentions(statement: ts.Node, name: string): boolean {
  return compilerDescendants(statement, (node) => ts.isIdentifier(node) && node.text === name).length > 0;
}

/**
 * `super.post()` calls of a post() override whose code depends on the call failing by a
 * throw: the legacy TaskHandler.post() threw an error out of the task (other than
 * PermanentTaskFailure and SingularTaskFailure), the shim's resolves to [body, 500,
 * headers]. So a `try` around the awaited call whose catch (or finally) saw the failure,
 * and statements after it that ran only when the task succeeded, now behave otherwise,
 * unless they read what the call resolved to.
 * Checked on both shapes (no argument, and environ), so a second run reports it again.
 */
function superPostFailureDependents(method: MethodDeclaration): Node[] {
  const body = method.getBody();
  if (method.getName() !== 'post' || !body || !Node.isBlock(body)) return [];
  const sf = method.getSourceFile();
  const found: Node[] = [];
  for (const call of compilerDescendants<ts.CallExpression>(body.compilerNode, isSuperPost)) {
    if (observesFailure(call, body.compilerNode)) found.push(wrapCompilerNode(sf, call));
  }
  return found;
}

function observesFailure(call: ts.CallExpression, body: ts.Block): boolean {
  let outer: ts.Node = call;
  let awaited = false;
  while (ts.isAwaitExpression(outer.parent) || ts.isParenthesizedExpression(outer.parent)) {
    awaited ||= ts.isAwaitExpression(outer.parent);
    outer = outer.parent;
  }
  // (A .then()/.catch()/.finally() chained on the call makes post() answer with another
  // value: endsWithoutResult reports that already.)
  // Not awaited, the legacy call threw nothing either (post() was async): what follows ran at once, failure or not.
  if (!awaited) return false;
  // The variable the call's result is held in, when its statement declares one.
  let held: string | undefined;
  if (ts.isVariableDeclaration(outer.parent) && ts.isIdentifier(outer.parent.name)) held = outer.parent.name.text;
  for (let node: ts.Node = call; node !== body; node = node.parent) {
    const parent = node.parent;
    if (ts.isTryStatement(parent) && parent.tryBlock === node && (parent.catchClause || parent.finallyBlock)) return true;
    if (!ts.isBlock(parent) || !ts.isStatement(node)) continue;
    let after = parent.statements.slice(parent.statements.indexOf(node as ts.Statement) + 1);
    // `return result` last passes the answer on (what the codemod writes after such code).
    const last = after[after.length - 1];
    if (held !== undefined && last && ts.isReturnStatement(last) && last.expression && ts.isIdentifier(last.expression) && last.expression.text === held) after = after.slice(0, -1);
    // What follows reads the answer (tests its status): it sees the failure.
    if (after.length > 0 && !(held !== undefined && after.some((statement) => mentions(statement, held!)))) return true;
    if (held !== undefined) return false;
  }
  return false;
}

/**
 * `super.runFromRequest(...)` / `this.runFromRequest(...)` calls of an entry method whose
 * code depended on the call throwing synchronously: the legacy runFromRequest() ran the
 * task at once (`run(this.request.body)`), so a synchronous task function's error (and a
 * payload that could not be decoded) was thrown by the call itself. The shim's is async:
 * the call resolves or rejects later. Not awaited, a `try` around it with a catch or a
 * finally no longer sees the failure (a finally runs before the task), statements after it
 * run before the task and also when it fails, and a function holding the call hands a
 * helper a Promise where the throw went. Awaiting is not the same either: the legacy
 * call did not throw for an async task function, whose rejection passed such a catch. So
 * reported, not rewritten. Checked on both shapes (no argument, and environ), so a second
 * run reports it again.
 */
function runFromRequestFailureDependents(method: MethodDeclaration): Node[] {
  const body = method.getBody();
  if (!body || !Node.isBlock(body)) return [];
  const sf = method.getSourceFile();
  const calls = compilerDescendants<ts.CallExpression>(body.compilerNode, (node) => isEntryCall(node) && (node.expression as ts.PropertyAccessExpression).name.text === 'runFromRequest');
  return calls.filter((call) => observesSyncThrow(call, body.compilerNode)).map((call) => wrapCompilerNode(sf, call));
}

const PROMISE_CALLBACK_METHODS = new Set(['then', 'catch', 'finally']);

function observesSyncThrow(call: ts.CallExpression, body: ts.Block): boolean {
  let outer: ts.Node = call;
  while (ts.isParenthesizedExpression(outer.parent) || ts.isAsExpression(outer.parent) || ts.isNonNullExpression(outer.parent) || ts.isSatisfiesExpression(outer.parent)) outer = outer.parent;
  // Awaited, the call observes every failure, as the legacy call did (sync or awaited).
  if (ts.isAwaitExpression(outer.parent)) return false;
  const returned = ts.isReturnStatement(outer.parent) || (ts.isArrowFunction(outer.parent) && outer.parent.body === outer);
  let held: string | undefined;
  if (ts.isVariableDeclaration(outer.parent) && outer.parent.initializer === outer && ts.isIdentifier(outer.parent.name)) held = outer.parent.name.text;
  if (ts.isBinaryExpression(outer.parent) && outer.parent.right === outer && outer.parent.operatorToken.kind === SyntaxKind.EqualsToken && ts.isIdentifier(outer.parent.left)) held = outer.parent.left.text;
  for (let node: ts.Node = call; node !== body; node = node.parent) {
    const parent = node.parent;
    if (ts.isFunctionLike(parent)) {
      // A callback of a promise chain: the legacy throw became its rejection as the Promise does now.
      const site = parent.parent;
      if (ts.isCallExpression(site) && site.arguments.includes(parent as ts.Expression) && ts.isPropertyAccessExpression(site.expression) && PROMISE_CALLBACK_METHODS.has(site.expression.name.text)) return false;
      // Any other function holding the call hands its caller a Promise where the throw went.
      return true;
    }
    if (ts.isTryStatement(parent) && parent.tryBlock === node && (parent.catchClause || parent.finallyBlock)) return true;
    if (returned || !ts.isBlock(parent) || !ts.isStatement(node)) continue;
    let after = parent.statements.slice(parent.statements.indexOf(node as ts.Statement) + 1);
    // `return result` last passes the answer on (what the codemod writes after such code).
    const last = after[after.length - 1];
    if (held !== undefined && last && ts.isReturnStatement(last) && last.expression && ts.isIdentifier(last.expression) && last.expression.text === held) after = after.slice(0, -1);
    if (after.length > 0) return true;
  }
  return false;
}

function runFromRequestReason(call: string): string {
  return `\`${call}\` now returns a Promise: the legacy runFromRequest() ran the task at once and threw a synchronous task function's error (or an undecodable payload's PermanentTaskFailure) from this call. Unawaited here, that failure no longer reaches the catch or finally around it (a finally now runs before the task), code after the call runs before the task and also when it fails, and a function holding the call returns a Promise where it threw. Write \`await ${call}\` (in an async method) where this code should see the task's failure; the legacy call did not throw for an async task function, whose rejection passed the catch, which with await it no longer does.`;
}

function superPostReason(environ: string): string {
  return `super.post(${environ}) resolves to [body, 500, headers] when the task fails with an error (other than PermanentTaskFailure and SingularTaskFailure), where the legacy TaskHandler.post() threw that error: a catch, .catch() or finally around this call no longer sees it, and code after the call now also runs for a failed task. Where that code depends on the task succeeding, test the status the call resolves to (\`const result = await super.post(${environ}); if (result[1] >= 500) ...\`).`;
}

function handlerResultReason(name: string, environ: string): string {
  const chained = name === 'post' ? `super.post(${environ})` : `super.runFromRequest(${environ})`;
  return `${name}(${environ}) can end without its answer here (a bare return, a value webapp ignored, or the end of the method), but the route that calls it answers with what it resolves to, [body, status, headers]: it fails (500) and the task is retried, although it may have run. Return \`await ${chained}\`'s result, or a triple such as ['', 200, {}] (what webapp answered when post() wrote nothing).`;
}

/**
 * The node naming a handler class that its module exports (`export class`, `export
 * default`, `export { H }`, `export const H = class ...`, or named in a module-level
 * `module.exports` / `exports.` assignment), or undefined.
 */
function exportedClassName(handler: HandlerClass): Node | undefined {
  const { node, name } = handler;
  const at = Node.isClassDeclaration(node) ? (node.getNameNode() ?? node) : node;
  if (Node.isClassDeclaration(node) && (node.hasExportKeyword() || node.hasDefaultKeyword())) return at;
  const holder = node.getParentWhile((n) => !Node.isStatement(n) && !Node.isSourceFile(n));
  const statement = holder && Node.isStatement(holder) ? holder : node.getFirstAncestor((n) => Node.isStatement(n));
  if (statement && Node.isVariableStatement(statement) && statement.hasExportKeyword()) return at;
  // `export default class extends ...` as an expression, `module.exports = class extends ...`.
  if (statement && Node.isExportAssignment(statement)) return at;
  if (statement && Node.isExpressionStatement(statement) && /^\s*(?:module\.)?exports\b/.test(statement.getText())) return at;
  if (!name) return undefined;
  const word = new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
  for (const top of handler.record.sourceFile.getStatements()) {
    if (Node.isExportDeclaration(top) && !top.getModuleSpecifier() && top.getNamedExports().some((e) => e.getName() === name)) return at;
    if (Node.isExportAssignment(top) && word.test(top.getExpression().getText())) return at;
    if (Node.isExpressionStatement(top) && /^\s*(?:module\.)?exports\b/.test(top.getText()) && word.test(top.getText())) return at;
  }
  return undefined;
}

export const rule: Rule = {
  meta,
  run(analysis, out) {
    for (const handler of analysis.handlers.classes) {
      migrateClass(analysis, out, handler);
      const exported = exportedClassName(handler);
      const outside = exported ? AsyncPlanner.of(analysis).exportsLeavePackage(handler.record) : undefined;
      if (exported && outside) {
        out.report(
          handler.record,
          exported,
          'handler-as-value',
          'warning',
          `${handler.name ?? 'This handler class'} is exported, and its importers may be outside the run (${outside}): there a webapp route table, a subclass or a hand-made dispatch still calls its post()/runFromRequest() without environ, as webapp did, while after migration they take environ and resolve to [body, status, headers] (a route table outside the run cannot run it, and its tasks fail and are retried). Migrate those files too (run the codemod on the package's directory), or check each importer by hand.`,
        );
      }
      for (const use of webappMemberUses(handler.node)) out.report(handler.record, use.node, 'handler-webapp-member', 'warning', webappMemberReason(use));
      // Checked on migrated methods (they take environ): the first pass's output is checked by
      // the idempotency pass, whose items the report takes over.
      for (const self of thisEscapes(handler.node)) {
        out.report(
          handler.record,
          self,
          'request-access',
          'warning',
          `\`this\` is handed on here (\`${self.getParent()?.getText().replace(/\s+/g, ' ').slice(0, 60) ?? 'this'}\`: destructured, aliased, read with a computed key, passed or stored), so what reads request or response through it is not followed. A migrated Handler has neither: such reads get undefined. Read what you need from the environ that post(environ)/runFromRequest(environ) receive, and pass that on.`,
        );
      }
      for (const decorator of Node.isClassDeclaration(handler.node) ? handler.node.getDecorators() : []) {
        out.report(
          handler.record,
          decorator,
          'handler-as-value',
          'warning',
          `\`${decorator.getText().replace(/\s+/g, ' ').slice(0, 60)}\` decorates this handler class: what routes instantiate is what the decorator returns, which the codemod does not follow. A decorator that returns a subclass overriding post()/runFromRequest() calls them without environ and answers with their result; check it against the shim's Handler (post(environ) resolves to [body, status, headers]).`,
        );
      }
      // `@logged post() {...}`: the Handler calls what the decorator installs in the method's place.
      for (const method of handler.node.getMembers()) {
        if (!Node.isMethodDeclaration(method) || !ENTRY_METHODS.has(method.getName())) continue;
        for (const decorator of method.getDecorators()) {
          out.report(
            handler.record,
            decorator,
            'handler-result',
            'warning',
            `\`${decorator.getText().replace(/\s+/g, ' ').slice(0, 60)}\` decorates ${method.getName()}(), which the codemod migrated to take environ and resolve to [body, status, headers]; what the shim's Handler calls is what the decorator puts in the method's place, which the codemod does not follow. A wrapper written for webapp's methods, which took no arguments (\`orig.call(this)\`), drops environ, and one that does not return the original's result loses the route's answer (a 500, the task retried). Make it pass its arguments on and return the result (\`return orig.apply(this, args)\`), or check it by hand.`,
          );
        }
      }
      for (const member of unmigratedEntryMembers(handler.node)) {
        out.report(
          handler.record,
          member,
          'handler-result',
          'warning',
          `\`${member.getText()}\` may override post or runFromRequest (a quoted or computed name, or an accessor), which the codemod does not migrate (it rewrites methods named post() and runFromRequest()): the shim's Handler calls it with environ and the route answers with the [body, status, headers] it resolves to, so this override gets no environ passed on to super and its result fails the route (500, the task retried). Write it as a plain method, post() or runFromRequest(): the codemod migrates that.`,
        );
      }
      for (const field of entryFields(handler.node)) {
        out.report(
          handler.record,
          field,
          'handler-result',
          'warning',
          `${field.getText()} is overridden by an instance property holding a function (a class field, or an assignment to this.${field.getText()} in the constructor), which the codemod does not migrate (it rewrites methods): the shim's Handler calls ${field.getText()}(environ) and the route answers with the [body, status, headers] it resolves to, so this override gets no environ and its result fails the route (500, the task retried). Write it as a method: the codemod migrates that.`,
        );
      }
      for (const method of entryMethods(handler.node)) {
        const environ = entryParameters(method)[0]?.getName() ?? 'environ';
        for (const call of superPostFailureDependents(method)) out.report(handler.record, call, 'handler-result', 'warning', superPostReason(environ));
        for (const call of runFromRequestFailureDependents(method)) {
          const callee = (call as CallExpression).getExpression().getText();
          out.report(handler.record, call, 'handler-result', 'warning', runFromRequestReason(`${callee}(${environ})`));
        }
        if (entryParameters(method).length === 0) continue;
        const at = endsWithoutResult(method);
        if (at) out.report(handler.record, at, 'handler-result', 'warning', handlerResultReason(method.getName(), entryParameters(method)[0]!.getName()));
      }
    }
    for (const { record, node, base } of analysis.handlers.unknownBases) {
      out.report(
        record,
        base,
        'unknown-handler-base',
        'warning',
        `The codemod could not follow the base class \`${base.getText()}\` of ${node.getName() ?? 'this class'} back to TaskHandler or to an ordinary class: if it is (or extends) TaskHandler, the class was not migrated. Make the base a plain import or const alias of TaskHandler, or migrate the class by hand.`,
      );
    }
    const served = servedPlaces(analysis.tables, analysis.candidates);
    for (const record of analysis.candidates) {
      const values = findHandlerValueUses(analysis.symbols, record, served);
      const starts = new Set(values.map((n) => n.getStart()));
      const subclassUses = findPrototypeUses(analysis.handlers, record).filter((n) => !starts.has(n.getStart()));
      const subclasses = new Set(subclassUses);
      const instances = new Set(findInstantiations(analysis.handlers, record).filter((n) => !starts.has(n.getStart())));
      // Inside a route table's arguments (`new WSGIApplication(loadRows(Task))`) the route-table rule reports the rows.
      const tableArguments = analysis.tables.filter((table) => table.record.absPath === record.absPath).map((table) => table.create);
      const inTable = (node: Node): boolean => tableArguments.some((create) => node.getStart() >= create.getStart() && node.getEnd() <= create.getEnd());
      const handedOff = new Set(findHandOffs(analysis.handlers, record).filter((n) => !starts.has(n.getStart()) && !subclasses.has(n) && !inTable(n)));
      for (const node of [...values, ...subclassUses, ...instances, ...handedOff].sort((a, b) => a.getStart() - b.getStart())) {
        const what = subclasses.has(node)
          ? 'a TaskHandler subclass used in prototype-based code (its prototype read or wired, its constructor called on `this`)'
          : instances.has(node)
            ? 'a TaskHandler subclass instantiated outside a route table (a hand-made dispatch calls its methods as webapp did, without environ)'
            : handedOff.has(node)
              ? 'a TaskHandler subclass handed on where the codemod does not follow it (an argument of a call, an element of an array that is not a route-table row): a dispatch helper making an instance and calling post() without environ, as tests and replay tools do, or a custom router serving it as a webapp handler'
              : 'TaskHandler used as a value (a prototype-based subclass, a call or patch of its methods, a global, an argument...)';
        out.report(
          record,
          node,
          'handler-as-value',
          'warning',
          `\`${node.getText()}\` is ${what}, which the codemod does not migrate: after migration it is the shim's Handler (or a subclass of it), whose post(environ)/runFromRequest(environ) take environ and resolve to [body, status, headers]. Write the subclass as \`class X extends TaskHandler\` (the codemod migrates that), or migrate this use by hand.`,
        );
      }
    }
    // `function run(h: TaskHandler) { h.post(); }`, JSDoc's `@param {TaskHandler} h` in JavaScript: a webapp-style dispatch.
    for (const record of analysis.candidates) {
      for (const call of findTypedDispatches(analysis.handlers, record)) {
        out.report(
          record,
          call,
          'handler-as-value',
          'warning',
          `\`${call.getText()}\` calls a task handler's entry method without arguments, as webapp did, on a value typed as TaskHandler (or a subclass): after migration it is the shim's Handler, whose post(environ)/runFromRequest(environ) take environ and resolve to [body, status, headers], so this call fails. Serve the handler from a route (new X().post(deferred.environ(req))) or pass an environ here.`,
        );
      }
    }
    // Registries of subclasses (`const handlers = { audit: AuditHandler }`, a Map) read whole or by a computed key.
    const registries = registryNames(analysis.handlers, analysis.candidates);
    for (const record of analysis.candidates) {
      const tableArguments = analysis.tables.filter((table) => table.record.absPath === record.absPath).map((table) => table.create);
      const inTable = (node: Node): boolean => tableArguments.some((create) => node.getStart() >= create.getStart() && node.getEnd() <= create.getEnd());
      for (const { node, declaration, declared } of findRegistryReads(analysis.handlers, analysis.index, record, registries)) {
        if (inTable(node)) continue;
        out.report(
          record,
          node,
          'handler-as-value',
          'warning',
          `\`${node.getText()}\` holds TaskHandler subclasses (declared at ${declared.rel}:${declaration.getStartLineNumber()}), read here whole or by a key, where the codemod does not follow them: after migration they are subclasses of the shim's Handler, whose post(environ)/runFromRequest(environ) take environ and resolve to [body, status, headers], so a dispatch making an instance and calling post() as webapp did, a custom router, or a route table built from them by code no longer fits. Mount each class in a route table written as rows (\`[pattern, Class]\`), or migrate this use by hand.`,
        );
      }
    }
  },
};

export default makeTransform(rule, addNeededImports);
