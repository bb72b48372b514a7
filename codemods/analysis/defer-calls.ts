// Calls of `defer` (legacy or shim, any import style) with their callable and
// their trailing options object, as the contract defines it: the last argument
// when it is an object literal whose keys all begin with `_`.
import { Node, SyntaxKind, type CallExpression, type ObjectLiteralExpression } from 'ts-morph';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import { isDeferRef, type SymbolTable } from './legacy-symbols.js';
import type { SourceRecord } from './project.js';
import { BUILTIN_URL } from './route-tables.js';

export interface DeferCall {
  record: SourceRecord;
  call: CallExpression;
  fn: Node | undefined;
  options?: ObjectLiteralExpression;
  /** `_url` value: a literal string, 'dynamic' when not a literal, undefined when absent. */
  url: string | undefined;
}

function optionKey(property: Node): string | undefined {
  if (Node.isPropertyAssignment(property) || Node.isShorthandPropertyAssignment(property)) {
    const name = property.getNameNode();
    if (Node.isIdentifier(name) || Node.isStringLiteral(name)) return Node.isStringLiteral(name) ? name.getLiteralValue() : name.getText();
  }
  return undefined;
}

export function isOptionsLiteral(node: Node | undefined): node is ObjectLiteralExpression {
  if (!node || !Node.isObjectLiteralExpression(node)) return false;
  const properties = node.getProperties();
  return properties.length > 0 && properties.every((p) => optionKey(p)?.startsWith('_'));
}

export function optionProperty(options: ObjectLiteralExpression, key: string): Node | undefined {
  return options.getProperties().find((p) => optionKey(p) === key);
}

export function findDeferCalls(symbols: SymbolTable, records: SourceRecord[]): DeferCall[] {
  const calls: DeferCall[] = [];
  for (const record of records) {
    for (const compilerCall of compilerNodesOfKind(record.sourceFile, SyntaxKind.CallExpression)) {
      const call = wrapCompilerNode<CallExpression>(record.sourceFile, compilerCall);
      if (!isDeferRef(symbols.resolve(record, call.getExpression()))) continue;
      const args = call.getArguments();
      const last = args[args.length - 1];
      const deferCall: DeferCall = { record, call, fn: args[0], url: undefined };
      if (args.length > 1 && isOptionsLiteral(last)) {
        deferCall.options = last;
        const urlProperty = optionProperty(last, '_url');
        if (urlProperty) {
          const value = Node.isPropertyAssignment(urlProperty) ? urlProperty.getInitializer() : undefined;
          deferCall.url = value && (Node.isStringLiteral(value) || Node.isNoSubstitutionTemplateLiteral(value)) ? value.getLiteralValue() : 'dynamic';
        }
      }
      calls.push(deferCall);
    }
  }
  return calls;
}

/** The call sends its task to the built-in endpoint. */
export function usesDefaultUrl(call: DeferCall): boolean {
  return call.url === undefined || call.url === BUILTIN_URL;
}
