// Whether a module-level registry of task functions (a `const` object or array
// whose entries the codemod registers) holds only what its literal says. The
// registrations are written from the literal, so code that changes the registry
// (`TASKS.push(w3)`, `Object.defineProperty(TASKS, ...)`, `TASKS.reverse()`,
// `extend(TASKS)`, `(jobs.TASKS as any).w2 = w3` in an importer) would hand defer()
// a function nobody registered. Every reference of the binding, in its file and in
// the files of the run that import it, must be a read of an entry or a use that
// cannot change it; anything else is the reason returned.
import { Node, SyntaxKind, ts, type Identifier, type SourceFile, type VariableDeclaration, type ClassDeclaration } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import { compilerIdentifiersNamed, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import { outermostExpression } from '../analysis/legacy-symbols.js';
import { accessKey } from '../analysis/object-members.js';
import type { SourceRecord } from '../analysis/project.js';
import { isWritten } from '../analysis/scope.js';

/** Methods that read an array or object without changing it. */
const READING_METHODS = new Set([
  'forEach', 'map', 'flatMap', 'filter', 'some', 'every', 'find', 'findIndex', 'findLast', 'findLastIndex', 'includes', 'indexOf',
  'lastIndexOf', 'at', 'slice', 'concat', 'join', 'entries', 'keys', 'values', 'reduce', 'reduceRight', 'toSorted', 'toReversed',
  'toSpliced', 'with', 'toString', 'toLocaleString', 'hasOwnProperty', 'propertyIsEnumerable', 'valueOf',
]);

/** `Object.values(x)` and the like: they read `x`. */
const READING_CALLS = new Set(['Object.values', 'Object.keys', 'Object.entries', 'Object.freeze', 'Object.isFrozen', 'Array.isArray', 'JSON.stringify']);

/** What the binding is, for the classification: the registry's entry keys (calling one is a read). */
interface Registry {
  name: string;
  keys: ReadonlySet<string>;
  /** A class whose static method `member` is registered: only writes of its members and patching calls change it. */
  member?: string;
}

/** Calls that change the object given first. */
const PATCHING_CALLS = new Set(['Object.assign', 'Object.defineProperty', 'Object.defineProperties', 'Object.setPrototypeOf', 'Reflect.set', 'Reflect.defineProperty', 'Reflect.deleteProperty', 'Reflect.setPrototypeOf']);

/** Why the reference `ref` of the registry may change it, or undefined when it only reads it. */
function changeBy(ref: Node, registry: Registry): string | undefined {
  const outer = outermostExpression(ref);
  const parent = outer.getParent();
  if (!parent) return undefined;
  if ((Node.isPropertyAccessExpression(parent) || Node.isElementAccessExpression(parent)) && parent.getExpression() === outer) {
    if (isWritten(parent)) {
      const key = accessKey(parent);
      return registry.member === undefined || key === undefined || key === registry.member ? `\`${parent.getText()}\` is written` : undefined;
    }
    if (registry.member !== undefined) return undefined;
    const call = outermostExpression(parent).getParent();
    if (call && Node.isCallExpression(call) && outermostExpression(parent) === call.getExpression()) {
      const key = accessKey(parent);
      if (key === undefined || (!READING_METHODS.has(key) && !registry.keys.has(key))) return `\`${call.getExpression().getText()}()\` is called`;
    }
    return undefined;
  }
  const callee = Node.isCallExpression(parent) && parent.getArguments()[0] === outer ? parent.getExpression().getText() : undefined;
  if (registry.member !== undefined) return callee !== undefined && PATCHING_CALLS.has(callee) ? `\`${callee}(${registry.name}, ...)\` patches it` : undefined;
  if (callee !== undefined && READING_CALLS.has(callee)) return undefined;
  if (Node.isForOfStatement(parent) && parent.getExpression() === outer) return undefined;
  // `{ ...TASKS }`, `[...TASKS]`: a copy, which the registry's own entries do not follow.
  if (Node.isSpreadAssignment(parent) || Node.isSpreadElement(parent)) return undefined;
  if (Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.InKeyword && parent.getRight() === outer) return undefined;
  return `\`${registry.name}\` is used as a whole (\`${parent.getText().slice(0, 60)}\`)`;
}

/** Whether the identifier `id` is a reference (not a declaration, a property name, an import or export specifier, a type query). */
function isReference(id: Identifier): boolean {
  const parent = id.getParent();
  if (!parent) return false;
  if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id) return false;
  if ((Node.isPropertyAssignment(parent) || Node.isMethodDeclaration(parent) || Node.isPropertyDeclaration(parent) || Node.isPropertySignature(parent) || Node.isGetAccessorDeclaration(parent) || Node.isSetAccessorDeclaration(parent)) && parent.getNameNode() === id) return false;
  if ((Node.isVariableDeclaration(parent) || Node.isParameterDeclaration(parent) || Node.isBindingElement(parent) || Node.isFunctionDeclaration(parent) || Node.isClassDeclaration(parent)) && parent.getNameNode() === id) return false;
  if (Node.isImportSpecifier(parent) || Node.isExportSpecifier(parent) || Node.isImportClause(parent) || Node.isNamespaceImport(parent)) return false;
  if (Node.isTypeQuery(parent) || Node.isQualifiedName(parent) || Node.isTypeReference(parent)) return false;
  return true;
}

