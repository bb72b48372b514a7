// Just enough lexical scoping to tell whether an identifier denotes the
// module-level binding of the same name or a nearer declaration that shadows it.
import { Node, SyntaxKind, ts, type Identifier } from 'ts-morph';
import { compilerIdentifiersNamed, wrapCompilerNode } from './compiler-nodes.js';

// The scope walks run on the compiler's nodes (every identifier the resolver
// meets climbs its parent chain), against the names each scope declares, listed
// once per scope node; only the scope found is wrapped. Names are compared as
// ts-morph's getText() gives them: an identifier's cooked name (its `text`).

const declaredByScope = new WeakMap<ts.Node, ReadonlySet<string>>();

/** Adds the names a binding name declares (every name of a destructuring). */
export function addBindingNames(nameNode: ts.Node | undefined, names: Set<string>): void {
  if (!nameNode) return;
  if (ts.isIdentifier(nameNode)) names.add(nameNode.text);
  else if (ts.isObjectBindingPattern(nameNode) || ts.isArrayBindingPattern(nameNode)) {
    for (const element of nameNode.elements) if (ts.isBindingElement(element)) addBindingNames(element.name, names);
  }
}

/** A function's, class's or enum's own name (none when anonymous). */
function addOwnName(node: { name?: ts.Node }, names: Set<string>): void {
  if (node.name && ts.isIdentifier(node.name)) names.add(node.name.text);
}

function addStatementNames(scope: ts.Node, names: Set<string>): void {
  for (const statement of (scope as ts.Block | ts.ModuleBlock | ts.CaseOrDefaultClause).statements) {
    if (ts.isVariableStatement(statement)) for (const d of statement.declarationList.declarations) addBindingNames(d.name, names);
    else if (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isImportEqualsDeclaration(statement)) addOwnName(statement, names);
    // `namespace D {...}` in a namespace's block declares `D` there (a string-named `declare module` declares nothing).
    else if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name) && scope.kind === SyntaxKind.ModuleBlock) addOwnName(statement, names);
  }
}

function addParameterNames(scope: ts.Node, names: Set<string>): void {
  const fn = scope as ts.FunctionLikeDeclaration;
  for (const parameter of fn.parameters) addBindingNames(parameter.name, names);
  if (ts.isFunctionExpression(fn)) addOwnName(fn, names);
}

function addLoopNames(scope: ts.Node, names: Set<string>): void {
  const initializer = (scope as ts.ForStatement | ts.ForOfStatement | ts.ForInStatement).initializer;
  if (initializer && ts.isVariableDeclarationList(initializer)) for (const d of initializer.declarations) addBindingNames(d.name, names);
}

/**
 * The scope nodes and what each declares itself: a block's statements, a
 * function's parameters (and a function expression's own name), a class
 * expression's name, a loop's or catch clause's variables.
 */
const SCOPE_NAMES: Partial<Record<SyntaxKind, (scope: ts.Node, names: Set<string>) => void>> = {
  [SyntaxKind.Block]: addStatementNames,
  [SyntaxKind.ModuleBlock]: addStatementNames,
  [SyntaxKind.CaseClause]: addStatementNames,
  [SyntaxKind.DefaultClause]: addStatementNames,
  [SyntaxKind.FunctionDeclaration]: addParameterNames,
  [SyntaxKind.FunctionExpression]: addParameterNames,
  [SyntaxKind.ArrowFunction]: addParameterNames,
  [SyntaxKind.MethodDeclaration]: addParameterNames,
  [SyntaxKind.Constructor]: addParameterNames,
  [SyntaxKind.GetAccessor]: addParameterNames,
  [SyntaxKind.SetAccessor]: addParameterNames,
  [SyntaxKind.ClassExpression]: (scope, names) => addOwnName(scope as ts.ClassExpression, names),
  [SyntaxKind.ForStatement]: addLoopNames,
  [SyntaxKind.ForOfStatement]: addLoopNames,
  [SyntaxKind.ForInStatement]: addLoopNames,
  [SyntaxKind.CatchClause]: (scope, names) => addBindingNames((scope as ts.CatchClause).variableDeclaration?.name, names),
};

