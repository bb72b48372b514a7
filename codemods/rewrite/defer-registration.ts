// Rule `defer-registration`: the shim runs only registered functions, so every
// function passed to defer() is registered right after its module-level
// declaration (in whichever file declares it), once.
import { Node, SyntaxKind, type Identifier } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import { findDeferCalls, findDeferValueUses, findPayloadCalls } from '../analysis/defer-calls.js';
import { resolveIdentifier, resolveModuleMember, type DeclarationNode, type Resolution } from '../analysis/declarations.js';
import { isMember } from '../analysis/legacy-symbols.js';
import { declaringScope, isReassigned } from '../analysis/scope.js';
import type { SourceRecord } from '../analysis/project.js';
import { quoted, semi } from '../analysis/style.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
import { AsyncPlanner, enclosingFunction, isFunctionLike, nameOf, type FunctionLike } from './async-plan.js';
import { addNeededImports } from './imports.js';
import { namespaceAccess, useShimName } from './names.js';
import { makeTransform } from './single-file.js';
import { indentAt } from './text.js';

export const meta: RuleMeta = {
  id: 'defer-registration',
  description: 'Registers every function passed to defer() where it is declared, so a fresh process knows it by name.',
  reasonCodes: ['non-registrable-callable', 'unresolved-legacy-reference'],
  docs: 'docs/manual-steps.md#non-registrable-callable',
};

interface Target {
  record: SourceRecord;
  node: DeclarationNode;
  name: string;
}

function isFunctionDeclaration(node: DeclarationNode): boolean {
  if (Node.isFunctionDeclaration(node)) return !!node.getName();
  if (Node.isVariableDeclaration(node)) {
    const initializer = node.getInitializer();
    return !!initializer && (Node.isFunctionExpression(initializer) || Node.isArrowFunction(initializer)) && Node.isIdentifier(node.getNameNode());
  }
  return false;
}

/** Top-level `register(fn)` / `deferred.register(fn, ...)` already present for `name`. */
export function hasRegistration(analysis: Analysis, record: SourceRecord, name: string): boolean {
  for (const statement of record.sourceFile.getStatements()) {
    if (!Node.isExpressionStatement(statement)) continue;
    const expression = statement.getExpression();
    if (!Node.isCallExpression(expression)) continue;
    const [first] = expression.getArguments();
    if (!first || !Node.isIdentifier(first) || first.getText() !== name) continue;
    if (isMember(analysis.symbols.resolve(record, expression.getExpression()), ['register'])) return true;
  }
  return false;
}

function describe(fn: Node): string {
  if (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn)) return 'an inline function';
  if (Node.isCallExpression(fn) && Node.isPropertyAccessExpression(fn.getExpression()) && fn.getExpression().getText().endsWith('.bind')) return 'a bound function';
  if (Node.isPropertyAccessExpression(fn) || Node.isElementAccessExpression(fn)) return 'a method or property';
  return 'an expression';
}

/** A parameter a task function came through: `fn` of `later(fn, ...args)`, which defers it. */
interface Forwarded {
  fn: FunctionLike;
  parameter: string;
}

/** Wrappers of wrappers are followed this deep. */
const MAX_FORWARDING = 8;

