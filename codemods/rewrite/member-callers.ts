// The callers of a function held by a member of an object (a `const` literal, the
// `module.exports` literal, a default-exported literal) or of a class's instances: the
// reads of that member wherever the object's binding, or the instances' bindings, reach.
// What they need of the async planner (a binding's references, the calls among
// references) comes through `BindingLookup`, which the planner implements.
import { Node, SyntaxKind, type BinaryExpression, type Identifier } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { outermost, unwrap } from '../analysis/legacy-symbols.js';
import { isShadowed, sameScopeReferences } from '../analysis/scope.js';
import { where } from '../analysis/positions.js';
import { isModuleExports, keyUses, memberReads, memberUses, moduleExportsAssignment, namedFunctionThis, objectUse, type HeldMember } from '../analysis/object-members.js';
import { instanceThis, isStaticMember, literalMethodKeys, staticThis, storedFunctionCall, unseenConstruction, unseenReceiver, type InstanceMember } from '../analysis/instance-members.js';
import type { ExportedNode, References } from './exported-references.js';
import { loopRegistration, type RouteCallback } from './route-callback.js';
import { computedLoadEscape, unseenLoad } from '../analysis/unfollowed-imports.js';
import { nameOf, type FunctionLike } from './function-like.js';
import type { Callers } from './async-plan.js';

/** What the member analyses ask of the async planner. */
export interface BindingLookup {
  readonly analysis: Analysis;
  record(node: Node): SourceRecord | undefined;
  /** The references of the binding `name` declares (`declaration`), in its file or its importers; `subject` names it in reasons. */
  bindingReferences(subject: string, record: SourceRecord, name: Identifier, declaration: ExportedNode): References;
  /** The calls among `refs` (references of `fn`), or why some reference is not a known call. */
  callsAmong(fn: FunctionLike, record: SourceRecord, refs: readonly Node[]): Callers;
  /** Why exports of `record` may be used from outside the analysed files, if they may. */
  exportsLeaveRun(record: SourceRecord): string | undefined;
  /** A file outside `searched` that names `name` and imports what the analysis does not follow. */
  unfollowedMention(name: string, searched: ReadonlySet<string>): string | undefined;
  /** A file the language service cannot see that names `name`. */
  unloadedMention(name: string): string | undefined;
}

/**
 * The callers of a function held by a member of a `const` object literal: the reads
 * of that member wherever the object's binding reaches (object-members.ts), and the
 * route registrations of loops over the object's values.
 */
export function memberCallers(lookup: BindingLookup, fn: FunctionLike, held: HeldMember): Callers {
  const record = lookup.record(fn)!;
  const object = `\`${held.name.getText()}\``;
  const refs = lookup.bindingReferences(`${object}, which holds ${nameOf(fn)},`, record, held.name, held.declaration);
  if (!refs.ok) return refs;
  const uses = memberUses(held, refs.refs, lookup.analysis.index);
  if (!uses.ok) return { ok: false, reason: `${nameOf(fn)} is a member of ${object}, and ${uses.reason}, so not every caller is known` };
  // `handlers.run = function () { return this.send() }; handlers.run()`: a function stored on the object gets it as `this`.
  const stored = storedFunctionCall(memberReads(refs.refs), literalMethodKeys(held.literal), true);
  if (stored) return { ok: false, reason: `${nameOf(fn)} is a member of ${object}, and \`${stored.access.getText()}\` at ${where(stored.access)} calls a function assigned or stored there, not one the literal holds, with ${object} as its \`this\`, so not every caller is known` };
  const destructured = destructuredReads(lookup, uses.bindings, object, held.literal);
  if (!destructured.ok) return destructured;
  const reads = [...uses.reads, ...destructured.refs];
  let route: RouteCallback | undefined;
  for (const use of uses.whole) {
    const loop = loopRegistration(lookup.analysis, use);
    if (!loop) return { ok: false, reason: `${nameOf(fn)} is a member of ${object}, which is used as a whole at ${where(use)} (passed on, spread or stored), so not every caller is known` };
    route ??= loop;
  }
  const callers = lookup.callsAmong(fn, record, reads);
  return callers.ok && route && !callers.route ? { ...callers, route } : callers;
}

