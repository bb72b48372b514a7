// How legacy names read after the migration: `TaskHandler` becomes `Handler`
// (bare imports renamed at every reference, `deferred.TaskHandler` member
// accesses renamed), aliases keep their local names. Rules that generate code
// from existing expressions translate them through here.
import { Node, SyntaxKind, ts, type ElementAccessExpression, type PropertyAccessExpression, type QualifiedName, type SourceFile } from 'ts-morph';
import { compilerNodesOfKind, compilerText, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import { mayDeclareAtModuleLevel, mayImportName } from '../analysis/declarations.js';
import type { Analysis } from '../analysis/index.js';
import { isMember, type Binding, type FileSymbols } from '../analysis/legacy-symbols.js';
import type { SourceRecord } from '../analysis/project.js';
import type { RuleOutput, ShimName } from './context.js';

export const RENAMED_MEMBERS: Record<string, string> = { TaskHandler: 'Handler' };

export interface NameUse {
  start: number;
  end: number;
  /** Replacement text (equal to the original when nothing changes). */
  text: string;
  /** Local name of the binding the use refers to. */
  binding: string;
}

/**
 * The local name a binding has after the migration: a bare `TaskHandler` becomes
 * `Handler`, unless the file declares a `Handler` of its own (then the import
 * is aliased and the references keep their name).
 */
export function migratedLocal(binding: Binding): string {
  if (!binding.site || binding.site.role !== 'deferred' || binding.keepsName) return binding.local;
  const ref = binding.ref;
  const renamed = ref.kind === 'member' && binding.local === ref.name ? RENAMED_MEMBERS[ref.name] : undefined;
  if (renamed && !declaresLocally(binding.nameNode.getSourceFile(), renamed)) return renamed;
  return binding.local;
}

/** A module-level declaration (not an import) of `name` in the file. */
function declaresLocally(sf: SourceFile, name: string): boolean {
  if (!mayDeclareAtModuleLevel(sf, name)) return false;
  return !!(sf.getVariableDeclaration(name) ?? sf.getFunction(name) ?? sf.getClass(name) ?? sf.getInterface(name) ?? sf.getTypeAlias(name) ?? sf.getEnum(name));
}

const SHIM_ALIASES: Record<string, string> = {
  register: 'registerDeferred',
  environFrom: 'deferredEnviron',
  Handler: 'DeferredHandler',
  wrapApp: 'wrapDeferredApp',
  Environ: 'DeferredEnviron',
  deferred: 'deferredShim',
};

/**
 * The local name under which generated code can use the shim export `name` in
 * this file: the file's existing shim import of it, else `name`, else (when the
 * file declares `name` itself) an alias. Records the import.
 */
export function useShimName(analysis: Analysis, out: RuleOutput, record: SourceRecord, shimName: ShimName): string {
  const name = shimName.replace(/^type /, '');
  for (const binding of analysis.symbols.of(record).bindings.values()) {
    if (binding.site?.role === 'shim' && binding.ref.kind === 'member' && binding.ref.name === name) return binding.local;
  }
  const taken = (candidate: string): boolean => declaresLocally(record.sourceFile, candidate) || importsName(record.sourceFile, candidate);
  let local = name;
  if (taken(local) && !(name === 'Handler' && legacyRenamesTo(analysis, record, 'Handler'))) {
    local = SHIM_ALIASES[name] ?? `${name}FromShim`;
    for (let i = 2; taken(local); i++) local = `${SHIM_ALIASES[name] ?? name}${i}`;
  }
  out.needImport(record, shimName, local);
  return local;
}

function importsName(sf: SourceFile, name: string): boolean {
  if (!mayImportName(sf, name)) return false;
  return sf.getImportDeclarations().some(
    (d) => d.getDefaultImport()?.getText() === name || d.getNamespaceImport()?.getText() === name || d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name),
  );
}

/** The file's legacy imports will bind `name` after migration (TaskHandler → Handler). */
function legacyRenamesTo(analysis: Analysis, record: SourceRecord, name: string): boolean {
  return [...analysis.symbols.of(record).bindings.values()].some((b) => migratedLocal(b) === name && b.local !== name);
}

const usesCache = new WeakMap<SourceRecord, NameUse[]>();

/** Module-level and nearer-scope bindings of a file. */
export function allBindings(symbols: FileSymbols): Binding[] {
  return [...symbols.bindings.values(), ...[...symbols.scoped.values()].flatMap((names) => [...names.values()])];
}