/** "Through `later()`'s parameter `fn`, " for a value that reaches defer() through parameters. */
function forwardedBy(via: readonly Forwarded[]): string {
  if (via.length === 0) return '';
  return `Passed on to defer() through ${via.map((step) => `the parameter \`${step.parameter}\` of ${nameOf(step.fn)}`).join(', then ')}: `;
}

function nonRegistrable(out: RuleOutput, record: SourceRecord, at: Node, what: string, callee = 'defer', via: readonly Forwarded[] = []): void {
  out.report(
    record,
    at,
    'non-registrable-callable',
    'warning',
    `${forwardedBy(via)}${callee}() is given ${what}, which cannot be registered by name. Move the work into a named module-level function (arguments carry the data), register it, and defer that.`,
  );
}

/** What a name declared inside a function is, for the report. */
function describeLocal(identifier: Identifier): string {
  const name = identifier.getText();
  const scope = declaringScope(identifier, name);
  const owner = scope && (isFunctionLike(scope) ? scope : enclosingFunction(scope));
  const of = owner ? ` of ${nameOf(owner)}` : '';
  if (scope && isFunctionLike(scope)) {
    const parameter = scope.getParameters().find((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === name);
    if (parameter?.isRestParameter()) return `\`${name}\`, an element of the rest parameter${of}`;
    if (parameter) return `\`${name}\`, a parameter${of} that is assigned again, so what it holds is not only what its callers pass`;
  }
  const statements = scope && (Node.isBlock(scope) || Node.isCaseClause(scope) || Node.isDefaultClause(scope) || Node.isModuleBlock(scope)) ? scope.getStatements() : [];
  const declaresFunction = (statement: Node): boolean =>
    Node.isFunctionDeclaration(statement)
      ? statement.getName() === name
      : Node.isVariableStatement(statement) && statement.getDeclarations().some((d) => d.getName() === name && isFunctionLike(unwrapFn(d.getInitializer() ?? d)));
  if (statements.some(declaresFunction)) return `\`${name}\`, a function declared inside another function (a closure)`;
  return `\`${name}\`, a local variable${of}, whose value the codemod does not follow`;
}

/**
 * `fn` is a plain parameter of the function that declares it, never assigned
 * again: what defer() gets is what each caller passes in its place.
 */
function forwardingParameter(identifier: Identifier): { fn: FunctionLike; index: number; name: string; initializer?: Node } | undefined {
  const name = identifier.getText();
  const scope = declaringScope(identifier, name);
  if (!scope || !isFunctionLike(scope)) return undefined;
  const parameters = scope.getParameters();
  const index = parameters.findIndex((p) => Node.isIdentifier(p.getNameNode()) && p.getName() === name);
  const parameter = parameters[index];
  if (!parameter || parameter.isRestParameter() || isReassigned(parameter.getNameNode() as Identifier)) return undefined;
  const initializer = parameter.getInitializer();
  return initializer ? { fn: scope, index, name, initializer } : { fn: scope, index, name };
}

function unwrapFn(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isAsExpression(current)) current = current.getExpression();
  return current;
}

