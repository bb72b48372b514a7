// Follows a name to the declaration that gives it a value, across project files:
// module-level functions, classes and variables, through ESM imports/re-exports
// and CommonJS `require`/`module.exports`.
import { Node, SyntaxKind, ts, type Identifier, type SourceFile } from 'ts-morph';
import { compilerNodesOfKind, morphText, morphTextIs, wrapCompilerNode } from './compiler-nodes.js';
import { emittedReexport, importEqualsRequire, requireSpecifier, unwrap } from './legacy-symbols.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import { isShadowed } from './scope.js';

export type DeclarationNode = import('ts-morph').FunctionDeclaration | import('ts-morph').ClassDeclaration | import('ts-morph').VariableDeclaration;

/** A function a CommonJS module exports without a declaration of its own: `exports.f = function () {...}`, `module.exports = { f() {...} }`. */
export type ExportedFunctionNode = import('ts-morph').FunctionExpression | import('ts-morph').ArrowFunction | import('ts-morph').MethodDeclaration;

export type Resolution =
  | { kind: 'module'; record: SourceRecord; node: DeclarationNode; name: string }
  /** `exports.f = function () {...}` (or an arrow): the function is the export itself, not a name's declaration. */
  | { kind: 'exported-function'; record: SourceRecord; node: ExportedFunctionNode; name: string }
  /** An exported class without a declaration name: `module.exports = class ...`, `export default class extends ...`. */
  | { kind: 'class-value'; record: SourceRecord; node: import('ts-morph').ClassExpression | import('ts-morph').ClassDeclaration }
  /** Declared inside a function or block: a closure, not reachable by name. */
  | { kind: 'nested' }
  /** From a package or a file outside the run. */
  | { kind: 'external'; specifier: string }
  | { kind: 'unknown' };

/** Names a file binds at module level, as the compiler reads them (escapes cooked). */
interface ModuleNames {
  functions: Set<string>;
  classes: Set<string>;
  /** Every name a variable statement binds (destructuring included). */
  variables: Set<string>;
  /** Interfaces, type aliases, enums. */
  types: Set<string>;
  /** Default, namespace and named imports, by local name. */
  imported: Set<string>;
}

interface ModuleLookups {
  names: ModuleNames;
  /** moduleLevel() by name (null: none). */
  declarations: Map<string, DeclarationNode | null>;
  /** The import binding a name, by name (null: none). */
  imports: Map<string, { specifier: string; imported: string } | null>;
}

const lookupsCache = new WeakMap<ts.SourceFile, ModuleLookups>();

