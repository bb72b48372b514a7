// The references of a function a module exports by name, found through the run's
// import graph instead of the language service: the service's search for an exported
// name resolves it in every loaded file (quadratic on a tree of many small services,
// each with its own `schedule`), and files it did not load had to be read whole for
// the name. Here only the files that import the module, directly or through modules
// that re-export, are read, and only those that name the function are parsed.
import { Node, SyntaxKind, ts, type CallExpression, type Identifier, type PropertyAccessExpression } from 'ts-morph';
import { compilerIdentifiersNamed, compilerNodesOfKind, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import { findExport, isPlainCommonJs, resolveIdentifier, resolveModuleMember, resolveRequiredMember, type DeclarationNode, type ExportedFunctionNode, type Resolution } from '../analysis/declarations.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { identifierPattern } from '../analysis/prefilter.js';
import { outermost, unwrap } from '../analysis/legacy-symbols.js';
import { declaringScope, isShadowed, sameScopeReferences } from '../analysis/scope.js';
import { defaultExportMember, isModuleExports } from '../analysis/object-members.js';
import { computedLoadEscape, unseenLoad } from '../analysis/unfollowed-imports.js';

/** Why a file's uses are not known: it `does not parse`, or the codemod `does not read` it (a `.vue` component). */
function unparsed(record: SourceRecord): string {
  return record.parseProblem?.unread ? `is ${record.parseProblem.message}` : 'does not parse';
}

/** What a module exports by name: a declaration, or a function assigned to `exports.name` (`exports.f = function () {...}`). */
export type ExportedNode = DeclarationNode | ExportedFunctionNode;

export type References = { ok: true; refs: Node[] } | { ok: false; reason: string };

/** The references, and the files searched for them: the module and its transitive importers. */
export type ExportedReferences = { ok: true; refs: Node[]; searched: ReadonlySet<string> } | { ok: false; reason: string };

/** A file that may pass a module's exports on to its own importers (`export *`, `export {}`, `module.exports =`). */
const MAY_REEXPORT = /\bexports?\b/;

/** A file that may bind a module object: `import * as`, a default import, `import x = require()`, a named import of `export * as`, `require()`, `import()`. */
const MAY_BIND_MODULE_OBJECT = /\bimport\s*\*|\bimport\s+[\w$]+\s*(?:,|from\b|=)|\bimport\s*\{|\brequire\s*\(|\bimport\s*\(/;

/**
 * Whether the module object of the file at a path holds the function (its own module, or
 * one re-exporting it by the same name). `defaultHolder`: the module whose default export
 * (an object literal) holds it, whose default imports are then bindings of that object.
 */
type HoldsIt = ((absPath: string | undefined) => boolean) & { defaultHolder?: string };

/**
 * Every reference of `name`, which `record` declares at module level (`declaration`)
 * and exports under that name, in the files of the run: the identifiers (and
 * `ns.name` member names) that denote it, or why they cannot all be known.
 */
export function exportedReferences(analysis: Analysis, record: SourceRecord, declaration: ExportedNode, name: string): ExportedReferences {
  const { index } = analysis;
  const word = identifierPattern(name);
  const files = moduleAndImporters(analysis, record.absPath);
  const seen = new Set(files);
  // A file that never spells the name cannot reach it by name (a renamed import spells it too).
  const naming = files.filter((absPath) => {
    const text = index.text(absPath);
    return text !== undefined && word.test(text);
  });
  const holders = new Map<string, boolean>([[declaration.getSourceFile().getFilePath(), true]]);
  const holds: HoldsIt = (absPath: string | undefined) => {
    if (absPath === undefined || !seen.has(absPath)) return false;
    let held = holders.get(absPath);
    if (held === undefined) {
      const holder = index.load(absPath);
      held = !!holder && !holder.parseProblem && denotes(findExport(index, holder, name, 0), declaration);
      holders.set(absPath, held);
    }
    return held;
  };
  // `export default { create() {...} }`: a default import is the object holding it.
  if (defaultExportMember(declaration)) holds.defaultHolder = declaration.getSourceFile().getFilePath();
  const refs: Node[] = [];
  const namingSet = new Set(naming);
  for (const absPath of naming) {
    const importer = index.load(absPath);
    if (!importer) continue;
    if (importer.parseProblem) return { ok: false, reason: `\`${name}\` is named in ${importer.rel}, which ${unparsed(importer)}` };
    const found = referencesIn(analysis, importer, declaration, name, absPath === record.absPath, holds);
    if (!found.ok) return found;
    refs.push(...found.refs);
  }
  // A file that does not spell the name still reaches it through a module object holding it:
  // `require('./tasks')[name]()`, `register(tasks)`, `Object.values(tasks)`.
  for (const absPath of files) {
    if (namingSet.has(absPath) || absPath === record.absPath) continue;
    const text = index.text(absPath);
    if (text === undefined || !(MAY_BIND_MODULE_OBJECT.test(text) || (holds.defaultHolder !== undefined && /\bdefault\b/.test(text)))) continue;
    const importer = index.load(absPath);
    if (!importer) continue;
    if (importer.parseProblem) return { ok: false, reason: `${importer.rel}, which imports the module exporting \`${name}\`, ${unparsed(importer)}` };
    const escaped = moduleObjectEscape(analysis, importer, holds) ?? dynamicLoadEscape(analysis, importer, holds);
    if (escaped) return { ok: false, reason: `the module exporting \`${name}\` is used as a value in ${importer.rel} at line ${escaped}, so not every caller is known` };
  }
  // `createRequire(import.meta.url)('./tasks').schedule()`, `module.require('./tasks')`: a module object no reference shows.
  const unseen = unseenLoad(analysis, holds);
  if (unseen) return { ok: false, reason: `the module exporting \`${name}\` is loaded in ${unseen}, which the codemod does not follow, so not every caller is known` };
  // `require(path.join(dir, file))[action]()`: a module object from a computed path, read by computed keys.
  const computed = computedLoadEscape(analysis, files, holds);
  if (computed) return { ok: false, reason: `a module loaded from a computed path in ${computed} is used other than by member names, and may be the one exporting \`${name}\`, so not every caller is known` };
  return { ok: true, refs, searched: seen };
}

/**
 * For a function its module exports under another name or as its default (`export { go as
 * run }`, `export default go`), whose references the language service finds: where a module
 * object of that module, or of one re-exporting from it, is used other than by member names
 * in the run (`t[action](to)`, `register(t)`), which no reference shows. `"app.ts at line
 * 3"`, or undefined.
 */
export function moduleObjectUseOf(analysis: Analysis, absPath: string): string | undefined {
  const files = moduleAndImporters(analysis, absPath);
  const chain = new Set(files);
  const known = new Map<string, boolean>([[absPath, true]]);
  // A module of the chain holds it when it is the module or re-exports from one that does (`export * from`, `export { run } from`).
  const holds: HoldsIt = (target: string | undefined) => {
    if (target === undefined || !chain.has(target)) return false;
    let held = known.get(target);
    if (held === undefined) {
      known.set(target, false);
      const barrel = analysis.index.load(target);
      held = !!barrel && !barrel.parseProblem && barrel.sourceFile.compilerNode.statements.some((statement) => ts.isExportDeclaration(statement) && !!statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier) && holds(analysis.index.resolve(target, statement.moduleSpecifier.text)));
      known.set(target, held);
    }
    return held;
  };
  for (const file of files) {
    const importer = analysis.index.load(file);
    if (!importer || importer.parseProblem) continue;
    const line = moduleObjectEscape(analysis, importer, holds) ?? dynamicLoadEscape(analysis, importer, holds);
    if (line !== undefined) return `${importer.rel} at line ${line}`;
  }
  return undefined;
}

/**
 * The module at `absPath` and its transitive importers (a file re-exporting it passes it
 * on), each read once, in the order found.
 */
export function moduleAndImporters(analysis: Analysis, absPath: string): string[] {
  const { index, imports } = analysis;
  const files = [absPath];
  const seen = new Set(files);
  for (let i = 0; i < files.length; i++) {
    const current = files[i]!;
    const text = index.text(current);
    if (text === undefined) continue;
    if (i > 0 && !MAY_REEXPORT.test(text)) continue;
    for (const importer of imports.importersOf(current, index)) {
      if (seen.has(importer)) continue;
      seen.add(importer);
      files.push(importer);
    }
  }
  return files;
}

function referencesIn(analysis: Analysis, record: SourceRecord, declaration: ExportedNode, name: string, declaring: boolean, holds: HoldsIt): References {
  const refs: Node[] = [];
  const names = new Set([name]);
  // `import { schedule as queueIt }`: the local name is a reference too.
  for (const specifier of compilerNodesOfKind<ts.ImportSpecifier>(record.sourceFile, SyntaxKind.ImportSpecifier)) {
    if ((specifier.propertyName ?? specifier.name).text === name) names.add(specifier.name.text);
  }
  // `const { schedule: queueIt } = require('./tasks')`
  for (const element of compilerNodesOfKind<ts.BindingElement>(record.sourceFile, SyntaxKind.BindingElement)) {
    if (element.propertyName && ts.isIdentifier(element.propertyName) && element.propertyName.text === name && ts.isIdentifier(element.name)) names.add(element.name.text);
  }
  const loadsInline = /\bimport\s*\(/.test(record.text);
  // In text order, as one pass over the file's identifiers would meet them.
  const spelled = [...names].flatMap((n) => compilerIdentifiersNamed(record.sourceFile, n)).sort((a, b) => a.pos - b.pos);
  for (const compilerId of spelled) {
    const id = wrapCompilerNode<Identifier>(record.sourceFile, compilerId);
    const parent = id.getParent();
    if (!parent) continue;
    // Bindings, not uses: their uses are the identifiers that follow.
    if (Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isNamespaceImport(parent) || Node.isTypeQuery(parent) || Node.isQualifiedName(parent)) continue;
    if (declaring && parent === declaration) continue;
    if (Node.isBindingElement(parent) && parent.getPropertyNameNode() === id) continue;
    if ((Node.isFunctionDeclaration(parent) || Node.isVariableDeclaration(parent) || Node.isParameterDeclaration(parent) || Node.isBindingElement(parent)) && parent.getNameNode() === id) continue;
    if (Node.isExportAssignment(parent)) return { ok: false, reason: `\`${name}\` is the default export of ${record.rel}, which importers may name anything` };
    if (Node.isExportSpecifier(parent)) {
      // `export { schedule as run }`: importers of this file would spell another name.
      const alias = parent.getAliasNode();
      if (alias && alias !== id && alias.getText() !== name) return { ok: false, reason: `\`${name}\` is re-exported as \`${alias.getText()}\` in ${record.rel}, whose importers the codemod does not follow under that name` };
      continue;
    }
    if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id) {
      const object = parent.getExpression();
      // `require('./tasks').schedule(...)`, `(await import('./tasks')).schedule(...)`.
      const loaded = loadedSpecifier(object);
      let member: Resolution | undefined;
      if (loaded !== undefined) member = resolveRequiredMember(analysis.index, record, loaded, name);
      // `exports.schedule()`, `module.exports.schedule()`: the file's own export.
      else if (isOwnExportsObject(object)) {
        // `exports.schedule = schedule` exports it; another value assigned there replaces it.
        const assignment = parent.getParent();
        if (assignment && Node.isBinaryExpression(assignment) && assignment.getLeft() === parent && assignment.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
          if (isCommonJsExportByName(assignment.getRight(), name) || assignment.getRight() === declaration) continue;
          return { ok: false, reason: `the export \`${name}\` is assigned another value in ${record.rel} at line ${id.getStartLineNumber()}` };
        }
        // Its value depends on where it is read when the module assigns the export more than
        // once (`const orig = module.exports.f; module.exports.f = wrap(orig)`): findExport gives the last.
        if (exportAssignments(record, name) > 1) return { ok: false, reason: `\`${name}\` is read from the module's own exports in ${record.rel} at line ${id.getStartLineNumber()}, and the module assigns that export more than once` };
        member = findExport(analysis.index, record, name, 0);
      }
      else if (Node.isIdentifier(object)) {
        member = resolveModuleMember(analysis.index, record, object, name);
        // A module object bound by a load the resolver does not read (`const tasks = await import('./tasks')`, in a function too).
        if (member.kind === 'nested' || member.kind === 'unknown') member = localModuleMember(analysis, record, object, name) ?? (member.kind === 'unknown' && loadsProjectModule(analysis, record, object.getText()) ? member : undefined);
      }
      if (denotes(member, declaration)) refs.push(id);
      // `barrel.schedule()` of a project module the codemod does not read through (`module.exports = { ...tasks }`).
      else if (member?.kind === 'unknown') return { ok: false, reason: `\`${name}\` is read from a module object in ${record.rel} at line ${id.getStartLineNumber()}, where the codemod cannot resolve what it denotes` };
      continue;
    }
    if ((Node.isPropertyAssignment(parent) || Node.isMethodDeclaration(parent) || Node.isPropertySignature(parent) || Node.isPropertyDeclaration(parent)) && parent.getNameNode() === id) continue;
    if (isShadowed(id)) {
      // A binding of a function's own scope: the function, when it is loaded there (`const { schedule } = require('./tasks')`).
      if (denotes(localModuleMember(analysis, record, id, undefined), declaration)) refs.push(id);
      continue;
    }
    // `const { schedule } = await import('./tasks')` at the top level of an ES module.
    if (loadsInline && denotes(localModuleMember(analysis, record, id, undefined), declaration)) {
      refs.push(id);
      continue;
    }
    const resolution = resolveIdentifier(analysis.index, record, id);
    if (denotes(resolution, declaration)) refs.push(id);
    else if (resolution.kind === 'unknown' && !declaring) return { ok: false, reason: `\`${name}\` is named in ${record.rel} at line ${id.getStartLineNumber()}, where the codemod cannot resolve what it denotes` };
  }
  // A module object passed on whole (`register(tasks)`, `{ ...tasks }`) lets anything call the function.
  const escaped = moduleObjectEscape(analysis, record, holds) ?? dynamicLoadEscape(analysis, record, holds);
  if (escaped) return { ok: false, reason: `the module exporting \`${name}\` is used as a value in ${record.rel} at line ${escaped}, so not every caller is known` };
  return { ok: true, refs };
}

/**
 * The line where a binding of a module object holding the function (its module's, a
 * re-exporting module's) is used other than as `ns.member`, if any. `ns.default` counts
 * as a use: of a CommonJS module it is the module object again.
 */
function moduleObjectEscape(analysis: Analysis, record: SourceRecord, holds: HoldsIt): number | undefined {
  const bindings = new Set<string>();
  for (const statement of record.sourceFile.compilerNode.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause;
      const target = analysis.index.resolve(record.absPath, statement.moduleSpecifier.text);
      // `import { ns } from './barrel'`, `export * as ns from './tasks'` there: a module object under a name.
      if (clause && !clause.isTypeOnly && target && clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
        for (const element of clause.namedBindings.elements) {
          if (!element.isTypeOnly && isNamespaceReexport(analysis, target, (element.propertyName ?? element.name).text, holds)) bindings.add(element.name.text);
        }
      }
      // `import jobs from './jobs'`, `import { default as jobs }` of the module whose default export holds it.
      if (clause && !clause.isTypeOnly && target !== undefined && target === holds.defaultHolder) {
        if (clause.name) bindings.add(clause.name.text);
        if (clause.namedBindings && ts.isNamedImports(clause.namedBindings)) {
          for (const element of clause.namedBindings.elements) if (!element.isTypeOnly && (element.propertyName ?? element.name).text === 'default') bindings.add(element.name.text);
        }
      }
      if (!clause || clause.isTypeOnly || !holds(target)) continue;
      if (clause.namedBindings && ts.isNamespaceImport(clause.namedBindings)) bindings.add(clause.namedBindings.name.text);
      // A default import of a CommonJS module is its module object (of an ES module, its default export).
      const targetRecord = analysis.index.load(target!);
      if (clause.name && (!targetRecord || isPlainCommonJs(targetRecord))) bindings.add(clause.name.text);
    } else if (ts.isExportDeclaration(statement) && holds.defaultHolder !== undefined && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)) {
      // `export { default as jobs } from './jobs'`: its importers would read the object under another name.
      const reexportsDefault = statement.exportClause && ts.isNamedExports(statement.exportClause) && statement.exportClause.elements.some((e) => (e.propertyName ?? e.name).text === 'default');
      if (reexportsDefault && analysis.index.resolve(record.absPath, statement.moduleSpecifier.text) === holds.defaultHolder) return record.sourceFile.getLineAndColumnAtPos(statement.getStart(record.sourceFile.compilerNode)).line;
    } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteral(statement.moduleReference.expression)) {
      if (holds(analysis.index.resolve(record.absPath, statement.moduleReference.expression.text))) bindings.add(statement.name.text);
    }
  }
  // `const tasks = require('./tasks')`
  for (const call of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
    const [argument] = call.arguments;
    if (!ts.isIdentifier(call.expression) || call.expression.text !== 'require' || !argument || !ts.isStringLiteral(argument)) continue;
    if (!holds(analysis.index.resolve(record.absPath, argument.text))) continue;
    const holder = call.parent;
    // `module.exports = require('./tasks')`: a barrel passing it on, whose importers are searched too.
    if (ts.isBinaryExpression(holder) && holder.right === call && holder.operatorToken.kind === SyntaxKind.EqualsToken && holder.left.getText(record.sourceFile.compilerNode) === 'module.exports' && ts.isExpressionStatement(holder.parent)) continue;
    if (ts.isVariableDeclaration(holder) && ts.isIdentifier(holder.name)) bindings.add(holder.name.text);
    // `const { schedule } = require('./tasks')` (by names; `{ [key]: f }` or `{ 'schedule': f }` reads it unseen).
    else if (!(ts.isVariableDeclaration(holder) && ts.isObjectBindingPattern(holder.name) && holder.name.elements.every((e) => !e.propertyName || ts.isIdentifier(e.propertyName))) && !(ts.isPropertyAccessExpression(holder) && holder.name.text !== 'default')) return record.sourceFile.getLineAndColumnAtPos(call.getStart(record.sourceFile.compilerNode)).line;
  }
  if (bindings.size === 0) return undefined;
  for (const compilerId of compilerNodesOfKind<ts.Identifier>(record.sourceFile, SyntaxKind.Identifier)) {
    if (!bindings.has(compilerId.text)) continue;
    const parent = compilerId.parent;
    if (ts.isPropertyAccessExpression(parent) && parent.expression === compilerId && parent.name.text !== 'default') continue;
    if (ts.isPropertyAccessExpression(parent) && parent.name === compilerId) continue;
    if (ts.isImportClause(parent) || ts.isNamespaceImport(parent) || ts.isImportEqualsDeclaration(parent) || ts.isImportSpecifier(parent) || ts.isTypeQueryNode(parent) || ts.isQualifiedName(parent)) continue;
    if (ts.isVariableDeclaration(parent) && parent.name === compilerId) continue;
    // `const { schedule } = tasks`: its names are followed as references (localModuleMember).
    if (ts.isVariableDeclaration(parent) && parent.initializer === compilerId && isConstDestructuring(parent)) continue;
    if ((ts.isPropertyAssignment(parent) || ts.isMethodDeclaration(parent) || ts.isPropertySignature(parent) || ts.isPropertyDeclaration(parent)) && parent.name === compilerId) continue;
    const id = wrapCompilerNode<Identifier>(record.sourceFile, compilerId);
    if (isShadowed(id)) continue;
    return id.getStartLineNumber();
  }
  return undefined;
}