function scopeDeclares(scope: ts.Node, name: string): boolean {
  const collect = SCOPE_NAMES[scope.kind];
  if (!collect) return false;
  let names = declaredByScope.get(scope);
  if (!names) {
    const collected = new Set<string>();
    collect(scope, collected);
    declaredByScope.set(scope, collected);
    names = collected;
  }
  return names.has(name);
}

/** The nearest compiler scope node around `node` that declares `name`; undefined when only the module scope can. */
export function declaringCompilerScope(node: ts.Node, name: string): ts.Node | undefined {
  for (let current = node.parent; current && current.kind !== SyntaxKind.SourceFile; current = current.parent) {
    if (scopeDeclares(current, name)) return current;
  }
  return undefined;
}

/** True when a declaration nearer than the module scope binds the identifier's name. */
export function isShadowed(identifier: Node, name = identifier.getText()): boolean {
  return isShadowedAt(identifier.compilerNode, name);
}

/** `isShadowed` for a compiler node. */
export function isShadowedAt(node: ts.Node, name: string): boolean {
  return declaringCompilerScope(node, name) !== undefined;
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
    case SyntaxKind.LabeledStatement:
    case SyntaxKind.BreakStatement:
    case SyntaxKind.ContinueStatement:
    case SyntaxKind.JsxAttribute:
    case SyntaxKind.TypeAliasDeclaration:
    case SyntaxKind.InterfaceDeclaration:
    case SyntaxKind.TypeParameter:
      return false;
    // `import D = deferred` (in a namespace too) reads `deferred`; the alias's own name does not.
    case SyntaxKind.ImportEqualsDeclaration:
      return (parent as ts.ImportEqualsDeclaration).moduleReference === id;
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
  const scope = declaringCompilerScope(node.compilerNode, name);
  return scope && wrapCompilerNode(sf, scope);
}

/**
 * The uses of the binding `name` declares, in its own file, by lexical scope (the
 * language service would build the whole program for the first one): every
 * identifier that spells it, is a use and not a property name, and binds to the
 * same scope.
 */
export function sameScopeReferences(name: Identifier): Identifier[] {
  const text = name.getText();
  const sf = name.getSourceFile();
  const scope = declaringCompilerScope(name.compilerNode, text);
  const refs: Identifier[] = [];
  for (const compilerId of compilerIdentifiersNamed(sf, text)) {
    if (compilerId === name.compilerNode || declaringCompilerScope(compilerId, text) !== scope) continue;
    const id = wrapCompilerNode<Identifier>(sf, compilerId);
    if (isReference(id)) refs.push(id);
  }
  return refs;
}

/** An assignment target (`x`, `[x] =`, `({ x } =)`, `({ k: x } =)`, `[...x] =`) that writes `name`. */
function assignsName(target: ts.Node, name: string): boolean {
  if (ts.isIdentifier(target)) return target.text === name;
  // `(x as any) = v`, `x! = v`: TypeScript's assertions leave the target `x`.
  if (ts.isParenthesizedExpression(target) || ts.isAsExpression(target) || ts.isNonNullExpression(target) || ts.isTypeAssertionExpression(target) || ts.isSatisfiesExpression(target)) return assignsName(target.expression, name);
  if (ts.isArrayLiteralExpression(target)) return target.elements.some((element) => assignsName(element, name));
  if (ts.isSpreadElement(target) || ts.isSpreadAssignment(target)) return assignsName(target.expression, name);
  if (ts.isObjectLiteralExpression(target)) {
    return target.properties.some((property) =>
      ts.isShorthandPropertyAssignment(property) ? property.name.text === name : ts.isPropertyAssignment(property) ? assignsName(property.initializer, name) : ts.isSpreadAssignment(property) && assignsName(property.expression, name),
    );
  }
  // `[x = 1] = ...`: a default inside a destructuring assignment.
  if (ts.isBinaryExpression(target) && target.operatorToken.kind === ts.SyntaxKind.EqualsToken) return assignsName(target.left, name);
  return false;
}