// Name lookups (resolveName, declaredInModule, the shim names rules pick) run for many
// names per file, often the same ones, and mostly find nothing: ts-morph's getFunction/
// getClass/getVariableDeclaration/getImportDeclarations wrap every statement to say so
// (getFunction also asks each function whether it is ambient). One pass over the
// compiler's statements lists the names each can find; a name outside the list is
// answered without wrapping, and answers are kept per file (the trees are not edited).
// Names are compared as ts-morph's getText() gives them: an identifier's cooked name
// (`\u0061` is `a`), which is the compiler's `text`.
function lookups(sourceFile: SourceFile): ModuleLookups {
  const sf = sourceFile.compilerNode;
  const cached = lookupsCache.get(sf);
  if (cached) return cached;
  const names: ModuleNames = { functions: new Set(), classes: new Set(), variables: new Set(), types: new Set(), imported: new Set() };
  const bind = (name: ts.Node): void => {
    if (ts.isIdentifier(name)) names.variables.add(name.text);
    else if (ts.isObjectBindingPattern(name) || ts.isArrayBindingPattern(name)) for (const element of name.elements) if (ts.isBindingElement(element)) bind(element.name);
  };
  for (const statement of sf.statements) {
    if (ts.isFunctionDeclaration(statement)) {
      if (statement.name) names.functions.add(statement.name.text);
    } else if (ts.isClassDeclaration(statement)) {
      if (statement.name) names.classes.add(statement.name.text);
    } else if (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) {
      names.types.add(statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (clause?.name) names.imported.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.imported.add(bindings.name.text);
      else if (bindings) for (const element of bindings.elements) names.imported.add(element.name.text);
    }
  }
  const result: ModuleLookups = { names, declarations: new Map(), imports: new Map() };
  lookupsCache.set(sf, result);
  return result;
}

function mayBeIn(names: Set<string>, name: string): boolean {
  return names.has(name);
}

/** False when no module-level function, class, variable, interface, type alias or enum of the file can be named `name`. */
export function mayDeclareAtModuleLevel(sourceFile: SourceFile, name: string): boolean {
  const { names } = lookups(sourceFile);
  return mayBeIn(names.functions, name) || mayBeIn(names.classes, name) || mayBeIn(names.variables, name) || mayBeIn(names.types, name);
}

/** False when no default, namespace or named import of the file can bind `name`. */
export function mayImportName(sourceFile: SourceFile, name: string): boolean {
  return mayBeIn(lookups(sourceFile).names.imported, name);
}

function moduleLevel(record: SourceRecord, name: string): DeclarationNode | undefined {
  const sf = record.sourceFile;
  const { names, declarations } = lookups(sf);
  const cached = declarations.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const found =
    (mayBeIn(names.functions, name) ? moduleFunction(sf, name) : undefined) ??
    (mayBeIn(names.classes, name) ? moduleClass(sf, name) : undefined) ??
    (mayBeIn(names.variables, name) ? (moduleVariable(sf, name) ?? destructuringDeclaration(record, name)) : undefined);
  declarations.set(name, found ?? null);
  return found;
}

// The lookups below answer as ts-morph's getFunction/getClass/getVariableDeclaration(name)
// do, on the compiler's statements (wrapping only the answer).

/** `sf.getFunction(name)`: the first implementation (or ambient declaration) named `name`. */
function moduleFunction(sf: SourceFile, name: string): import('ts-morph').FunctionDeclaration | undefined {
  const text = sf.compilerNode;
  for (const statement of text.statements) {
    if (!ts.isFunctionDeclaration(statement) || !statement.name || !morphTextIs(text, statement.name, name)) continue;
    // A body makes it an implementation, which getFunctions() lists; without one
    // (an overload, a `declare`), whether it is listed depends on its ambient context: ask ts-morph.
    return statement.body ? wrapCompilerNode(sf, statement) : sf.getFunction(name);
  }
  return undefined;
}

/** `sf.getClass(name)`. */
function moduleClass(sf: SourceFile, name: string): import('ts-morph').ClassDeclaration | undefined {
  const text = sf.compilerNode;
  const found = text.statements.find((statement) => ts.isClassDeclaration(statement) && !!statement.name && morphTextIs(text, statement.name, name));
  return found && wrapCompilerNode(sf, found);
}

/** Whether a binding name (or any name of a destructuring) is `name`, as ts-morph's nodeHasName reads it. */
function bindsName(text: ts.SourceFile, node: ts.BindingName, name: string): boolean {
  if (ts.isIdentifier(node)) return morphTextIs(text, node, name);
  return (node.elements as ts.NodeArray<ts.ArrayBindingElement>).some((element) => ts.isBindingElement(element) && bindsName(text, element.name, name));
}

/** `sf.getVariableDeclaration(name)`: the first module-level declaration binding `name`. */
function moduleVariable(sf: SourceFile, name: string): import('ts-morph').VariableDeclaration | undefined {
  const text = sf.compilerNode;
  for (const statement of text.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const found = statement.declarationList.declarations.find((declaration) => bindsName(text, declaration.name, name));
    if (found) return wrapCompilerNode(sf, found);
  }
  return undefined;
}

/** The first import declaration binding `name` (default or named), and what it imports. */
function importOf(sf: SourceFile, name: string): { specifier: string; imported: string } | undefined {
  const { imports } = lookups(sf);
  const cached = imports.get(name);
  if (cached !== undefined) return cached ?? undefined;
  const found = mayImportName(sf, name) ? findImport(sf, name) : undefined;
  imports.set(name, found ?? null);
  return found;
}

// As a loop over ts-morph's getImportDeclarations() reads them, on the compiler's statements.
function findImport(sf: SourceFile, name: string): { specifier: string; imported: string } | undefined {
  const text = sf.compilerNode;
  for (const statement of text.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    // getModuleSpecifierValue() throws on anything but a string literal: leave that to ts-morph.
    if (!ts.isStringLiteral(statement.moduleSpecifier)) return findImportWrapped(sf, name);
    const clause = statement.importClause;
    let imported: string | undefined;
    if (clause?.name && morphTextIs(text, clause.name, name)) imported = 'default';
    const bindings = clause?.namedBindings;
    if (bindings && ts.isNamedImports(bindings)) {
      for (const element of bindings.elements) {
        // The local name is `name` (the alias, or the imported identifier itself).
        if (!morphTextIs(text, element.name, name)) continue;
        const importedName = element.propertyName ?? element.name;
        // ts-morph's getName(): a string literal's value, an identifier's name.
        imported = ts.isStringLiteral(importedName) ? importedName.text : morphText(text, importedName);
      }
    }
    if (imported !== undefined) return { specifier: statement.moduleSpecifier.text, imported };
  }
  return undefined;
}

function findImportWrapped(sf: SourceFile, name: string): { specifier: string; imported: string } | undefined {
  for (const declaration of sf.getImportDeclarations()) {
    const specifier = declaration.getModuleSpecifierValue();
    let imported: string | undefined;
    if (declaration.getDefaultImport()?.getText() === name) imported = 'default';
    for (const named of declaration.getNamedImports()) {
      if ((named.getAliasNode()?.getText() ?? named.getName()) === name) imported = named.getName();
    }
    if (imported !== undefined) return { specifier, imported };
  }
  return undefined;
}

/** The module-level `const { a: name } = ...` that binds `name`. */
function destructuringDeclaration(record: SourceRecord, name: string): import('ts-morph').VariableDeclaration | undefined {
  const sf = record.sourceFile;
  const text = sf.compilerNode;
  for (const statement of text.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const found = statement.declarationList.declarations.find((declaration) => !ts.isIdentifier(declaration.name) && bindsName(text, declaration.name, name));
    if (found) return wrapCompilerNode(sf, found);
  }
  return undefined;
}

/** The file declares or imports `name` at module level (so it is not a global). */
export function declaredInModule(record: SourceRecord, name: string): boolean {
  const sf = record.sourceFile;
  if (moduleLevel(record, name)) return true;
  return (
    sf.getImportDeclarations().some(
      (d) => d.getDefaultImport()?.getText() === name || d.getNamespaceImport()?.getText() === name || d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name),
    ) || sf.getStatements().some((s) => Node.isImportEqualsDeclaration(s) && s.getName() === name)
  );
}