/** The module at `absPath` re-exports, as `name`, the whole module object of one holding the function (`export * as name from`). */
function isNamespaceReexport(analysis: Analysis, absPath: string, name: string, holds: HoldsIt): boolean {
  const barrel = analysis.index.load(absPath);
  if (!barrel || barrel.parseProblem) return false;
  return barrel.sourceFile.compilerNode.statements.some(
    (statement) =>
      ts.isExportDeclaration(statement) &&
      !!statement.exportClause &&
      ts.isNamespaceExport(statement.exportClause) &&
      statement.exportClause.name.text === name &&
      !!statement.moduleSpecifier &&
      ts.isStringLiteral(statement.moduleSpecifier) &&
      holds(analysis.index.resolve(absPath, statement.moduleSpecifier.text)),
  );
}

/**
 * Whether `ref` (a reference of `name`) exports it under its own name through CommonJS:
 * `module.exports = { name }` or `{ name: name }`, `exports.name = name`,
 * `module.exports.name = name`. Importers reach it by that name, as they reach an ES export.
 */
export function isCommonJsExportByName(ref: Node, name: string): boolean {
  const parent = ref.getParent();
  if (!parent) return false;
  if (Node.isShorthandPropertyAssignment(parent) || (Node.isPropertyAssignment(parent) && parent.getInitializer() === ref && parent.getName() === name)) {
    const literal = parent.getParent();
    const assignment = literal?.getParent();
    return !!assignment && Node.isBinaryExpression(assignment) && assignment.getRight() === literal && assignment.getOperatorToken().getKind() === SyntaxKind.EqualsToken && assignment.getLeft().getText() === 'module.exports' && Node.isExpressionStatement(assignment.getParent());
  }
  if (Node.isBinaryExpression(parent) && parent.getRight() === ref && parent.getOperatorToken().getKind() === SyntaxKind.EqualsToken) {
    const left = parent.getLeft().getText();
    return (left === `exports.${name}` || left === `module.exports.${name}`) && Node.isExpressionStatement(parent.getParent());
  }
  return false;
}