export const rule: Rule = {
  meta,
  run(analysis, out) {
    const targets = new Map<DeclarationNode, Target>();
    // serialize(fn, ...) names fn in its payload as defer does: the shim's needs it registered.
    const serializeCalls = findPayloadCalls(analysis.symbols, analysis.candidates, 'serialize');
    const serializing = new Set(serializeCalls.map((c) => c.call));
    // What one value given to defer() registers; `via`: the parameter chain it came through.
    const enqueued = (record: SourceRecord, value: Node, callee: string, via: Forwarded[]): void => {
      const fn = unwrapFn(value);
      const report = (what: string): void => nonRegistrable(out, record, fn, what, callee, via);
      let resolution: Resolution;
      if (Node.isIdentifier(fn)) resolution = resolveIdentifier(analysis.index, record, fn as Identifier);
      else if (Node.isPropertyAccessExpression(fn) && Node.isIdentifier(fn.getExpression())) {
        // jobs.sendEmail through a namespace import of the module that declares it.
        resolution = resolveModuleMember(analysis.index, record, fn.getExpression() as Identifier, fn.getName());
        if (resolution.kind !== 'module') return report(describe(fn));
      } else return report(describe(fn));
      if (resolution.kind === 'module') {
        if (isFunctionDeclaration(resolution.node)) targets.set(resolution.node, { record: resolution.record, node: resolution.node, name: resolution.name });
        else report(`\`${fn.getText()}\`, which is not a function declared at module level`);
      } else if (resolution.kind === 'nested') {
        const parameter = Node.isIdentifier(fn) ? forwardingParameter(fn as Identifier) : undefined;
        if (!parameter) return report(Node.isIdentifier(fn) ? describeLocal(fn as Identifier) : `\`${fn.getText()}\`, a local value`);
        // `function later(fn, ...a) { defer(fn, ...a) }`: the functions its callers pass are the ones enqueued.
        if (via.some((step) => step.fn === parameter.fn) || via.length >= MAX_FORWARDING) {
          return report(`\`${fn.getText()}\`, a parameter of ${nameOf(parameter.fn)} passed on through too many calls`);
        }
        const callers = AsyncPlanner.of(analysis).findCallers(parameter.fn);
        if (!callers.ok) return report(`\`${fn.getText()}\`, a parameter of ${nameOf(parameter.fn)}, whose callers are not all known (${callers.reason})`);
        const step: Forwarded = { fn: parameter.fn, parameter: parameter.name };
        for (const call of callers.calls) {
          const callerRecord = analysis.index.load(call.getSourceFile().getFilePath());
          if (!callerRecord) continue;
          const args = call.getArguments();
          const spread = args.findIndex((arg) => Node.isSpreadElement(arg));
          if (spread >= 0 && spread <= parameter.index) {
            nonRegistrable(out, callerRecord, args[spread]!, `a spread argument in the place of \`${parameter.name}\``, callee, [step, ...via]);
            continue;
          }
          // No argument: the parameter's default, else defer(undefined), which throws before and after the migration alike.
          const arg = args[parameter.index] ?? parameter.initializer;
          if (arg) enqueued(arg === parameter.initializer ? record : callerRecord, arg, callee, [step, ...via]);
        }
      } else if (resolution.kind === 'external') {
        out.report(
          record,
          fn,
          'non-registrable-callable',
          'warning',
          `${forwardedBy(via)}\`${fn.getText()}\` comes from '${resolution.specifier}', outside the migrated files. Register it where it is declared (register(${fn.getText()})) before this code runs.`,
        );
      } else report(`\`${fn.getText()}\`, whose declaration was not found`);
    };
    for (const call of [...findDeferCalls(analysis.symbols, analysis.candidates), ...serializeCalls]) {
      if (call.fn) enqueued(call.record, call.fn, serializing.has(call.call) ? 'serialize' : 'defer', []);
    }

    // defer as a value: what it will enqueue is not known, so nothing is registered for it.
    for (const record of analysis.candidates) {
      for (const use of findDeferValueUses(analysis.symbols, record)) {
        out.report(
          record,
          use.node,
          'unresolved-legacy-reference',
          'warning',
          `\`${use.node.getText()}\` is ${use.member}() of the deferred module used as a value (bound, passed or stored), which the codemod does not follow: after migration it returns a Promise, and the functions it enqueues are not registered. Call it directly (or register each function it is given with register(fn)) and handle the Promise.`,
        );
      }
    }

    const byName = new Map<string, Target[]>();
    for (const target of targets.values()) byName.set(target.name, [...(byName.get(target.name) ?? []), target]);
    for (const target of targets.values()) {
      const { record, node, name } = target;
      if (hasRegistration(analysis, record, name)) continue;
      const collides = (byName.get(name)?.length ?? 0) > 1;
      const explicitName = collides ? `, ${quoted(record.style, `${record.rel.replace(/\.[^./]+$/, '')}:${name}`)}` : '';
      const statement = Node.isVariableDeclaration(node) ? node.getVariableStatement() : node;
      if (!statement || statement.getParent()?.getKind() !== SyntaxKind.SourceFile) continue;
      const namespace = namespaceAccess(analysis, record);
      const callee = namespace ? `${namespace.local}.register` : useShimName(analysis, out, record, 'register');
      if (namespace) out.use(record, [namespace.local]);
      const indent = indentAt(record.text, statement.getStart());
      out.edit(
        record,
        statement.getEnd(),
        statement.getEnd(),
        `${record.style.newline}${indent}${callee}(${name}${explicitName})${semi(record.style)}`,
        `registered ${name} for defer()`,
      );
    }
  },
};

export default makeTransform(rule, addNeededImports);