/** Every use of a legacy binding in the file, with its migrated text. */
export function legacyNameUses(analysis: Analysis, record: SourceRecord): NameUse[] {
  const cached = usesCache.get(record);
  if (cached) return cached;
  const symbols = analysis.symbols.of(record);
  const uses: NameUse[] = [];
  for (const binding of allBindings(symbols)) {
    const local = migratedLocal(binding);
    for (const identifier of analysis.symbols.references(record, binding)) {
      const parent = identifier.getParent();
      let text = local;
      if (parent && Node.isShorthandPropertyAssignment(parent) && local !== binding.local) text = `${binding.local}: ${local}`;
      // `export { TaskHandler }` keeps its public name: `export { Handler as TaskHandler }`.
      if (parent && Node.isExportSpecifier(parent) && !parent.getAliasNode() && local !== binding.local) text = `${local} as ${binding.local}`;
      uses.push({ start: identifier.getStart(), end: identifier.getEnd(), text, binding: binding.scope ? '' : binding.local });
    }
    // `const { TaskHandler: Base } = deferred` reads the shim's namesake: `{ Handler: Base }`.
    const element = binding.element;
    const renamed = element && !binding.keepsName && binding.ref.kind === 'member' && binding.ref.role === 'deferred' ? RENAMED_MEMBERS[binding.ref.name] : undefined;
    if (element && renamed && !element.getDotDotDotToken()) {
      const property = element.getPropertyNameNode();
      if (property) uses.push({ start: property.getStart(), end: property.getEnd(), text: renamed, binding: '' });
      else if (element.getNameNode() === binding.nameNode) uses.push({ start: binding.nameNode.getStart(), end: binding.nameNode.getEnd(), text: `${renamed}: ${binding.local}`, binding: '' });
    }
  }
  // deferred.TaskHandler → deferred.Handler (namespace members, require(...).TaskHandler, type names).
  // Member names are tested on the compiler nodes; only the few renamed ones are wrapped.
  const sf = record.sourceFile;
  // The cooked name first: a source text with escapes is no key, and one without is the cooked name.
  const renames = (name: ts.MemberName | ts.Identifier): boolean => !!RENAMED_MEMBERS[name.text] && !!RENAMED_MEMBERS[compilerText(sf, name)];
  const members: Array<{ base: Node; name: Node; text?: string }> = [
    ...compilerNodesOfKind<ts.PropertyAccessExpression>(sf, SyntaxKind.PropertyAccessExpression)
      .filter((n) => renames(n.name))
      .map((n) => wrapCompilerNode<PropertyAccessExpression>(sf, n))
      .map((n) => ({ base: n.getExpression(), name: n.getNameNode() })),
    ...compilerNodesOfKind<ts.QualifiedName>(sf, SyntaxKind.QualifiedName)
      .filter((n) => renames(n.right))
      .map((n) => wrapCompilerNode<QualifiedName>(sf, n))
      .map((n) => ({ base: n.getLeft(), name: n.getRight() })),
  ];
  // deferred['TaskHandler'] → deferred['Handler'] (the quotes kept).
  for (const compilerAccess of compilerNodesOfKind<ts.ElementAccessExpression>(sf, SyntaxKind.ElementAccessExpression)) {
    const literal = compilerAccess.argumentExpression;
    if (!(ts.isStringLiteral(literal) || ts.isNoSubstitutionTemplateLiteral(literal)) || !RENAMED_MEMBERS[literal.text]) continue;
    const access = wrapCompilerNode<ElementAccessExpression>(sf, compilerAccess);
    const arg = access.getArgumentExpression();
    if (!arg || !(Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg))) continue;
    const renamed = RENAMED_MEMBERS[arg.getLiteralValue()];
    if (renamed) members.push({ base: access.getExpression(), name: arg, text: arg.getText().replace(arg.getLiteralValue(), renamed) });
  }
  for (const { base, name, text } of members) {
    const renamed = text ?? RENAMED_MEMBERS[name.getText()];
    if (!renamed) continue;
    const baseRef = analysis.symbols.resolve(record, base);
    const isLegacyNamespace =
      (baseRef?.kind === 'namespace' && baseRef.role === 'deferred') ||
      // Through a barrel's star, unless the barrel's own export of that name shadows it.
      (baseRef?.kind === 'barrel-namespace' && baseRef.exports.star.includes('deferred') && !baseRef.exports.named.has(name.getText().replace(/^['"`]|['"`]$/g, '')) && isMember(analysis.symbols.resolve(record, name.getParentOrThrow()), [name.getText().replace(/^['"`]|['"`]$/g, '')], ['deferred']));
    if (!isLegacyNamespace) continue;
    uses.push({ start: name.getStart(), end: name.getEnd(), text: renamed, binding: '' });
  }
  if (!record.isTypeScript && record.text.includes('/**')) uses.push(...jsdocNameUses(record, symbols));
  uses.sort((a, b) => a.start - b.start);
  usesCache.set(record, uses);
  return uses;
}

