// Rule `imports`: legacy imports, requires and re-exports become imports of the
// shim with the local names still working; `TaskHandler` references are renamed;
// imports nothing uses any more are removed; names other rules' code needs
// (wrapApp, register, environFrom...) are added.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Node, ts, type ExportDeclaration, type ImportDeclaration, type VariableStatement } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import { findImportTypes } from '../analysis/import-types.js';
import { hasExports, type Binding, type ImportSite, type SymbolRef } from '../analysis/legacy-symbols.js';
import type { SourceRecord } from '../analysis/project.js';
import { roleOfSpecifier } from '../analysis/specifiers.js';
import { readJsonObject } from '../analysis/alias-config.js';
import { relativeSpecifiers } from '../analysis/prefilter.js';
import { quoted, semi } from '../analysis/style.js';
import { RuleOutput, type Rule, type RuleMeta, type ShimName } from './context.js';
import { legacyNameUses, migratedLocal, RENAMED_MEMBERS } from './names.js';
import { importStatement, insertImportStatement, isCommonJs, isLeadingRequire } from './import-placement.js';
import { makeTransform } from './single-file.js';
import { AsyncPlanner } from './async-plan.js';
import { reportLegacyDependencies } from './legacy-dependencies.js';
import { reportLegacyNameMappers } from './test-runner-configs.js';
import { listRemovalSpans, statementRemovalSpan } from './text.js';

export const meta: RuleMeta = {
  id: 'imports',
  description: 'Rewrites imports, requires and re-exports of the legacy deferred module to deferred-migrate/shim, renaming TaskHandler to Handler.',
  reasonCodes: ['dynamic-import', 'unresolved-legacy-reference', 'legacy-dependency'],
  docs: 'docs/manual-steps.md#dynamic-import',
};

function renamedMember(name: string): string {
  return RENAMED_MEMBERS[name] ?? name;
}

interface FileState {
  record: SourceRecord;
  otherSpans: Array<[number, number]>;
  used: Set<string>;
  live: Set<string>;
}

function inSpans(spans: Array<[number, number]>, start: number, end: number): boolean {
  return spans.some(([s, e]) => s < e && start >= s && end <= e);
}

function namedList(entries: string[]): string {
  return `{ ${entries.join(', ')} }`;
}

/** Import specifier text for a binding of the legacy module (ESM). */
function esmSpecifier(binding: Binding): string {
  if (binding.ref.kind === 'namespace') return binding.local === 'deferred' ? 'deferred' : `deferred as ${binding.local}`;
  if (binding.ref.kind !== 'member') return binding.local;
  const imported = renamedMember(binding.ref.name);
  const local = migratedLocal(binding);
  return local === imported ? imported : `${imported} as ${local}`;
}

function cjsElement(binding: Binding): string {
  if (binding.ref.kind === 'namespace') return binding.local === 'deferred' ? 'deferred' : `deferred: ${binding.local}`;
  if (binding.ref.kind !== 'member') return binding.local;
  const imported = renamedMember(binding.ref.name);
  const local = migratedLocal(binding);
  return local === imported ? imported : `${imported}: ${local}`;
}

/** Import specifiers (ESM) or destructuring elements (CommonJS) for shim names and their locals. */
function neededSpecifiers(needed: Map<ShimName, string>, cjs: boolean): string[] {
  const entries: string[] = [];
  for (const [name, local] of needed) {
    const imported = name.replace(/^type /, '');
    if (cjs) {
      // CommonJS files are JavaScript: no type is ever written there.
      if (name !== 'type Environ') entries.push(imported === local ? imported : `${imported}: ${local}`);
    } else {
      entries.push((name.startsWith('type ') ? 'type ' : '') + (imported === local ? imported : `${imported} as ${local}`));
    }
  }
  return entries;
}

