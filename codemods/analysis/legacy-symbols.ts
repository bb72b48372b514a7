// Resolves, per file, which local names and expressions denote the legacy
// deferred/webapp module (or the shim, so that migrated code is recognised):
// every import style of the contract, CommonJS, aliases and project barrels.
import { Node, SyntaxKind, ts, type BindingElement, type CallExpression, type Identifier, type SourceFile, type StringLiteral, type VariableStatement } from 'ts-morph';
import { compilerNodesOfKind } from './compiler-nodes.js';
import { findImportTypes, moduleTypedParameter, typedParameter } from './import-types.js';
import type { ProjectIndex, SourceRecord } from './project.js';
import { declaringCompilerScope, declaringScope, isReassigned, isReference, isWritten } from './scope.js';
import { SHIM_EXPORTS } from './shim-exports.js';
import { roleOfSpecifier, type ModuleMatchers, type ModuleRole } from './specifiers.js';

export interface BarrelExports {
  named: Map<string, SymbolRef>;
  /** `export * from` a legacy module (directly or through another barrel). */
  star: ModuleRole[];
  /** `module.exports = <ref>`: what `require()` of the file (or its default import) denotes. */
  whole?: SymbolRef;
  /** Names the module exports itself (declarations, `export { x }`, `exports.x =`): a star re-export does not reach them. */
  own?: Set<string>;
  /** A CommonJS module without the `__esModule` marker: an ES default import of it is its exports object. */
  commonjs?: boolean;
}

export type SymbolRef =
  | { kind: 'namespace'; role: ModuleRole }
  | { kind: 'member'; role: ModuleRole; name: string }
  | { kind: 'barrel-namespace'; exports: BarrelExports }
  /** Derived from a legacy symbol in a way the tracker cannot follow (reassigned, computed key...). */
  | { kind: 'unresolved'; reason: string };

export type ImportSiteKind = 'esm-import' | 'import-equals' | 'cjs-variable' | 'cjs-inline' | 'reexport';

export interface ImportSite {
  kind: ImportSiteKind;
  /** ImportDeclaration, ImportEqualsDeclaration, VariableStatement, CallExpression (inline require) or ExportDeclaration. */
  node: Node;
  role: ModuleRole;
  specifier: StringLiteral;
  /** Imported from a project file that re-exports the module. */
  viaBarrel: boolean;
}

export interface Binding {
  local: string;
  ref: SymbolRef;
  nameNode: Identifier;
  site?: ImportSite;
  typeOnly: boolean;
  /** Bound by destructuring a legacy value: the element (its property names the member). */
  element?: BindingElement;
  /** The nearer scope that declares it (function, block, IIFE parameters); module level when absent. */
  scope?: Node;
  /**
   * Read through a barrel's named export (not its star): the migrated barrel keeps
   * that public name (`export { Handler as TaskHandler }`), so this binding does too.
   */
  keepsName?: boolean;
}

/** A place where a legacy value flows somewhere the tracker does not follow. */
export interface UnresolvedReference {
  node: Node;
  reason: string;
}

export interface FileSymbols {
  /** Module-level bindings by local name. */
  bindings: Map<string, Binding>;
  /** Bindings of nearer scopes, by scope node, then local name. */
  scoped: Map<Node, Map<string, Binding>>;
  sites: ImportSite[];
  dynamic: Node[];
  exports: BarrelExports;
  unresolved: UnresolvedReference[];
}

/** Every legacy reference of a file: an expression (or binding name) and what it reaches. */
export interface LegacyReference {
  node: Node;
  ref: SymbolRef;
  /** A member the shim does not offer (TaskHandler), or a value the tracker lost: see isLegacyOnly. */
  legacyOnly: boolean;
}

const EMPTY_EXPORTS: BarrelExports = { named: new Map(), star: [] };

export function hasExports(exports: BarrelExports): boolean {
  return exports.named.size > 0 || exports.star.length > 0 || exports.whole !== undefined;
}

/**
 * Whether a ref reaches something only the legacy deferred module has: a member
 * the shim has no namesake for, read from the legacy module or from the shim
 * (where it is undefined), or a value the tracker lost. The webapp module is
 * not replaced by the migration, so its members are not legacy-only.
 */
export function isLegacyOnly(ref: SymbolRef): boolean {
  if (ref.kind === 'unresolved') return true;
  return ref.kind === 'member' && (ref.role === 'deferred' || ref.role === 'shim') && !SHIM_EXPORTS.has(ref.name);
}

/** A member of what `ref` denotes (`ref.name`), when the tracker knows it. */
function memberOf(ref: SymbolRef, name: string): SymbolRef | undefined {
  if (ref.kind === 'namespace') return memberRef(ref.role, name);
  // `import * as ns from './tasks.cjs'`: `ns.default` is a CommonJS module's exports object.
  if (ref.kind === 'barrel-namespace') return name === 'default' ? defaultOf(ref.exports) : lookupExport(ref.exports, name);
  if (ref.kind === 'unresolved') return ref;
  return undefined;
}

/** What a member read (`x.m`, `x['m']`, `X.m` in a type) of a value denoting `baseRef` reaches. */
function memberRead(read: import('ts-morph').PropertyAccessExpression | import('ts-morph').ElementAccessExpression | import('ts-morph').QualifiedName, baseRef: SymbolRef | undefined): SymbolRef | undefined {
  if (!baseRef) return undefined;
  if (Node.isPropertyAccessExpression(read)) return memberOf(baseRef, read.getName());
  if (Node.isQualifiedName(read)) return memberOf(baseRef, read.getRight().getText());
  const arg = read.getArgumentExpression();
  if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) return memberOf(baseRef, arg.getLiteralValue());
  return isTrackedNamespace(baseRef) ? { kind: 'unresolved', reason: 'a computed member of the deferred module' } : undefined;
}

/** Refs that are objects holding legacy members (the module, a barrel of it). */
function isNamespaceLike(ref: SymbolRef): boolean {
  return ref.kind === 'namespace' ? isLegacyRole(ref.role) : ref.kind === 'barrel-namespace';
}

/**
 * Module objects whose flow the tracker must follow: the legacy ones, and the
 * shim's (what a legacy namespace becomes), so that a second run reports the
 * same escapes as the first.
 */
function isTrackedNamespace(ref: SymbolRef): boolean {
  return isNamespaceLike(ref) || (ref.kind === 'namespace' && ref.role === 'shim');
}

export function isLegacyRole(role: ModuleRole): boolean {
  return role === 'deferred' || role === 'webapp';
}

/** `deferred.defer` of the legacy module or of the shim. */
export function isMember(ref: SymbolRef | undefined, names: string[], roles: ModuleRole[] = ['deferred', 'shim']): boolean {
  return !!ref && ref.kind === 'member' && roles.includes(ref.role) && names.includes(ref.name);
}

export function isHandlerRef(ref: SymbolRef | undefined): boolean {
  return (
    (!!ref && ref.kind === 'member' && ref.role === 'deferred' && ref.name === 'TaskHandler') ||
    (!!ref && ref.kind === 'member' && ref.role === 'shim' && ref.name === 'Handler')
  );
}

export function isDeferRef(ref: SymbolRef | undefined): boolean {
  return isMember(ref, ['defer']);
}

export function isWsgiApplicationRef(ref: SymbolRef | undefined): boolean {
  return isMember(ref, ['WSGIApplication'], ['webapp']);
}

function memberRef(role: ModuleRole, name: string): SymbolRef {
  // The shim's `deferred` export is the namespace itself, and so is a legacy module's default export.
  if (role === 'shim' && name === 'deferred') return { kind: 'namespace', role };
  if (role !== 'shim' && name === 'default') return { kind: 'namespace', role };
  return { kind: 'member', role, name };
}

/**
 * What `require()` (or `import x = require()`) of a project module denotes: the
 * value of its `module.exports =` / `export =` when that is a member
 * (`module.exports = deferred.defer`) or a lost value, else the module as a barrel.
 */
function requiredValue(exports: BarrelExports): SymbolRef {
  return exports.whole && exports.whole.kind !== 'namespace' ? exports.whole : { kind: 'barrel-namespace', exports };
}

function lookupExport(exports: BarrelExports, name: string): SymbolRef | undefined {
  const named = exports.named.get(name);
  if (named) return named;
  // A local export shadows a star re-export, and `export *` never re-exports `default`.
  if (exports.own?.has(name) || name === 'default') return undefined;
  const role = exports.star[0];
  if (role) return memberRef(role, name);
  return exports.whole ? memberOf(exports.whole, name) : undefined;
}

/** `node` with the parentheses around it (the counterpart of `unwrap`'s inward walk, parentheses only). */
export function outermost(node: Node): Node {
  let outer = node;
  while (Node.isParenthesizedExpression(outer.getParent())) outer = outer.getParent()!;
  return outer;
}

/** `node` with what `unwrap` looks through around it: parentheses, `as`, `<T>`, `satisfies` and `!`. */
export function outermostExpression(node: Node): Node {
  let outer = node;
  for (let parent = outer.getParent(); parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent) || Node.isTypeAssertion(parent) || Node.isSatisfiesExpression(parent) || Node.isNonNullExpression(parent)); parent = outer.getParent()) outer = parent;
  return outer;
}

/** The expression inside parentheses, `as`, `<T>`, `satisfies` and `!`. */
export function unwrap(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isTypeAssertion(current) || Node.isSatisfiesExpression(current) || Node.isNonNullExpression(current)) {
    current = current.getExpression();
  }
  return current;
}

/** Whether some scope of the file (module level or nearer) binds `name`. */
function isBoundName(symbols: FileSymbols, name: string): boolean {
  if (symbols.bindings.has(name)) return true;
  for (const names of symbols.scoped.values()) if (names.has(name)) return true;
  return false;
}

/** `unwrap` on a compiler node. */
export function unwrapCompiler(node: ts.Expression): ts.Expression {
  let current = node;
  while (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isTypeAssertionExpression(current) || ts.isSatisfiesExpression(current) || ts.isNonNullExpression(current)) current = current.expression;
  return current;
}

/**
 * Interop helpers of TypeScript's and Babel's CommonJS emit (`import express from 'express'` →
 * `__importDefault(require('express'))`), by what they make of a module: the module object
 * itself (`namespace`), or `{ default: module }` (`default`). Undefined for another name.
 */
export function interopHelperKind(name: string): 'default' | 'namespace' | undefined {
  return Object.hasOwn(INTEROP_HELPERS, name) ? INTEROP_HELPERS[name] : undefined;
}

const INTEROP_HELPERS: Readonly<Record<string, 'default' | 'namespace'>> = {
  __importDefault: 'default',
  _interopRequireDefault: 'default',
  __importStar: 'namespace',
  _interopRequireWildcard: 'namespace',
};

/** Necessary for `requireSpecifier` to find a literal: a call of an identifier named `require`. */
export function mayBeRequireCall(node: ts.Expression): boolean {
  const call = unwrapCompiler(node);
  return ts.isCallExpression(call) && ts.isIdentifier(call.expression) && call.expression.text === 'require';
}

/** Necessary for a declaration to be a require import site: `require(...)` or `require(...).member`. */
function mayInitializeFromRequire(initializer: ts.Expression | undefined): boolean {
  if (!initializer) return false;
  const value = unwrapCompiler(initializer);
  return mayBeRequireCall(value) || (ts.isPropertyAccessExpression(value) && mayBeRequireCall(value.expression));
}

/** Necessary for a module-level expression statement to export something: `Object.assign(...)` or an `=` assignment. */
function mayExport(expression: ts.Expression): boolean {
  const value = unwrapCompiler(expression);
  if (ts.isCallExpression(value)) {
    const callee = calleeName(value.expression);
    return callee === 'assign' || callee === 'defineProperty' || callee === '__exportStar' || callee === '__export';
  }
  return ts.isBinaryExpression(value) && value.operatorToken.kind === SyntaxKind.EqualsToken;
}