export function resolveIdentifier(index: ProjectIndex, record: SourceRecord, identifier: Identifier): Resolution {
  const name = identifier.getText();
  if (isShadowed(identifier)) return { kind: 'nested' };
  return resolveName(index, record, name, 0);
}

export function resolveName(index: ProjectIndex, record: SourceRecord, name: string, depth: number): Resolution {
  if (depth > 16) return { kind: 'unknown' };
  const imported = importOf(record.sourceFile, name);
  if (imported) return followImport(index, record, imported.specifier, imported.imported, depth);
  // TypeScript's `import H = require('./h')`: the module's `export =` value, as `require()` gives it.
  const importEquals = importEqualsOf(record.sourceFile, name);
  if (importEquals) return followImport(index, record, importEquals, 'default', depth);
  const local = moduleLevel(record, name);
  if (local && Node.isVariableDeclaration(local) && Node.isObjectBindingPattern(local.getNameNode())) {
    const initializer = local.getInitializer();
    const literal = initializer && requireSpecifier(initializer);
    const element = (local.getNameNode() as import('ts-morph').ObjectBindingPattern).getElements().find((e) => e.getName() === name);
    if (literal && element) return followImport(index, record, literal.getLiteralValue(), element.getPropertyNameNode()?.getText() ?? name, depth);
    // `const { Mail } = tasks`, where `tasks` is a module object (`import * as tasks`, `require()`, `import tasks = require()`).
    const object = initializer && unwrap(initializer);
    if (element && !element.getDotDotDotToken() && object && Node.isIdentifier(object) && local.getParent()?.getKindName() === 'VariableDeclarationList' && (local.getParent() as import('ts-morph').VariableDeclarationList).getDeclarationKind() === 'const') {
      const property = element.getPropertyNameNode();
      const member = property ? (Node.isStringLiteral(property) ? property.getLiteralValue() : property.getText()) : name;
      return memberOfModule(index, record, object, member, depth + 1);
    }
    return { kind: 'unknown' };
  }
  if (local && Node.isVariableDeclaration(local)) {
    const initializer = local.getInitializer();
    const nameNode = local.getNameNode();
    // const { fn } = require('./jobs') / const fn = require('./jobs').fn
    if (initializer) {
      const literal = requireSpecifier(initializer);
      if (literal && Node.isIdentifier(nameNode)) return followImport(index, record, literal.getLiteralValue(), 'default', depth);
      if (Node.isPropertyAccessExpression(initializer)) {
        const inner = requireSpecifier(initializer.getExpression());
        if (inner) return followImport(index, record, inner.getLiteralValue(), initializer.getName(), depth);
      }
    }
    return { kind: 'module', record, node: local, name };
  }
  if (local) return { kind: 'module', record, node: local, name };
  return { kind: 'unknown' };
}