function runImports(analysis: Analysis, out: RuleOutput, shared: RuleOutput, rewriteLegacy: boolean): void {
  const records = new Map<string, SourceRecord>();
  for (const record of analysis.candidates) records.set(record.absPath, record);
  for (const absPath of shared.neededImports.keys()) {
    const record = analysis.index.load(absPath);
    if (record && !record.parseProblem) records.set(absPath, record);
  }
  const shim = analysis.matchers.shim;
  for (const record of records.values()) {
    const symbols = analysis.symbols.of(record);
    const otherSpans: Array<[number, number]> = [
      ...(shared.edits.get(record.absPath) ?? []).map((e): [number, number] => [e.start, e.end]),
      ...(shared.removedSpans.get(record.absPath) ?? []),
    ];
    const state: FileState = { record, otherSpans, used: shared.usedNames.get(record.absPath) ?? new Set(), live: new Set() };
    const uses = legacyNameUses(analysis, record).filter((u) => !inSpans(otherSpans, u.start, u.end));
    for (const use of uses) if (use.binding) state.live.add(use.binding);
    for (const name of state.used) state.live.add(name);
    const isLive = (binding: Binding): boolean => state.live.has(binding.local);

    // Names other rules need, minus those the file binds already (or will, after migration).
    const boundAfter = new Set<string>();
    for (const binding of symbols.bindings.values()) {
      if (binding.site?.role === 'shim' || (rewriteLegacy && binding.site?.role === 'deferred' && isLive(binding))) boundAfter.add(migratedLocal(binding));
    }
    const needed = new Map<ShimName, string>();
    for (const [name, local] of shared.neededImports.get(record.absPath) ?? []) {
      if (!boundAfter.has(local)) needed.set(name, local);
    }

    const style = record.style;
    const q = (value: string): string => quoted(style, value);
    const end = semi(style);
    let neededPlaced = needed.size === 0;

    if (rewriteLegacy) {
      for (const node of symbols.dynamic) {
        const [arg] = Node.isCallExpression(node) ? node.getArguments() : [];
        const barrel = !!arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) && !roleOfSpecifier(arg.getLiteralValue(), analysis.matchers);
        out.report(
          record,
          node,
          'dynamic-import',
          'warning',
          barrel
            ? `This loads ${arg!.getText()} dynamically, a module that exports values of the legacy deferred module: what is read from it here (defer calls, TaskHandler) is not migrated, and the functions it defers are not registered. Import it statically, or register each deferred function (register(fn)) and check the uses by hand.`
            : `This loads the legacy deferred module dynamically, which the codemod does not rewrite. Load ${shim} instead (its \`deferred\` export is the namespace; TaskHandler is Handler) or import it statically.`,
        );
      }
    }

    if (rewriteLegacy) {
      for (const escape of analysis.symbols.escapes(record)) {
        if (isImportSpecifierText(escape.node)) {
          out.report(
            record,
            escape.node,
            'unresolved-legacy-reference',
            'warning',
            `This import is an alias of the project that the codemod cannot follow (${escape.reason}), so it does not know whether what it imports is the deferred module or reaches it: if it does, its uses here are not migrated. Check them by hand (TaskHandler is Handler in ${shim}).`,
          );
          continue;
        }
        out.report(
          record,
          escape.node,
          'unresolved-legacy-reference',
          'warning',
          `The codemod cannot follow this value of the deferred module (${escape.reason}): whatever reads TaskHandler or other legacy-only members from it is not migrated, and a defer() called through it enqueues a function nobody registered (register(fn) it). Make it a plain import or const binding, or check its uses by hand (TaskHandler is Handler in ${shim}).`,
        );
      }
    }

    if (rewriteLegacy) rewriteImportTypes(analysis, out, record, otherSpans);
    if (rewriteLegacy) reportLegacyDeclarations(analysis, out, record);
    if (rewriteLegacy) reportExportsLeavingRun(analysis, out, record);
    if (rewriteLegacy) reportOutsideLegacyImports(analysis, out, record);
    if (rewriteLegacy) reportLegacyCopy(analysis, out, record);

    // Import statements this rule removes: no place to add the shim import after (the insertion would conflict).
    const ownRemoved: Array<[number, number]> = [];
    const legacySites = rewriteLegacy ? symbols.sites.filter((s) => s.role === 'deferred' || s.role === 'webapp') : [];
    for (const site of legacySites) {
      if (inSpans(otherSpans, site.node.getStart(), site.node.getEnd())) continue;
      const siteBindings = [...symbols.bindings.values()].filter((b) => b.site === site);
      const liveBindings = siteBindings.filter(isLive);
      if (site.kind === 'cjs-inline' || site.kind === 'import-equals') {
        if (site.role === 'deferred' && !site.viaBarrel) {
          out.edit(record, site.specifier.getStart(), site.specifier.getEnd(), q(shim), 'require of the legacy module now loads the shim');
        } else if (site.kind === 'import-equals' && site.role === 'webapp' && liveBindings.length === 0 && siteBindings.length > 0) {
          // `import webapp = require(...)` whose route tables all moved: as the ES import would be, removed.
          const [start, stop] = statementRemovalSpan(record.text, site.node);
          ownRemoved.push([start, stop]);
          out.edit(record, start, stop, '', `removed the unused import of ${site.specifier.getLiteralValue()}`);
        }
        continue;
      }
      if (site.kind === 'reexport') {
        rewriteReexport(analysis, out, record, site, shim);
        continue;
      }
      if (site.role === 'webapp' || site.viaBarrel) {
        // Keep the specifier; drop unused names, rename TaskHandler imported through a barrel.
        if (liveBindings.length === 0 && siteBindings.length > 0) {
          if (site.viaBarrel && loadedAtRunTime(analysis, record, site, siteBindings)) {
            // A project module: loading it may register tasks or do other work, so the load stays.
            const load = site.kind === 'esm-import' ? `import ${q(site.specifier.getLiteralValue())}${end}` : `require(${q(site.specifier.getLiteralValue())})${end}`;
            out.edit(record, site.node.getStart(), site.node.getEnd(), load, `kept the load of ${site.specifier.getLiteralValue()}, whose imported names are unused`);
            continue;
          }
          const [start, stop] = statementRemovalSpan(record.text, site.node);
          ownRemoved.push([start, stop]);
          out.edit(record, start, stop, '', `removed the unused import of ${site.specifier.getLiteralValue()}`);
        } else {
          renameBarrelImport(out, record, site, siteBindings, isLive);
        }
        continue;
      }
      // The legacy deferred module itself.
      const typeOnlySite = site.kind === 'esm-import' && (site.node as ImportDeclaration).isTypeOnly();
      let entries: string[];
      if (site.kind === 'esm-import') {
        entries = liveBindings.map((b) => {
          const declaration = b.nameNode.getParentWhile((n) => !Node.isImportDeclaration(n));
          const typeOnlySpecifier = !!declaration && Node.isImportSpecifier(declaration) && declaration.isTypeOnly();
          return (typeOnlySpecifier ? 'type ' : '') + esmSpecifier(b);
        });
        if (!neededPlaced && !typeOnlySite) {
          entries.push(...neededSpecifiers(needed, false));
          neededPlaced = true;
        }
        if (entries.length === 0) {
          const [start, stop] = statementRemovalSpan(record.text, site.node);
          ownRemoved.push([start, stop]);
          out.edit(record, start, stop, '', 'removed the unused legacy import');
        } else {
          const keyword = typeOnlySite ? 'import type' : 'import';
          out.edit(record, site.node.getStart(), site.node.getEnd(), `${keyword} ${namedList(entries)} from ${q(shim)}${end}`, 'legacy import → deferred-migrate/shim');
        }
        continue;
      }
      // cjs-variable
      const statement = site.node as VariableStatement;
      const declaration = statement.getDeclarations()[0]!;
      const kind = statement.getDeclarationKind();
      const initializer = declaration.getInitializer()!;
      const nameNode = declaration.getNameNode();
      if (Node.isPropertyAccessExpression(initializer)) {
        // const T = require(X).TaskHandler
        if (liveBindings.length === 0) {
          const [start, stop] = statementRemovalSpan(record.text, statement);
          ownRemoved.push([start, stop]);
          out.edit(record, start, stop, '', 'removed the unused legacy require');
        } else {
          out.edit(record, site.specifier.getStart(), site.specifier.getEnd(), q(shim), 'legacy require → deferred-migrate/shim');
          out.edit(record, initializer.getNameNode().getStart(), initializer.getNameNode().getEnd(), renamedMember(initializer.getName()), 'TaskHandler → Handler');
        }
        continue;
      }
      entries = liveBindings.map(cjsElement);
      // Names other rules need (`wrapApp(express())` above a legacy require that follows
      // `const app = ...`) join it only where it opens the file: `const` is not hoisted.
      if (!neededPlaced && isLeadingRequire(record, statement)) {
        entries.push(...neededSpecifiers(needed, true));
        neededPlaced = true;
      }
      if (entries.length === 0) {
        const [start, stop] = statementRemovalSpan(record.text, statement);
        ownRemoved.push([start, stop]);
        out.edit(record, start, stop, '', 'removed the unused legacy require');
      } else if (Node.isIdentifier(nameNode) || Node.isObjectBindingPattern(nameNode)) {
        out.edit(record, statement.getStart(), statement.getEnd(), `${kind} ${namedList(entries)} = require(${q(shim)})${end}`, 'legacy require → deferred-migrate/shim');
      }
    }

    // Renamed references (TaskHandler → Handler, deferred.TaskHandler → deferred.Handler).
    if (rewriteLegacy) {
      for (const use of uses) {
        if (use.text === record.text.slice(use.start, use.end)) continue;
        out.edit(record, use.start, use.end, use.text, 'TaskHandler → Handler');
      }
    }

    if (!neededPlaced) addImport(analysis, out, record, needed, [...(shared.removedSpans.get(record.absPath) ?? []), ...ownRemoved]);
  }
}

