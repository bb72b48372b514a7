// Tests of a caught error's text (its message, or a name the shim never gives an
// error) in the catch clauses that a migrated defer()'s error reaches. The shim
// throws its own errors: its messages are not the legacy library's ("Task "x"
// already exists in queue ..."), and a few legacy error classes have no
// counterpart, so such a test silently takes its other branch after the
// migration. Found forward, from the few catch clauses (and `.catch()` handlers
// of Promise chains) that test a text, to the defer() calls their try block (the
// chain before the handler) runs, directly or through the functions it calls.
import { Node, SyntaxKind, ts, type CallExpression, type CatchClause, type Identifier, type NewExpression, type TryStatement } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import { findDeferCalls } from '../analysis/defer-calls.js';
import type { Analysis } from '../analysis/index.js';
import { BACKEND_DEPENDENT_ERROR_CLASSES, LEGACY_ERROR_CLASSES, NAME_SPLIT_ERROR_CLASSES } from '../analysis/legacy-errors.js';
import { outermostExpression } from '../analysis/legacy-symbols.js';
import type { SourceRecord } from '../analysis/project.js';
import { calleeFunctions } from './async-plan.js';
import type { FunctionLike } from './function-like.js';

/** String methods whose call on a message tests its text. */
const TEXT_TESTS = new Set(['includes', 'startsWith', 'endsWith', 'match', 'matchAll', 'indexOf', 'lastIndexOf', 'search', 'localeCompare']);
/** String methods that give another form of the same text (still the legacy wording). */
const TEXT_FORMS = new Set(['toLowerCase', 'toUpperCase', 'toLocaleLowerCase', 'toLocaleUpperCase', 'trim', 'trimStart', 'trimEnd', 'normalize', 'slice', 'substring', 'substr', 'toString', 'valueOf']);
/** Words a catch clause that reads the error's text must contain. */
const TEXT_MENTION = /\b(message|name|String|toString)\b/;
/** And one of these, for it to test the text. */
const TEST_MENTION = /[=!]=|\b(includes|startsWith|endsWith|match|matchAll|indexOf|lastIndexOf|search|localeCompare|test|exec|switch)\b/;
const EQUALITY = new Set([SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.ExclamationEqualsToken]);

function mentionsTextTest(text: string): boolean {
  return TEXT_MENTION.test(text) && TEST_MENTION.test(text);
}

export interface CaughtErrorTest {
  record: SourceRecord;
  /** The test: a comparison, a call, a case clause. */
  node: Node;
  message: string;
}

type TextKind = 'message' | 'name';


function literalText(node: Node | undefined): string | undefined {
  return node && (Node.isStringLiteral(node) || Node.isNoSubstitutionTemplateLiteral(node)) ? node.getLiteralValue() : undefined;
}

function isFunctionBoundary(node: Node): boolean {
  return Node.isFunctionLikeDeclaration(node) || Node.isClassDeclaration(node) || Node.isClassExpression(node);
}

/** `root` and its descendants in the same function (nested functions and classes are not entered). */
function forEachInFunction(root: Node, visit: (node: Node) => void): void {
  // An arrow's expression body is itself a call, maybe the defer().
  visit(root);
  root.forEachDescendant((node, traversal) => {
    if (isFunctionBoundary(node)) {
      traversal.skip();
      return;
    }
    visit(node);
  });
}

/** The catch clause rethrows: a `throw` in its block (outside nested functions). */
function rethrows(clause: CatchClause): boolean {
  let found = false;
  forEachInFunction(clause.getBlock(), (node) => {
    if (Node.isThrowStatement(node)) found = true;
  });
  return found;
}

/** A throw at `node` leaves `region` (or its function): no try between them catches it for good. */
function escapes(node: Node, region: Node | undefined): boolean {
  let child: Node = node;
  for (let parent = node.getParent(); parent && parent !== region && !isFunctionBoundary(parent) && !Node.isSourceFile(parent); parent = parent.getParent()) {
    if (Node.isTryStatement(parent) && parent.getTryBlock() === child) {
      const clause = parent.getCatchClause();
      if (clause && !rethrows(clause)) return false;
    }
    child = parent;
  }
  return true;
}

class Reach {
  private readonly deferCalls: Set<Node>;
  private readonly throwing = new Map<FunctionLike, boolean>();

  constructor(analysis: Analysis) {
    this.deferCalls = new Set(findDeferCalls(analysis.symbols, analysis.candidates).map((d) => d.call));
  }

  get any(): boolean {
    return this.deferCalls.size > 0;
  }