/** TypeScript's `import name = require('<literal>')`: the name, the literal's text, and whether it is `import type`. */
export function importEqualsRequire(statement: ts.Statement): { name: string; specifier: string; typeOnly: boolean } | undefined {
  if (!ts.isImportEqualsDeclaration(statement) || !ts.isExternalModuleReference(statement.moduleReference)) return undefined;
  const literal = statement.moduleReference.expression;
  return ts.isStringLiteral(literal) ? { name: statement.name.text, specifier: literal.text, typeOnly: statement.isTypeOnly } : undefined;
}

/** `require('<literal>')` → the literal node. */
export function requireSpecifier(node: Node): StringLiteral | undefined {
  const call = unwrap(node);
  if (!Node.isCallExpression(call)) return undefined;
  const callee = call.getExpression();
  if (!Node.isIdentifier(callee) || callee.getText() !== 'require') return undefined;
  const [arg] = call.getArguments();
  if (arg && Node.isStringLiteral(arg) && call.getArguments().length === 1) return arg;
  return undefined;
}

export class SymbolTable {
  private readonly symbols = new Map<string, FileSymbols>();
  private readonly inProgress = new Set<string>();

  constructor(
    readonly index: ProjectIndex,
    private readonly matchers: ModuleMatchers,
  ) {}

  /** What a specifier imported from `record` denotes: a module role, a barrel, or nothing of ours. */
  private target(record: SourceRecord, specifier: string): { role: ModuleRole } | { barrel: BarrelExports; absPath: string } | undefined {
    const role = roleOfSpecifier(specifier, this.matchers, record.absPath);
    if (role) return { role };
    const resolved = this.index.resolve(record.absPath, specifier);
    if (!resolved) return undefined;
    const exports = this.exportsOf(resolved);
    if (!hasExports(exports)) return undefined;
    return { barrel: exports, absPath: resolved };
  }

  exportsOf(absPath: string): BarrelExports {
    const record = this.index.load(absPath);
    if (!record || record.parseProblem) return EMPTY_EXPORTS;
    return this.of(record).exports;
  }

  of(record: SourceRecord): FileSymbols {
    const cached = this.symbols.get(record.absPath);
    if (cached) return cached;
    if (this.inProgress.has(record.absPath)) return { bindings: new Map(), scoped: new Map(), sites: [], dynamic: [], exports: EMPTY_EXPORTS, unresolved: [] };
    this.inProgress.add(record.absPath);
    const result = this.compute(record);
    this.inProgress.delete(record.absPath);
    this.symbols.set(record.absPath, result);
    return result;
  }