function rewriteReexport(analysis: Analysis, out: RuleOutput, record: SourceRecord, site: ImportSite, shim: string): void {
  const declaration = site.node as ExportDeclaration;
  const q = (value: string): string => quoted(record.style, value);
  const end = semi(record.style);
  const typePrefix = declaration.isTypeOnly() ? 'export type' : 'export';
  if (site.viaBarrel) {
    // Renamed only where the other barrel offers the name through its star (the shim's star has Handler).
    const resolved = analysis.index.resolve(record.absPath, site.specifier.getLiteralValue());
    const inner = resolved ? analysis.symbols.exportsOf(resolved) : undefined;
    for (const specifier of declaration.getNamedExports()) {
      const renamed = RENAMED_MEMBERS[specifier.getName()];
      if (!renamed || inner?.named.has(specifier.getName())) continue;
      const nameNode = specifier.getNameNode();
      out.edit(record, nameNode.getStart(), nameNode.getEnd(), specifier.getAliasNode() ? renamed : `${renamed}`, 'TaskHandler → Handler');
    }
    return;
  }
  if (site.role !== 'deferred') return;
  const namespaceExport = declaration.getNamespaceExport();
  let text: string;
  if (namespaceExport) {
    // `export * as 'tasks api' from ...`: a string name keeps its quotes.
    const name = namespaceExport.getNameNode().getText();
    text = `${typePrefix} { ${name === 'deferred' ? 'deferred' : `deferred as ${name}`} } from ${q(shim)}${end}`;
  } else if (declaration.getNamedExports().length === 0) {
    text = `${typePrefix} * from ${q(shim)}${end}`;
  } else {
    const entries = declaration.getNamedExports().map((specifier) => {
      // The module's default export is its namespace: the shim's is `deferred`.
      const imported = specifier.getName() === 'default' ? 'deferred' : renamedMember(specifier.getName());
      // The public name stays (`export { Handler as TaskHandler }`): importers outside the run still find it.
      const exported = specifier.getAliasNode()?.getText() ?? specifier.getName();
      return (specifier.isTypeOnly() ? 'type ' : '') + (exported === imported ? imported : `${imported} as ${exported}`);
    });
    text = `${typePrefix} ${namedList(entries)} from ${q(shim)}${end}`;
  }
  out.edit(record, declaration.getStart(), declaration.getEnd(), text, 'legacy re-export → deferred-migrate/shim');
}