function denotes(resolution: Resolution | undefined, declaration: ExportedNode): boolean {
  return (resolution?.kind === 'module' || resolution?.kind === 'exported-function') && resolution.node === declaration;
}

/** The specifier `node` loads the module object of: `require('<s>')`, `import('<s>')` awaited (parentheses and assertions aside). */
function loadedSpecifier(node: Node): string | undefined {
  let inner = unwrap(node);
  if (Node.isAwaitExpression(inner)) inner = unwrap(inner.getExpression());
  if (!Node.isCallExpression(inner) || inner.getArguments().length !== 1) return undefined;
  const [argument] = inner.getArguments();
  if (!argument || !Node.isStringLiteral(argument)) return undefined;
  const callee = inner.getExpression();
  const isLoad = (Node.isIdentifier(callee) && callee.getText() === 'require') || callee.getKind() === SyntaxKind.ImportKeyword;
  // A bare import() is a promise of the module: only awaited is it the module object.
  if (callee.getKind() === SyntaxKind.ImportKeyword && !Node.isAwaitExpression(unwrap(node))) return undefined;
  return isLoad ? argument.getLiteralValue() : undefined;
}

/**
 * What `id` (a name declared in a function or block, not at module level) denotes in a
 * project module, when its declaration loads one there: `member` of `const tasks =
 * require('./tasks')` / `await import('./tasks')` (`member` given), or the name itself of
 * `const { schedule } = require('./tasks')`, `const schedule = require('./tasks').schedule`.
 */