  private compute(record: SourceRecord): FileSymbols {
    const sf = record.sourceFile;
    const bindings = new Map<string, Binding>();
    const sites: ImportSite[] = [];
    const dynamic: Node[] = [];
    const exports: BarrelExports = { named: new Map(), star: [] };
    const scoped = new Map<Node, Map<string, Binding>>();
    const unresolved: UnresolvedReference[] = [];
    const symbols: FileSymbols = { bindings, scoped, sites, dynamic, exports, unresolved };
    const own = ownExportNames(sf);
    exports.own = own;

    const addBinding = (nameNode: Identifier, ref: SymbolRef, site: ImportSite | undefined, typeOnly: boolean, keepsName = false): void => {
      bindings.set(nameNode.getText(), { local: nameNode.getText(), ref, nameNode, typeOnly, ...(site ? { site } : {}), ...(keepsName ? { keepsName } : {}) });
    };

    for (const statement of sf.compilerNode.statements) {
      if (!ts.isImportDeclaration(statement)) continue;
      // Most imports are of nothing of ours: judged by the specifier's text, they are not wrapped.
      // (A specifier that is not a string literal throws in getModuleSpecifier(), as before.)
      const specifierText = ts.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : (wrap(sf, statement) as import('ts-morph').ImportDeclaration).getModuleSpecifier().getLiteralValue();
      const target = this.target(record, specifierText);
      if (!target) {
        // An alias of the project that leads nowhere the analysis can follow: what it imports is not known.
        const unfollowed = this.matchers.aliases?.unfollowed(record.absPath, specifierText);
        if (unfollowed) unresolved.push({ node: wrap(sf, statement.moduleSpecifier), reason: unfollowed });
        continue;
      }
      const declaration = wrap(sf, statement) as import('ts-morph').ImportDeclaration;
      const specifier = declaration.getModuleSpecifier();
      const viaBarrel = 'barrel' in target;
      const role: ModuleRole = 'role' in target ? target.role : 'deferred';
      const site: ImportSite = { kind: 'esm-import', node: declaration, role, specifier, viaBarrel };
      sites.push(site);
      const typeOnly = declaration.isTypeOnly();
      // The clause is read on the compiler's nodes; only the names it binds are wrapped.
      const clause = statement.importClause;
      const namedBindings = clause?.namedBindings;
      if (namedBindings && ts.isNamespaceImport(namedBindings)) {
        addBinding(wrap(sf, namedBindings.name) as Identifier, 'barrel' in target ? { kind: 'barrel-namespace', exports: target.barrel } : { kind: 'namespace', role }, site, typeOnly);
      }
      const defaultImport = clause?.name && (wrap(sf, clause.name) as Identifier);
      if (defaultImport && !viaBarrel) addBinding(defaultImport, { kind: 'namespace', role }, site, typeOnly);
      else if (defaultImport && 'barrel' in target) {
        // A CommonJS module's default import is its exports object.
        const ref = defaultOf(target.barrel);
        if (ref) addBinding(defaultImport, ref, site, typeOnly);
      }
      for (const element of namedBindings && ts.isNamedImports(namedBindings) ? namedBindings.elements : []) {
        // ts-morph's getName(): what is imported (`a` in `a as b`), a string literal's value or an identifier's name.
        const imported = (element.propertyName ?? element.name).text;
        const ref = 'barrel' in target ? (imported === 'default' ? defaultOf(target.barrel) : lookupExport(target.barrel, imported)) : memberRef(role, imported);
        if (!ref) continue;
        // The local name: the alias, else the imported identifier (`name` either way).
        addBinding(wrap(sf, element.name) as Identifier, ref, site, typeOnly || element.isTypeOnly, 'barrel' in target && target.barrel.named.has(imported));
      }
    }

    // By the text alone (cached per text): every call with a string literal first argument asks.
    const scanned = scanLoads(sf, (specifier) => {
      const role = roleOfSpecifier(specifier, this.matchers);
      return role === 'deferred' || role === 'webapp';
    });
    for (const declaration of scanned.importEquals) {
      const reference = declaration.getModuleReference();
      if (!Node.isExternalModuleReference(reference)) continue;
      const expression = reference.getExpression();
      if (!expression || !Node.isStringLiteral(expression)) continue;
      const target = this.target(record, expression.getLiteralValue());
      if (!target) continue;
      const role: ModuleRole = 'role' in target ? target.role : 'deferred';
      const site: ImportSite = { kind: 'import-equals', node: declaration, role, specifier: expression, viaBarrel: 'barrel' in target };
      sites.push(site);
      addBinding(declaration.getNameNode(), 'barrel' in target ? requiredValue(target.barrel) : { kind: 'namespace', role }, site, declaration.isTypeOnly());
    }

    // require(): in a module-level declaration it is an import site; anywhere else an inline use.
    const requireCalls = scanned.loads.filter((call) => requireSpecifier(call));
    const claimedRequires = new Set<CallExpression>();
    for (const compilerStatement of sf.compilerNode.statements) {
      // Only a declaration initialised by a require call (or a member of one) can be an
      // import site: statements without one are not wrapped.
      if (!ts.isVariableStatement(compilerStatement) || !compilerStatement.declarationList.declarations.some((d) => mayInitializeFromRequire(d.initializer))) continue;
      const statement = wrap(sf, compilerStatement) as VariableStatement;
      for (const declaration of statement.getDeclarations()) {
        const initializer = declaration.getInitializer();
        if (!initializer) continue;
        let requireCall: Node = unwrap(initializer);
        let member: string | undefined;
        if (Node.isPropertyAccessExpression(requireCall) && requireSpecifier(requireCall.getExpression())) {
          member = requireCall.getName();
          requireCall = unwrap(requireCall.getExpression());
        }
        const literal = requireSpecifier(requireCall);
        if (!literal || !Node.isCallExpression(requireCall)) continue;
        const target = this.target(record, literal.getLiteralValue());
        if (!target) continue;
        if (statement.getDeclarations().length !== 1) continue; // rewritten as an inline require instead
        // `{ defer = fallback, ...rest }`, `{ TaskHandler: { prototype } }`: a pattern the import rewrite cannot
        // rebuild from names keeps its text, its require rewritten inline (the destructuring is derived).
        const pattern = declaration.getNameNode();
        if (Node.isObjectBindingPattern(pattern) && pattern.getElements().some((e) => e.getDotDotDotToken() || e.hasInitializer() || !Node.isIdentifier(e.getNameNode()))) continue;
        claimedRequires.add(requireCall);
        const role: ModuleRole = 'role' in target ? target.role : 'deferred';
        const site: ImportSite = { kind: 'cjs-variable', node: statement, role, specifier: literal, viaBarrel: 'barrel' in target };
        sites.push(site);
        const nameNode = declaration.getNameNode();
        const namespaceRef: SymbolRef = 'barrel' in target ? requiredValue(target.barrel) : { kind: 'namespace', role };
        const refOfMember = (name: string): SymbolRef | undefined => ('barrel' in target ? lookupExport(target.barrel, name) : memberRef(role, name));
        if (Node.isIdentifier(nameNode)) {
          const ref = member === undefined ? namespaceRef : refOfMember(member);
          if (ref) addBinding(nameNode, ref, site, false);
        } else if (Node.isObjectBindingPattern(nameNode) && member === undefined) {
          for (const element of nameNode.getElements()) {
            const local = element.getNameNode();
            if (!Node.isIdentifier(local)) continue;
            const imported = element.getPropertyNameNode()?.getText() ?? local.getText();
            const ref = refOfMember(imported);
            if (ref) addBinding(local, ref, site, false, 'barrel' in target && target.barrel.named.has(imported));
          }
        }
      }
    }
    for (const call of requireCalls) {
      if (claimedRequires.has(call)) continue;
      const literal = requireSpecifier(call)!;
      const target = this.target(record, literal.getLiteralValue());
      if (!target) continue;
      const role: ModuleRole = 'role' in target ? target.role : 'deferred';
      sites.push({ kind: 'cjs-inline', node: call, role, specifier: literal, viaBarrel: 'barrel' in target });
    }

    // Bindings derived from legacy values: aliases, member reads, destructuring
    // (renamed, defaults, nested, rest), parameters of immediately invoked
    // functions, in any scope; what cannot be followed is recorded as unresolved.
    this.deriveBindings(sf, symbols);
    this.bindNamespaces(sf, symbols);

    // Re-exports: what this file offers as a barrel.
    for (const declaration of sf.compilerNode.statements.filter(ts.isExportDeclaration).map((statement) => wrap(sf, statement) as import('ts-morph').ExportDeclaration)) {
      const specifier = declaration.getModuleSpecifier();
      if (specifier) {
        const target = this.target(record, specifier.getLiteralValue());
        if (!target) continue;
        const role: ModuleRole = 'role' in target ? target.role : 'deferred';
        sites.push({ kind: 'reexport', node: declaration, role, specifier, viaBarrel: 'barrel' in target });
        const namespaceExport = declaration.getNamespaceExport();
        if (namespaceExport) {
          exports.named.set(namespaceExport.getName(), 'barrel' in target ? { kind: 'barrel-namespace', exports: target.barrel } : { kind: 'namespace', role });
        } else if (declaration.getNamedExports().length === 0) {
          if ('barrel' in target) {
            for (const [name, ref] of target.barrel.named) if (!exports.named.has(name) && !own.has(name) && name !== 'default') exports.named.set(name, ref);
            shadowThrough(target.barrel, exports);
            exports.star.push(...target.barrel.star);
          } else if (isLegacyRole(role) || role === 'shim') exports.star.push(role);
        } else {
          for (const exportSpecifier of declaration.getNamedExports()) {
            const imported = exportSpecifier.getName();
            // `export { default as api } from './tasks.cjs'`: a CommonJS module's default is its exports (as for an import).
            const ref = 'barrel' in target ? (imported === 'default' ? defaultOf(target.barrel) : lookupExport(target.barrel, imported)) : memberRef(role, imported);
            if (!ref) continue;
            const exported = exportedName(exportSpecifier.getAliasNode()) ?? imported;
            exports.named.set(exported, ref);
          }
        }
      } else {
        for (const exportSpecifier of declaration.getNamedExports()) {
          const binding = bindings.get(exportSpecifier.getName());
          if (binding) exports.named.set(exportedName(exportSpecifier.getAliasNode()) ?? exportSpecifier.getName(), binding.ref);
        }
      }
    }
    for (const binding of bindings.values()) {
      const parent = binding.nameNode.compilerNode.parent;
      if (ts.isModuleDeclaration(parent) && parent.parent.kind === SyntaxKind.SourceFile && ts.getModifiers(parent)?.some((m) => m.kind === SyntaxKind.ExportKeyword)) {
        exports.named.set(binding.local, binding.ref);
        continue;
      }
      // `export import D = deferred` at module level: an export like `export const D = deferred`.
      if (ts.isImportEqualsDeclaration(parent) && parent.parent.kind === SyntaxKind.SourceFile && !ts.isExternalModuleReference(parent.moduleReference) && ts.getModifiers(parent)?.some((m) => m.kind === SyntaxKind.ExportKeyword)) {
        exports.named.set(binding.local, binding.ref);
        continue;
      }
      let statement: ts.Node | undefined = binding.nameNode.compilerNode.parent;
      while (statement && statement.kind !== SyntaxKind.VariableStatement) statement = statement.parent;
      if (statement?.parent.kind === SyntaxKind.SourceFile && (wrap(sf, statement) as VariableStatement).hasExportKeyword()) exports.named.set(binding.local, binding.ref);
    }
    const exportAssignments = sf.compilerNode.statements.filter(ts.isExportAssignment).map((statement) => wrap(sf, statement) as import('ts-morph').ExportAssignment);
    for (const assignment of exportAssignments) {
      const value = unwrap(assignment.getExpression());
      if (assignment.isExportEquals() && Node.isObjectLiteralExpression(value)) {
        // `export = { enqueue: deferred.defer }`: TypeScript's `module.exports = {…}`.
        exports.commonjs = true;
        this.collectObjectExports(symbols, value, exports);
        continue;
      }
      if (Node.isObjectLiteralExpression(value)) {
        // `export default { ...deferred, X }`: the default import is a barrel of its own.
        const offered: BarrelExports = { named: new Map(), star: [] };
        this.collectObjectExports(symbols, value, offered);
        if (hasExports(offered)) exports.named.set('default', { kind: 'barrel-namespace', exports: offered });
        continue;
      }
      const ref = this.resolveIn(symbols, value);
      if (!ref) continue;
      if (assignment.isExportEquals()) {
        // `export = deferred`, like `module.exports = deferred`: its importers read the module's members.
        if (ref.kind === 'namespace') exports.star.push(ref.role);
        exports.whole = ref;
      }
      else exports.named.set('default', ref);
    }
    // CommonJS: module.exports = <ref> | { X: <ref>, Y }, exports.X = / module.exports.X = <ref>.
    for (const compilerStatement of sf.compilerNode.statements) {
      // Only `Object.assign(...)` calls and `=` assignments can export: the other statements are not wrapped.
      if (!ts.isExpressionStatement(compilerStatement) || !mayExport(compilerStatement.expression)) continue;
      const statement = wrap(sf, compilerStatement) as import('ts-morph').ExpressionStatement;
      const expression = unwrap(statement.getExpression());
      // Object.assign(module.exports | exports, { X: <ref> }, <namespace>...)
      const assigned = objectAssignTarget(expression);
      if (assigned) {
        exports.commonjs = true;
        for (const source of assigned.sources) this.collectExportSource(symbols, source, exports);
        continue;
      }
      // What TypeScript emits for `export * from` and `export { X } from` in CommonJS.
      const emitted = emittedReexport(expression);
      if (emitted) {
        exports.commonjs = true;
        if (emitted.name === undefined) this.collectExportSource(symbols, emitted.value, exports);
        else {
          const ref = this.resolveIn(symbols, emitted.value);
          if (ref) exports.named.set(emitted.name, ref);
        }
        continue;
      }
      if (!Node.isBinaryExpression(expression) || expression.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
      let left = expression.getLeft().getText().replace(/\s+/g, '');
      let right = unwrap(expression.getRight());
      // `exports = module.exports = {...}` (or the other way round): module.exports holds the chain's last value.
      while (/^(?:module\.)?exports$/.test(left) && Node.isBinaryExpression(right) && right.getOperatorToken().getKind() === SyntaxKind.EqualsToken && /^(?:module\.)?exports$/.test(right.getLeft().getText().replace(/\s+/g, ''))) {
        if (right.getLeft().getText().replace(/\s+/g, '') === 'module.exports') left = 'module.exports';
        right = unwrap(right.getRight());
      }
      if (/^(?:module\.)?exports(?:\.|$)/.test(left)) exports.commonjs = true;
      if (left === 'module.exports' && Node.isObjectLiteralExpression(right)) {
        this.collectObjectExports(symbols, right, exports);
        continue;
      }
      const assignedRight = objectAssignTarget(right, true);
      if (left === 'module.exports' && assignedRight) {
        // module.exports = Object.assign({}, deferred, { X })
        for (const source of assignedRight.sources) this.collectExportSource(symbols, source, exports);
        continue;
      }
      const ref = this.resolveIn(symbols, right);
      if (!ref) continue;
      if (left === 'module.exports') {
        if (ref.kind === 'namespace') exports.star.push(ref.role);
        exports.whole = ref;
        continue;
      }
      const member = /^(?:module\.)?exports\.([A-Za-z_$][\w$]*)$/.exec(left)?.[1];
      if (member) exports.named.set(member, ref);
    }

    // With the marker, an ES default import of the module reads its `default` export.
    if (exports.commonjs && record.text.includes('__esModule')) delete exports.commonjs;
    for (const call of scanned.loads) {
      if (this.isDynamicLegacyLoad(sf, call)) dynamic.push(call);
    }
    return symbols;
  }

  /**
   * What an object literal offers as exports: its properties that hold legacy
   * values, and the members of every legacy namespace (or barrel) spread into
   * it. A spread value the tracker lost makes every other name unresolved, so
   * the importers report what they read from it.
   */
  private collectObjectExports(symbols: FileSymbols, literal: import('ts-morph').ObjectLiteralExpression, into: BarrelExports): void {
    let holdsLegacy = false;
    for (const property of literal.getProperties()) {
      if (Node.isSpreadAssignment(property)) {
        const before = into.star.length;
        this.collectExportSource(symbols, property.getExpression(), into);
        if (into.star.slice(before).some((role) => isLegacyRole(role) || role === 'shim')) holdsLegacy = true;
        continue;
      }
      const value = Node.isShorthandPropertyAssignment(property) ? property.getNameNode() : Node.isPropertyAssignment(property) ? property.getInitializer() : getterResult(property);
      const ref = value && this.resolveIn(symbols, value);
      if (ref && (Node.isShorthandPropertyAssignment(property) || Node.isPropertyAssignment(property) || Node.isGetAccessorDeclaration(property))) {
        into.named.set(property.getName(), ref);
        // The shim's too: a second run reports what the first did.
        if ((ref.kind === 'namespace' || ref.kind === 'member') && (isLegacyRole(ref.role) || ref.role === 'shim')) holdsLegacy = true;
      } else if (Node.isShorthandPropertyAssignment(property) || Node.isPropertyAssignment(property) || Node.isMethodDeclaration(property) || Node.isGetAccessorDeclaration(property)) {
        // `{ ...deferred, TaskHandler: AuditHandler }`: the object's own value shadows the spread one.
        into.named.delete(property.getName());
        (into.own ??= new Set()).add(property.getName());
      }
    }
    // `{ _d: require(L), get defer() { return this._d.defer; } }`, `{ defer: d.defer, kick() { this.defer(f); } }`:
    // its own members reach the legacy values through `this`, which the tracker does not follow.
    if (!holdsLegacy) return;
    for (const keyword of ownThis(literal)) {
      symbols.unresolved.push({ node: keyword, reason: 'a member of an object holding bindings of the legacy module reads them through `this`, which the codemod does not follow' });
    }
  }

  /** One source of an export object: a literal, or a value whose members are all re-exported. */
  private collectExportSource(symbols: FileSymbols, source: Node, into: BarrelExports): void {
    const value = unwrap(source);
    if (Node.isObjectLiteralExpression(value)) {
      this.collectObjectExports(symbols, value, into);
      return;
    }
    const ref = this.resolveIn(symbols, value) ?? this.lostInside(symbols, value);
    if (!ref) return;
    if (ref.kind === 'namespace') {
      if (isLegacyRole(ref.role) || ref.role === 'shim') into.star.push(ref.role);
    } else if (ref.kind === 'barrel-namespace') {
      for (const [name, member] of ref.exports.named) if (!into.named.has(name) && !into.own?.has(name)) into.named.set(name, member);
      into.star.push(...ref.exports.star);
      shadowThrough(ref.exports, into);
      if (ref.exports.whole && !into.whole) into.whole = ref.exports.whole;
    } else if (ref.kind === 'unresolved' && !into.whole) {
      into.whole = ref;
    }
  }

  /**
   * An expression the tracker does not evaluate (`pick(deferred)`) that reads a
   * legacy value: what it yields is unknown, and may be legacy.
   */
  private lostInside(symbols: FileSymbols, value: Node): SymbolRef | undefined {
    const legacy = value.getDescendantsOfKind(SyntaxKind.Identifier).some((identifier) => {
      const ref = isReference(identifier) ? this.resolveIn(symbols, identifier) : undefined;
      return !!ref && (isTrackedNamespace(ref) || ref.kind === 'unresolved' || (ref.kind === 'member' && ref.role !== 'webapp'));
    });
    return legacy ? { kind: 'unresolved', reason: 'a value computed from the deferred module is re-exported' } : undefined;
  }

  private isDynamicLegacyLoad(sf: SourceFile, call: CallExpression): boolean {
    const callee = call.getExpression();
    const isImport = callee.getKind() === SyntaxKind.ImportKeyword;
    const isRequire = Node.isIdentifier(callee) && callee.getText() === 'require';
    const [arg] = call.getArguments();
    if (!arg) return false;
    const legacy = (value: string): boolean => {
      const role = roleOfSpecifier(value, this.matchers, sf.getFilePath());
      return role === 'deferred' || role === 'webapp';
    };
    // `module.require(L)`, `const r = require; r(L)`, `createRequire(url)(L)`: a load the codemod does not rewrite.
    if (!isImport && !isRequire) return (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) && legacy(arg.getLiteralValue());
    if (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) {
      if (!isImport) return false;
      if (legacy(arg.getLiteralValue())) return true;
      // A project module that exports legacy values (a barrel): what its importer reads is not followed.
      const resolved = this.index.resolve(sf.getFilePath(), arg.getLiteralValue());
      return !!resolved && hasExports(this.exportsOf(resolved));
    }
    if (Node.isTemplateExpression(arg)) return legacy(arg.getText().slice(1, -1).replace(/\$\{[^}]*\}/g, ''));
    if (Node.isIdentifier(arg)) {
      const declaration = sf.getVariableDeclaration(arg.getText());
      const initializer = declaration?.getInitializer();
      return !!initializer && (Node.isStringLiteral(initializer) || Node.isNoSubstitutionTemplateLiteral(initializer)) && legacy(initializer.getLiteralValue());
    }
    return false;
  }