/**
 * The references of names destructured from an object that hold its member (`const { send }
 * = handlers`): reads too, in their file or, exported, in their importers. `owner`, the
 * literal or class declaring the member: the language service counts the member's own
 * name there among a binding's references, which is no use.
 */
function destructuredReads(lookup: BindingLookup, bindings: readonly Identifier[], object: string, owner: Node): References {
  const refs: Node[] = [];
  for (const bound of bindings) {
    const declaration = bound.getFirstAncestorByKindOrThrow(SyntaxKind.VariableDeclaration);
    const found = lookup.bindingReferences(`\`${bound.getText()}\`, destructured from ${object},`, lookup.record(bound)!, bound, declaration);
    if (!found.ok) return found;
    refs.push(...found.refs.filter((ref) => ref.getParent()?.getParent() !== owner));
  }
  return { ok: true, refs };
}

/**
 * The callers of a function held by an instance member of a class: the reads of that
 * member on `this` in the class and on the `const` bindings of `new C(...)`, wherever
 * those reach (instance-members.ts); of a static member, the reads on the class and on
 * `this` in its static members. A subclass, any other use of the class, or an
 * instance (the class, for a static member) used as a whole makes the callers unknown.
 */
export function instanceCallers(lookup: BindingLookup, fn: FunctionLike, member: InstanceMember): Callers {
  const className = `\`${member.name.getText()}\``;
  const unknown = (why: string): Callers => ({ ok: false, reason: `${nameOf(fn)} is a member of ${className}, ${why}, so not every caller is known` });
  const base = member.cls.getExtends();
  if (base) return unknown(`which extends \`${base.getText()}\` (the base class may call it)`);
  // A decorator receives the class (or its prototype) and may make instances or call members: Nest, DI containers.
  const decorator = member.cls.getFirstDescendantByKind(SyntaxKind.Decorator);
  if (decorator) return unknown(`whose decorator \`${decorator.getText()}\` receives the class or its prototype`);
  // `checkAll = checkAll`, a function declared elsewhere: called as `x.checkAll()`, its `this` is the instance.
  for (const property of member.cls.getProperties()) {
    const value = property.isStatic() ? undefined : property.getInitializer();
    const self = value && Node.isIdentifier(unwrap(value)) ? namedFunctionThis(unwrap(value) as Identifier, lookup.analysis.index) : undefined;
    if (self) return unknown(`and ${self}`);
  }
  const record = lookup.record(fn)!;
  const classRefs = lookup.bindingReferences(`${className}, whose instances hold ${nameOf(fn)},`, record, member.name, member.cls);
  if (!classRefs.ok) return classRefs;
  const instanceRefs: Node[] = instanceThis(member.cls);
  const staticRefs: Node[] = staticThis(member.cls);
  for (const ref of classRefs.refs) {
    const parent = ref.getParent();
    if (!parent || Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isExportSpecifier(parent) || Node.isTypeQuery(parent) || Node.isTypeReference(parent)) continue;
    // `implements C` names a type; `extends C` makes instances the codemod does not see.
    const heritage = Node.isExpressionWithTypeArguments(parent) ? parent.getParentIfKind(SyntaxKind.HeritageClause) : undefined;
    if (heritage?.getToken() === SyntaxKind.ImplementsKeyword) continue;
    const created = objectUse(ref);
    const construction = created.getParent();
    // `C.make()`: a static member (which makes no instance unseen: checked below), not `C.prototype`.
    if (construction && Node.isPropertyAccessExpression(construction) && construction.getExpression() === created && isStaticMember(member.cls, construction.getName())) {
      staticRefs.push(ref);
      continue;
    }
    const isNew = !!construction && Node.isNewExpression(construction) && construction.getExpression() === created;
    const binding = isNew ? outermost(construction).getParent() : undefined;
    // `module.exports = new JobsController()`: the CommonJS module's importers hold the instance.
    const singleton = isNew ? moduleExportsAssignment(construction) : undefined;
    if (singleton) {
      const moduleRecord = lookup.record(singleton);
      if (!moduleRecord || moduleRecord.isTypeScript) return unknown(`whose instance is the \`module.exports\` of a TypeScript file`);
      const refs = requiredInstanceRefs(lookup, `\`module.exports\` of ${moduleRecord.rel}, an instance of ${className},`, moduleRecord, member.key, singleton);
      if (!refs.ok) return refs;
      instanceRefs.push(...refs.refs);
      continue;
    }
    // `export default new JobsController()`: the ES module's default imports hold the instance.
    const defaultExport = isNew ? defaultExportAssignment(construction) : undefined;
    if (defaultExport) {
      const moduleRecord = lookup.record(defaultExport)!;
      const refs = defaultImportedInstanceRefs(lookup, `the default export of ${moduleRecord.rel}, an instance of ${className},`, moduleRecord, member.key);
      if (!refs.ok) return refs;
      instanceRefs.push(...refs.refs);
      continue;
    }
    const list = binding?.getParent();
    if (!binding || !Node.isVariableDeclaration(binding) || !Node.isIdentifier(binding.getNameNode()) || !Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') {
      return unknown(`which is used at ${where(ref)} other than as \`const x = new ${member.name.getText()}(...)\` (so its instances are not all known)`);
    }
    const name = binding.getNameNode() as Identifier;
    const bindingRecord = lookup.record(binding);
    if (!bindingRecord) return unknown(`whose instance \`${name.getText()}\` is outside the analysed files`);
    const refs = lookup.bindingReferences(`\`${name.getText()}\`, an instance of ${className},`, bindingRecord, name, binding);
    if (!refs.ok) return refs;
    instanceRefs.push(...refs.refs);
  }
  const unseen = unseenConstruction(member.cls);
  if (unseen) return unknown(`which makes instances the codemod does not follow at ${where(unseen)}`);
  // `jobs.constructor`, `this.prototype` in a static member: ways to new instances; `jobs.run = function () { this.create() }; jobs.run()`:
  // a function outside the class called with the instance as `this` (the same for the class in its static members).
  const onClass = unseenReceiver(member.cls, staticRefs, true);
  const receiver = onClass ?? unseenReceiver(member.cls, instanceRefs, false);
  if (receiver) {
    const target = onClass ? 'the class' : 'an instance';
    const text = `\`${receiver.access.getText()}\` at ${where(receiver.access)}`;
    return unknown(receiver.called
      ? `and ${text} calls a function assigned or stored there, not a method the class declares, with ${target} as its \`this\``
      : onClass ? `whose prototype, or a copy of the class, is reached from the class by ${text}` : `whose class or prototype is reached from an instance by ${text}`);
  }
  const holder = member.isStatic ? `the class ${member.name.getText()}` : `an instance of ${member.name.getText()}`;
  const uses = keyUses(holder, member.key, member.isStatic ? staticRefs : instanceRefs);
  if (!uses.ok) return unknown(`and ${uses.reason}`);
  if (uses.whole[0]) return unknown(`whose ${member.isStatic ? 'class' : 'instance'} is used as a whole at ${where(uses.whole[0])} (passed on, returned or stored)`);
  const destructured = destructuredReads(lookup, uses.bindings, holder, member.cls);
  if (!destructured.ok) return destructured;
  return lookup.callsAmong(fn, record, [...uses.reads, ...destructured.refs]);
}