function renameBarrelImport(out: RuleOutput, record: SourceRecord, site: ImportSite, bindings: Binding[], isLive: (b: Binding) => boolean): void {
  const node = site.node;
  // Only a name the barrel really offers as the legacy member is renamed: a value
  // the tracker lost (reported) keeps its name, so its uses still match.
  // A name the barrel exports itself (not through its star) keeps its public name.
  const readsLegacyMember = (nameNode: Node): boolean => {
    const binding = bindings.find((b) => b.nameNode === nameNode);
    const ref = binding?.ref;
    return !!ref && ref.kind === 'member' && ref.role === 'deferred' && !binding.keepsName;
  };
  if (Node.isImportDeclaration(node)) {
    const specifiers = node.getNamedImports();
    const dead = specifiers.filter((s) => bindings.some((b) => b.nameNode === (s.getAliasNode() ?? s.getNameNode()) && !isLive(b)));
    if (dead.length > 0 && dead.length === specifiers.length && !node.getDefaultImport() && !node.getNamespaceImport()) {
      const [start, stop] = statementRemovalSpan(record.text, node);
      out.edit(record, start, stop, '', 'removed the unused import');
      return;
    }
    const removed = new Set(dead.map((d) => specifiers.indexOf(d)));
    for (const [start, stop] of listRemovalSpans(specifiers, removed)) out.edit(record, start, stop, '', 'removed an unused import specifier');
    for (const specifier of specifiers) {
      if (dead.includes(specifier)) continue;
      const renamed = RENAMED_MEMBERS[specifier.getName()];
      if (!renamed || site.role !== 'deferred' || !readsLegacyMember(specifier.getAliasNode() ?? specifier.getNameNode())) continue;
      const nameNode = specifier.getNameNode();
      out.edit(record, nameNode.getStart(), nameNode.getEnd(), renamed, 'TaskHandler → Handler');
    }
    return;
  }
  if (Node.isVariableStatement(node)) {
    const pattern = node.getDeclarations()[0]?.getNameNode();
    if (!pattern || !Node.isObjectBindingPattern(pattern)) return;
    for (const element of pattern.getElements()) {
      const property = element.getPropertyNameNode();
      const renamed = RENAMED_MEMBERS[(property ?? element.getNameNode()).getText()];
      if (!renamed || !readsLegacyMember(element.getNameNode())) continue;
      if (property) out.edit(record, property.getStart(), property.getEnd(), renamed, 'TaskHandler → Handler');
      else out.edit(record, element.getNameNode().getStart(), element.getNameNode().getEnd(), renamed, 'TaskHandler → Handler');
    }
  }
}