  /** What an expression (identifier, property chain, require call) denotes, if anything of ours. */
  resolve(record: SourceRecord, node: Node): SymbolRef | undefined {
    return this.resolveIn(this.of(record), node);
  }

  /** The binding an identifier use denotes, scope-aware; undefined for its own declaration. */
  private bindingOf(symbols: FileSymbols, identifier: Identifier): Binding | undefined {
    const name = identifier.getText();
    // A name no scope binds denotes nothing of ours, whatever scope declares it.
    if (!isBoundName(symbols, name)) return undefined;
    const scope = declaringScope(identifier, name);
    const binding = scope ? symbols.scoped.get(scope)?.get(name) : symbols.bindings.get(name);
    if (!binding || binding.nameNode === identifier) return undefined;
    return binding;
  }

  /**
   * False when resolve() of this compiler expression is sure to find nothing, without
   * wrapping it: the identifier at the root of its member chain is bound in no scope
   * of the file (resolveIn reaches every ref through that root, or a require call).
   * Call it where resolve() would be the first use of the file's symbols, as it
   * computes them.
   */
  mayResolve(record: SourceRecord, expression: ts.Expression): boolean {
    const symbols = this.of(record);
    let current: ts.Node = expression;
    for (;;) {
      if (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isTypeAssertionExpression(current) || ts.isSatisfiesExpression(current) || ts.isNonNullExpression(current)) current = current.expression;
      else if (ts.isPropertyAccessExpression(current) || ts.isElementAccessExpression(current)) current = current.expression;
      else if (ts.isQualifiedName(current)) current = current.left;
      else if (ts.isBinaryExpression(current) && current.operatorToken.kind === SyntaxKind.CommaToken) current = current.right;
      else break;
    }
    if (ts.isCallExpression(current)) return true;
    // Bindings are keyed by ts-morph's getText() of their names: an identifier's cooked name.
    return ts.isIdentifier(current) && isBoundName(symbols, current.text);
  }

  private resolveIn(symbols: FileSymbols, node: Node): SymbolRef | undefined {
    const current = unwrap(node);
    if (Node.isIdentifier(current)) return this.bindingOf(symbols, current)?.ref;
    if (Node.isPropertyAccessExpression(current) || Node.isElementAccessExpression(current) || Node.isQualifiedName(current)) {
      return memberRead(current, this.resolveIn(symbols, Node.isQualifiedName(current) ? current.getLeft() : current.getExpression()));
    }
    // `(0, tasks_1.defer)`, as TypeScript emits a call of an imported function.
    if (Node.isBinaryExpression(current) && current.getOperatorToken().getKind() === SyntaxKind.CommaToken && Node.isNumericLiteral(unwrap(current.getLeft()))) return this.resolveIn(symbols, current.getRight());
    if (Node.isCallExpression(current)) {
      // `__importStar(require(...))`: TypeScript's CommonJS emit of `import * as` (Babel's `_interopRequireWildcard`).
      const [wrapped] = current.getArguments();
      const helper = calleeName(current.getExpression().compilerNode as ts.Expression);
      const kind = helper === undefined ? undefined : interopHelperKind(helper);
      if (kind === 'namespace' && wrapped && current.getArguments().length === 1) return this.resolveIn(symbols, wrapped);
      if (kind === 'default' && wrapped && current.getArguments().length === 1) {
        // `__importDefault(require(L)).default`: the shim is an ES module, so after the migration `.default` is undefined.
        const inner = this.resolveIn(symbols, wrapped);
        return inner && (isTrackedNamespace(inner) || inner.kind === 'member' || inner.kind === 'unresolved')
          ? { kind: 'unresolved', reason: `the deferred module through ${helper}(), whose .default deferred-migrate/shim does not have` }
          : undefined;
      }
      const literal = requireSpecifier(current);
      if (!literal) return undefined;
      const role = roleOfSpecifier(literal.getLiteralValue(), this.matchers, current.getSourceFile().getFilePath());
      if (role) return { kind: 'namespace', role };
      const resolved = this.index.resolve(current.getSourceFile().getFilePath(), literal.getLiteralValue());
      if (!resolved) return undefined;
      const exports = this.exportsOf(resolved);
      return hasExports(exports) ? requiredValue(exports) : undefined;
    }
    return undefined;
  }

