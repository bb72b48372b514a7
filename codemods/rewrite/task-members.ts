// The members of the task a defer() call returns, read where the call's result is
// held. The legacy Task was the queue's own record (`queueName`, `etaMs`, `payload`,
// `retryCount`, ...); the shim's is `{ name, queue, eta, url, headers }`. So a read
// of another member gets undefined once migrated: silent in JavaScript. Two have a
// counterpart and are rewritten (`queueName` → `queue`, `etaMs` → `eta.getTime()`);
// the others are reported. Only reads the call's own expression or a `const` holding
// it (also destructured; a `let` or `var` too, when nothing assigns it again) reach are followed; a task handed on is left as before.
import { Node, SyntaxKind, VariableDeclarationKind, type CallExpression, type Identifier, type ObjectBindingPattern } from 'ts-morph';
import type { SourceRecord } from '../analysis/project.js';
import { isReassigned, isWritten, sameScopeReferences } from '../analysis/scope.js';
import type { RuleOutput } from './context.js';

/** Members of the legacy Task the shim's task has under another name. */
const RENAMED: ReadonlyMap<string, string> = new Map([['queueName', 'queue']]);
/** Members of the legacy Task the shim's task does not have (etaMs only as a read it can rewrite). */
const LEGACY_ONLY = new Set(['etaMs', 'createdMs', 'payload', 'retryCount', 'executionCount', 'retryOptions', 'previousResponse']);

function reason(read: string, member: string): string {
  return `\`${read}\` reads the ${member} of the legacy Task, which the task defer() now resolves to ({ name, queue, eta, url, headers }) does not have: it is undefined after the migration.${
    member === 'etaMs' ? ' Read `eta.getTime()` (eta is a Date).' : ' The queue keeps it (the operations API, `deferred-migrate tasks`); inside the task, the X-AppEngine-* headers carry the retry and execution counts.'
  }`;
}

/** The expression the call's value is, outside parentheses, `await` and type assertions. */
function valueOf(call: CallExpression): Node {
  let outer: Node = call;
  for (let parent = outer.getParent(); parent; parent = outer.getParent()) {
    if (!(Node.isParenthesizedExpression(parent) || Node.isAwaitExpression(parent) || Node.isAsExpression(parent) || Node.isNonNullExpression(parent) || Node.isSatisfiesExpression(parent))) break;
    outer = parent;
  }
  return outer;
}

/** A member read off `value` (the task): rewritten or reported. */
function memberOf(out: RuleOutput, record: SourceRecord, value: Node): void {
  const parent = value.getParent();
  if (!parent) return;
  if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === value) {
    const member = parent.getName();
    const renamed = RENAMED.get(member);
    if (renamed !== undefined && !isWritten(parent)) {
      const name = parent.getNameNode();
      out.edit(record, name.getStart(), name.getEnd(), renamed, `task.${member} → task.${renamed}`);
    } else if (member === 'etaMs' && !isWritten(parent)) {
      const name = parent.getNameNode();
      out.edit(record, name.getStart(), name.getEnd(), 'eta.getTime()', 'task.etaMs → task.eta.getTime()');
    } else if (renamed !== undefined || LEGACY_ONLY.has(member)) {
      out.report(record, parent, 'defer-result', 'warning', reason(parent.getText(), member));
    }
    return;
  }
  if (Node.isElementAccessExpression(parent) && parent.getExpression() === value) {
    const key = parent.getArgumentExpression();
    const member = key && (Node.isStringLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key)) ? key.getLiteralValue() : undefined;
    if (member !== undefined && (RENAMED.has(member) || LEGACY_ONLY.has(member))) out.report(record, parent, 'defer-result', 'warning', reason(parent.getText(), member));
    return;
  }
  if (Node.isVariableDeclaration(parent) && parent.getInitializer() === value) {
    const name = parent.getNameNode();
    if (Node.isObjectBindingPattern(name)) destructured(out, record, name);
    else if (!Node.isIdentifier(name)) out.report(record, value, 'defer-result', 'warning', WHOLE_TASK);
    return;
  }
  if (isWholeUse(value, parent)) out.report(record, value, 'defer-result', 'warning', WHOLE_TASK);
}

const WHOLE_TASK =
  'The task defer() returns is used whole here (passed on, stored, serialized or logged): its fields are now { name, queue, eta, url, headers } where the legacy Task had name, queueName, etaMs, payload, retryCount and more, so what this code hands on (a JSON response, a log line, a record) changes. Pass on the fields it needs by name.';

/**
 * Whether `value` (the task) flows on whole from here: not when it is only discarded,
 * returned (the callers' reads are followed), tested (`if (task)`, `task === x`,
 * `!task`, `typeof task`) or held by a `const` (whose reads are followed).
 */
