import type { Node } from 'ts-morph';

/** How a reason names a place in the code: `file.ts:line:column` (the base name; the item carries the path). */
export function where(node: Node): string {
  const { line, column } = node.getSourceFile().getLineAndColumnAtPos(node.getStart());
  return `${node.getSourceFile().getBaseName()}:${line}:${column}`;
}