  /**
   * Bindings derived from legacy values, in document order so that chains
   * (`const a = ns; const { TaskHandler: B } = a`) resolve: variable
   * declarations in any scope and parameters of immediately invoked functions.
   */
  private deriveBindings(sf: SourceFile, symbols: FileSymbols): void {
    const bind = (nameNode: Identifier, ref: SymbolRef, element: BindingElement | undefined, keepsName = false): void => bindInScope(symbols, nameNode, ref, element, keepsName);
    const bindName = (nameNode: Node, ref: SymbolRef, element?: BindingElement): void => {
      if (Node.isIdentifier(nameNode)) {
        bind(nameNode, ref, element);
        return;
      }
      if (Node.isArrayBindingPattern(nameNode)) {
        if (isTrackedNamespace(ref)) symbols.unresolved.push({ node: nameNode, reason: 'array destructuring of the deferred module' });
        return;
      }
      if (!Node.isObjectBindingPattern(nameNode)) return;
      for (const child of nameNode.getElements()) {
        const local = child.getNameNode();
        if (child.getDotDotDotToken()) {
          // `...rest` holds the other members: still the module, for member reads.
          if (Node.isIdentifier(local)) bind(local, isTrackedNamespace(ref) ? ref : { kind: 'unresolved', reason: 'the rest of a destructured legacy value' }, child);
          continue;
        }
        const property = child.getPropertyNameNode();
        let member: string | undefined;
        if (!property) member = local.getText();
        else if (Node.isIdentifier(property)) member = property.getText();
        else if (Node.isStringLiteral(property) || Node.isNoSubstitutionTemplateLiteral(property) || Node.isNumericLiteral(property)) member = property.getLiteralText();
        else if (Node.isComputedPropertyName(property)) {
          const key = property.getExpression();
          if (Node.isStringLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key)) member = key.getLiteralValue();
        }
        const memberRefOf = member === undefined ? (isTrackedNamespace(ref) ? ({ kind: 'unresolved', reason: 'a computed key destructured from the deferred module' } as const) : undefined) : memberOf(ref, member);
        if (!memberRefOf) continue;
        if (memberRefOf.kind === 'unresolved' && member === undefined) symbols.unresolved.push({ node: child, reason: memberRefOf.reason });
        if (Node.isIdentifier(local) && ref.kind === 'barrel-namespace' && member !== undefined && ref.exports.named.has(member)) bind(local, memberRefOf, child, true);
        else bindName(local, memberRefOf, child);
      }
    };
    // Names bound so far: a value can only derive from one of them or a require().
    const known = (): Set<string> => new Set([...symbols.bindings.keys(), ...[...symbols.scoped.values()].flatMap((m) => [...m.keys()])]);
    let names = known();
    const mayDerive = (expression: ts.Expression | undefined): boolean => {
      let current = expression;
      while (current) {
        if (ts.isParenthesizedExpression(current) || ts.isAsExpression(current) || ts.isTypeAssertionExpression(current) || ts.isNonNullExpression(current) || ts.isSatisfiesExpression(current)) current = current.expression;
        else if (ts.isPropertyAccessExpression(current) || ts.isElementAccessExpression(current)) current = current.expression;
        // `(0, deferred.defer)`, which resolveIn reads as `deferred.defer`.
        else if (ts.isBinaryExpression(current) && current.operatorToken.kind === SyntaxKind.CommaToken && ts.isNumericLiteral(unwrapCompiler(current.left))) current = current.right;
        else break;
      }
      if (!current) return false;
      if (ts.isIdentifier(current)) return names.has(current.text);
      // `const api = { enqueue: deferred.defer }`: an object of legacy members.
      if (ts.isObjectLiteralExpression(current)) return current.properties.some((p) => (ts.isPropertyAssignment(p) ? mayDerive(p.initializer) : ts.isShorthandPropertyAssignment(p) && names.has(p.name.text)));
      if (ts.isCallExpression(current) && ts.isIdentifier(current.expression) && interopHelperKind(current.expression.text) !== undefined) return current.arguments.length === 1 && mayDerive(current.arguments[0]);
      return ts.isCallExpression(current) && ts.isIdentifier(current.expression) && current.expression.text === 'require';
    };
    // A parameter assigned in its function (`(d) => { d = stub; d.defer(f) }`) holds what is not known, as a `let` would.
    const bindParameter = (nameNode: Node, ref: SymbolRef): void => {
      if (!Node.isIdentifier(nameNode) || !isReassigned(nameNode)) return bindName(nameNode, ref);
      if (ref.kind === 'unresolved' || isTrackedNamespace(ref) || ref.kind === 'member') symbols.unresolved.push({ node: nameNode, reason: `\`${nameNode.getText()}\` is reassigned, so what it holds is not known` });
      bindName(nameNode, { kind: 'unresolved', reason: 'reassigned' });
    };
    const derive = (compilerNode: ts.Node): void => {
      if (compilerNode.kind === ts.SyntaxKind.VariableDeclaration && mayDerive((compilerNode as ts.VariableDeclaration).initializer)) {
        const declaration = wrap(sf, compilerNode);
        if (Node.isVariableDeclaration(declaration)) this.deriveFromDeclaration(symbols, declaration, bindName);
        names = known();
      } else if (compilerNode.kind === ts.SyntaxKind.Parameter && mayDerive((compilerNode as ts.ParameterDeclaration).initializer)) {
        // `function setup(d = deferred)`: what the default gives (a caller passing
        // the module itself is reported where it passes it).
        const parameter = wrap(sf, compilerNode) as import('ts-morph').ParameterDeclaration;
        const ref = this.resolveIn(symbols, parameter.getInitializerOrThrow());
        if (ref) bindParameter(parameter.getNameNode(), ref);
        names = known();
      } else if (compilerNode.kind === ts.SyntaxKind.ImportEqualsDeclaration && !ts.isExternalModuleReference((compilerNode as ts.ImportEqualsDeclaration).moduleReference)) {
        // TypeScript's alias of a namespace member: `import enqueue = deferred.defer`, `export import TH = deferred.TaskHandler`.
        let root: ts.Node = (compilerNode as ts.ImportEqualsDeclaration).moduleReference;
        while (ts.isQualifiedName(root)) root = root.left;
        if (ts.isIdentifier(root) && names.has(root.text)) {
          const declaration = wrap(sf, compilerNode) as import('ts-morph').ImportEqualsDeclaration;
          const ref = this.resolveIn(symbols, declaration.getModuleReference());
          if (ref) bindName(declaration.getNameNode(), ref);
          names = known();
        }
      } else if (compilerNode.kind === ts.SyntaxKind.CallExpression) {
        let callee: ts.Expression = (compilerNode as ts.CallExpression).expression;
        while (ts.isParenthesizedExpression(callee)) callee = callee.expression;
        if ((ts.isArrowFunction(callee) || ts.isFunctionExpression(callee)) && (compilerNode as ts.CallExpression).arguments.some(mayDerive)) {
          const call = wrap(sf, compilerNode) as CallExpression;
          const fn = wrap(sf, callee) as import('ts-morph').ArrowFunction;
          fn.getParameters().forEach((parameter, i) => {
            const arg = call.getArguments()[i];
            const ref = arg && this.resolveIn(symbols, arg);
            if (ref) bindParameter(parameter.getNameNode(), ref);
          });
          names = known();
        }
      }
    };
    const declarations = [...compilerNodesOfKind(sf, SyntaxKind.VariableDeclaration), ...compilerNodesOfKind(sf, SyntaxKind.Parameter), ...compilerNodesOfKind(sf, SyntaxKind.ImportEqualsDeclaration)].sort((a, b) => a.pos - b.pos || b.end - a.end);
    const calls = compilerNodesOfKind(sf, SyntaxKind.CallExpression);
    if ((sf.compilerNode as { parseDiagnostics?: readonly unknown[] }).parseDiagnostics?.length) {
      const visit = (compilerNode: ts.Node): void => {
        derive(compilerNode);
        ts.forEachChild(compilerNode, visit);
      };
      visit(sf.compilerNode);
      return;
    }
    // Both lists are in document order (a pre-order walk); merged by start, the outer
    // node first (`f()()` and `f` start together), they are in the walk's order, which
    // is all a full walk of the file would visit here. (A file that did not parse
    // cleanly, where nodes can be empty, takes the walk above.)
    let i = 0;
    let j = 0;
    while (i < declarations.length || j < calls.length) {
      const declaration = declarations[i];
      const call = calls[j];
      if (declaration && (!call || declaration.pos < call.pos || (declaration.pos === call.pos && declaration.end >= call.end))) {
        derive(declaration);
        i++;
      } else {
        derive(call!);
        j++;
      }
    }
  }

  /**
   * `namespace Tasks { export const d = deferred.defer }`: the namespace object
   * offers its exported legacy bindings, like a const object (`Tasks.d(...)` is a
   * defer call); also its exported namespaces (`namespace C { export namespace D {...} }`,
   * `namespace A.B {...}`: `C.D.d(...)`, `A.B.d(...)`), and what all the declarations of a
   * merged namespace (`namespace Tasks {...} namespace Tasks {...}`) export.
   */
  private bindNamespaces(sf: SourceFile, symbols: FileSymbols): void {
    const offers = new Map<ts.ModuleDeclaration, BarrelExports>();
    const offerOf = (declaration: ts.ModuleDeclaration): BarrelExports => {
      const known = offers.get(declaration);
      if (known) return known;
      const offered: BarrelExports = { named: new Map(), star: [] };
      offers.set(declaration, offered);
      const body = declaration.body;
      if (body && ts.isModuleDeclaration(body) && ts.isIdentifier(body.name)) {
        // `namespace A.B { ... }`: A offers B.
        const inner = offerOf(body);
        if (hasExports(inner)) mergeNamespaceOffer(offered, body.name.text, inner);
        return offered;
      }
      if (!body || !ts.isModuleBlock(body)) return offered;
      const inner = symbols.scoped.get(wrap(sf, body));
      for (const statement of body.statements) {
        const exported = ts.getModifiers(statement as ts.HasModifiers)?.some((m) => m.kind === SyntaxKind.ExportKeyword) === true;
        if (!exported) continue;
        if (ts.isModuleDeclaration(statement) && ts.isIdentifier(statement.name)) {
          const nested = offerOf(statement);
          if (hasExports(nested)) mergeNamespaceOffer(offered, statement.name.text, nested);
          continue;
        }
        if (!inner) continue;
        if (ts.isImportEqualsDeclaration(statement) && statement.isTypeOnly === false) {
          // `export import TH = deferred.TaskHandler`
          const binding = inner.get(statement.name.text);
          if (binding) offered.named.set(statement.name.text, binding.ref);
          continue;
        }
        if (!ts.isVariableStatement(statement)) continue;
        for (const declaration of statement.declarationList.declarations) {
          const names: string[] = [];
          const collect = (name: ts.BindingName): void => {
            if (ts.isIdentifier(name)) names.push(name.text);
            else for (const element of name.elements) if (ts.isBindingElement(element)) collect(element.name);
          };
          collect(declaration.name);
          for (const name of names) {
            const binding = inner.get(name);
            if (binding) offered.named.set(name, binding.ref);
          }
        }
      }
      return offered;
    };
    // The declarations of one namespace in one scope, merged as TypeScript merges them.
    const groups = new Map<ts.Node, Map<string, ts.ModuleDeclaration[]>>();
    for (const compilerNode of compilerNodesOfKind<ts.ModuleDeclaration>(sf, SyntaxKind.ModuleDeclaration)) {
      // `declare module 'x'`, `declare global`, and the B of `namespace A.B` (A offers it).
      if (!ts.isIdentifier(compilerNode.name) || compilerNode.flags & ts.NodeFlags.GlobalAugmentation || ts.isModuleDeclaration(compilerNode.parent)) continue;
      const byName = groups.get(compilerNode.parent) ?? new Map<string, ts.ModuleDeclaration[]>();
      groups.set(compilerNode.parent, byName);
      const group = byName.get(compilerNode.name.text) ?? [];
      group.push(compilerNode);
      byName.set(compilerNode.name.text, group);
    }
    for (const byName of groups.values()) {
      for (const [text, group] of byName) {
        const merged: BarrelExports = { named: new Map(), star: [] };
        for (const declaration of group) for (const [name, ref] of offerOf(declaration).named) mergeNamespaceMember(merged, name, ref);
        if (!hasExports(merged)) continue;
        bindInScope(symbols, wrap(sf, group[0]!.name) as Identifier, { kind: 'barrel-namespace', exports: merged });
        // Its aliases in this file (`const O = Tasks`, `export import O = Tasks`, `import P = Tasks.D`) were
        // derived before the namespace was bound here, so they are not followed: reported.
        for (const alias of namespaceAliases(sf, group[0]!.name as ts.Identifier)) {
          symbols.unresolved.push({ node: wrap(sf, alias), reason: `the namespace \`${text}\` holds bindings of the legacy module, and this alias of it in the file that declares it is not followed` });
        }
        // A merged namespace's declaration reads another declaration's exported members by their bare names
        // (`namespace Tasks { export const send = deferred.defer } namespace Tasks { send(f) }`): not followed.
        if (group.length < 2) continue;
        for (const declaration of group) {
          const names = new Set(offerOf(declaration).named.keys());
          for (const other of group) {
            if (other === declaration || !other.body) continue;
            for (const identifier of compilerNodesOfKind<ts.Identifier>(sf, SyntaxKind.Identifier)) {
              if (!names.has(identifier.text) || identifier.pos < other.body.pos || identifier.end > other.body.end) continue;
              if (!isReference(wrap(sf, identifier) as Identifier)) continue;
              let scope = declaringCompilerScope(identifier, identifier.text);
              while (scope && scope !== other.body) scope = scope.parent;
              if (scope) continue;
              symbols.unresolved.push({ node: wrap(sf, identifier), reason: `\`${identifier.text}\` is the member another declaration of the merged namespace \`${text}\` exports, which holds a binding of the legacy module; such a read is not followed` });
            }
          }
        }
      }
    }
  }

  private deriveFromDeclaration(symbols: FileSymbols, declaration: import('ts-morph').VariableDeclaration, bindName: (nameNode: Node, ref: SymbolRef) => void): void {
    const nameNode = declaration.getNameNode();
    const initializer = declaration.getInitializer();
    if (!initializer) return;
    // Import sites (`const d = require(legacy)`) are bound already.
    if (Node.isIdentifier(nameNode) && symbols.bindings.get(nameNode.getText())?.nameNode === nameNode) return;
    if (Node.isObjectBindingPattern(nameNode) && nameNode.getElements().some((e) => Node.isIdentifier(e.getNameNode()) && symbols.bindings.get(e.getNameNode().getText())?.nameNode === e.getNameNode())) return;
    const list = declaration.getParent();
    const literal = unwrap(initializer);
    if (Node.isObjectLiteralExpression(literal)) {
      // A const object whose properties hold legacy members is followed like a
      // barrel (`api.enqueue(...)` is a defer call); a mutable one is not.
      if (!Node.isIdentifier(nameNode) || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return;
      const offered: BarrelExports = { named: new Map(), star: [] };
      this.collectObjectExports(symbols, literal, offered);
      if (hasExports(offered)) bindName(nameNode, { kind: 'barrel-namespace', exports: offered });
      return;
    }
    const ref = this.resolveIn(symbols, initializer);
    if (!ref) return;
    // A value the resolver gives up on here (`__importDefault(require(L))`) is reported where it is made.
    if (ref.kind === 'unresolved' && Node.isCallExpression(literal)) symbols.unresolved.push({ node: literal, reason: ref.reason });
    if (ref.kind === 'member' && !Node.isIdentifier(nameNode) && !isLegacyRole(ref.role)) return;
    const reassignable = Node.isVariableDeclarationList(list) && list.getDeclarationKind() !== 'const';
    if (reassignable && Node.isIdentifier(nameNode) && isReassigned(nameNode)) {
      const legacy = ref.kind === 'unresolved' || isTrackedNamespace(ref) || ref.kind === 'member';
      if (legacy) symbols.unresolved.push({ node: nameNode, reason: `\`${nameNode.getText()}\` is reassigned, so what it holds is not known` });
      bindName(nameNode, { kind: 'unresolved', reason: 'reassigned' });
      return;
    }
    bindName(nameNode, ref);
  }

  /** Identifiers in the file that refer to `binding` (its declaration excluded). */
  references(record: SourceRecord, binding: Binding): Identifier[] {
    const symbols = this.of(record);
    return (this.identifiersNamed(record).get(binding.local) ?? []).filter((identifier) => isReference(identifier) && this.bindingOf(symbols, identifier) === binding);
  }

  private readonly identifierIndex = new WeakMap<SourceRecord, Map<string, Identifier[]>>();

  /**
   * The file's identifiers that carry a bound name, by name, built once per file
   * (the references of every binding need them), from the shared index of the
   * compiler's nodes, wrapping only those identifiers.
   */
  private identifiersNamed(record: SourceRecord): Map<string, Identifier[]> {
    const cached = this.identifierIndex.get(record);
    if (cached) return cached;
    const symbols = this.of(record);
    const names = new Set([...symbols.bindings.keys(), ...[...symbols.scoped.values()].flatMap((m) => [...m.keys()])]);
    const byName = new Map<string, Identifier[]>();
    const sf = record.sourceFile;
    if (names.size > 0) {
      for (const node of compilerNodesOfKind<ts.Identifier>(sf, SyntaxKind.Identifier)) {
        if (!names.has(node.text)) continue;
        const list = byName.get(node.text) ?? [];
        list.push(wrap(sf, node) as Identifier);
        byName.set(node.text, list);
      }
    }
    this.identifierIndex.set(record, byName);
    return byName;
  }

  /**
   * Every reference in the file that reaches a legacy symbol (or the shim that
   * replaces it), resolved or not: uses of bindings in any scope, with member
   * reads of namespaces followed to the member, plus the places where such a
   * value escapes the tracker. The post-migration check asks this of the
   * output: a `legacyOnly` entry still reaches a member the shim does not
   * have (`deferred.TaskHandler` on the shim namespace) or a value the tracker
   * lost. `this.request`/`this.response` in handler classes are listed by
   * `legacyAccesses` (handler-members.ts).
   */
  legacyReferences(record: SourceRecord): LegacyReference[] {
    return this.cachedList(this.legacyReferenceLists, record, () => this.listLegacyReferences(record));
  }

  /**
   * Both lists are asked for by several rules and by the verification; they only
   * depend on the file's symbols, so each is made once (when those are complete)
   * and handed out as a copy.
   */
  private cachedList<T>(cache: WeakMap<SourceRecord, T[]>, record: SourceRecord, make: () => T[]): T[] {
    const cached = cache.get(record);
    if (cached) return [...cached];
    const list = make();
    if (this.symbols.has(record.absPath)) cache.set(record, list);
    return [...list];
  }

  private readonly legacyReferenceLists = new WeakMap<SourceRecord, LegacyReference[]>();
  private readonly escapeLists = new WeakMap<SourceRecord, UnresolvedReference[]>();

  private listLegacyReferences(record: SourceRecord): LegacyReference[] {
    const symbols = this.of(record);
    const result: LegacyReference[] = [];
    const all = [...symbols.bindings.values(), ...[...symbols.scoped.values()].flatMap((m) => [...m.values()])];
    const seen = new Set<Node>();
    for (const binding of all) {
      for (const identifier of this.references(record, binding)) {
        // A member read of a namespace: report what the whole chain reaches.
        let node: Node = identifier;
        let ref: SymbolRef | undefined = binding.ref;
        for (let parent = node.getParent(); parent && (Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent) || Node.isQualifiedName(parent)); parent = parent.getParent()) {
          const first = Node.isQualifiedName(parent) ? parent.getLeft() : parent.getExpression();
          if (first !== node) break;
          // resolveIn(parent), from the ref already known for its base.
          const next = memberRead(parent, ref);
          if (!next) break;
          node = parent;
          ref = next;
        }
        if (seen.has(node)) continue;
        seen.add(node);
        result.push({ node, ref, legacyOnly: isLegacyOnly(ref) });
      }
    }
    for (const item of [...symbols.unresolved, ...this.escapes(record)]) {
      if (seen.has(item.node)) continue;
      seen.add(item.node);
      result.push({ node: item.node, ref: { kind: 'unresolved', reason: item.reason }, legacyOnly: true });
    }
    return result.sort((a, b) => a.node.getStart() - b.node.getStart());
  }

  /**
   * Where the legacy module object (or a barrel of it) escapes the tracker:
   * passed to a function it does not enter, spread, stored in an object or
   * array, assigned to a property. Its members are then read where the codemod
   * cannot see them.
   */
  escapes(record: SourceRecord): UnresolvedReference[] {
    return this.cachedList(this.escapeLists, record, () => this.listEscapes(record));
  }

  private listEscapes(record: SourceRecord): UnresolvedReference[] {
    const symbols = this.of(record);
    const result: UnresolvedReference[] = [...symbols.unresolved];
    const all = [...symbols.bindings.values(), ...[...symbols.scoped.values()].flatMap((m) => [...m.values()])];
    // An initialiser the tracker follows (`const q: typeof deferred = deferred`): the holder is not where the value escapes.
    const followed = (initializer: Node): boolean => {
      const ref = this.resolveIn(symbols, unwrap(initializer));
      return !!ref && ref.kind !== 'unresolved';
    };
    for (const binding of all) {
      // `function enqueue(d: typeof defer) { d(f) }`, `(d: typeof deferred.defer)`: what callers pass is not followed.
      const member = binding.ref.kind === 'member' && (binding.ref.role === 'deferred' || binding.ref.role === 'shim') && TYPED_MEMBERS.has(binding.ref.name);
      if (member || isTrackedNamespace(binding.ref)) {
        for (const identifier of this.references(record, binding)) {
          let query = identifier.getParent();
          if (!member && query && Node.isQualifiedName(query) && query.getLeft() === identifier && TYPED_MEMBERS.has(query.getRight().getText())) query = query.getParent();
          else if (!member) continue;
          if (query && Node.isTypeQuery(query)) for (const held of typedHolders(query, followed)) result.push({ node: held.node, reason: held.parameter ? MEMBER_TYPED : MEMBER_TYPED_HOLDER });
        }
      }
      // `declare const q: typeof deferred`, `queue: typeof deferred` (a field, an interface member), `let q: typeof deferred = container.get()`.
      if (isTrackedNamespace(binding.ref)) {
        for (const identifier of this.references(record, binding)) {
          const query = identifier.getParent();
          if (query && Node.isTypeQuery(query)) for (const held of typedHolders(query, followed)) if (!held.parameter) result.push({ node: held.node, reason: MODULE_TYPED_HOLDER });
        }
      }
      if (!isTrackedNamespace(binding.ref)) continue;
      for (const identifier of this.references(record, binding)) {
        const reason = escapeReason(identifier);
        if (reason) result.push({ node: identifier, reason });
      }
    }
    // An inline `require(L)` escapes where a binding of it would (`require(L) || {}`, `use(require(L))`).
    for (const site of symbols.sites) {
      if (site.kind !== 'cjs-inline') continue;
      const ref = this.resolveIn(symbols, site.node);
      const reason = ref && isTrackedNamespace(ref) ? escapeReason(site.node) : undefined;
      if (reason) result.push({ node: site.node, reason });
    }
    if (!record.isTypeScript) {
      const isModuleObject = (value: Node): boolean => {
        const ref = this.resolveIn(symbols, unwrap(value));
        return !!ref && isTrackedNamespace(ref);
      };
      for (const node of patchesThroughModuleExports(record.sourceFile, isModuleObject)) result.push({ node, reason: PATCHED });
      // JSDoc's types of the same holders: `@param {typeof import(L).defer} send`, `@param {typeof deferred.defer} send`,
      // `@type {typeof import(L)}` on a variable set from something the tracker does not follow.
      if (record.text.includes('typeof')) {
        const typeOf = (type: ts.TypeNode): 'module' | 'member' | undefined => {
          if (ts.isImportTypeNode(type) && type.isTypeOf && ts.isLiteralTypeNode(type.argument) && ts.isStringLiteral(type.argument.literal)) {
            const role = roleOfSpecifier(type.argument.literal.text, this.matchers, record.absPath);
            if (role !== 'deferred' && role !== 'shim') return undefined;
            if (!type.qualifier) return 'module';
            return ts.isIdentifier(type.qualifier) && TYPED_MEMBERS.has(type.qualifier.text) ? 'member' : undefined;
          }
          if (!ts.isTypeQueryNode(type)) return undefined;
          const parts = type.exprName.getText(record.sourceFile.compilerNode).split('.');
          const binding = symbols.bindings.get(parts[0]!);
          if (!binding) return undefined;
          if (parts.length === 1) {
            if (isTrackedNamespace(binding.ref)) return 'module';
            return binding.ref.kind === 'member' && (binding.ref.role === 'deferred' || binding.ref.role === 'shim') && TYPED_MEMBERS.has(binding.ref.name) ? 'member' : undefined;
          }
          return parts.length === 2 && isTrackedNamespace(binding.ref) && TYPED_MEMBERS.has(parts[1]!) ? 'member' : undefined;
        };
        const kindOf = (type: ts.TypeNode | undefined): 'module' | 'member' | undefined => {
          if (!type) return undefined;
          if (ts.isParenthesizedTypeNode(type) || ts.isJSDocNullableType(type) || ts.isJSDocNonNullableType(type) || ts.isJSDocOptionalType(type)) return kindOf(type.type);
          if (ts.isUnionTypeNode(type)) return type.types.map(kindOf).find((kind) => kind !== undefined);
          return typeOf(type);
        };
        const visit = (node: ts.Node): void => {
          if (ts.isParameter(node) && !node.initializer && ts.isIdentifier(node.name)) {
            const kind = kindOf(ts.getJSDocType(node));
            const fn = node.parent;
            const bodied = (ts.isFunctionDeclaration(fn) || ts.isFunctionExpression(fn) || ts.isArrowFunction(fn) || ts.isMethodDeclaration(fn)) && fn.body !== undefined;
            // Row 111 reports a module typed by an import type already (moduleTypedParameter).
            if (kind && bodied) result.push({ node: wrap(sf, node), reason: kind === 'member' ? MEMBER_TYPED : PARAMETER_TYPED });
          } else if ((ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node)) && ts.isIdentifier(node.name)) {
            const jsdocHost = ts.isVariableDeclaration(node) && ts.isVariableDeclarationList(node.parent) && ts.isVariableStatement(node.parent.parent) && node.parent.declarations.length === 1 ? node.parent.parent : node;
            const type = ts.getJSDocTypeTag(jsdocHost)?.typeExpression?.type ?? ts.getJSDocType(node);
            const kind = kindOf(type);
            if (kind && (!node.initializer || !followed(wrap(sf, node.initializer)))) result.push({ node: wrap(sf, node), reason: kind === 'member' ? MEMBER_TYPED_HOLDER : MODULE_TYPED_HOLDER });
          }
          ts.forEachChild(node, visit);
        };
        const sf = record.sourceFile;
        visit(sf.compilerNode);
      }
    }
    // `(d: typeof import(L))`: what callers pass as the module is not followed, as with `typeof deferred`.
    for (const found of findImportTypes(record, this.matchers, true)) {
      const node = found.role !== 'webapp' ? moduleTypedParameter(record, found) : undefined;
      if (node) result.push({ node, reason: PARAMETER_TYPED });
      // `(d: typeof import(L).defer)`, `declare const q: typeof import(L)`
      if (found.role === 'webapp' || found.inComment || (found.member && !TYPED_MEMBERS.has(found.member.name))) continue;
      const importType = record.sourceFile.getDescendantAtPos(found.start)?.getParent();
      if (!importType || !Node.isImportTypeNode(importType) || !importType.compilerNode.isTypeOf) continue;
      for (const held of typedHolders(importType, followed)) {
        if (found.member) result.push({ node: held.node, reason: held.parameter ? MEMBER_TYPED : MEMBER_TYPED_HOLDER });
        else if (held.node !== node && !held.parameter) result.push({ node: held.node, reason: MODULE_TYPED_HOLDER });
      }
    }
    // Code built from a string runs where no reference can be resolved: `eval('deferred.defer(f)')`.
    if (symbols.sites.length > 0 || all.length > 0) result.push(...evaluatedCode(record.sourceFile));
    // One place, one item (a parameter both an import type and its JSDoc tag name).
    const unique = result.filter((item, i) => result.findIndex((other) => other.node === item.node) === i);
    return unique.sort((a, b) => a.node.getStart() - b.node.getStart());
  }
}

