// Just enough lexical scoping to tell whether an identifier denotes the
// module-level binding of the same name or a nearer declaration that shadows it.
import { Node, SyntaxKind, type Identifier } from 'ts-morph';

function bindingNameDeclares(nameNode: Node | undefined, name: string): boolean {
  if (!nameNode) return false;
  if (Node.isIdentifier(nameNode)) return nameNode.getText() === name;
  if (Node.isObjectBindingPattern(nameNode) || Node.isArrayBindingPattern(nameNode)) {
    for (const element of nameNode.getElements()) {
      if (Node.isBindingElement(element) && bindingNameDeclares(element.getNameNode(), name)) return true;
    }
  }
  return false;
}

function statementDeclares(statement: Node, name: string): boolean {
  if (Node.isVariableStatement(statement)) {
    return statement.getDeclarations().some((d) => bindingNameDeclares(d.getNameNode(), name));
  }
  if (Node.isFunctionDeclaration(statement) || Node.isClassDeclaration(statement) || Node.isEnumDeclaration(statement)) {
    return statement.getName() === name;
  }
  return false;
}

function scopeDeclares(scope: Node, name: string): boolean {
  if (Node.isBlock(scope) || Node.isModuleBlock(scope) || Node.isCaseClause(scope) || Node.isDefaultClause(scope)) {
    return scope.getStatements().some((s) => statementDeclares(s, name));
  }
  if (
    Node.isFunctionDeclaration(scope) ||
    Node.isFunctionExpression(scope) ||
    Node.isArrowFunction(scope) ||
    Node.isMethodDeclaration(scope) ||
    Node.isConstructorDeclaration(scope) ||
    Node.isGetAccessorDeclaration(scope) ||
    Node.isSetAccessorDeclaration(scope)
  ) {
    if (scope.getParameters().some((p) => bindingNameDeclares(p.getNameNode(), name))) return true;
    if (Node.isFunctionExpression(scope) && scope.getName() === name) return true;
    return false;
  }
  if (Node.isClassExpression(scope)) return scope.getName() === name;
  if (Node.isForStatement(scope) || Node.isForOfStatement(scope) || Node.isForInStatement(scope)) {
    const initializer = scope.getInitializer();
    if (initializer && Node.isVariableDeclarationList(initializer)) {
      return initializer.getDeclarations().some((d) => bindingNameDeclares(d.getNameNode(), name));
    }
    return false;
  }
  if (Node.isCatchClause(scope)) {
    return bindingNameDeclares(scope.getVariableDeclaration()?.getNameNode(), name);
  }
  return false;
}

/** True when a declaration nearer than the module scope binds the identifier's name. */
export function isShadowed(identifier: Node, name = identifier.getText()): boolean {
  for (let node = identifier.getParent(); node && !Node.isSourceFile(node); node = node.getParent()) {
    if (scopeDeclares(node, name)) return true;
  }
  return false;
}

/** True when the identifier is a use of a binding, not a declaration or a property name. */
export function isReference(identifier: Identifier): boolean {
  const parent = identifier.getParent();
  if (!parent) return false;
  switch (parent.getKind()) {
    case SyntaxKind.PropertyAccessExpression:
      return (parent as import('ts-morph').PropertyAccessExpression).getExpression() === identifier;
    case SyntaxKind.QualifiedName:
      return (parent as import('ts-morph').QualifiedName).getLeft() === identifier;
    case SyntaxKind.PropertyAssignment:
    case SyntaxKind.PropertyDeclaration:
    case SyntaxKind.PropertySignature:
    case SyntaxKind.MethodDeclaration:
    case SyntaxKind.MethodSignature:
    case SyntaxKind.GetAccessor:
    case SyntaxKind.SetAccessor:
    case SyntaxKind.EnumMember:
      return (parent as unknown as { getNameNode(): Node }).getNameNode() !== identifier;
    case SyntaxKind.ImportSpecifier:
    case SyntaxKind.ImportClause:
    case SyntaxKind.NamespaceImport:
    case SyntaxKind.NamespaceExport:
    case SyntaxKind.ImportEqualsDeclaration:
    case SyntaxKind.LabeledStatement:
    case SyntaxKind.BreakStatement:
    case SyntaxKind.ContinueStatement:
    case SyntaxKind.JsxAttribute:
    case SyntaxKind.TypeAliasDeclaration:
    case SyntaxKind.InterfaceDeclaration:
    case SyntaxKind.TypeParameter:
      return false;
    case SyntaxKind.ExportSpecifier: {
      const specifier = parent as import('ts-morph').ExportSpecifier;
      if (specifier.getExportDeclaration().getModuleSpecifier()) return false;
      return specifier.getNameNode() === identifier;
    }
    case SyntaxKind.BindingElement: {
      const element = parent as import('ts-morph').BindingElement;
      return element.getInitializer() === identifier;
    }
    case SyntaxKind.VariableDeclaration:
    case SyntaxKind.Parameter:
    case SyntaxKind.FunctionDeclaration:
    case SyntaxKind.FunctionExpression:
    case SyntaxKind.ClassDeclaration:
    case SyntaxKind.ClassExpression:
    case SyntaxKind.EnumDeclaration:
    case SyntaxKind.ModuleDeclaration:
      return (parent as unknown as { getNameNode(): Node | undefined }).getNameNode() !== identifier;
    default:
      return true;
  }
}

/**
 * The nearest scope node (block, function, catch clause...) that declares
 * `name` around `node`; undefined when only the module scope can.
 */
export function declaringScope(node: Node, name: string): Node | undefined {
  for (let current = node.getParent(); current && !Node.isSourceFile(current); current = current.getParent()) {
    if (scopeDeclares(current, name)) return current;
  }
  return undefined;
}
