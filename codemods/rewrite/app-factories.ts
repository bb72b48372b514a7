// An app created inside a function (`export function createApp(opts) { const app =
// wrapApp(express(), ...) ... }`) is a new app each time that function runs, and each
// `wrapApp` makes its app the runtime's delivery target in turn: the embedded queue
// delivers every task to the app made last. When the function is called more than
// once in the serving process (a public app and an admin app from one factory, one
// per port, one per tenant in a loop), tasks to a custom URL run through the last
// app's routes: one made without the task routes (`if (opts.tasks) app.use(tasks)`)
// or under another prefix answers them 404, and the task is retried for ever. The
// analysis of delivery targets (delivery-target.ts) counts apps by where they are
// created; this says which of those creations are made more than once.
import { Node, SyntaxKind, type Identifier } from 'ts-morph';
import type { RepeatedApp } from '../analysis/delivery-target.js';
import type { HostApp } from '../analysis/host-app.js';
import type { Analysis } from '../analysis/index.js';
import { outermost } from '../analysis/legacy-symbols.js';
import { sameScopeReferences } from '../analysis/scope.js';
import { isTestFile } from '../analysis/unrecognised-servers.js';
import { exportedReferences } from './exported-references.js';

/** The function a creation runs in, with the identifier that names it (a declaration or a const it is assigned to). */
function namedFunctionOf(node: Node): { fn: Node; name: Identifier; declaration: Node } | undefined {
  const fn = node.getParentWhile((n) => !Node.isFunctionDeclaration(n) && !Node.isFunctionExpression(n) && !Node.isArrowFunction(n) && !Node.isMethodDeclaration(n))?.getParent();
  if (!fn || Node.isSourceFile(fn)) return undefined;
  if (Node.isFunctionDeclaration(fn)) {
    const name = fn.getNameNode();
    return name && { fn, name, declaration: fn };
  }
  if (Node.isFunctionExpression(fn) || Node.isArrowFunction(fn)) {
    const holder = outermost(fn).getParent();
    if (holder && Node.isVariableDeclaration(holder)) {
      const name = holder.getNameNode();
      if (Node.isIdentifier(name)) return { fn, name, declaration: holder };
    }
  }
  return undefined;
}

/** The call `ref` is the callee of (`f()`, `ns.f()`, `(0, m.f)()`), if any. */
function calleeCall(ref: Node): Node | undefined {
  let callee: Node = ref;
  const parent = ref.getParent();
  if (parent && Node.isPropertyAccessExpression(parent) && parent.getNameNode() === ref) callee = parent;
  let outer = outermost(callee);
  const sequence = outer.getParent();
  if (sequence && Node.isBinaryExpression(sequence) && sequence.getOperatorToken().getKind() === SyntaxKind.CommaToken && sequence.getRight() === outer && Node.isNumericLiteral(sequence.getLeft())) {
    outer = outermost(sequence);
  }
  const call = outer.getParent();
  return call && Node.isCallExpression(call) && call.getExpression() === outer ? call : undefined;
}

const LOOPS = new Set([SyntaxKind.ForStatement, SyntaxKind.ForOfStatement, SyntaxKind.ForInStatement, SyntaxKind.WhileStatement, SyntaxKind.DoStatement]);
const ITERATING = new Set(['forEach', 'map', 'flatMap', 'from']);

/** The call runs more than once where it is written: in a loop, or in a callback an array method runs per element. */
function inLoop(call: Node): boolean {
  for (let current: Node | undefined = call.getParent(); current && !Node.isSourceFile(current); current = current.getParent()) {
    if (LOOPS.has(current.getKind())) return true;
    if (Node.isFunctionDeclaration(current) || Node.isMethodDeclaration(current)) return false;
    if (Node.isArrowFunction(current) || Node.isFunctionExpression(current)) {
      const parent = current.getParent();
      if (!parent || !Node.isCallExpression(parent) || !parent.getArguments().includes(current)) return false;
      const callee = parent.getExpression();
      return Node.isPropertyAccessExpression(callee) && ITERATING.has(callee.getName());
    }
  }
  return false;
}

/**
 * The calls of the function `host` is created in, when the serving code (test files
 * aside) calls it more than once or in a loop; undefined when it is made once, at
 * module level, or by a function whose calls are not all found (not judged here).
 */
export function repeatedCreation(analysis: Analysis, host: HostApp): RepeatedApp | undefined {
  const named = namedFunctionOf(host.served ?? host.create);
  if (!named) return undefined;
  const { name, declaration } = named;
  const refs = new Set<Node>(sameScopeReferences(name));
  // A module-level function may be exported: its importers' calls count too.
  if ((Node.isFunctionDeclaration(declaration) && Node.isSourceFile(declaration.getParent())) || (Node.isVariableDeclaration(declaration) && Node.isSourceFile(declaration.getVariableStatement()?.getParent() ?? declaration))) {
    const found = exportedReferences(analysis, host.record, declaration as Parameters<typeof exportedReferences>[2], name.getText());
    if (found.ok) for (const ref of found.refs) if (ref !== name) refs.add(ref);
  }
  // By file, not line: a line would name the migrated text in the marker the engine writes.
  const perFile = new Map<string, { calls: number; looped: boolean }>();
  let runs = 0;
  for (const ref of refs) {
    const call = calleeCall(ref);
    if (!call) continue;
    const sf = call.getSourceFile();
    const record = analysis.index.load(sf.getFilePath());
    if (record && isTestFile(record.rel)) continue;
    const looped = inLoop(call);
    runs += looped ? 2 : 1;
    const file = record?.rel ?? sf.getBaseName();
    const entry = perFile.get(file) ?? { calls: 0, looped: false };
    entry.calls += 1;
    entry.looped ||= looped;
    perFile.set(file, entry);
  }
  const calls = [...perFile].map(([file, { calls: n, looped }]) => `${looped ? 'in a loop in ' : n > 1 ? `${n} calls in ` : 'a call in '}${file}`);
  return runs >= 2 ? { factory: name.getText(), calls } : undefined;
}