/**
 * Type names in the JSDoc of a JavaScript file (`@param {TaskHandler} h`, `@type {deferred.TaskHandler}`):
 * the compiler's references do not include them, so they were left naming a binding the migration
 * renamed (TS2304 under checkJs or `// @ts-check`, a stale type in editors otherwise). Module-level
 * bindings only: a renamed local (`TaskHandler` → `Handler`), a namespace's member (`deferred.TaskHandler`).
 */
function jsdocNameUses(record: SourceRecord, symbols: ReturnType<Analysis['symbols']['of']>): NameUse[] {
  const renames: Array<{ pattern: RegExp; text: (match: RegExpExecArray) => string; offset: (match: RegExpExecArray) => number; binding: string }> = [];
  for (const binding of symbols.bindings.values()) {
    const local = migratedLocal(binding);
    const word = binding.local.replace(/\$/g, '\\$');
    if (local !== binding.local) {
      renames.push({ pattern: new RegExp(`(?<![\\w$.'"/])${word}(?![\\w$])`, 'g'), text: () => local, offset: () => 0, binding: binding.local });
    } else if (binding.ref.kind === 'namespace' && binding.ref.role === 'deferred') {
      for (const [member, renamed] of Object.entries(RENAMED_MEMBERS)) {
        renames.push({ pattern: new RegExp(`(?<![\\w$.'"/])${word}\\.${member}(?![\\w$])`, 'g'), text: () => renamed, offset: () => binding.local.length + 1, binding: '' });
      }
    }
  }
  if (renames.length === 0) return [];
  const found: NameUse[] = [];
  for (const block of record.text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    // The types: `{...}` after a tag (braces nest in object types).
    for (const type of block[0].matchAll(/@[A-Za-z]+\s*\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}/g)) {
      const typeStart = block.index! + type.index! + type[0].indexOf('{') + 1;
      for (const { pattern, text, offset, binding } of renames) {
        for (const match of type[1]!.matchAll(pattern)) {
          const start = typeStart + match.index! + offset(match as RegExpExecArray);
          const replacement = text(match as RegExpExecArray);
          found.push({ start, end: start + (match[0].length - offset(match as RegExpExecArray)), text: replacement, binding });
        }
      }
    }
  }
  return found;
}

/** The node's text as it reads after the migration; the bindings it uses are kept imported. */
export function translate(analysis: Analysis, out: RuleOutput, record: SourceRecord, node: Node): string {
  const start = node.getStart();
  const end = node.getEnd();
  let text = record.text.slice(start, end);
  const inside = legacyNameUses(analysis, record).filter((u) => u.start >= start && u.end <= end);
  for (const use of [...inside].reverse()) {
    text = text.slice(0, use.start - start) + use.text + text.slice(use.end - start);
  }
  out.use(record, inside.map((u) => u.binding).filter(Boolean));
  return text;
}

export interface NamespaceAccess {
  /** Local name of the deferred namespace object. */
  local: string;
  /** The binding is the module object itself (`import d = require()`, inline), not `{ deferred }`. */
  flat: boolean;
}

/** The deferred namespace object the file has (legacy, to be migrated, or the shim's). */
export function namespaceAccess(analysis: Analysis, record: SourceRecord): NamespaceAccess | undefined {
  for (const binding of analysis.symbols.of(record).bindings.values()) {
    if (binding.ref.kind !== 'namespace' || binding.typeOnly || !binding.site || binding.site.viaBarrel) continue;
    if (binding.ref.role !== 'deferred' && binding.ref.role !== 'shim') continue;
    const wholeShimModule =
      binding.ref.role === 'shim' &&
      ((binding.site.kind === 'esm-import' && Node.isNamespaceImport(binding.nameNode.getParent())) ||
        (binding.site.kind === 'cjs-variable' && isWholeModuleRequire(binding)));
    const flat = binding.site.kind === 'import-equals' || wholeShimModule;
    return { local: binding.local, flat };
  }
  return undefined;
}

function isWholeModuleRequire(binding: Binding): boolean {
  // `const shim = require('deferred-migrate/shim')` binds the flat module, not its `deferred` namespace.
  const declaration = binding.nameNode.getParent();
  return !!declaration && Node.isVariableDeclaration(declaration) && declaration.getNameNode() === binding.nameNode;
}

/** Local binding names in the file, to avoid generating colliding names. */
export function hasLocalName(record: SourceRecord, name: string): boolean {
  const sf = record.sourceFile;
  return !!(sf.getVariableDeclaration(name) ?? sf.getFunction(name) ?? sf.getClass(name) ?? sf.getImportDeclarations().find((d) =>
    d.getDefaultImport()?.getText() === name || d.getNamespaceImport()?.getText() === name || d.getNamedImports().some((n) => (n.getAliasNode()?.getText() ?? n.getName()) === name),
  ));
}
