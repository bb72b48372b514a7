// Resolves, per file, which local names and expressions denote the legacy
// deferred/webapp module (or the shim, so that migrated code is recognised):
// every import style of the contract, CommonJS, aliases and project barrels.
import { Node, SyntaxKind, type CallExpression, type Identifier, type SourceFile, type StringLiteral } from 'ts-morph';
import type { ProjectIndex, SourceRecord } from './project.js';
import { isReference, isShadowed } from './scope.js';
import { roleOfSpecifier, type ModuleMatchers, type ModuleRole } from './specifiers.js';

export interface BarrelExports {
  named: Map<string, SymbolRef>;
  /** `export * from` a legacy module (directly or through another barrel). */
  star: ModuleRole[];
}

export type SymbolRef =
  | { kind: 'namespace'; role: ModuleRole }
  | { kind: 'member'; role: ModuleRole; name: string }
  | { kind: 'barrel-namespace'; exports: BarrelExports };

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
}

export interface FileSymbols {
  bindings: Map<string, Binding>;
  sites: ImportSite[];
  dynamic: Node[];
  exports: BarrelExports;
}

const EMPTY_EXPORTS: BarrelExports = { named: new Map(), star: [] };

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
  // The shim's `deferred` export is the namespace itself.
  if (role === 'shim' && name === 'deferred') return { kind: 'namespace', role };
  return { kind: 'member', role, name };
}

function lookupExport(exports: BarrelExports, name: string): SymbolRef | undefined {
  const named = exports.named.get(name);
  if (named) return named;
  const role = exports.star[0];
  return role ? memberRef(role, name) : undefined;
}