function localModuleMember(analysis: Analysis, record: SourceRecord, id: Identifier, member: string | undefined): Resolution | undefined {
  const name = id.getText();
  // The scope that declares the name (the module's when no nearer one does), and its declaration there.
  const scopeOf = (node: Node): Node => declaringScope(node, name) ?? node.getSourceFile();
  const scope = scopeOf(id);
  const declaration = scope.getDescendantsOfKind(SyntaxKind.VariableDeclaration).find((d) => {
    const nameNode = d.getNameNode();
    const bound = Node.isIdentifier(nameNode) ? nameNode : Node.isObjectBindingPattern(nameNode) ? nameNode.getElements().find((e) => e.getName() === name)?.getNameNode() : undefined;
    return !!bound && bound.getText() === name && scopeOf(bound) === scope;
  });
  if (!declaration) return thenParameterMember(analysis, record, scope, name, member);
  const list = declaration.getParent();
  if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return undefined;
  const initializer = declaration.getInitializer();
  if (!initializer) return undefined;
  const nameNode = declaration.getNameNode();
  if (Node.isIdentifier(nameNode)) {
    const loaded = loadedSpecifier(initializer);
    if (loaded !== undefined) return member === undefined ? undefined : resolveRequiredMember(analysis.index, record, loaded, member);
    const inner = unwrap(initializer);
    const fromMember = Node.isPropertyAccessExpression(inner) ? loadedSpecifier(inner.getExpression()) : undefined;
    return fromMember !== undefined && member === undefined ? resolveRequiredMember(analysis.index, record, fromMember, (inner as PropertyAccessExpression).getName()) : undefined;
  }
  const loaded = loadedSpecifier(initializer);
  const element = Node.isObjectBindingPattern(nameNode) ? nameNode.getElements().find((e) => e.getName() === name) : undefined;
  if (!element || element.getDotDotDotToken() || member !== undefined) return undefined;
  const exported = boundProperty(element);
  // `const { schedule } = tasks` of `import * as tasks` / `const tasks = require(...)`: a member of the module object.
  const object = unwrap(initializer);
  if (loaded === undefined && Node.isIdentifier(object)) return resolveModuleMember(analysis.index, record, object, exported);
  return loaded === undefined ? undefined : resolveRequiredMember(analysis.index, record, loaded, exported);
}

