// Just enough lexical scoping to tell whether an identifier denotes the
// module-level binding of the same name or a nearer declaration that shadows it.
import { Node, SyntaxKind, ts, type Identifier } from 'ts-morph';
import { morphTextIs, wrapCompilerNode } from './compiler-nodes.js';

// The scope walks run on the compiler's nodes (every identifier the resolver
// meets climbs its parent chain); only the scope found is wrapped. Names are
// compared as ts-morph's getText() gives them: an identifier's cooked name.

function bindingNameDeclares(sf: ts.SourceFile, nameNode: ts.Node | undefined, name: string): boolean {
  if (!nameNode) return false;
  if (ts.isIdentifier(nameNode)) return morphTextIs(sf, nameNode, name);
  if (ts.isObjectBindingPattern(nameNode) || ts.isArrayBindingPattern(nameNode)) {
    for (const element of nameNode.elements) {
      if (ts.isBindingElement(element) && bindingNameDeclares(sf, element.name, name)) return true;
    }
  }
  return false;
}

/** A function's, class's or enum's own name (`getName() === name`; none when anonymous). */
function ownNameIs(sf: ts.SourceFile, node: { name?: ts.Node }, name: string): boolean {
  return node.name !== undefined && morphTextIs(sf, node.name, name);
}

function statementDeclares(sf: ts.SourceFile, statement: ts.Statement, name: string): boolean {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.some((d) => bindingNameDeclares(sf, d.name, name));
  }
  if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement)) {
    return ownNameIs(sf, statement, name);
  }
  return false;
}

function scopeDeclares(sf: ts.SourceFile, scope: ts.Node, name: string): boolean {
  switch (scope.kind) {
    case SyntaxKind.Block:
    case SyntaxKind.ModuleBlock:
    case SyntaxKind.CaseClause:
    case SyntaxKind.DefaultClause:
      return (scope as ts.Block | ts.ModuleBlock | ts.CaseOrDefaultClause).statements.some((s) => statementDeclares(sf, s, name));
    case SyntaxKind.FunctionDeclaration:
    case SyntaxKind.FunctionExpression:
    case SyntaxKind.ArrowFunction:
    case SyntaxKind.MethodDeclaration:
    case SyntaxKind.Constructor:
    case SyntaxKind.GetAccessor:
    case SyntaxKind.SetAccessor: {
      const fn = scope as ts.FunctionLikeDeclaration;
      if (fn.parameters.some((p) => bindingNameDeclares(sf, p.name, name))) return true;
      return ts.isFunctionExpression(fn) && ownNameIs(sf, fn, name);
    }
    case SyntaxKind.ClassExpression:
      return ownNameIs(sf, scope as ts.ClassExpression, name);
    case SyntaxKind.ForStatement:
    case SyntaxKind.ForOfStatement:
    case SyntaxKind.ForInStatement: {
      const initializer = (scope as ts.ForStatement | ts.ForOfStatement | ts.ForInStatement).initializer;
      if (initializer && ts.isVariableDeclarationList(initializer)) {
        return initializer.declarations.some((d) => bindingNameDeclares(sf, d.name, name));
      }
      return false;
    }
    case SyntaxKind.CatchClause:
      return bindingNameDeclares(sf, (scope as ts.CatchClause).variableDeclaration?.name, name);
    default:
      return false;
  }
}

/** The nearest compiler scope node around `node` that declares `name`; undefined when only the module scope can. */
function declaringCompilerScope(sf: ts.SourceFile, node: ts.Node, name: string): ts.Node | undefined {
  for (let current = node.parent; current && current.kind !== SyntaxKind.SourceFile; current = current.parent) {
    if (scopeDeclares(sf, current, name)) return current;
  }
  return undefined;
}

/** True when a declaration nearer than the module scope binds the identifier's name. */
export function isShadowed(identifier: Node, name = identifier.getText()): boolean {
  return isShadowedAt(identifier.getSourceFile().compilerNode, identifier.compilerNode, name);
}

/** `isShadowed` for a compiler node of `sf`. */
export function isShadowedAt(sf: ts.SourceFile, node: ts.Node, name: string): boolean {
  return declaringCompilerScope(sf, node, name) !== undefined;
}

/** True when the identifier is a use of a binding, not a declaration or a property name. */
export function isReference(identifier: Identifier): boolean {
  // On the compiler's nodes (the wrappers compared below are those of these nodes);
  // export specifiers and namespaces keep ts-morph's answer.
  const id = identifier.compilerNode;
  const parent = id.parent as ts.Node | undefined;
  if (!parent) return false;
  switch (parent.kind) {
    case SyntaxKind.PropertyAccessExpression:
      return (parent as ts.PropertyAccessExpression).expression === id;
    case SyntaxKind.QualifiedName:
      return (parent as ts.QualifiedName).left === id;
    case SyntaxKind.PropertyAssignment:
    case SyntaxKind.PropertyDeclaration:
    case SyntaxKind.PropertySignature:
    case SyntaxKind.MethodDeclaration:
    case SyntaxKind.MethodSignature:
    case SyntaxKind.GetAccessor:
    case SyntaxKind.SetAccessor:
    case SyntaxKind.EnumMember:
      return (parent as ts.NamedDeclaration).name !== id;
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
      const specifier = identifier.getParentOrThrow() as import('ts-morph').ExportSpecifier;
      if (specifier.getExportDeclaration().getModuleSpecifier()) return false;
      return specifier.getNameNode() === identifier;
    }
    case SyntaxKind.BindingElement:
      return (parent as ts.BindingElement).initializer === id;
    case SyntaxKind.VariableDeclaration:
    case SyntaxKind.Parameter:
    case SyntaxKind.FunctionDeclaration:
    case SyntaxKind.FunctionExpression:
    case SyntaxKind.ClassDeclaration:
    case SyntaxKind.ClassExpression:
    case SyntaxKind.EnumDeclaration:
      return (parent as ts.NamedDeclaration).name !== id;
    case SyntaxKind.ModuleDeclaration:
      return (identifier.getParentOrThrow() as unknown as { getNameNode(): Node | undefined }).getNameNode() !== identifier;
    default:
      return true;
  }
}

/**
 * The nearest scope node (block, function, catch clause...) that declares
 * `name` around `node`; undefined when only the module scope can.
 */
export function declaringScope(node: Node, name: string): Node | undefined {
  const sf = node.getSourceFile();
  const scope = declaringCompilerScope(sf.compilerNode, node.compilerNode, name);
  return scope && wrapCompilerNode(sf, scope);
}