const PARAMETER_TYPED = 'a parameter is typed as the deferred module, and what its callers pass is not followed';

/** defer(), run() and serialize(): a parameter typed as one of them is called where the codemod does not look. */
const TYPED_MEMBERS = new Set(['defer', 'run', 'serialize']);
const MEMBER_TYPED = 'a parameter is typed as defer(), run() or serialize() of the deferred module, and what its callers pass is not followed: the functions it enqueues are not registered, and its calls now return a Promise';

const MEMBER_TYPED_HOLDER = 'a value is declared with the type of defer(), run() or serialize() of the deferred module (`declare`, a field, an interface member, a variable set from something the codemod does not follow), and where its value comes from is not followed: the functions it enqueues are not registered, and its calls now return a Promise';
const MODULE_TYPED_HOLDER = 'a value is declared with the deferred module\'s type (`declare`, a field, an interface member, a variable set from something the codemod does not follow), and where its value comes from is not followed';

/**
 * Where a `typeof` type of the legacy module or of its `defer` (`typeof deferred`, `typeof
 * deferred.defer`, `typeof import(L)`) types a value the tracker does not follow: a parameter
 * (`parameter`), an ambient or uninitialised variable (`declare const q: ...`, in `declare global`
 * too), one whose initialiser is not followed, a class field, an interface or type literal member;
 * directly, in a union, or through a type alias of its file (`type Enqueue = typeof deferred.defer;
 * function later(send: Enqueue)`).
 */
function typedHolders(type: Node, followed: (initializer: Node) => boolean, throughAlias = true): Array<{ node: Node; parameter: boolean }> {
  if (typedParameter(type)) return [{ node: type, parameter: true }];
  let node = type;
  for (let parent = node.getParent(); parent && (Node.isUnionTypeNode(parent) || Node.isParenthesizedTypeNode(parent)); parent = parent.getParent()) node = parent;
  const holder = node.getParent();
  if (!holder) return [];
  if (Node.isTypeAliasDeclaration(holder) && holder.getTypeNode() === node) {
    if (!throughAlias) return [];
    const name = holder.getName();
    return holder
      .getSourceFile()
      .getDescendantsOfKind(SyntaxKind.TypeReference)
      .filter((reference) => reference.getTypeName().getText() === name)
      .flatMap((reference) => typedHolders(reference, followed, false));
  }
  if ((Node.isVariableDeclaration(holder) || Node.isPropertyDeclaration(holder)) && holder.getTypeNode() === node) {
    const initializer = holder.getInitializer();
    return !initializer || !followed(initializer) ? [{ node: type, parameter: false }] : [];
  }
  if (Node.isPropertySignature(holder) && holder.getTypeNode() === node) return [{ node: type, parameter: false }];
  return [];
}