/** `member` of (or, with none, the name `name` destructured from) the module object a `.then()` callback's parameter receives. */
function thenParameterMember(analysis: Analysis, record: SourceRecord, scope: Node, name: string, member: string | undefined): Resolution | undefined {
  if (!(Node.isArrowFunction(scope) || Node.isFunctionExpression(scope))) return undefined;
  const parameter = scope.getParameters()[0];
  const specifier = parameter && thenParameterSpecifier(parameter);
  if (specifier === undefined) return undefined;
  const nameNode = parameter!.getNameNode();
  if (Node.isIdentifier(nameNode)) return nameNode.getText() === name && member !== undefined ? resolveRequiredMember(analysis.index, record, specifier, member) : undefined;
  const element = Node.isObjectBindingPattern(nameNode) ? nameNode.getElements().find((e) => e.getName() === name) : undefined;
  if (!element || element.getDotDotDotToken() || member !== undefined) return undefined;
  return resolveRequiredMember(analysis.index, record, specifier, boundProperty(element));
}

/** The property a binding element reads: `b` of `{ b: c }`, `'x'` of `{ 'x': c }`, `a` of `{ a }`. */
function boundProperty(element: import('ts-morph').BindingElement): string {
  const property = element.getPropertyNameNode();
  return property ? (Node.isStringLiteral(property) ? property.getLiteralValue() : property.getText()) : element.getName();
}