function isWholeUse(value: Node, parent: Node): boolean {
  if (Node.isExpressionStatement(parent) || Node.isReturnStatement(parent) || Node.isVoidExpression(parent) || Node.isTypeOfExpression(parent)) return false;
  // A default parameter value or a class field: defer-result reports the call there (no await can stand in it).
  if (Node.isParameterDeclaration(parent) || Node.isPropertyDeclaration(parent)) return false;
  if (Node.isArrowFunction(parent) && parent.getBody() === value) return false;
  if (Node.isPrefixUnaryExpression(parent) && parent.getOperatorToken() === SyntaxKind.ExclamationToken) return false;
  if ((Node.isIfStatement(parent) || Node.isWhileStatement(parent) || Node.isDoStatement(parent)) && parent.getExpression() === value) return false;
  if (Node.isConditionalExpression(parent)) return parent.getCondition() === value ? false : flowsOn(parent);
  if (Node.isBinaryExpression(parent)) {
    const operator = parent.getOperatorToken().getKind();
    if ([SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken, SyntaxKind.InstanceOfKeyword].includes(operator)) return false;
    // `task && task.name`: the left operand of && is only tested; `(log(), task)`: the left of a comma is dropped.
    if ((operator === SyntaxKind.AmpersandAmpersandToken || operator === SyntaxKind.CommaToken) && parent.getLeft() === value) return false;
    // `flag && defer(...)`, `x ?? defer(...)`, `(log(), defer(...))`: the task flows to where the whole expression goes.
    if ([SyntaxKind.AmpersandAmpersandToken, SyntaxKind.BarBarToken, SyntaxKind.QuestionQuestionToken, SyntaxKind.CommaToken].includes(operator) && parent.getRight() === value) return flowsOn(parent);
    // Written to (`task = other`): not a use of the task.
    if (parent.getLeft() === value && operator >= SyntaxKind.FirstAssignment && operator <= SyntaxKind.LastAssignment) return false;
  }
  // `Promise.all([defer(...), ...])` and kin: the rule's own concern (defer-result awaits or reports the array).
  if (Node.isArrayLiteralExpression(parent)) {
    const holder = parent.getParent();
    if (isPromiseCombinatorCall(holder)) return false;
  }
  return true;
}

const PROMISE_COMBINATORS = new Set(['all', 'allSettled', 'any', 'race']);

/** `Promise.all(...)` and its kin: they take Tasks and Promises of them alike. */
export function isPromiseCombinatorCall(node: Node | undefined): boolean {
  if (!node || !Node.isCallExpression(node)) return false;
  const callee = node.getExpression();
  return Node.isPropertyAccessExpression(callee) && callee.getExpression().getText() === 'Promise' && PROMISE_COMBINATORS.has(callee.getName());
}

/** Whether the expression holding the task (a branch, an operand) flows on whole from where it stands. */
function flowsOn(expression: Node): boolean {
  let outer = expression;
  while (Node.isParenthesizedExpression(outer.getParent()) || Node.isAsExpression(outer.getParent()) || Node.isNonNullExpression(outer.getParent())) outer = outer.getParent()!;
  const parent = outer.getParent();
  // Held by a binding: its reads are not followed through the branch, so it counts as passed on.
  return !!parent && isWholeUse(outer, parent);
}

function destructured(out: RuleOutput, record: SourceRecord, pattern: ObjectBindingPattern): void {
  for (const element of pattern.getElements()) {
    if (element.getDotDotDotToken()) {
      out.report(record, element, 'defer-result', 'warning', WHOLE_TASK);
      continue;
    }
    const property = element.getPropertyNameNode();
    const member = property ? (Node.isIdentifier(property) || Node.isStringLiteral(property) ? (Node.isIdentifier(property) ? property.getText() : property.getLiteralValue()) : undefined) : element.getName();
    if (member === undefined) continue;
    const renamed = RENAMED.get(member);
    if (renamed !== undefined) {
      if (property) out.edit(record, property.getStart(), property.getEnd(), renamed, `{ ${member} } of the task → { ${renamed} }`);
      else out.edit(record, element.getNameNode().getStart(), element.getNameNode().getStart(), `${renamed}: `, `{ ${member} } of the task → { ${renamed}: ${member} }`);
    } else if (LEGACY_ONLY.has(member)) {
      out.report(record, element, 'defer-result', 'warning', reason(element.getText(), member));
    }
  }
}

/** Every read of the task `call` resolves to, where the analysis can see it (see the header). */
export function migrateTaskMembers(out: RuleOutput, record: SourceRecord, call: CallExpression): void {
  const value = valueOf(call);
  memberOf(out, record, value);
  const parent = value.getParent();
  if (!parent || !Node.isVariableDeclaration(parent) || parent.getInitializer() !== value) return;
  const name = parent.getNameNode();
  if (!Node.isIdentifier(name)) return;
  const list = parent.getParent();
  if (!list || !Node.isVariableDeclarationList(list)) return;
  const refs = sameScopeReferences(name as Identifier);
  // A `let`/`var` assigned again may hold another value by the time it is read.
  if (list.getDeclarationKind() !== VariableDeclarationKind.Const && isReassigned(name as Identifier)) return;
  for (const ref of refs) memberOf(out, record, ref);
}