/**
 * `import('<legacy deferred>')` in types and JSDoc loads the shim's types instead
 * (`.TaskHandler` becomes `.Handler`); the webapp module has no counterpart in
 * the shim, so its import types are reported.
 */
function rewriteImportTypes(analysis: Analysis, out: RuleOutput, record: SourceRecord, otherSpans: Array<[number, number]>): void {
  const shim = analysis.matchers.shim;
  for (const found of findImportTypes(record, analysis.matchers)) {
    if (inSpans(otherSpans, found.specifierStart, found.specifierEnd)) continue;
    if (found.role === 'webapp') {
      out.report(
        record,
        found.start,
        'unresolved-legacy-reference',
        'warning',
        `This type is read from the legacy webapp module${found.member ? ` (${found.member.name})` : ''}, which ${shim} has no counterpart for: it stops resolving when webapp is removed. Describe the value with its own type (or ${shim}'s types, e.g. Handler, Environ).`,
      );
      continue;
    }
    out.edit(record, found.specifierStart, found.specifierEnd, shim, `import type of the legacy module → ${shim}`);
    const renamed = found.member && RENAMED_MEMBERS[found.member.name];
    if (found.member && renamed) out.edit(record, found.member.start, found.member.end, renamed, 'TaskHandler → Handler');
  }
}

/** Adds the shim names a file needs: merged into an existing shim import, or a new statement. */
/** `removed`: statements other rules remove (an import among them is no place to add one after). */
function addImport(analysis: Analysis, out: RuleOutput, record: SourceRecord, needed: Map<ShimName, string>, removed: ReadonlyArray<[number, number]> = []): void {
  const shim = analysis.matchers.shim;
  const cjs = isCommonJs(record);
  const entries = neededSpecifiers(needed, cjs);
  if (entries.length === 0) return;
  const existing = record.sourceFile.getImportDeclarations().find((d) => d.getModuleSpecifierValue() === shim && !d.isTypeOnly() && !d.getNamespaceImport());
  const last = existing?.getNamedImports().at(-1);
  if (last) {
    out.edit(record, last.getEnd(), last.getEnd(), `, ${entries.join(', ')}`, 'added shim imports');
    return;
  }
  if (!cjs && entries.every((e) => e.startsWith('type '))) {
    const statement = importStatement(record, entries.map((e) => e.slice('type '.length)), shim).replace(/^import /, 'import type ');
    insertImportStatement(out, record, statement, 'added shim type import', removed);
    return;
  }
  insertImportStatement(out, record, importStatement(record, entries, shim), 'added shim import', removed);
}