/**
 * The line of an `import('<module>')` of the module declaring `declaration` whose module
 * object the references above do not follow: not awaited where it is read
 * (`import('./tasks').then((m) => m.schedule())`), or bound to a name used otherwise than
 * as `m.member` (`const m = await import('./tasks'); run(m)`).
 */
function dynamicLoadEscape(analysis: Analysis, record: SourceRecord, holds: HoldsIt): number | undefined {
  for (const compilerCall of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
    const dynamic = compilerCall.expression.kind === SyntaxKind.ImportKeyword;
    const required = ts.isIdentifier(compilerCall.expression) && compilerCall.expression.text === 'require';
    if (!dynamic && !required) continue;
    const [argument] = compilerCall.arguments;
    if (!argument || !ts.isStringLiteral(argument) || !holds(analysis.index.resolve(record.absPath, argument.text))) continue;
    const call = wrapCompilerNode<CallExpression>(record.sourceFile, compilerCall);
    let holder: Node | undefined = outermost(call);
    if (dynamic) {
      // `import('./tasks').then((m) => m.schedule())`: the callback's parameter is followed as the module object.
      if (thenCallbackOf(call) && followedModuleParameter(thenCallbackOf(call)!)) continue;
      const awaited = holder.getParent();
      holder = awaited && Node.isAwaitExpression(awaited) ? outermost(awaited) : undefined;
    }
    const use = holder?.getParent();
    const line = call.getStartLineNumber();
    if (!use) return line;
    // `(await import('./tasks')).schedule`: followed by the references above.
    if (Node.isPropertyAccessExpression(use) && use.getExpression() === holder && use.getName() !== 'default') continue;
    if (Node.isVariableDeclaration(use) && use.getInitializer() === holder) {
      const nameNode = use.getNameNode();
      // `const { schedule } = await import('./tasks')`: its names are followed as references.
      if (Node.isObjectBindingPattern(nameNode) && nameNode.getElements().every(isNamedElement)) continue;
      // A module-level `require()` binding is moduleObjectEscape's; one in a function is checked here.
      if (Node.isIdentifier(nameNode) && required && !isShadowed(nameNode)) continue;
      if (Node.isIdentifier(nameNode)) {
        if (sameScopeReferences(nameNode).every(isMemberObject)) continue;
        return line;
      }
    }
    // moduleObjectEscape has the other forms of a require().
    if (required) continue;
    return line;
  }
  return undefined;
}