/** The first reference named `name` in `sf` that may change the registry, as `file:line: reason`. */
function changeIn(record: SourceRecord, sf: SourceFile, name: string, registry: Registry): string | undefined {
  for (const compilerId of compilerIdentifiersNamed(sf, name)) {
    const id = wrapCompilerNode<Identifier>(sf, compilerId);
    if (!isReference(id)) continue;
    const reason = changeBy(id, registry);
    if (reason) return `${record.rel}:${id.getStartLineNumber()}: ${reason}`;
  }
  return undefined;
}

/**
 * Why the module-level registry `declaration` of `record` (entry keys `keys`) may hold
 * other functions than its literal's (for a class, `member` other than its static
 * method: only writes and patching calls count), or undefined: a use in its file, or in a
 * file of the run that imports it (a namespace member, a named import), that may
 * change it, or an import the analysis does not follow (default, re-export, require(), import()).
 */
export function registryChange(analysis: Analysis, record: SourceRecord, declaration: VariableDeclaration | ClassDeclaration, keys: ReadonlySet<string>, member?: string): string | undefined {
  const name = declaration.getName() ?? '';
  const registry: Registry = { name, keys, ...(member !== undefined ? { member } : {}) };
  const own = changeIn(record, record.sourceFile, name, registry);
  if (own) return own;
  const exported =
    (Node.isVariableDeclaration(declaration) ? !!declaration.getVariableStatement()?.isExported() : declaration.isExported()) ||
    compilerIdentifiersNamed(record.sourceFile, name).some((id) => ts.isExportSpecifier(id.parent));
  if (!exported) return undefined;
  for (const importer of analysis.imports.importersOf(record.absPath, analysis.index)) {
    const other = analysis.index.load(importer);
    if (!other || other.parseProblem) continue;
    const sf = other.sourceFile;
    // The importer names the registry (imported, through a namespace, destructured) only with its name.
    if (compilerIdentifiersNamed(sf, name).length === 0) continue;
    for (const statement of sf.getStatements()) {
      if (!Node.isImportDeclaration(statement) && !Node.isExportDeclaration(statement)) continue;
      const specifier = statement.getModuleSpecifierValue();
      if (specifier === undefined || analysis.index.resolve(other.absPath, specifier) !== record.absPath) continue;
      if (Node.isExportDeclaration(statement)) return `${other.rel}:${statement.getStartLineNumber()}: it is re-exported, and what importers of ${other.rel} do with it is not followed`;
      const namespace = statement.getNamespaceImport();
      if (namespace) {
        for (const compilerId of compilerIdentifiersNamed(sf, namespace.getText())) {
          const id = wrapCompilerNode<Identifier>(sf, compilerId);
          const parent = id.getParent();
          if (!isReference(id)) continue;
          if (!parent || !Node.isPropertyAccessExpression(parent) || parent.getExpression() !== id) return `${other.rel}:${id.getStartLineNumber()}: the namespace of ${record.rel} is used as a whole`;
          if (parent.getName() !== name) continue;
          const reason = changeBy(parent, registry);
          if (reason) return `${other.rel}:${id.getStartLineNumber()}: ${reason}`;
        }
      }
      for (const named of statement.getNamedImports()) {
        if (named.getName() !== name) continue;
        const local = named.getAliasNode()?.getText() ?? name;
        const change = changeIn(other, sf, local, registry);
        if (change) return change;
      }
    }
    // CommonJS and lazy loads of the module: what they read is not followed.
    if (/\brequire\s*\(|\bimport\s*\(/.test(other.text)) return `${other.rel}: it loads ${record.rel} with require() or import(), which is not followed`;
  }
  return undefined;
}