/**
 * The references of the instance a CommonJS module exports whole (`module.exports =
 * new JobsController()`): `module.exports` in its file, and in the files that load it
 * with require() the loads (`require('./jobs').create()`, `const { create } =
 * require('./jobs')`) or the references of the `const` bound to one, wherever it
 * reaches. Not all known when it leaves the run, when a file loads it otherwise (an ES
 * import, import()), or when a file that spells `key` imports what the codemod does not follow.
 */
function requiredInstanceRefs(lookup: BindingLookup, subject: string, record: SourceRecord, key: string, assignment: BinaryExpression): References {
  // Its own file's `module.exports.create()` (another `module.exports = ...` is a whole use: reported).
  const own = record.sourceFile.getDescendantsOfKind(SyntaxKind.PropertyAccessExpression).filter((access) => access !== assignment.getLeft() && isModuleExports(access));
  return importedInstanceRefs(lookup, subject, record, key, own, (importer, loads) => {
    const refs: Node[] = [];
    // `import jobs from`, `export * from`, TypeScript's `import jobs = require(...)`.
    const esImport = [...importer.sourceFile.getImportDeclarations(), ...importer.sourceFile.getExportDeclarations()].find((declaration) => loads(declaration.getModuleSpecifierValue())) ?? importEqualsOf(importer, loads);
    if (esImport) return { ok: false, reason: `${subject} is imported at ${where(esImport)} by an import declaration, which the codemod does not follow for it` };
    for (const call of importer.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const [argument, ...rest] = call.getArguments();
      if (!argument || rest.length || !(Node.isStringLiteral(argument) || Node.isNoSubstitutionTemplateLiteral(argument)) || !loads(argument.getLiteralText())) continue;
      const callee = call.getExpression();
      if (callee.getKind() === SyntaxKind.ImportKeyword) return { ok: false, reason: `${subject} is loaded with import() at ${where(call)}, which the codemod does not follow for it` };
      if (!Node.isIdentifier(callee) || callee.getText() !== 'require' || isShadowed(callee)) return { ok: false, reason: `${subject} is loaded at ${where(call)} by \`${callee.getText()}()\`, which the codemod does not follow` };
      const declaration = outermost(call).getParent();
      const name = declaration && Node.isVariableDeclaration(declaration) && declaration.getInitializer() === outermost(call) ? declaration.getNameNode() : undefined;
      if (name && Node.isIdentifier(name)) {
        // `const jobs = require('./jobs')`: the binding's references, as for `const jobs = new C()`.
        const list = declaration!.getParent();
        if (!Node.isVariableDeclarationList(list) || list.getDeclarationKind() !== 'const') return { ok: false, reason: `${subject} is bound at ${where(declaration!)} to a variable that may be assigned again` };
        const bound = lookup.bindingReferences(`\`${name.getText()}\`, ${subject.replace(/,$/, '')} loaded there,`, importer, name, declaration as ExportedNode);
        if (!bound.ok) return bound;
        refs.push(...bound.refs);
      } else refs.push(call);
    }
    return { ok: true, refs };
  });
}