export const rule: Rule = {
  meta,
  run: (analysis, out, shared) => {
    runImports(analysis, out, shared, true);
    reportLegacyDependencies(analysis, out);
    reportLegacyNameMappers(analysis, out);
    reportLegacyScripts(analysis, out);
  },
};

/**
 * A script without a script extension (a package's `bin/tool`, a file its `scripts` run by
 * path, a `#!/usr/bin/env node` file) that uses the legacy deferred module: the codemod reads
 * files by extension only, so it is left on the legacy runtime: its defer() enqueues through the
 * legacy module, not the shim's queue (and fails to load once the legacy package is removed);
 * its TaskHandler is not the shim's Handler.
 */
function reportLegacyScripts(analysis: Analysis, out: RuleOutput): void {
  for (const script of analysis.legacyScripts) {
    out.reportAt(
      script,
      script.line,
      script.column,
      'unresolved-legacy-reference',
      'warning',
      `This script has no extension the codemod reads (a package.json \`bin\` entry, a file its \`scripts\` run, or a file with a node \`#!\` line, or one an App Engine \`entrypoint:\` or a Procfile runs), and it uses the legacy deferred module: it is not migrated. It stays on the legacy runtime: its defer() enqueues through the legacy module, not the shim's queue (and fails to load once the legacy package is removed), and its TaskHandler is not the shim's Handler. Give it a script extension (.js, .cjs or .mjs, and point \`bin\` or the script at the new name) and run the codemod again, or migrate it by hand.`,
    );
  }
}

/** Only adds the imports other rules' code needs (used when a single rule runs alone). */
export function addNeededImports(analysis: Analysis, out: RuleOutput, shared: RuleOutput): void {
  runImports(analysis, out, shared, false);
}

export default makeTransform(rule);

/** The specifier of an import declaration (where an alias the analysis cannot follow is reported). */
function isImportSpecifierText(node: Node): boolean {
  return Node.isStringLiteral(node) && Node.isImportDeclaration(node.getParent());
}

/**
 * Whether the import of a project module (a barrel of legacy values) loads it when
 * the code runs: always in JavaScript; in TypeScript, which drops an import none of
 * whose names is used as a value, when one of them was (a route table's row that
 * moved, say). Removing such an import would stop loading the module, and with it
 * whatever its loading did (registering its tasks, among others).
 */
function loadedAtRunTime(analysis: Analysis, record: SourceRecord, site: ImportSite, bindings: Binding[]): boolean {
  if (site.kind === 'esm-import' && (site.node as ImportDeclaration).isTypeOnly()) return false;
  if (!record.isTypeScript) return true;
  return bindings.some((binding) => !binding.typeOnly && analysis.symbols.references(record, binding).some((ref) => !isTypePosition(ref)));
}

/** An identifier read in a type (`x: Tasks.Handler`, `typeof x`), which TypeScript erases. */
function isTypePosition(node: Node): boolean {
  return ts.isPartOfTypeNode(node.compilerNode);
}

/** `lib.js` → `lib.d.ts` (`.mjs` → `.d.mts`, `.cjs` → `.d.cts`): the declarations TypeScript reads for it. */
function declarationSibling(absPath: string): string | undefined {
  const match = /\.([cm]?)js$/.exec(absPath);
  return match ? `${absPath.slice(0, -match[0].length)}.d.${match[1]}ts` : undefined;
}