function unwrap(node: Node): Node {
  let current = node;
  while (Node.isParenthesizedExpression(current) || Node.isAsExpression(current) || Node.isNonNullExpression(current)) {
    current = current.getExpression();
  }
  return current;
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
    private readonly index: ProjectIndex,
    private readonly matchers: ModuleMatchers,
  ) {}

  /** What a specifier imported from `record` denotes: a module role, a barrel, or nothing of ours. */
  private target(record: SourceRecord, specifier: string): { role: ModuleRole } | { barrel: BarrelExports; absPath: string } | undefined {
    const role = roleOfSpecifier(specifier, this.matchers);
    if (role) return { role };
    const resolved = this.index.resolve(record.absPath, specifier);
    if (!resolved) return undefined;
    const exports = this.exportsOf(resolved);
    if (exports.named.size === 0 && exports.star.length === 0) return undefined;
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
    if (this.inProgress.has(record.absPath)) return { bindings: new Map(), sites: [], dynamic: [], exports: EMPTY_EXPORTS };
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
    const symbols: FileSymbols = { bindings, sites, dynamic, exports };

    const addBinding = (nameNode: Identifier, ref: SymbolRef, site: ImportSite | undefined, typeOnly: boolean): void => {
      bindings.set(nameNode.getText(), { local: nameNode.getText(), ref, nameNode, typeOnly, ...(site ? { site } : {}) });
    };

    for (const declaration of sf.getImportDeclarations()) {
      const specifier = declaration.getModuleSpecifier();
      const target = this.target(record, specifier.getLiteralValue());
      if (!target) continue;
      const viaBarrel = 'barrel' in target;
      const role: ModuleRole = 'role' in target ? target.role : 'deferred';
      const site: ImportSite = { kind: 'esm-import', node: declaration, role, specifier, viaBarrel };
      sites.push(site);
      const typeOnly = declaration.isTypeOnly();
      const namespaceImport = declaration.getNamespaceImport();
      if (namespaceImport) {
        addBinding(namespaceImport, 'barrel' in target ? { kind: 'barrel-namespace', exports: target.barrel } : { kind: 'namespace', role }, site, typeOnly);
      }
      const defaultImport = declaration.getDefaultImport();
      if (defaultImport && !viaBarrel) addBinding(defaultImport, { kind: 'namespace', role }, site, typeOnly);
      for (const specifierNode of declaration.getNamedImports()) {
        const imported = specifierNode.getName();
        const ref = 'barrel' in target ? lookupExport(target.barrel, imported) : memberRef(role, imported);
        if (!ref) continue;
        addBinding(specifierNode.getAliasNode() ?? specifierNode.getNameNode() as Identifier, ref, site, typeOnly || specifierNode.isTypeOnly());
      }
    }

    for (const declaration of sf.getDescendantsOfKind(SyntaxKind.ImportEqualsDeclaration)) {
      const reference = declaration.getModuleReference();
      if (!Node.isExternalModuleReference(reference)) continue;
      const expression = reference.getExpression();
      if (!expression || !Node.isStringLiteral(expression)) continue;
      const target = this.target(record, expression.getLiteralValue());
      if (!target) continue;
      const role: ModuleRole = 'role' in target ? target.role : 'deferred';
      const site: ImportSite = { kind: 'import-equals', node: declaration, role, specifier: expression, viaBarrel: 'barrel' in target };
      sites.push(site);
      addBinding(declaration.getNameNode(), 'barrel' in target ? { kind: 'barrel-namespace', exports: target.barrel } : { kind: 'namespace', role }, site, declaration.isTypeOnly());
    }

    // require(): in a module-level declaration it is an import site; anywhere else an inline use.
    const requireCalls = sf.getDescendantsOfKind(SyntaxKind.CallExpression).filter((call) => requireSpecifier(call));
    const claimedRequires = new Set<CallExpression>();
    for (const statement of sf.getVariableStatements()) {
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
        claimedRequires.add(requireCall);
        const role: ModuleRole = 'role' in target ? target.role : 'deferred';
        const site: ImportSite = { kind: 'cjs-variable', node: statement, role, specifier: literal, viaBarrel: 'barrel' in target };
        sites.push(site);
        const nameNode = declaration.getNameNode();
        const namespaceRef: SymbolRef = 'barrel' in target ? { kind: 'barrel-namespace', exports: target.barrel } : { kind: 'namespace', role };
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
            if (ref) addBinding(local, ref, site, false);
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

    // `const H = deferred.TaskHandler`: module-level aliases of legacy members.
    for (const statement of sf.getVariableStatements()) {
      for (const declaration of statement.getDeclarations()) {
        const nameNode = declaration.getNameNode();
        const initializer = declaration.getInitializer();
        if (!Node.isIdentifier(nameNode) || !initializer || bindings.has(nameNode.getText())) continue;
        const ref = this.resolveIn(symbols, initializer);
        if (ref && ref.kind === 'member') addBinding(nameNode, ref, undefined, false);
      }
    }

    // Re-exports: what this file offers as a barrel.
    for (const declaration of sf.getExportDeclarations()) {
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
            for (const [name, ref] of target.barrel.named) if (!exports.named.has(name)) exports.named.set(name, ref);
            exports.star.push(...target.barrel.star);
          } else if (isLegacyRole(role) || role === 'shim') exports.star.push(role);
        } else {
          for (const exportSpecifier of declaration.getNamedExports()) {
            const imported = exportSpecifier.getName();
            const ref = 'barrel' in target ? lookupExport(target.barrel, imported) : memberRef(role, imported);
            if (ref) exports.named.set(exportSpecifier.getAliasNode()?.getText() ?? imported, ref);
          }
        }
      } else {
        for (const exportSpecifier of declaration.getNamedExports()) {
          const binding = bindings.get(exportSpecifier.getName());
          if (binding) exports.named.set(exportSpecifier.getAliasNode()?.getText() ?? exportSpecifier.getName(), binding.ref);
        }
      }
    }
    for (const statement of sf.getVariableStatements()) {
      if (!statement.hasExportKeyword()) continue;
      for (const declaration of statement.getDeclarations()) {
        const binding = bindings.get(declaration.getName());
        if (binding && binding.nameNode === declaration.getNameNode()) exports.named.set(binding.local, binding.ref);
      }
    }
    // module.exports = require('<legacy>')
    for (const statement of sf.getStatements()) {
      if (!Node.isExpressionStatement(statement)) continue;
      const expression = statement.getExpression();
      if (!Node.isBinaryExpression(expression) || expression.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
      if (expression.getLeft().getText() !== 'module.exports') continue;
      const ref = this.resolveIn(symbols, expression.getRight());
      if (ref?.kind === 'namespace') exports.star.push(ref.role);
    }

    for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      if (this.isDynamicLegacyLoad(sf, call)) dynamic.push(call);
    }
    return symbols;
  }

  private isDynamicLegacyLoad(sf: SourceFile, call: CallExpression): boolean {
    const callee = call.getExpression();
    const isImport = callee.getKind() === SyntaxKind.ImportKeyword;
    const isRequire = Node.isIdentifier(callee) && callee.getText() === 'require';
    if (!isImport && !isRequire) return false;
    const [arg] = call.getArguments();
    if (!arg) return false;
    const legacy = (value: string): boolean => {
      const role = roleOfSpecifier(value, this.matchers);
      return role === 'deferred' || role === 'webapp';
    };
    if (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) return isImport && legacy(arg.getLiteralValue());
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

  private resolveIn(symbols: FileSymbols, node: Node): SymbolRef | undefined {
    const current = unwrap(node);
    if (Node.isIdentifier(current)) {
      const binding = symbols.bindings.get(current.getText());
      if (!binding || binding.nameNode === current) return undefined;
      if (isShadowed(current)) return undefined;
      return binding.ref;
    }
    let base: Node | undefined;
    let name: string | undefined;
    if (Node.isPropertyAccessExpression(current)) {
      base = current.getExpression();
      name = current.getName();
    } else if (Node.isElementAccessExpression(current)) {
      const arg = current.getArgumentExpression();
      if (arg && Node.isStringLiteral(arg)) {
        base = current.getExpression();
        name = arg.getLiteralValue();
      }
    } else if (Node.isQualifiedName(current)) {
      base = current.getLeft();
      name = current.getRight().getText();
    } else if (Node.isCallExpression(current)) {
      const literal = requireSpecifier(current);
      if (!literal) return undefined;
      const role = roleOfSpecifier(literal.getLiteralValue(), this.matchers);
      if (role) return { kind: 'namespace', role };
      const resolved = this.index.resolve(current.getSourceFile().getFilePath(), literal.getLiteralValue());
      if (!resolved) return undefined;
      const exports = this.exportsOf(resolved);
      return exports.named.size || exports.star.length ? { kind: 'barrel-namespace', exports } : undefined;
    }
    if (!base || name === undefined) return undefined;
    const baseRef = this.resolveIn(symbols, base);
    if (!baseRef) return undefined;
    if (baseRef.kind === 'namespace') return memberRef(baseRef.role, name);
    if (baseRef.kind === 'barrel-namespace') return lookupExport(baseRef.exports, name);
    return undefined;
  }

  /** Identifiers in the file that refer to `binding` (its declaration excluded). */
  references(record: SourceRecord, binding: Binding): Identifier[] {
    const result: Identifier[] = [];
    for (const identifier of record.sourceFile.getDescendantsOfKind(SyntaxKind.Identifier)) {
      if (identifier === binding.nameNode || identifier.getText() !== binding.local) continue;
      if (!isReference(identifier) || isShadowed(identifier)) continue;
      result.push(identifier);
    }
    return result;
  }
}