/** `get defer() { return require(L).defer; }`: what a getter whose body is one return statement yields. */
export function getterResult(property: Node): Node | undefined {
  if (!Node.isGetAccessorDeclaration(property)) return undefined;
  const body = property.getBody();
  const statements = body && Node.isBlock(body) ? body.getStatements() : [];
  const only = statements.length === 1 ? statements[0] : undefined;
  return only && Node.isReturnStatement(only) ? only.getExpression() : undefined;
}

/**
 * `eval(...)`, `Function(...)`, `new Function(...)`, also as a member of the global object
 * (`globalThis.eval`; not `redis.eval(script)`): code the tracker cannot read.
 */
function evaluatedCode(sf: SourceFile): UnresolvedReference[] {
  if (!/\b(?:eval|Function)\s*\(/.test(sf.getFullText())) return [];
  const found: UnresolvedReference[] = [];
  const globalName = (callee: ts.Expression): string | undefined => {
    const current = unwrapCompiler(callee);
    if (ts.isIdentifier(current)) return current.text;
    const global = ts.isPropertyAccessExpression(current) && ts.isIdentifier(current.expression) && ['globalThis', 'global', 'window', 'self'].includes(current.expression.text);
    return global ? current.name.text : undefined;
  };
  for (const kind of [SyntaxKind.CallExpression, SyntaxKind.NewExpression]) {
    for (const call of compilerNodesOfKind<ts.CallExpression | ts.NewExpression>(sf, kind)) {
      const name = globalName(call.expression);
      if ((name === 'eval' && kind === SyntaxKind.CallExpression) || name === 'Function') {
        found.push({ node: wrap(sf, call), reason: `code built from a string by ${name}() is run where the codemod cannot see what it reads` });
      }
    }
  }
  return found;
}

const PATCHED = "a member of the deferred module is patched (assigned or deleted), which the shim's exports do not allow: the write is ignored, or a TypeError in strict code";

/**
 * `module.exports = deferred; module.exports.PermanentTaskFailure = MyError`: writes to
 * members of `module.exports` in a file that exports the module object itself.
 */
function patchesThroughModuleExports(sf: SourceFile, isModuleObject: (value: Node) => boolean): Node[] {
  const isModuleExports = (node: Node): boolean => node.getText().replace(/\s+/g, '') === 'module.exports';
  const exportsModule = sf.getStatements().some((statement) => {
    const expression = Node.isExpressionStatement(statement) ? statement.getExpression() : undefined;
    return !!expression && Node.isBinaryExpression(expression) && expression.getOperatorToken().getKind() === SyntaxKind.EqualsToken && isModuleExports(expression.getLeft()) && isModuleObject(expression.getRight());
  });
  if (!exportsModule) return [];
  return [...sf.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression), ...sf.getDescendantsOfKind(SyntaxKind.ElementAccessExpression)].filter((access) => isModuleExports(access.getExpression()) && isWritten(access));
}

/** Why a value of the module object (a binding's reference or an inline require) leaves the tracker's sight here, if it does. */
function escapeReason(value: Node): string | undefined {
  let node: Node = value;
  let parent = node.getParent();
  // Wrappers that keep the value, and `(0, x)`, which the resolver reads as `x`.
  while (parent && (Node.isParenthesizedExpression(parent) || Node.isAsExpression(parent) || Node.isTypeAssertion(parent) || Node.isSatisfiesExpression(parent) || Node.isNonNullExpression(parent) || isIndirectValue(parent, node))) {
    node = parent;
    parent = parent.getParent();
  }
  if (!parent) return undefined;
  // `deferred.defer = wrapper`, `(deferred as any).run = ...`, `delete deferred.X`: a patch of the module.
  if ((Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent)) && parent.getExpression() === node && isWritten(parent)) {
    return PATCHED;
  }
  if (Node.isTypeQuery(parent)) return typedParameter(parent) ? PARAMETER_TYPED : undefined;
  if (Node.isCallExpression(parent) || Node.isNewExpression(parent)) {
    if (parent.getExpression() === node) return undefined;
    // `__importStar(require(L))`, `__exportStar(require(L), exports)`: the emit's helpers, which the resolver follows.
    const helper = calleeName(parent.getExpression().compilerNode as ts.Expression);
    if (helper !== undefined && (interopHelperKind(helper) !== undefined || helper === '__exportStar' || helper === '__export')) return undefined;
    if (Node.isCallExpression(parent) && parent.getArguments()[0] !== node && isExportedObject(node)) return undefined; // Object.assign(module.exports, deferred)
    // Followed into an immediately invoked function (deriveBindings: a call, its callee in parentheses only).
    let callee: Node = parent.getExpression();
    while (Node.isParenthesizedExpression(callee)) callee = callee.getExpression();
    if (Node.isCallExpression(parent) && (Node.isArrowFunction(callee) || Node.isFunctionExpression(callee))) return undefined;
    return 'the deferred module is passed to a function the codemod does not follow';
  }
  if (Node.isElementAccessExpression(parent) && parent.getExpression() === node) {
    const arg = parent.getArgumentExpression();
    return arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) ? undefined : 'a member of the deferred module is read with a computed key';
  }
  if (Node.isSpreadAssignment(parent)) return isExportedObject(parent.getParentOrThrow()) ? undefined : 'the deferred module is spread into another value';
  if (Node.isSpreadElement(parent)) return 'the deferred module is spread into another value';
  if (Node.isArrayLiteralExpression(parent)) return 'the deferred module is stored in an array';
  if (Node.isShorthandPropertyAssignment(parent) || (Node.isPropertyAssignment(parent) && parent.getInitializer() === node)) {
    return isExportedObject(parent.getParentOrThrow()) ? undefined : 'the deferred module is stored in an object';
  }
  if (Node.isBinaryExpression(parent)) {
    const operator = parent.getOperatorToken().getKind();
    if (operator === SyntaxKind.EqualsToken && parent.getRight() === node) {
      const left = parent.getLeft().getText().replace(/\s+/g, '');
      if (/^(?:module\.)?exports(?:\.[A-Za-z_$][\w$]*)?$/.test(left)) return undefined;
      return 'the deferred module is assigned where the codemod does not follow it';
    }
    // `a || deferred`, `deferred ?? b`, `x ||= deferred`, `(f(), deferred)`: the expression's value may be the module.
    const yieldsOperand = operator === SyntaxKind.BarBarToken || operator === SyntaxKind.AmpersandAmpersandToken || operator === SyntaxKind.QuestionQuestionToken || (operator >= SyntaxKind.FirstCompoundAssignment && operator <= SyntaxKind.LastCompoundAssignment && parent.getRight() === node) || (operator === SyntaxKind.CommaToken && parent.getRight() === node);
    return yieldsOperand ? 'the deferred module is an operand of an expression whose value the codemod does not follow' : undefined;
  }
  // Every other place where the module object itself flows on, unseen by the resolver.
  if (Node.isConditionalExpression(parent)) return parent.getCondition() === node ? undefined : 'the deferred module is a branch of a conditional expression';
  if (Node.isReturnStatement(parent) || (Node.isArrowFunction(parent) && parent.getBody() === node)) {
    // The getter of an emitted re-export (`Object.defineProperty(exports, "ns", { get: function () { return m; } })`) is followed.
    return isEmittedReexportValue(node) ? undefined : 'the deferred module is returned from a function';
  }
  if (Node.isYieldExpression(parent) || Node.isAwaitExpression(parent)) return 'the deferred module is yielded or awaited';
  if (Node.isThrowStatement(parent)) return 'the deferred module is thrown, and its catch is not followed';
  // `tag\`${deferred}\``: the tag function gets the value itself (an untagged template only its text).
  if (Node.isTemplateSpan(parent) && Node.isTaggedTemplateExpression(parent.getParent()?.getParent())) return 'the deferred module is passed to a function the codemod does not follow';
  // `class Reg extends (deferred as any) {}`: the class inherits the module's members as statics.
  if (Node.isExpressionWithTypeArguments(parent) && Node.isHeritageClause(parent.getParent())) return 'the deferred module is the base of a class, whose static members the codemod does not follow';
  if (Node.isWithStatement(parent) && parent.getExpression() === node) return 'the deferred module is the object of a with statement, whose bare names the codemod does not resolve';
  // `constructor(private queue = deferred)` is a class field too: `this.queue` is not followed.
  const classField = Node.isPropertyDeclaration(parent) || (Node.isParameterDeclaration(parent) && parent.isParameterProperty());
  if (classField || Node.isBindingElement(parent)) return 'the deferred module is the initial value of a class field or a destructured default';
  if (Node.isJsxExpression(parent) || Node.isForOfStatement(parent)) return 'the deferred module is passed on where the codemod does not follow it';
  return undefined;
}

/** What an ES default import of a module gives: its `default` export, or a CommonJS module's exports object. */
function defaultOf(exports: BarrelExports): SymbolRef | undefined {
  return lookupExport(exports, 'default') ?? exports.whole ?? (exports.commonjs ? { kind: 'barrel-namespace', exports } : undefined);
}

/** The name an export alias gives: `as x`, or ES2022's string name `as 'tasks api'` (as importers spell it: its value). */
function exportedName(alias: Node | undefined): string | undefined {
  if (!alias) return undefined;
  return Node.isStringLiteral(alias) ? alias.getLiteralValue() : alias.getText();
}

/** `(0, x)` (TypeScript's emit of an imported call), which the resolver reads as `x`: walkers up from a reference look through it. */
export function isIndirectValue(parent: Node, node: Node): boolean {
  return Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.CommaToken && parent.getRight() === node && Node.isNumericLiteral(unwrap(parent.getLeft()));
}

/**
 * `Object.assign(module.exports | exports, ...sources)`; with `fresh`,
 * `Object.assign({}, ...sources)` (the value assigned to module.exports).
 */
function objectAssignTarget(node: Node, fresh = false): { sources: Node[] } | undefined {
  if (!Node.isCallExpression(node)) return undefined;
  if (node.getExpression().getText().replace(/\s+/g, '') !== 'Object.assign') return undefined;
  const [target, ...sources] = node.getArguments();
  if (!target) return undefined;
  const unwrapped = unwrap(target);
  const ok = fresh
    ? Node.isObjectLiteralExpression(unwrapped) && unwrapped.getProperties().length === 0
    : ['module.exports', 'exports'].includes(unwrapped.getText().replace(/\s+/g, ''));
  return ok ? { sources } : undefined;
}

/** Whether an object literal is what the module exports (so a legacy value in it is re-exported, not lost). */
export function isExportedObject(literal: Node): boolean {
  let holder = literal.getParent();
  while (holder && (Node.isParenthesizedExpression(holder) || Node.isAsExpression(holder) || Node.isSatisfiesExpression(holder))) holder = holder.getParent();
  if (!holder) return false;
  if (Node.isExportAssignment(holder)) return true;
  // Only module-level statements are read as exports (compute()).
  const topLevel = (statement: Node | undefined): boolean => !!statement && Node.isExpressionStatement(statement) && Node.isSourceFile(statement.getParent());
  const assignsModuleExports = (node: Node | undefined): boolean => {
    // `module.exports = X`, also as the value of `exports = module.exports = X` (or the other way round).
    let assignsIt = false;
    let current: Node | undefined = node;
    while (current && Node.isBinaryExpression(current) && current.getOperatorToken().getKind() === SyntaxKind.EqualsToken && /^(?:module\.)?exports$/.test(current.getLeft().getText().replace(/\s+/g, ''))) {
      if (current.getLeft().getText().replace(/\s+/g, '') === 'module.exports') assignsIt = true;
      const parent: Node | undefined = current.getParent();
      if (!parent || !Node.isBinaryExpression(parent) || parent.getRight() !== current) return assignsIt && topLevel(parent);
      current = parent;
    }
    return false;
  };
  if (Node.isBinaryExpression(holder)) return assignsModuleExports(holder);
  if (Node.isCallExpression(holder) && holder.getArguments()[0] !== literal) {
    if (objectAssignTarget(holder) && topLevel(holder.getParent())) return true;
    return !!objectAssignTarget(holder, true) && assignsModuleExports(holder.getParent());
  }
  return false;
}

