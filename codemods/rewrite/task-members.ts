// The members of the task a defer() call returns, read where the call's result is
// held. The legacy Task was the queue's own record (`queueName`, `etaMs`, `payload`,
// `retryCount`, ...); the shim's is `{ name, queue, eta, url, headers }`. So a read
// of another member gets undefined once migrated: silent in JavaScript. Two have a
// counterpart and are rewritten (`queueName` → `queue`, `etaMs` → `eta.getTime()`);
// the others are reported. Only reads the call's own expression or a `const` holding
// it (also destructured; a `let` or `var` too, when nothing assigns it again) reach are followed; a task handed on is left as before.
import { Node, SyntaxKind, VariableDeclarationKind, type CallExpression, type Identifier, type ObjectBindingPattern } from 'ts-morph';
import type { SourceRecord } from '../analysis/project.js';
import { sameScopeReferences } from '../analysis/scope.js';
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

function isWritten(access: Node): boolean {
  const parent = access.getParent();
  if (!parent) return false;
  if (Node.isBinaryExpression(parent) && parent.getLeft() === access && parent.getOperatorToken().getKind() >= SyntaxKind.FirstAssignment && parent.getOperatorToken().getKind() <= SyntaxKind.LastAssignment) return true;
  if ((Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent)) && [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(parent.getOperatorToken())) return true;
  return Node.isDeleteExpression(parent);
}

/** `({ task } = other)`, `[task] = list`, `for (task of ...)`: written other than by `=`. */
function isDestructuringTarget(ref: Node): boolean {
  for (let node: Node = ref, parent = node.getParent(); parent; node = parent, parent = node.getParent()) {
    if (Node.isBinaryExpression(parent)) return parent.getLeft() === node && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken;
    if (Node.isForOfStatement(parent) || Node.isForInStatement(parent)) return parent.getInitializer() === node;
    if (!(Node.isShorthandPropertyAssignment(parent) || Node.isPropertyAssignment(parent) || Node.isObjectLiteralExpression(parent) || Node.isArrayLiteralExpression(parent) || Node.isSpreadElement(parent) || Node.isSpreadAssignment(parent))) return false;
  }
  return false;
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
  }
}

function destructured(out: RuleOutput, record: SourceRecord, pattern: ObjectBindingPattern): void {
  for (const element of pattern.getElements()) {
    if (element.getDotDotDotToken()) continue;
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
  if (list.getDeclarationKind() !== VariableDeclarationKind.Const && refs.some((ref) => isWritten(ref) || isDestructuringTarget(ref))) return;
  for (const ref of refs) memberOf(out, record, ref);
}