/**
 * A file of the run that declares the legacy deferred module's API itself (an exported
 * `TaskHandler` class and `defer` function): a copy of the module kept at a path the
 * specifiers do not match (`lib/tasks/deferred.ts`). Its importers are not migrated,
 * and once the app is wrapped, the tasks its `defer()` sends to the deferred URL reach
 * the shim's Handler, which knows none of their functions (dropped as not registered).
 * A copy the matchers name (`appengine/ext/deferred`, --legacy-module) is the legacy module.
 */
function reportLegacyCopy(analysis: Analysis, out: RuleOutput, record: SourceRecord): void {
  if (!/\bTaskHandler\b/.test(record.text) || !/\bdefer\b/.test(record.text)) return;
  const posixPath = record.absPath.replace(/\\/g, '/');
  if (roleOfSpecifier(posixPath, analysis.matchers) !== undefined || roleOfSpecifier(posixPath.replace(/\.[cm]?[jt]sx?$/, ''), analysis.matchers) !== undefined) return;
  // A package the matchers name (`--legacy-module @corp/tasks`): its files are the legacy module's.
  for (let dir = path.dirname(record.absPath); dir.startsWith(path.resolve(analysis.root)); dir = path.dirname(dir)) {
    const name = readJsonObject(path.join(dir, 'package.json'))?.['name'];
    if (typeof name === 'string') {
      if (roleOfSpecifier(name, analysis.matchers) !== undefined) return;
      break;
    }
    if (path.dirname(dir) === dir) break;
  }
  const sf = record.sourceFile;
  const handler = sf.getClass('TaskHandler');
  const defer = sf.getFunction('defer');
  if (!handler || !defer || !handler.isExported() || !defer.isExported()) return;
  out.report(
    record,
    handler.getNameNode() ?? handler,
    'unresolved-legacy-reference',
    'warning',
    `This file declares TaskHandler and defer() itself, like the legacy deferred module: if it is a copy of that module, the codemod does not take it for one (its path does not end in appengine/ext/deferred), so the code importing it is not migrated. Once the app is wrapped, the tasks its defer() sends to the deferred URL reach the shim's Handler, which knows none of their functions (dropped as not registered). Run the codemod again with --legacy-module naming it (${record.rel.replace(/\.[cm]?[jt]sx?$/, '')}), or migrate its importers by hand.`,
  );
}

/**
 * Imports of modules outside the run (by a relative path: another package of a
 * monorepo, a directory the run was not given, a file its walk skipped) that use the
 * legacy deferred API: what they export stays legacy, and the run does not see what
 * this file takes from them. A `defer` from there enqueues on the legacy queue a
 * function nobody registers, whose task the shim's Handler (which wrapApp makes answer
 * the deferred URL) then drops as not registered.
 */
function reportOutsideLegacyImports(analysis: Analysis, out: RuleOutput, record: SourceRecord): void {
  const outside = analysis.outside;
  if (!outside || !relativeSpecifiers(record.text).some((specifier) => outside.legacyTarget(record.absPath, specifier))) return;
  const sf = record.sourceFile;
  const specifiers: Node[] = [];
  for (const statement of sf.getStatements()) {
    if (Node.isImportDeclaration(statement) || Node.isExportDeclaration(statement)) {
      const literal = statement.getModuleSpecifier();
      if (literal) specifiers.push(literal);
    }
  }
  sf.forEachDescendant((node) => {
    if (!Node.isCallExpression(node)) return;
    const callee = node.getExpression();
    const [argument] = node.getArguments();
    if ((callee.getKind() === ts.SyntaxKind.ImportKeyword || (Node.isIdentifier(callee) && callee.getText() === 'require')) && argument && Node.isStringLiteral(argument)) specifiers.push(argument);
  });
  for (const literal of specifiers) {
    const specifier = (literal as unknown as { getLiteralValue(): string }).getLiteralValue();
    const target = outside.legacyTarget(record.absPath, specifier);
    if (!target) continue;
    out.report(
      record,
      literal,
      'unresolved-legacy-reference',
      'warning',
      `${specifier} is outside the run (${path.relative(analysis.root, target)}: another package, a directory the run was not given, or a file its walk skips), and it uses the legacy deferred module, which the codemod does not migrate there: what this file takes from it stays legacy. A defer() from there enqueues a function nobody registers with the shim, whose task the shim's Handler (answering the deferred URL once the app is wrapped) drops as not registered; TaskHandler from there is not the shim's Handler. Run the codemod on that module too (or on the directory holding both), or register each function it is given (register(fn)) and check the uses by hand.`,
    );
  }
}