/** A `let`/`var` name assigned again after its declaration. */

/**
 * What compute() needs from the whole file, from the shared index of compiler
 * nodes: `import x = require()` declarations and every `require(...)`/`import(...)`
 * call, wrapped (only those) in document order.
 */
function scanLoads(sf: SourceFile, isLegacySpecifier: (specifier: string) => boolean): { importEquals: import('ts-morph').ImportEqualsDeclaration[]; loads: CallExpression[] } {
  const importEquals = compilerNodesOfKind(sf, SyntaxKind.ImportEqualsDeclaration).map((node) => wrap(sf, node) as import('ts-morph').ImportEqualsDeclaration);
  const loads: CallExpression[] = [];
  for (const node of compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression)) {
    if (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === 'require') || isOtherLoad(node, isLegacySpecifier)) loads.push(wrap(sf, node) as CallExpression);
  }
  return { importEquals, loads };
}

/**
 * A load of the legacy module other than `require()`/`import()`: a call of
 * `module.require`, of a `require` alias or of `createRequire(...)`'s function,
 * whose only argument names it. (A test runner's `vi.mock(L, ...)` or
 * `jest.requireActual(L)` names it without loading it for the code: the
 * verification reports those, `legacyModuleNames` in verify/legacy-references.ts.)
 */
function isOtherLoad(node: ts.CallExpression, isLegacySpecifier: (specifier: string) => boolean): boolean {
  const [arg] = node.arguments;
  if (node.arguments.length !== 1 || !arg || !(ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) return false;
  if (!ts.isIdentifier(node.expression) && !(ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'require')) return false;
  return isLegacySpecifier(arg.text);
}

/** The ts-morph node of a compiler node (wrapping only the nodes a pass needs). */
function wrap(sf: SourceFile, compilerNode: ts.Node): Node {
  return (sf as unknown as { _getNodeFromCompilerNode(node: ts.Node): Node })._getNodeFromCompilerNode(compilerNode);
}

/**
 * Uses of a namespace's name in its own file that alias it or its members (`const O = Tasks`,
 * `const f = Tasks.D.defer`, `import P = Tasks.D`); not member reads used in place
 * (`Tasks.D.defer(f)`), types, or export lists.
 */
function namespaceAliases(sf: SourceFile, name: ts.Identifier): ts.Node[] {
  const scope = declaringCompilerScope(name, name.text);
  const found: ts.Node[] = [];
  for (const identifier of compilerNodesOfKind<ts.Identifier>(sf, SyntaxKind.Identifier)) {
    if (identifier === name || identifier.text !== name.text || declaringCompilerScope(identifier, name.text) !== scope) continue;
    const parent = identifier.parent;
    if (ts.isModuleDeclaration(parent) || ts.isExportSpecifier(parent) || ts.isExportAssignment(parent) || ts.isTypeQueryNode(parent)) continue;
    if (ts.isPropertyAccessExpression(parent) && parent.name === identifier) continue;
    if (ts.isQualifiedName(parent) && parent.right === identifier) continue;
    if (!isReference(wrap(sf, identifier) as Identifier)) continue;
    // `Tasks.D` in a type or a qualified name: a type, unless an import alias reads it.
    let node: ts.Node = identifier;
    while (ts.isQualifiedName(node.parent) && node.parent.left === node) node = node.parent;
    if (node !== identifier || ts.isTypeReferenceNode(node.parent)) {
      if (ts.isImportEqualsDeclaration(node.parent)) found.push(node);
      continue;
    }
    // `Tasks.D.defer(f)` is resolved where it is; `const f = Tasks.D.defer` was derived too early.
    let depth = 0;
    while ((ts.isPropertyAccessExpression(node.parent) || ts.isElementAccessExpression(node.parent)) && node.parent.expression === node) {
      node = node.parent;
      depth++;
    }
    const reader = node.parent;
    const aliased = (ts.isVariableDeclaration(reader) && reader.initializer === node) || (ts.isBinaryExpression(reader) && reader.right === node && reader.operatorToken.kind === SyntaxKind.EqualsToken);
    if (depth === 0 || aliased) found.push(node);
  }
  return found;
}

/** `this` in the literal's own methods, accessors and function-valued properties: the literal itself. */
function ownThis(literal: import('ts-morph').ObjectLiteralExpression): Node[] {
  return literal.getDescendantsOfKind(SyntaxKind.ThisKeyword).filter((keyword) => {
    const owner = keyword.getFirstAncestor((a) => (Node.isFunctionLikeDeclaration(a) && !Node.isArrowFunction(a)) || Node.isClassDeclaration(a) || Node.isClassExpression(a));
    if (!owner || Node.isClassDeclaration(owner) || Node.isClassExpression(owner)) return false;
    const member = Node.isFunctionExpression(owner) ? owner.getParent() : owner;
    return member?.getParent() === literal;
  });
}

/** Binds a derived name in the scope that declares it (module level or nearer); the first binding of a name wins. */
/** `C.D` offers what every exported declaration of the nested namespace `D` offers. */
function mergeNamespaceOffer(into: BarrelExports, name: string, offered: BarrelExports): void {
  mergeNamespaceMember(into, name, { kind: 'barrel-namespace', exports: offered });
}

/** A merged namespace's member: nested namespaces of one name are merged too. */
function mergeNamespaceMember(into: BarrelExports, name: string, ref: SymbolRef): void {
  const known = into.named.get(name);
  if (known?.kind === 'barrel-namespace' && ref.kind === 'barrel-namespace') {
    const named = new Map(known.exports.named);
    for (const [key, value] of ref.exports.named) mergeNamespaceMember({ named, star: [] }, key, value);
    into.named.set(name, { kind: 'barrel-namespace', exports: { named, star: [] } });
    return;
  }
  if (!known) into.named.set(name, ref);
}

function bindInScope(symbols: FileSymbols, nameNode: Identifier, ref: SymbolRef, element?: BindingElement, keepsName = false): void {
  const name = nameNode.getText();
  const scope = declaringScope(nameNode, name);
  const binding: Binding = { local: name, ref, nameNode, typeOnly: false, ...(element ? { element } : {}), ...(scope ? { scope } : {}), ...(keepsName ? { keepsName } : {}) };
  if (!scope) {
    if (!symbols.bindings.has(name)) symbols.bindings.set(name, binding);
    return;
  }
  const names = symbols.scoped.get(scope) ?? new Map<string, Binding>();
  if (!names.has(name)) names.set(name, binding);
  symbols.scoped.set(scope, names);
}

/** The other module's own (non-legacy) exports shadow the star through this one too. */
function shadowThrough(from: BarrelExports, into: BarrelExports): void {
  for (const name of from.own ?? []) {
    if (from.named.has(name) || name === 'default') continue;
    (into.own ??= new Set()).add(name);
  }
}

/** `f`, `x.f`, `(0, x.f)`: the name a callee calls, if it has one. */
function calleeName(callee: ts.Expression): string | undefined {
  let current = unwrapCompiler(callee);
  if (ts.isBinaryExpression(current) && current.operatorToken.kind === SyntaxKind.CommaToken) current = unwrapCompiler(current.right);
  if (ts.isIdentifier(current)) return current.text;
  if (ts.isPropertyAccessExpression(current)) return current.name.text;
  return undefined;
}

/** `exports` or `module.exports`. */
function isExportsObject(node: Node | undefined): boolean {
  return !!node && ['module.exports', 'exports'].includes(unwrap(node).getText().replace(/\s+/g, ''));
}

/**
 * TypeScript's CommonJS emit of re-exports: `__exportStar(require(L), exports)`
 * (also tslib's, and the older `__export(require(L))`): every member of the value
 * (`name` undefined); `Object.defineProperty(exports, "X", { get: function () {
 * return v; } })` or `{ value: v }`: `X`.
 */
export function emittedReexport(expression: Node): { name: string | undefined; value: Node } | undefined {
  if (!Node.isCallExpression(expression)) return undefined;
  const callee = calleeName(expression.getExpression().compilerNode as ts.Expression);
  const [first, second, third] = expression.getArguments();
  if (!first) return undefined;
  if (callee === '__exportStar' && isExportsObject(second)) return { name: undefined, value: first };
  if (callee === '__export' && expression.getArguments().length === 1) return { name: undefined, value: first };
  if (callee !== 'defineProperty' || !isExportsObject(first) || !second || !Node.isStringLiteral(second) || !third || !Node.isObjectLiteralExpression(third)) return undefined;
  for (const property of third.getProperties()) {
    if (Node.isPropertyAssignment(property) && property.getName() === 'value') {
      const initializer = property.getInitializer();
      if (initializer) return { name: second.getLiteralValue(), value: initializer };
    }
    const getter = Node.isPropertyAssignment(property) && property.getName() === 'get' ? property.getInitializer() : Node.isMethodDeclaration(property) && property.getName() === 'get' ? property : undefined;
    if (!getter || !(Node.isFunctionExpression(getter) || Node.isArrowFunction(getter) || Node.isMethodDeclaration(getter))) continue;
    const body = getter.getBody();
    if (body && !Node.isBlock(body)) return { name: second.getLiteralValue(), value: body };
    const statements = body && Node.isBlock(body) ? body.getStatements() : [];
    const only = statements.length === 1 ? statements[0] : undefined;
    const returned = only && Node.isReturnStatement(only) ? only.getExpression() : undefined;
    if (returned) return { name: second.getLiteralValue(), value: returned };
  }
  return undefined;
}

/** The value an emitted re-export (`emittedReexport`) at module level gives, e.g. what its getter returns. */
export function isEmittedReexportValue(node: Node): boolean {
  const call = node.getFirstAncestor((a) => Node.isCallExpression(a) && Node.isExpressionStatement(a.getParent()));
  if (!call || !Node.isSourceFile(call.getParent()?.getParent())) return false;
  return emittedReexport(call)?.value === node;
}

/**
 * Names a module exports itself, which a star re-export cannot reach (ES: a local
 * export shadows `export *`): exported declarations, `export { x }` lists,
 * `export default`, `exports.x =` / `module.exports.x =`.
 */
function ownExportNames(sf: SourceFile): Set<string> {
  const names = new Set<string>();
  for (const statement of sf.compilerNode.statements) {
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    const exported = !!modifiers?.some((m) => m.kind === SyntaxKind.ExportKeyword);
    const isDefault = !!modifiers?.some((m) => m.kind === SyntaxKind.DefaultKeyword);
    if (exported && isDefault) names.add('default');
    else if (exported && ts.isVariableStatement(statement)) {
      const add = (name: ts.BindingName): void => {
        if (ts.isIdentifier(name)) names.add(name.text);
        else for (const element of name.elements) if (ts.isBindingElement(element)) add(element.name);
      };
      for (const declaration of statement.declarationList.declarations) add(declaration.name);
    } else if (exported && (ts.isClassDeclaration(statement) || ts.isFunctionDeclaration(statement) || ts.isEnumDeclaration(statement) || ts.isModuleDeclaration(statement)) && statement.name && ts.isIdentifier(statement.name)) {
      names.add(statement.name.text);
    } else if (ts.isExportDeclaration(statement) && statement.exportClause) {
      if (ts.isNamedExports(statement.exportClause)) for (const element of statement.exportClause.elements) names.add(element.name.text);
      else names.add(statement.exportClause.name.text);
    } else if (ts.isExportAssignment(statement) && !statement.isExportEquals) {
      names.add('default');
    } else if (ts.isExpressionStatement(statement) && ts.isBinaryExpression(statement.expression) && statement.expression.operatorToken.kind === SyntaxKind.EqualsToken) {
      const left = statement.expression.left;
      if (ts.isPropertyAccessExpression(left)) {
        const object = left.expression;
        const isExports = (ts.isIdentifier(object) && object.text === 'exports') || (ts.isPropertyAccessExpression(object) && ts.isIdentifier(object.expression) && object.expression.text === 'module' && object.name.text === 'exports');
        if (isExports) names.add(left.name.text);
      }
    }
  }
  return names;
}