/** The function passed first to `.then()` of `load` (an `import('<module>')` call), if any. */
function thenCallbackOf(load: CallExpression): FunctionLikeCallback | undefined {
  const access = outermost(load).getParent();
  if (!access || !Node.isPropertyAccessExpression(access) || access.getName() !== 'then') return undefined;
  const call = access.getParent();
  if (!call || !Node.isCallExpression(call) || call.getExpression() !== access) return undefined;
  const callback = call.getArguments()[0];
  return callback && (Node.isArrowFunction(callback) || Node.isFunctionExpression(callback)) ? callback : undefined;
}

type FunctionLikeCallback = import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression;

/**
 * The `.then()` callback's first parameter is read only as the module object, so the
 * references above see every use: `(m) => m.schedule()`, `({ schedule }) => schedule()`.
 */
function followedModuleParameter(callback: FunctionLikeCallback): boolean {
  const [parameter, ...rest] = callback.getParameters();
  if (!parameter || rest.length > 0) return !parameter;
  const nameNode = parameter.getNameNode();
  if (Node.isObjectBindingPattern(nameNode)) return nameNode.getElements().every((e) => isNamedElement(e) && Node.isIdentifier(e.getNameNode()));
  return Node.isIdentifier(nameNode) && sameScopeReferences(nameNode).every(isMemberObject);
}

