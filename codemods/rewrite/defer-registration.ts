// Rule `defer-registration`: the shim runs only registered functions, so every
// function passed to defer() is registered right after its module-level
// declaration (in whichever file declares it), once.
import { Node, SyntaxKind, type Identifier } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import { findDeferCalls, findDeferValueUses, findPayloadCalls } from '../analysis/defer-calls.js';
import { resolveIdentifier, resolveModuleMember, type DeclarationNode, type Resolution } from '../analysis/declarations.js';
import { isMember } from '../analysis/legacy-symbols.js';
import type { SourceRecord } from '../analysis/project.js';
import { quoted, semi } from '../analysis/style.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
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

function nonRegistrable(out: RuleOutput, record: SourceRecord, at: Node, what: string, callee = 'defer'): void {
  out.report(
    record,
    at,
    'non-registrable-callable',
    'warning',
    `${callee}() is given ${what}, which cannot be registered by name. Move the work into a named module-level function (arguments carry the data), register it, and defer that.`,
  );
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
    for (const call of [...findDeferCalls(analysis.symbols, analysis.candidates), ...serializeCalls]) {
      if (!call.fn) continue;
      const callee = serializing.has(call.call) ? 'serialize' : 'defer';
      const fn = unwrapFn(call.fn);
      let resolution: Resolution;
      if (Node.isIdentifier(fn)) resolution = resolveIdentifier(analysis.index, call.record, fn as Identifier);
      else if (Node.isPropertyAccessExpression(fn) && Node.isIdentifier(fn.getExpression())) {
        // jobs.sendEmail through a namespace import of the module that declares it.
        resolution = resolveModuleMember(analysis.index, call.record, fn.getExpression() as Identifier, fn.getName());
        if (resolution.kind !== 'module') {
          nonRegistrable(out, call.record, fn, describe(fn), callee);
          continue;
        }
      } else {
        nonRegistrable(out, call.record, fn, describe(fn), callee);
        continue;
      }
      if (resolution.kind === 'module') {
        if (isFunctionDeclaration(resolution.node)) {
          targets.set(resolution.node, { record: resolution.record, node: resolution.node, name: resolution.name });
        } else {
          nonRegistrable(out, call.record, fn, `\`${fn.getText()}\`, which is not a function declared at module level`, callee);
        }
      } else if (resolution.kind === 'nested') {
        nonRegistrable(out, call.record, fn, `\`${fn.getText()}\`, a function declared inside another function (a closure)`, callee);
      } else if (resolution.kind === 'external') {
        out.report(
          call.record,
          fn,
          'non-registrable-callable',
          'warning',
          `\`${fn.getText()}\` comes from '${resolution.specifier}', outside the migrated files. Register it where it is declared (register(${fn.getText()})) before this code runs.`,
        );
      } else {
        nonRegistrable(out, call.record, fn, `\`${fn.getText()}\`, whose declaration was not found`, callee);
      }
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