/**
 * The references of the instance an ES module exports as its default (`export default new
 * JobsController()`): in the files that import the module, the references of a default
 * import (`import jobs from`, `import { default as jobs } from`), which can only be read,
 * never assigned. Not all known when it leaves the run, when a file re-exports the default
 * or imports the module object (`import * as`, `export * as`, `require()`, `import()`,
 * `import x = require()`), when a default import is exported again, or when the module may be loaded unseen.
 */
function defaultImportedInstanceRefs(lookup: BindingLookup, subject: string, record: SourceRecord, key: string): References {
  return importedInstanceRefs(lookup, subject, record, key, [], (importer, loads) => {
    const refs: Node[] = [];
    for (const declaration of importer.sourceFile.getExportDeclarations()) {
      if (!loads(declaration.getModuleSpecifierValue()) || declaration.isTypeOnly()) continue;
      // `export * from` passes no default on; `export * as ns from`, `export { default as jobs } from` do.
      const passesDefault = declaration.getNamespaceExport() !== undefined || declaration.getNamedExports().some((e) => !e.isTypeOnly() && e.getName() === 'default');
      if (passesDefault) return { ok: false, reason: `${subject} is exported again at ${where(declaration)}, which the codemod does not follow for it` };
    }
    for (const declaration of importer.sourceFile.getImportDeclarations()) {
      if (!loads(declaration.getModuleSpecifierValue()) || declaration.isTypeOnly()) continue;
      if (declaration.getNamespaceImport()) return { ok: false, reason: `${subject} is imported at ${where(declaration)} as a module object, which the codemod does not follow for it` };
      const names = [declaration.getDefaultImport(), ...declaration.getNamedImports().filter((s) => !s.isTypeOnly() && s.getName() === 'default').map((s) => s.getAliasNode())];
      for (const name of names) {
        if (!name) continue;
        for (const ref of sameScopeReferences(name)) {
          const parent = ref.getParent();
          if (parent && (Node.isExportSpecifier(parent) || Node.isExportAssignment(parent))) return { ok: false, reason: `${subject} is imported as \`${name.getText()}\` and exported again at ${where(ref)}, which the codemod does not follow for it` };
          refs.push(ref);
        }
      }
    }
    const other = importEqualsOf(importer, loads) ?? importer.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression).find((call) => {
      const [argument] = call.getArguments();
      return !!argument && (Node.isStringLiteral(argument) || Node.isNoSubstitutionTemplateLiteral(argument)) && loads(argument.getLiteralText());
    });
    if (other) return { ok: false, reason: `${subject} is loaded at ${where(other)} other than by an import declaration, which the codemod does not follow for it` };
    return { ok: true, refs };
  });
}