  /** A migrated defer() in `region` (its own code, or a function it calls) can throw out of it. */
  reachesDefer(region: Node): boolean {
    let found = false;
    forEachInFunction(region, (node) => {
      if (found || !(Node.isCallExpression(node) || Node.isNewExpression(node)) || !escapes(node, region)) return;
      if (this.deferCalls.has(node)) found = true;
      else if (this.mayCall(node)) found = calleeFunctions(node).some((fn) => this.throwsDeferError(fn));
    });
    return found;
  }

  /** The call at the start of a Promise chain runs a function that can throw a migrated defer()'s error (its rejection, for an async one). */
  rejectsWithDeferError(call: CallExpression | NewExpression): boolean {
    if (this.deferCalls.has(call)) return true;
    return this.mayCall(call) && calleeFunctions(call).some((fn) => this.throwsDeferError(fn));
  }

  private throwsDeferError(fn: FunctionLike): boolean {
    const known = this.throwing.get(fn);
    if (known !== undefined) return known;
    this.throwing.set(fn, false); // a recursive call adds nothing
    const body = fn.getBody();
    const result = !!body && this.reachesDefer(body);
    this.throwing.set(fn, result);
    return result;
  }

  /** Calls worth resolving: not the string and console methods. */
  private mayCall(call: CallExpression | NewExpression): boolean {
    const callee = call.getExpression();
    if (Node.isPropertyAccessExpression(callee)) {
      const receiver = callee.getExpression().getText();
      return receiver !== 'console' && !TEXT_TESTS.has(callee.getName()) && !TEXT_FORMS.has(callee.getName());
    }
    return true;
  }
}

/**
 * The places in `block` that read the text of the error bound to `nameNode` (a catch
 * clause's variable, a `.catch()` callback's parameter): `e.message`, `e.name`
 * (`e.constructor.name`), `String(e)`, through casts, aliases (`const err = e as Error`,
 * `const msg = err.message`, `const { message } = e`) and string forms (`.toLowerCase()`).
 */
function textReads(nameNode: Node, block: Node): Array<{ node: Node; kind: TextKind }> {
  const reads: Array<{ node: Node; kind: TextKind }> = [];
  const errors: Identifier[] = [];
  const texts: Array<{ name: Identifier; kind: TextKind }> = [];
  const bindPattern = (pattern: Node): void => {
    if (!Node.isObjectBindingPattern(pattern)) return;
    for (const element of pattern.getElements()) {
      const key = element.getPropertyNameNode()?.getText() ?? element.getName();
      const bound = element.getNameNode();
      if ((key === 'message' || key === 'name') && Node.isIdentifier(bound)) texts.push({ name: bound, kind: key });
    }
  };
  if (Node.isIdentifier(nameNode)) errors.push(nameNode);
  else bindPattern(nameNode);

  const usesOf = (name: Identifier): Node[] => {
    const text = name.getText();
    const symbol = name.getSymbol();
    const uses: Node[] = [];
    block.forEachDescendant((node) => {
      if (Node.isIdentifier(node) && node !== name && node.getText() === text && node.getSymbol() === symbol) uses.push(node);
    });
    return uses;
  };
  /** What `expression` (a read of the error) is used as: a text read, or an alias. */
  const follow = (read: Node, kind: TextKind | undefined): void => {
    let at = outermostExpression(read);
    if (kind === undefined) {
      const parent = at.getParent();
      if (parent && (Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent)) && parent.getExpression() === at) {
        const member = Node.isPropertyAccessExpression(parent) ? parent.getName() : literalText(parent.getArgumentExpression());
        if (member === 'message' || member === 'name') return follow(parent, member);
        if (member === 'constructor') {
          const up = outermostExpression(parent).getParent();
          if (up && Node.isPropertyAccessExpression(up) && up.getName() === 'name') return follow(up, 'name');
          return;
        }
        if (member === 'toString') {
          const call = outermostExpression(parent).getParent();
          if (call && Node.isCallExpression(call) && call.getExpression() === outermostExpression(parent)) return follow(call, 'message');
        }
        return;
      }
      if (parent && Node.isCallExpression(parent) && parent.getExpression().getText() === 'String' && parent.getArguments()[0] === at) return follow(parent, 'message');
      if (parent && Node.isVariableDeclaration(parent) && parent.getInitializer() === at) {
        const bound = parent.getNameNode();
        if (Node.isIdentifier(bound)) errors.push(bound);
        else bindPattern(bound);
      }
      return;
    }
    // A text: through its string forms, `?? ''`, and into an alias.
    for (;;) {
      const parent = at.getParent();
      if (parent && Node.isPropertyAccessExpression(parent) && parent.getExpression() === at && TEXT_FORMS.has(parent.getName())) {
        const call = outermostExpression(parent).getParent();
        if (call && Node.isCallExpression(call) && call.getExpression() === outermostExpression(parent)) {
          at = outermostExpression(call);
          continue;
        }
      }
      if (parent && Node.isBinaryExpression(parent) && parent.getLeft() === at && [SyntaxKind.QuestionQuestionToken, SyntaxKind.BarBarToken].includes(parent.getOperatorToken().getKind())) {
        at = outermostExpression(parent);
        continue;
      }
      break;
    }
    const parent = at.getParent();
    if (parent && Node.isVariableDeclaration(parent) && parent.getInitializer() === at && Node.isIdentifier(parent.getNameNode())) {
      texts.push({ name: parent.getNameNode() as Identifier, kind });
      return;
    }
    reads.push({ node: at, kind });
  };
  for (let i = 0; i < errors.length; i++) for (const use of usesOf(errors[i]!)) follow(use, undefined);
  for (let i = 0; i < texts.length; i++) for (const use of usesOf(texts[i]!.name)) follow(use, texts[i]!.kind);
  return reads;
}