/** `require('<specifier>').<member>` written inline: what the module exports under that name. */
export function resolveRequiredMember(index: ProjectIndex, record: SourceRecord, specifier: string, member: string): Resolution {
  return followImport(index, record, specifier, member, 0);
}

function followImport(index: ProjectIndex, record: SourceRecord, specifier: string, exported: string, depth: number): Resolution {
  const target = index.resolve(record.absPath, specifier);
  // An alias of the project that leads nowhere followable is not a package: what it imports is unknown.
  if (!target) return index.isUnfollowedAlias(record.absPath, specifier) ? { kind: 'unknown' } : { kind: 'external', specifier };
  const targetRecord = index.load(target);
  if (!targetRecord || targetRecord.parseProblem) return { kind: 'unknown' };
  return findExport(index, targetRecord, exported, depth + 1);
}

export function findExport(index: ProjectIndex, record: SourceRecord, exported: string, depth: number): Resolution {
  if (depth > 16) return { kind: 'unknown' };
  const sf = record.sourceFile;
  if (exported === 'default') {
    // `export default X`, or `export = X` (what `require()` and an interop default import give).
    const assignment = sf.getExportAssignment((e) => !e.isExportEquals()) ?? sf.getExportAssignment((e) => e.isExportEquals());
    const expression = assignment?.getExpression();
    if (expression && Node.isIdentifier(expression)) return resolveName(index, record, expression.getText(), depth + 1);
    const defaultFunction = sf.getFunctions().find((f) => f.hasDefaultKeyword()) ?? sf.getClasses().find((c) => c.hasDefaultKeyword());
    if (defaultFunction && defaultFunction.getName()) return { kind: 'module', record, node: defaultFunction, name: defaultFunction.getName()! };
    if (defaultFunction && Node.isClassDeclaration(defaultFunction)) return { kind: 'class-value', record, node: defaultFunction };
    if (expression && Node.isClassExpression(expression)) return { kind: 'class-value', record, node: expression };
  }
  const direct = moduleLevel(record, exported);
  if (direct && (Node.isVariableDeclaration(direct) ? direct.getVariableStatement()?.hasExportKeyword() : direct.hasExportKeyword())) {
    return { kind: 'module', record, node: direct, name: exported };
  }
  for (const declaration of sf.getExportDeclarations()) {
    const specifier = declaration.getModuleSpecifierValue();
    const named = declaration.getNamedExports();
    if (named.length === 0 && specifier && !declaration.getNamespaceExport()) {
      const found = followImport(index, record, specifier, exported, depth);
      if (found.kind === 'module') return found;
      continue;
    }
    for (const exportSpecifier of named) {
      if ((exportSpecifier.getAliasNode()?.getText() ?? exportSpecifier.getName()) !== exported) continue;
      if (specifier) return followImport(index, record, specifier, exportSpecifier.getName(), depth);
      return resolveName(index, record, exportSpecifier.getName(), depth + 1);
    }
  }
  // CommonJS: exports.fn = fn, module.exports.fn = fn, module.exports = { fn }. The last
  // module-level assignment is what importers get (a later one replaces an earlier), so
  // they are read from the end, and a later `module.exports = ...` that does not define
  // the name hides the earlier ones.
  for (const statement of [...sf.getStatements()].reverse()) {
    if (!Node.isExpressionStatement(statement)) continue;
    const expression = statement.getExpression();
    // TypeScript's emit: `Object.defineProperty(exports, 'X', { get: function () { return X; } })`.
    const emitted = Node.isCallExpression(expression) ? emittedReexport(expression) : undefined;
    if (emitted && emitted.name === exported) {
      const value = emitted.value;
      if (Node.isIdentifier(value)) return resolveName(index, record, value.getText(), depth + 1);
      if (Node.isPropertyAccessExpression(value) && Node.isIdentifier(value.getExpression())) return memberOfModule(index, record, value.getExpression() as Identifier, value.getName(), depth + 1);
      return { kind: 'unknown' };
    }
    if (!Node.isBinaryExpression(expression) || expression.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
    const left = expression.getLeft().getText();
    const right = expression.getRight();
    if (left === `exports.${exported}` || left === `module.exports.${exported}`) {
      if (Node.isIdentifier(right)) return resolveName(index, record, right.getText(), depth + 1);
      if (Node.isClassExpression(right)) return { kind: 'class-value', record, node: right };
      if (Node.isFunctionExpression(right) || Node.isArrowFunction(right)) return { kind: 'exported-function', record, node: right, name: exported };
      // Another value (TypeScript's `exports.f = void 0` placeholder comes before the real one).
      if (!Node.isVoidExpression(right)) return { kind: 'unknown' };
    }
    if (left === 'module.exports' && Node.isObjectLiteralExpression(right)) {
      for (const property of right.getProperties()) {
        if (Node.isShorthandPropertyAssignment(property) && property.getName() === exported) {
          return resolveName(index, record, exported, depth + 1);
        }
        if (Node.isPropertyAssignment(property) && property.getName() === exported) {
          const value = property.getInitializer();
          if (value && Node.isIdentifier(value)) return resolveName(index, record, value.getText(), depth + 1);
          if (value && Node.isClassExpression(value)) return { kind: 'class-value', record, node: value };
          if (value && (Node.isFunctionExpression(value) || Node.isArrowFunction(value))) return { kind: 'exported-function', record, node: value, name: exported };
        }
        if (Node.isMethodDeclaration(property) && property.getName() === exported) return { kind: 'exported-function', record, node: property, name: exported };
      }
    }
    // `module.exports = require('./tasks')`: a CommonJS barrel passing a project module on whole.
    const whole = left === 'module.exports' ? requireSpecifier(right) : undefined;
    if (whole && index.resolve(record.absPath, whole.getLiteralValue()) !== undefined) return followImport(index, record, whole.getLiteralValue(), exported, depth);
    if (left === 'module.exports' && Node.isIdentifier(right) && exported === 'default') {
      return resolveName(index, record, right.getText(), depth + 1);
    }
    if (left === 'module.exports' && Node.isClassExpression(right) && exported === 'default') return { kind: 'class-value', record, node: right };
    if (left === 'module.exports') return { kind: 'unknown' };
  }
  return { kind: 'unknown' };
}

/** `jobs.sendEmail` where `jobs` is a project module's namespace (`import * as jobs`, `const jobs = require()`). */
export function resolveModuleMember(index: ProjectIndex, record: SourceRecord, object: Identifier, member: string): Resolution {
  if (isShadowed(object)) return { kind: 'nested' };
  return memberOfModule(index, record, object, member, 0);
}

function memberOfModule(index: ProjectIndex, record: SourceRecord, object: Identifier, member: string, depth: number): Resolution {
  if (depth > 16) return { kind: 'unknown' };
  const name = object.getText();
  const sf = record.sourceFile;
  // `import { ns } from './barrel'` (`export * as ns from './tasks'` there), or
  // `import handlers from './handlers'` (`export default { D }` there).
  const imported = importOf(sf, name);
  if (imported) {
    const target = index.resolve(record.absPath, imported.specifier);
    const targetRecord = target ? index.load(target) : undefined;
    if (targetRecord && !targetRecord.parseProblem) {
      const held = exportedObjectMember(index, targetRecord, imported.imported, member, depth + 1);
      if (held) return isAssignedMember(sf, name, member) ? { kind: 'unknown' } : held;
    }
  }
  for (const declaration of sf.getImportDeclarations()) {
    if (declaration.getNamespaceImport()?.getText() !== name) continue;
    return followImport(index, record, declaration.getModuleSpecifierValue(), member, depth);
  }
  const variable = sf.getVariableDeclaration(name);
  const literal = variable?.getInitializer() && requireSpecifier(variable.getInitializer()!);
  if (variable && literal && Node.isIdentifier(variable.getNameNode())) return followImport(index, record, literal.getLiteralValue(), member, depth);
  // TypeScript's `import tasks = require('./tasks')`: the module object, as a require gives it.
  const importEquals = importEqualsOf(sf, name);
  if (importEquals) return followImport(index, record, importEquals, member, depth);
  return { kind: 'unknown' };
}

/** The specifier of `import <name> = require('<specifier>')`, if the file has one. */
function importEqualsOf(sf: SourceFile, name: string): string | undefined {
  for (const statement of sf.compilerNode.statements) {
    const importEquals = importEqualsRequire(statement);
    if (importEquals?.name === name && !importEquals.typeOnly) return importEquals.specifier;
  }
  return undefined;
}

/**
 * `member` of what `record` exports as `exported`, when that is an object the
 * analysis can read: a namespace re-export (`export * as ns from './tasks'`) or
 * an object literal default export (`export default { D, E: Other }`). Undefined
 * when the export is neither (the caller goes on with its other ways).
 */
function exportedObjectMember(index: ProjectIndex, record: SourceRecord, exported: string, member: string, depth: number): Resolution | undefined {
  const sf = record.sourceFile;
  for (const statement of sf.compilerNode.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause || !ts.isNamespaceExport(statement.exportClause)) continue;
    if (statement.exportClause.name.text !== exported || !statement.moduleSpecifier || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    return followImport(index, record, statement.moduleSpecifier.text, member, depth);
  }
  if (exported !== 'default') return undefined;
  // An ES default import of a CommonJS module without the `__esModule` marker is its exports object.
  if (isPlainCommonJs(record)) return findExport(index, record, member, depth);
  const assignment = sf.getExportAssignment((e) => !e.isExportEquals());
  const value = assignment && unwrap(assignment.getExpression());
  if (!value || !Node.isObjectLiteralExpression(value)) return undefined;
  // The last property of that name wins; a spread after it may replace it.
  let found: Resolution | undefined;
  for (const property of value.getProperties()) {
    if (Node.isSpreadAssignment(property)) found = { kind: 'unknown' };
    else if (Node.isShorthandPropertyAssignment(property) && property.getName() === member) found = resolveName(index, record, member, depth + 1);
    else if (Node.isPropertyAssignment(property) && property.getName() === member) {
      const initializer = property.getInitializer();
      const inner = initializer && unwrap(initializer);
      if (inner && Node.isIdentifier(inner)) found = resolveName(index, record, inner.getText(), depth + 1);
      else if (inner && Node.isClassExpression(inner)) found = { kind: 'class-value', record, node: inner };
      else if (inner && (Node.isFunctionExpression(inner) || Node.isArrowFunction(inner))) found = { kind: 'exported-function', record, node: inner, name: member };
      else found = { kind: 'unknown' };
    } else if (Node.isMethodDeclaration(property) && property.getName() === member) found = { kind: 'exported-function', record, node: property, name: member };
    else if ((Node.isGetAccessorDeclaration(property) || Node.isSetAccessorDeclaration(property)) && property.getName() === member) found = { kind: 'unknown' };
  }
  // A member the object does not hold reads `undefined`: nothing of the project.
  return found ?? { kind: 'unknown' };
}

/** A CommonJS module (no ES import or export, assigns `exports`) without TypeScript's `__esModule` marker. */
export function isPlainCommonJs(record: SourceRecord): boolean {
  const statements = record.sourceFile.compilerNode.statements;
  if (statements.some((s) => ts.isImportDeclaration(s) || ts.isExportDeclaration(s) || ts.isExportAssignment(s) || (ts.canHaveModifiers(s) && ts.getModifiers(s)?.some((m) => m.kind === SyntaxKind.ExportKeyword)))) return false;
  return /\b(?:module\.)?exports\b/.test(record.text) && !record.text.includes('__esModule');
}


/**
 * `<object>.<member> = ...` (or `['<member>']`, through parentheses and type
 * assertions) or `Object.assign(<object>, ...)` anywhere in the file: the importer
 * replaced what the module exported.
 */
export function isAssignedMember(sf: SourceFile, object: string, member: string): boolean {
  const isObject = (node: ts.Expression): boolean => {
    let current = node;
    while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isTypeAssertionExpression(current) || ts.isSatisfiesExpression(current) || ts.isNonNullExpression(current)) current = current.expression;
    return ts.isIdentifier(current) && current.text === object;
  };
  const assigned = compilerNodesOfKind<ts.BinaryExpression>(sf, SyntaxKind.BinaryExpression).some((node) => {
    if (node.operatorToken.kind < SyntaxKind.FirstAssignment || node.operatorToken.kind > SyntaxKind.LastAssignment) return false;
    const left = node.left;
    if (ts.isPropertyAccessExpression(left)) return left.name.text === member && isObject(left.expression);
    return ts.isElementAccessExpression(left) && (!ts.isStringLiteralLike(left.argumentExpression) || left.argumentExpression.text === member) && isObject(left.expression);
  });
  return assigned || compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression).some((call) => ts.isPropertyAccessExpression(call.expression) && call.expression.name.text === 'assign' && !!call.arguments[0] && isObject(call.arguments[0]));
}