/** The specifier whose module object a `.then()` callback's parameter receives: `import('<s>').then((m) => ...)`. */
function thenParameterSpecifier(parameter: import('ts-morph').ParameterDeclaration): string | undefined {
  const callback = parameter.getParent();
  if (!(Node.isArrowFunction(callback) || Node.isFunctionExpression(callback)) || callback.getParameters()[0] !== parameter) return undefined;
  const call = callback.getParent();
  if (!call || !Node.isCallExpression(call) || call.getArguments()[0] !== callback) return undefined;
  const access = call.getExpression();
  if (!Node.isPropertyAccessExpression(access) || access.getName() !== 'then') return undefined;
  const load = unwrap(access.getExpression());
  if (!Node.isCallExpression(load) || load.getExpression().getKind() !== SyntaxKind.ImportKeyword || load.getArguments().length !== 1) return undefined;
  const [argument] = load.getArguments();
  return argument && Node.isStringLiteral(argument) ? argument.getLiteralValue() : undefined;
}

/** An element of a module object's destructuring that names what it reads: `a`, `b: c` (not `[key]: f`, `'b': c`, nor a rest). */
function isNamedElement(element: import('ts-morph').BindingElement): boolean {
  const property = element.getPropertyNameNode();
  return !element.getDotDotDotToken() && (!property || Node.isIdentifier(property));
}

/** `const { a, b: c } = ...`: names only, no rest element, no nested pattern. */
function isConstDestructuring(declaration: ts.VariableDeclaration): boolean {
  const list = declaration.parent;
  return ts.isVariableDeclarationList(list) && (list.flags & ts.NodeFlags.Const) !== 0 && ts.isObjectBindingPattern(declaration.name) && declaration.name.elements.every((e) => !e.dotDotDotToken && ts.isIdentifier(e.name) && (!e.propertyName || ts.isIdentifier(e.propertyName)));
}

/** `ref` is the object of a member access (`tasks.schedule`; not `tasks.default`, of a CommonJS module the module object again). */
function isMemberObject(ref: Node): boolean {
  const parent = ref.getParent();
  return !!parent && Node.isPropertyAccessExpression(parent) && parent.getExpression() === ref && parent.getName() !== 'default';
}

/**
 * `name` is bound at module level to a project module's object: `import * as name`, a
 * default import, `import name = require()`, `const name = require()` of a specifier
 * that resolves to a file of the tree.
 */
function loadsProjectModule(analysis: Analysis, record: SourceRecord, name: string): boolean {
  const resolves = (specifier: string): boolean => analysis.index.resolve(record.absPath, specifier) !== undefined;
  for (const statement of record.sourceFile.compilerNode.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const clause = statement.importClause;
      const bound = clause?.name?.text === name || (clause?.namedBindings && ts.isNamespaceImport(clause.namedBindings) && clause.namedBindings.name.text === name);
      if (bound && resolves(statement.moduleSpecifier.text)) return true;
    } else if (ts.isImportEqualsDeclaration(statement) && statement.name.text === name && ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteral(statement.moduleReference.expression)) {
      if (resolves(statement.moduleReference.expression.text)) return true;
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name) || declaration.name.text !== name || !declaration.initializer) continue;
        const initializer = wrapCompilerNode<Node>(record.sourceFile, declaration.initializer);
        const loaded = loadedSpecifier(initializer);
        if (loaded !== undefined && resolves(loaded)) return true;
      }
    }
  }
  return false;
}

/**
 * How many module-level statements of a CommonJS module may set its export `name`:
 * `exports.name = ...`, `module.exports.name = ...` (not TypeScript's `= void 0`
 * placeholder), and every `module.exports = ...` (a literal naming it, or any other value).
 */
function exportAssignments(record: SourceRecord, name: string): number {
  let count = 0;
  for (const statement of record.sourceFile.compilerNode.statements) {
    if (!ts.isExpressionStatement(statement) || !ts.isBinaryExpression(statement.expression) || statement.expression.operatorToken.kind !== SyntaxKind.EqualsToken) continue;
    const { left, right } = statement.expression;
    const target = left.getText(record.sourceFile.compilerNode).replace(/\s+/g, '');
    if ((target === `exports.${name}` || target === `module.exports.${name}`) && !ts.isVoidExpression(right)) count++;
    else if (target === 'module.exports') {
      const literal = ts.isObjectLiteralExpression(right) ? right : undefined;
      if (!literal || literal.properties.some((p) => ts.isSpreadAssignment(p) || (p.name !== undefined && ts.isIdentifier(p.name) && p.name.text === name) || (p.name !== undefined && ts.isStringLiteral(p.name) && p.name.text === name))) count++;
    }
  }
  return count;
}

/** `exports` or `module.exports` of the file itself (not a binding of that name). */
function isOwnExportsObject(node: Node): boolean {
  const inner = unwrap(node);
  if (Node.isIdentifier(inner)) return inner.getText() === 'exports' && !isShadowed(inner);
  return isModuleExports(inner);
}