/** The tests of a text read: where its value decides a branch. `values` are the literals it is compared with. */
function testsOf(read: Node): Array<{ node: Node; values: Array<string | undefined> }> {
  const parent = read.getParent();
  if (!parent) return [];
  if (Node.isBinaryExpression(parent) && EQUALITY.has(parent.getOperatorToken().getKind())) {
    const other = parent.getLeft() === read ? parent.getRight() : parent.getLeft();
    return [{ node: parent, values: [literalText(other)] }];
  }
  if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === read && TEXT_TESTS.has(parent.getName())) {
    const call = outermostExpression(parent).getParent();
    if (call && Node.isCallExpression(call) && call.getExpression() === outermostExpression(parent)) return [{ node: call, values: [literalText(call.getArguments()[0])] }];
  }
  // `/already exists/.test(msg)`, `pattern.exec(msg)`.
  if (Node.isCallExpression(parent) && parent.getArguments()[0] === read) {
    const callee = parent.getExpression();
    if (Node.isPropertyAccessExpression(callee) && (callee.getName() === 'test' || callee.getName() === 'exec')) return [{ node: parent, values: [undefined] }];
  }
  if (Node.isSwitchStatement(parent) && parent.getExpression() === read) {
    return parent
      .getCaseBlock()
      .getClauses()
      .filter((clause) => Node.isCaseClause(clause))
      .map((clause) => ({ node: clause, values: [literalText(clause.getExpression())] }));
  }
  return [];
}

