// What the async planner and the rules count as a function, and how reasons name one.
import { Node, SyntaxKind, type ArrowFunction, type ConstructorDeclaration, type FunctionDeclaration, type FunctionExpression, type GetAccessorDeclaration, type MethodDeclaration, type SetAccessorDeclaration } from 'ts-morph';

export type FunctionLike =
  | FunctionDeclaration
  | FunctionExpression
  | ArrowFunction
  | MethodDeclaration
  | ConstructorDeclaration
  | GetAccessorDeclaration
  | SetAccessorDeclaration;

/** The kinds of `FunctionLike`, also for walks on the compiler's nodes. */
export const FUNCTION_LIKE_KINDS: ReadonlySet<SyntaxKind> = new Set([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

export function isFunctionLike(node: Node): node is FunctionLike {
  return FUNCTION_LIKE_KINDS.has(node.getKind());
}

/** How a reason names `fn`: its name in backticks, or what it is. */
export function nameOf(fn: FunctionLike): string {
  if (Node.isConstructorDeclaration(fn)) return 'the constructor';
  if (Node.isFunctionDeclaration(fn) || Node.isMethodDeclaration(fn) || Node.isGetAccessorDeclaration(fn) || Node.isSetAccessorDeclaration(fn)) {
    return `\`${fn.getName() ?? 'default'}\``;
  }
  const parent = fn.getParent();
  if (parent && Node.isVariableDeclaration(parent)) return `\`${parent.getName()}\``;
  // `exports.schedule = function () {...}`
  if (parent && Node.isBinaryExpression(parent) && parent.getRight() === fn && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken) return `\`${parent.getLeft().getText()}\``;
  return 'the function';
}