/** Whether a specifier of the importer resolves to the module exporting the instance. */
type LoadsModule = (specifier: string | undefined) => boolean;

/**
 * The references of an instance a module exports whole (`own`: those in its file), in each
 * of its importers as `visit` finds them, or why they cannot all be known: the module leaves
 * the run, an importer does not parse, or the module may be loaded where no import shows it.
 */
function importedInstanceRefs(lookup: BindingLookup, subject: string, record: SourceRecord, key: string, own: readonly Node[], visit: (importer: SourceRecord, loads: LoadsModule) => References): References {
  const outside = lookup.exportsLeaveRun(record);
  if (outside) return { ok: false, reason: `${subject} is exported and may be used from outside the analysed files: ${outside}` };
  const refs: Node[] = [...own];
  const { index } = lookup.analysis;
  const searched = new Set([record.absPath]);
  for (const importerPath of lookup.analysis.imports.importersOf(record.absPath, index)) {
    searched.add(importerPath);
    const importer = index.load(importerPath);
    if (!importer || importer.parseProblem) return { ok: false, reason: `${subject} is loaded in ${importer?.rel ?? importerPath}, which the codemod cannot read` };
    const found = visit(importer, (specifier) => specifier !== undefined && index.resolve(importerPath, specifier) === record.absPath);
    if (!found.ok) return found;
    refs.push(...found.refs);
  }
  const unseen = loadedOtherwise(lookup, subject, record, key, searched);
  return unseen ? { ok: false, reason: unseen } : { ok: true, refs };
}

/** TypeScript's `import jobs = require('./jobs')` of the module, if the importer has one. */
function importEqualsOf(importer: SourceRecord, loads: LoadsModule): Node | undefined {
  return importer.sourceFile.getDescendantsOfKind(SyntaxKind.ExternalModuleReference).find((reference) => {
    const specifier = reference.getExpression();
    return !!specifier && Node.isStringLiteral(specifier) && loads(specifier.getLiteralText());
  });
}

/** Why a module exporting an instance may be loaded where no import shows it: a file the analysis cannot follow naming `key`, an unseen load, a computed path. */
function loadedOtherwise(lookup: BindingLookup, subject: string, record: SourceRecord, key: string, searched: ReadonlySet<string>): string | undefined {
  const unseen = lookup.unfollowedMention(key, searched) ?? lookup.unloadedMention(key);
  if (unseen) return `${subject} may be loaded in ${unseen}, which names \`${key}\` and imports what the codemod does not follow`;
  const loadedUnseen = unseenLoad(lookup.analysis, (absPath) => absPath === record.absPath);
  if (loadedUnseen) return `${subject} is loaded in ${loadedUnseen}, which the codemod does not follow`;
  const computed = computedLoadEscape(lookup.analysis, [record.absPath], () => true);
  if (computed) return `${subject} may be loaded from a computed path in ${computed}, which uses the module object other than by member names`;
  return undefined;
}

/** `export default new C()` at module level of an ES module (not `export =`): the export. */
function defaultExportAssignment(construction: Node): Node | undefined {
  const statement = outermost(construction).getParent();
  return statement && Node.isExportAssignment(statement) && !statement.isExportEquals() && Node.isSourceFile(statement.getParent()) ? statement : undefined;
}