/** Whether a ref is the deferred module (or the shim that replaces it), a member of it, or a barrel of it. */
function isDeferredRef(ref: SymbolRef | undefined): boolean {
  if (!ref) return false;
  if (ref.kind === 'barrel-namespace' || ref.kind === 'unresolved') return true;
  return ref.role === 'deferred' || ref.role === 'shim';
}

/**
 * A module that passes values of the deferred module on to its importers (`export *
 * from L`, `export { defer, TaskHandler }`, `export const enqueue = deferred.defer`,
 * `module.exports = deferred`) when its package says those importers may be files the
 * run does not see (a run on ./src beside ./test or another app, a package's entry
 * point): the migration hands them the shim's values, which they use as the legacy
 * ones (TaskHandler gone, defer() returning a Promise and refusing functions nobody
 * registered). Reported on every run while the module does.
 */
function reportExportsLeavingRun(analysis: Analysis, out: RuleOutput, record: SourceRecord): void {
  const exports = analysis.symbols.of(record).exports;
  if (!hasExports(exports)) return;
  const names = [...exports.named].filter(([, ref]) => isDeferredRef(ref)).map(([name]) => name);
  const star = exports.star.some((role) => role === 'deferred' || role === 'shim');
  if (names.length === 0 && !star && !isDeferredRef(exports.whole)) return;
  const outside = AsyncPlanner.of(analysis).exportsLeavePackage(record);
  if (!outside) return;
  const site = analysis.symbols.of(record).sites.find((s) => s.kind === 'reexport')?.node;
  const at = site ?? record.sourceFile.getStatements().find((s) => /^\s*(?:export\b|(?:module\.)?exports\b)/.test(s.getText())) ?? record.sourceFile.getStatements()[0];
  if (!at) return;
  const whole = isDeferredRef(exports.whole);
  const what = [...(whole ? ['module.exports'] : star ? ['export *'] : []), ...names.slice(0, 6)].join(', ');
  out.report(
    record,
    at,
    'unresolved-legacy-reference',
    'warning',
    `This module passes values of the deferred module on to its importers (${what}), and they may be outside the run (${outside}): those importers are not migrated, and after migration they get ${analysis.matchers.shim}'s values: no TaskHandler (it is Handler, whose post(environ)/runFromRequest(environ) take environ), and a defer() that returns a Promise and refuses a function nobody registered (register(fn) where it is declared). Migrate those files too (run the codemod on the package's directory), or check each importer by hand.`,
  );
}

/**
 * A JavaScript module that exports legacy values beside a hand-written declaration
 * file that types them with the legacy deferred module: the codemod does not edit
 * declaration files, so TypeScript importers would go on being checked against the
 * old types (a defer() that returns the task, TaskHandler) while the values are the
 * shim's. Reported on every run while the declarations name the legacy module.
 */
function reportLegacyDeclarations(analysis: Analysis, out: RuleOutput, record: SourceRecord): void {
  if (record.isTypeScript || !hasExports(analysis.symbols.of(record).exports)) return;
  const sibling = declarationSibling(record.absPath);
  let text: string;
  try {
    text = sibling && existsSync(sibling) ? readFileSync(sibling, 'utf8') : '';
  } catch {
    return;
  }
  const named = [...text.matchAll(/(['"])([^'"\r\n]+)\1/g)].some((m) => roleOfSpecifier(m[2]!, analysis.matchers, sibling) === 'deferred');
  const first = record.sourceFile.getStatements()[0];
  if (!named || !first) return;
  out.report(
    record,
    first,
    'unresolved-legacy-reference',
    'warning',
    `${path.basename(sibling!)} declares this module's exports with the legacy deferred module's types, and the codemod does not edit declaration files: TypeScript code importing this module is still checked against them (a defer() returning the task, TaskHandler) while the values are now ${analysis.matchers.shim}'s. Update the declarations to import from ${analysis.matchers.shim} (TaskHandler is Handler; defer() returns a Promise).`,
  );
}