/** The binding `nameNode` declares is assigned again in its scope (or one nested in it: conservative). */
export function isReassigned(nameNode: Identifier): boolean {
  const name = nameNode.getText();
  const scope = declaringScope(nameNode, name);
  const root = scope ?? nameNode.getSourceFile();
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found) return;
    if (ts.isBinaryExpression(node) && node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment && node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) {
      if (assignsName(node.left, name)) found = true;
    } else if ((ts.isForOfStatement(node) || ts.isForInStatement(node)) && !ts.isVariableDeclarationList(node.initializer) && assignsName(node.initializer, name)) {
      found = true;
    } else if (ts.isVariableDeclaration(node) && node.initializer && ts.isIdentifier(node.name) && node.name.text === name && node.pos > nameNode.compilerNode.pos) {
      // `var d = deferred.defer; ... var d = other`: a later `var` of the same scope assigns it again.
      if (declaringScope(wrapCompilerNode(nameNode.getSourceFile(), node.name), name) === scope) found = true;
    } else if ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) && ts.isIdentifier(node.operand) && node.operand.text === name) {
      found = true;
    }
    ts.forEachChild(node, visit);
  };
  visit(root.compilerNode);
  return found;
}

/** `access` is written (`x.k = v`, `x.k += v`, `x.k++`, `delete x.k`, a destructuring target). */
export function isWritten(access: Node): boolean {
  let outer = access;
  while (Node.isParenthesizedExpression(outer.getParent())) outer = outer.getParentOrThrow();
  const parent = outer.getParent();
  if (!parent) return false;
  if (Node.isBinaryExpression(parent)) {
    const operator = parent.getOperatorToken().getKind();
    return parent.getLeft() === outer && operator >= SyntaxKind.FirstAssignment && operator <= SyntaxKind.LastAssignment;
  }
  if (Node.isPrefixUnaryExpression(parent) || Node.isPostfixUnaryExpression(parent)) {
    const operator = parent.getOperatorToken();
    return operator === SyntaxKind.PlusPlusToken || operator === SyntaxKind.MinusMinusToken;
  }
  if (Node.isDeleteExpression(parent)) return true;
  return Node.isArrayLiteralExpression(parent) || Node.isShorthandPropertyAssignment(parent) || Node.isPropertyAssignment(parent) ? isDestructuringTarget(parent) : false;
}

/** An array or object literal on the left of `=` (or nested in one). */
function isDestructuringTarget(node: Node): boolean {
  let current: Node | undefined = node;
  while (current && (Node.isArrayLiteralExpression(current) || Node.isObjectLiteralExpression(current) || Node.isPropertyAssignment(current) || Node.isShorthandPropertyAssignment(current) || Node.isSpreadElement(current) || Node.isParenthesizedExpression(current))) {
    const parent: Node | undefined = current.getParent();
    if (parent && Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken && parent.getLeft() === current) return true;
    current = parent;
  }
  return false;
}

/**
 * The declaration an identifier binds to, found by lexical scope without the type
 * checker (its first use builds the whole program): a `const`/`let`/`var` of its scope
 * (the whole declaration when the name is destructured), or at module level also an
 * import clause, namespace import, import specifier or `import x = require()`. Undefined for a parameter, a
 * loop or catch variable, a function or class.
 */
export function bindingDeclaration(identifier: Node): Node | undefined {
  const name = identifier.getText();
  const sf = identifier.getSourceFile();
  const scope = declaringCompilerScope(identifier.compilerNode, name);
  const statements = scope ? (scope as Partial<ts.Block>).statements : sf.compilerNode.statements;
  if (!statements) return undefined;
  const binds = (nameNode: ts.Node): boolean => {
    const names = new Set<string>();
    addBindingNames(nameNode, names);
    return names.has(name);
  };
  for (const statement of statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) if (binds(declaration.name)) return wrapCompilerNode(sf, declaration);
    } else if (!scope && ts.isImportEqualsDeclaration(statement) && statement.name.text === name) {
      return wrapCompilerNode(sf, statement);
    } else if (!scope && ts.isImportDeclaration(statement) && statement.importClause) {
      const clause = statement.importClause;
      if (clause.name?.text === name) return wrapCompilerNode(sf, clause);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings) && bindings.name.text === name) return wrapCompilerNode(sf, bindings);
      if (bindings && ts.isNamedImports(bindings)) for (const element of bindings.elements) if (element.name.text === name) return wrapCompilerNode(sf, element);
    }
  }
  return undefined;
}