function excerpt(node: Node): string {
  const text = Node.isCaseClause(node) ? `case ${node.getExpression().getText()}:` : node.getText();
  const line = text.replace(/\s+/g, ' ');
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

function messageOf(test: Node, kind: TextKind, legacyName?: string): string {
  if (kind === 'name') {
    const onSomeBackends = BACKEND_DEPENDENT_ERROR_CLASSES.get(legacyName!) ?? NAME_SPLIT_ERROR_CLASSES.get(legacyName!);
    if (onSomeBackends) return `\`${excerpt(test)}\` tests the name of an error a migrated defer() throws, and ${onSomeBackends}.`;
    const instead = LEGACY_ERROR_CLASSES.get(legacyName!);
    return (
      `\`${excerpt(test)}\` tests the name of an error a migrated defer() throws, and deferred-migrate/shim throws no ${legacyName}` +
      (instead ? ` (the nearest is ${instead})` : '') +
      ', so this test never matches after the migration. Test the class the shim throws (instanceof, or its name).'
    );
  }
  return (
    `\`${excerpt(test)}\` tests the message of an error a migrated defer() throws: deferred-migrate/shim's errors have their own messages, not the legacy library's, ` +
    'so this test silently takes its other branch after the migration. Test the error class instead (instanceof TaskAlreadyExistsError, InvalidTaskNameError, InvalidEtaError... from deferred-migrate/shim, or error.name).'
  );
}

/** The try statement whose catch clause this is. */
function tryOf(clause: CatchClause): TryStatement {
  return clause.getParentIfKindOrThrow(SyntaxKind.TryStatement);
}

/** The tests in `block` of the text of the error bound to `nameNode`, as report items (before knowing whether a defer() error gets there). */
function textTests(record: SourceRecord, nameNode: Node, block: Node): CaughtErrorTest[] {
  const tests: CaughtErrorTest[] = [];
  for (const { node, kind } of textReads(nameNode, block)) {
    for (const test of testsOf(node)) {
      if (kind === 'message') tests.push({ record, node: test.node, message: messageOf(test.node, kind) });
      else {
        // A name is fine when the shim throws an error of that name.
        const legacy = test.values.find((v) => v !== undefined && LEGACY_ERROR_CLASSES.has(v) && (LEGACY_ERROR_CLASSES.get(v) !== v || BACKEND_DEPENDENT_ERROR_CLASSES.has(v) || NAME_SPLIT_ERROR_CLASSES.has(v)));
        if (legacy) tests.push({ record, node: test.node, message: messageOf(test.node, kind, legacy) });
      }
    }
  }
  return tests;
}

const CHAIN_METHODS = new Set(['then', 'catch', 'finally']);

/**
 * `p.catch(handler)` or `p.then(ok, handler)` with an inline handler: the handler,
 * and what runs before it in the chain (the callbacks since the previous `.catch`,
 * and the call the chain starts from), whose throw or rejection it receives.
 */
function chainHandler(call: CallExpression): { handler: FunctionLike; before: Node[]; start?: CallExpression | NewExpression } | undefined {
  const callee = call.getExpression();
  if (!Node.isPropertyAccessExpression(callee)) return undefined;
  const method = callee.getName();
  const handler = call.getArguments()[method === 'catch' ? 0 : method === 'then' ? 1 : -1];
  if (!handler || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler))) return undefined;
  // (In `p.then(ok, handler)` the handler sees p's rejection, not ok's throw.)
  const before: Node[] = [];
  let receiver: Node = callee.getExpression();
  for (;;) {
    while (Node.isParenthesizedExpression(receiver) || Node.isAwaitExpression(receiver)) receiver = receiver.getExpression();
    if (!Node.isCallExpression(receiver)) return { handler, before };
    const inner = receiver.getExpression();
    if (!Node.isPropertyAccessExpression(inner) || !CHAIN_METHODS.has(inner.getName())) return { handler, before, start: receiver };
    if (inner.getName() === 'catch') return { handler, before }; // what came earlier is that catch's
    for (const argument of receiver.getArguments()) {
      if (Node.isArrowFunction(argument) || Node.isFunctionExpression(argument)) before.push(argument.getBody());
    }
    receiver = inner.getExpression();
  }
}

/** Every test of a caught error's text that a migrated defer()'s error reaches. */
export function findCaughtErrorTests(analysis: Analysis): CaughtErrorTest[] {
  const reach = new Reach(analysis);
  if (!reach.any) return [];
  const found: CaughtErrorTest[] = [];
  for (const record of analysis.index.loaded()) {
    if (record.parseProblem || !TEXT_MENTION.test(record.text) || !/\bcatch\b|\.\s*then\s*\(/.test(record.text)) continue;
    const sf = record.sourceFile.compilerNode;
    // try { ... } catch (e) { ... }
    for (const compilerClause of compilerNodesOfKind<ts.CatchClause>(record.sourceFile, SyntaxKind.CatchClause)) {
      // Only a clause that mentions a text and a test is wrapped and read.
      if (!compilerClause.variableDeclaration || !mentionsTextTest(compilerClause.block.getText(sf))) continue;
      const clause = wrapCompilerNode<CatchClause>(record.sourceFile, compilerClause);
      const tests = textTests(record, clause.getVariableDeclarationOrThrow().getNameNode(), clause.getBlock());
      if (tests.length > 0 && reach.reachesDefer(tryOf(clause).getTryBlock())) found.push(...tests);
    }
    // p.then(...).catch((e) => { ... })
    if (!/\.\s*(catch|then)\s*\(/.test(record.text)) continue;
    for (const compilerCall of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
      const callee = compilerCall.expression;
      if (!ts.isPropertyAccessExpression(callee) || !['catch', 'then'].includes(callee.name.text)) continue;
      const handlerNode = compilerCall.arguments[callee.name.text === 'catch' ? 0 : 1];
      if (!handlerNode || !(ts.isArrowFunction(handlerNode) || ts.isFunctionExpression(handlerNode)) || !handlerNode.parameters[0]) continue;
      if (!mentionsTextTest(handlerNode.body.getText(sf))) continue;
      const chain = chainHandler(wrapCompilerNode<CallExpression>(record.sourceFile, compilerCall));
      const parameter = chain?.handler.getParameters()[0];
      if (!chain || !parameter) continue;
      const tests = textTests(record, parameter.getNameNode(), chain.handler.getBody()!);
      if (tests.length === 0) continue;
      const reached = chain.before.some((body) => reach.reachesDefer(body)) || (chain.start !== undefined && reach.rejectsWithDeferError(chain.start));
      if (reached) found.push(...tests);
    }
  }
  return found;
}
