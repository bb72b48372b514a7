// Verification (a): in the migrated text, every reference that still reaches a
// legacy-only symbol. Each one is a runtime failure waiting to happen (the
// legacy module is gone, or the shim has no such member), so each becomes an
// `unresolved-legacy-reference` item unless a rule already reported that line.
import { Node, SyntaxKind, ts, type PropertyAccessExpression } from 'ts-morph';
import { compilerNodesOfKind, morphTextIs, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import type { SymbolRef } from '../analysis/legacy-symbols.js';
import { BACKEND_DEPENDENT_ERROR_CLASSES, LEGACY_ERROR_CLASSES, LEGACY_TASKQUEUE } from '../analysis/legacy-errors.js';
import { movableErrorClass, taskqueueApiUses, taskqueueErrorsKept } from '../rewrite/taskqueue-errors.js';
import { SHIM_EXPORTS } from '../analysis/shim-exports.js';
import { mockedModuleRole, PATTERN_CHARACTERS, patternRole, roleOfSpecifier } from '../analysis/specifiers.js';
import * as path from 'node:path';


export interface LegacyReference {
  node: Node;
  /** What the reference reaches, for the item's message: `deferred.TaskHandler`, `this.request`... */
  what: string;
  /** Why it fails after the migration. */
  why: string;
  /** No item when a rule already reported a line of this node (the table a row belongs to). */
  span?: Node;
}

/**
 * Lists the references of one file that reach a legacy-only symbol. The
 * resolver's own listing (when it has one) can take this one's place: the pass
 * only needs this signature.
 */
export type LegacyReferenceFinder = (analysis: Analysis, record: SourceRecord) => LegacyReference[];

function describeRef(ref: SymbolRef): string {
  if (ref.kind === 'member') return `${ref.role === 'shim' ? 'deferred-migrate/shim' : `the legacy ${ref.role} module`}'s ${ref.name}`;
  if (ref.kind === 'namespace') return `the legacy ${ref.role} module`;
  if (ref.kind === 'unresolved') return `a value of the deferred module the codemod could not follow: ${ref.reason}`;
  return 'a barrel of the legacy module';
}

function isLegacyOnly(ref: SymbolRef | undefined): ref is SymbolRef {
  if (!ref) return false;
  if (ref.kind === 'member') return ref.role === 'deferred' || (ref.role === 'shim' && !SHIM_EXPORTS.has(ref.name));
  if (ref.kind === 'namespace') return ref.role === 'deferred';
  if (ref.kind === 'unresolved') return true;
  return ref.exports.star.includes('deferred') || [...ref.exports.named.values()].some((r) => isLegacyOnly(r));
}

function whyOf(ref: SymbolRef): string {
  if (ref.kind === 'unresolved') return `the codemod could not follow this value (${ref.reason}), so what it reads was not migrated`;
  return ref.kind === 'member' && ref.role === 'shim'
    ? `deferred-migrate/shim has no export "${ref.name}"`
    : 'the legacy deferred module is gone after the migration';
}

export const findLegacyReferences: LegacyReferenceFinder = (analysis, record) => {
  const found: LegacyReference[] = [];
  const symbols = analysis.symbols.of(record);

  // Imports of the legacy deferred module, and imports of names the shim lacks.
  for (const site of symbols.sites) {
    // (A barrel import is judged by what the barrel now exports: see the bindings below.)
    if (site.role === 'deferred' && !site.viaBarrel) found.push({ node: site.node, what: `an import of ${site.specifier.getLiteralValue()}`, why: 'the legacy deferred module is gone after the migration' });
  }
  for (const binding of symbols.bindings.values()) {
    if (binding.site && binding.site.role === 'deferred' && !binding.site.viaBarrel) continue; // the import itself is listed above
    if (binding.site && isLegacyOnly(binding.ref) && (binding.site.viaBarrel || binding.ref.kind === 'member')) {
      found.push({ node: binding.nameNode, what: binding.local, why: whyOf(binding.ref) });
      continue;
    }
    // Derived bindings (destructuring, aliases) of legacy symbols: every use.
    if (!binding.site && isLegacyOnly(binding.ref)) {
      for (const use of analysis.symbols.references(record, binding)) found.push({ node: use, what: `${binding.local} (${describeRef(binding.ref)})`, why: whyOf(binding.ref) });
    }
  }

  // Member chains: `deferred.TaskHandler` on the shim namespace, `legacy.defer` through a kept binding.
  // Filtered on the compiler's nodes: only a chain rooted in a binding, or a read of
  // `this.request` / `this.response`, can be listed, so only those are wrapped.
  const sf = record.sourceFile.compilerNode;
  for (const compilerAccess of compilerNodesOfKind<ts.PropertyAccessExpression>(record.sourceFile, SyntaxKind.PropertyAccessExpression)) {
    const thisRead = compilerAccess.expression.kind === SyntaxKind.ThisKeyword && (morphTextIs(sf, compilerAccess.name, 'request') || morphTextIs(sf, compilerAccess.name, 'response'));
    if (!thisRead && !analysis.symbols.mayResolve(record, compilerAccess)) continue;
    const access = wrapCompilerNode<PropertyAccessExpression>(record.sourceFile, compilerAccess);
    const chainRef = analysis.symbols.resolve(record, access);
    if (chainRef && chainRef.kind === 'member' && isLegacyOnly(chainRef)) {
      found.push({ node: access, what: access.getText(), why: whyOf(chainRef) });
      continue;
    }
    const expression = access.getExpression();
    if (expression.getKind() === SyntaxKind.ThisKeyword && (access.getName() === 'request' || access.getName() === 'response')) {
      const owner = access.getFirstAncestor((n) => Node.isClassDeclaration(n) || Node.isClassExpression(n));
      if (owner && (Node.isClassDeclaration(owner) || Node.isClassExpression(owner)) && analysis.handlers.of(owner)) {
        found.push({
          node: access,
          what: access.getText(),
          why: `a deferred.Handler has no ${access.getName()} object: its methods receive \`environ\``,
        });
      }
    }
  }

  // What the resolver itself lists as legacy-only: TaskHandler read through any
  // derived binding, and values it lost (escapes, computed keys, reassigned lets).
  const listed = new Set(found.map((f) => f.node));
  for (const reference of analysis.symbols.legacyReferences(record)) {
    if (!reference.legacyOnly || listed.has(reference.node)) continue;
    listed.add(reference.node);
    found.push({ node: reference.node, what: reference.node.getText(), why: whyOf(reference.ref) });
  }

  found.push(...legacyTaskqueueErrors(analysis, record));
  found.push(...legacyErrorsMade(analysis, record));
  found.push(...legacyQueueAndRuntimeState(record));
  found.push(...legacyModuleNames(analysis, record));

  // A webapp router that still routes task handlers: those rows never reach the shim.
  for (const table of analysis.tables) {
    if (table.record.absPath !== record.absPath) continue;
    const taskRows = table.rows.filter((row) => row.kind !== 'webapp');
    if (taskRows.length === 0) continue;
    // One item per table, and none when a rule already reported something inside it.
    found.push({
      node: taskRows[0]!.node,
      what: `the route ${taskRows.map((row) => row.pattern.getText()).join(', ')}`,
      why: 'a task handler is still mounted on the legacy WSGIApplication router',
      span: table.statement ?? table.create,
    });
  }
  return found;
};

/** The legacy reference runtime's process state (`google/appengine/runtime/state`): its logger, log level, function map and queue. */
const LEGACY_RUNTIME_STATE = /(^|\/)appengine\/runtime\/state(\/index)?(\.[cm]?[jt]s)?$/;

const LEGACY_QUEUE_WHY =
  "the legacy task queue is not deferred-migrate/shim's queue: a task added to it bypasses the shim (wrapApp's Handler refuses its deliveries in production, the shim's retries and queue.yaml do not apply to it), and what it lists or counts no longer includes the deferred tasks. Enqueue with defer() and its options; read the shim's queues through getRuntime().backend.operations";
const LEGACY_STATE_WHY =
  "the legacy runtime's state (its logger, log level, function map and queue) is not the shim's: nothing the shim does reads or writes it. Use configure({ logger, logLevel }) for the shim's logging, register() for its functions, getRuntime().backend.operations for its queues";

/**
 * What a file that uses the deferred API does with the rest of the legacy runtime:
 * the taskqueue module's queue (other than its error classes, legacyTaskqueueErrors)
 * and the runtime's process state. Both stay the legacy runtime's after the migration,
 * so a task added there, a backlog counted there or a logger set there silently
 * stops meeting the deferred tasks, which now live in the shim.
 */
function legacyQueueAndRuntimeState(record: SourceRecord): LegacyReference[] {
  const found: LegacyReference[] = taskqueueApiUses(record).map((use) => ({ node: use.node, what: use.what, why: LEGACY_QUEUE_WHY }));
  if (!record.text.includes('appengine/runtime/state')) return found;
  for (const declaration of record.sourceFile.getImportDeclarations()) {
    const specifier = declaration.getModuleSpecifierValue();
    if (!LEGACY_RUNTIME_STATE.test(specifier) || declaration.isTypeOnly()) continue;
    if (declaration.getNamedImports().length > 0 && declaration.getNamedImports().every((named) => named.isTypeOnly()) && !declaration.getDefaultImport() && !declaration.getNamespaceImport()) continue;
    found.push({ node: declaration.getModuleSpecifier(), what: `an import of ${specifier}`, why: LEGACY_STATE_WHY });
  }
  for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const [argument] = call.getArguments();
    const callee = call.getExpression();
    const loads = callee.getKind() === SyntaxKind.ImportKeyword || (Node.isIdentifier(callee) && callee.getText() === 'require');
    if (!loads || !argument || !Node.isStringLiteral(argument) || !LEGACY_RUNTIME_STATE.test(argument.getLiteralValue())) continue;
    found.push({ node: argument, what: `a load of ${argument.getLiteralValue()}`, why: LEGACY_STATE_WHY });
  }
  return found;
}

/** Whether a string literal is where a module is imported, re-exported, required or declared (`declare module '...'`). */
function isModuleSpecifierPosition(literal: ts.Node): boolean {
  const parent = literal.parent;
  if (ts.isImportDeclaration(parent) || ts.isExportDeclaration(parent)) return parent.moduleSpecifier === literal;
  if (ts.isExternalModuleReference(parent) || ts.isModuleDeclaration(parent) || ts.isLiteralTypeNode(parent)) return true;
  if (ts.isCallExpression(parent) && parent.arguments[0] === literal) {
    const callee = parent.expression;
    return callee.kind === SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require');
  }
  return false;
}

/**
 * The legacy modules' names in strings other than imports (`vi.mock('google/appengine/ext/deferred', ...)`,
 * `jest.requireActual(...)`, `require.resolve(...)`, a module name mapper): the migrated code
 * imports deferred-migrate/shim instead, so a mock or lookup of this name silently stops
 * reaching what the code uses.
 */
/** Whether a migrated file still imports the webapp module (a table keeping ordinary rows): a mock or mapping of it still applies. */
const webappKeptBy = new WeakMap<Analysis, boolean>();
function webappKept(analysis: Analysis): boolean {
  let kept = webappKeptBy.get(analysis);
  if (kept === undefined) {
    kept = analysis.candidates.some((record) => analysis.symbols.of(record).sites.some((site) => site.role === 'webapp'));
    webappKeptBy.set(analysis, kept);
  }
  return kept;
}

function legacyModuleNames(analysis: Analysis, record: SourceRecord): LegacyReference[] {
  const found: LegacyReference[] = [];
  const mocked = mockedModuleRole(record.absPath, analysis.matchers);
  if (mocked && !(mocked === 'webapp' && webappKept(analysis))) {
    found.push({
      node: record.sourceFile.getFirstChild() ?? record.sourceFile,
      what: `this manual mock of the legacy ${mocked} module (${path.basename(record.absPath)} under __mocks__)`,
      why: `a test runner puts it in the legacy module's place (jest for an installed package by itself, jest.mock()/vi.mock() of its name otherwise), but the migrated code imports deferred-migrate/shim instead, so the mock no longer applies: the tests using it reach the real shim (a real queue, functions that must be registered) or assert on a mock nothing calls. Mock deferred-migrate/shim instead (__mocks__/deferred-migrate/shim.js with the shim's exports, or vi.mock/jest.mock of that name), or delete the mock`,
    });
  }
  // Only a file that runs code from strings: elsewhere such a string is text (a message, a note).
  const evaluates = /\b(?:eval|Function|runIn(?:This|New)?Context|compileFunction|Script)\s*\(/.test(record.text);
  // The legacy names written as regular expressions (`/^google\/appengine\/ext\/deferred$/`, the keys
  // of jest's moduleNameMapper, `'^google/appengine/ext/deferred(.*)$'`): a mapper, alias or mock of that pattern.
  for (const literal of compilerNodesOfKind<ts.RegularExpressionLiteral>(record.sourceFile, SyntaxKind.RegularExpressionLiteral)) {
    const slash = literal.text.lastIndexOf('/');
    const role = patternRole(literal.text.slice(1, slash), literal.text.slice(slash + 1), analysis.matchers);
    if (role && !(role === 'webapp' && webappKept(analysis))) found.push({ node: wrapCompilerNode(record.sourceFile, literal), what: `a regular expression matching the name of the legacy ${role} module`, why: PATTERN_WHY });
  }
  for (const kind of [SyntaxKind.StringLiteral, SyntaxKind.NoSubstitutionTemplateLiteral]) {
    for (const literal of compilerNodesOfKind<ts.StringLiteral | ts.NoSubstitutionTemplateLiteral>(record.sourceFile, kind)) {
      const role = roleOfSpecifier(literal.text, analysis.matchers, record.absPath);
      if (role === undefined && !isModuleSpecifierPosition(literal) && PATTERN_CHARACTERS.test(literal.text)) {
        const patterned = patternRole(literal.text, '', analysis.matchers);
        if (patterned) {
          if (!(patterned === 'webapp' && webappKept(analysis))) found.push({ node: wrapCompilerNode(record.sourceFile, literal), what: `a pattern matching the name of the legacy ${patterned} module`, why: PATTERN_WHY });
          continue;
        }
      }
      if ((role !== 'deferred' && role !== 'webapp') || isModuleSpecifierPosition(literal)) {
        // Code in a string (`eval("require('google/appengine/ext/deferred')...")`): the load it makes is not seen.
        const quoted = role || !evaluates ? undefined : quotedLegacyName(literal.text, analysis, record);
        if (quoted) found.push({ node: wrapCompilerNode(record.sourceFile, literal), what: `the name of the legacy ${quoted} module inside a string`, why: 'code in a string (eval, new Function, a script) that loads it is not migrated: the legacy module is still loaded when it runs' });
        continue;
      }
      const node = wrapCompilerNode(record.sourceFile, literal);
      const call = node.getParentIfKind(SyntaxKind.CallExpression);
      found.push({
        node,
        what: `the name of the legacy ${role} module${call ? ` in ${call.getExpression().getText()}()` : ''}`,
        why: 'the migrated code imports deferred-migrate/shim instead, so a mock, resolution or load of this name no longer reaches what it uses (name deferred-migrate/shim here, with the shim\'s exports)',
      });
    }
  }
  return found;
}

const PATTERN_WHY =
  "the migrated code imports deferred-migrate/shim instead, so what this pattern maps, aliases or mocks (jest's moduleNameMapper, a bundler or test runner alias, a module replacement) no longer applies to it: tests mapped to a fake reach the real shim. Map deferred-migrate/shim instead, or delete the entry if it only resolved the legacy package";

/** The role of a legacy module named in quotes inside a string's text (`"require('google/appengine/ext/deferred')"`). */
function quotedLegacyName(text: string, analysis: Analysis, record: SourceRecord): 'deferred' | 'webapp' | undefined {
  if (!/['"`]/.test(text)) return undefined;
  for (const match of text.matchAll(/(['"`])([^'"`\s]+)\1/g)) {
    const role = roleOfSpecifier(match[2]!, analysis.matchers, record.absPath);
    if (role === 'deferred' || role === 'webapp') return role;
  }
  return undefined;
}

/**
 * Where the migrated code tests a class of deferred-migrate/shim with `instanceof`: the shim's class
 * name → the first such test (`src/app.ts:10`). Memoised per analysis (the migrated texts').
 */
const shimClassTestsBy = new WeakMap<Analysis, Map<string, string>>();
function shimClassTests(analysis: Analysis): Map<string, string> {
  let tests = shimClassTestsBy.get(analysis);
  if (tests) return tests;
  tests = new Map();
  const shim = analysis.matchers.shim;
  for (const record of analysis.candidates) {
    if (!record.text.includes('instanceof') || !record.text.includes(shim)) continue;
    // Local names of the shim's classes: named imports and CommonJS destructuring.
    const local = new Map<string, string>();
    for (const declaration of record.sourceFile.getImportDeclarations()) {
      if (declaration.getModuleSpecifierValue() !== shim) continue;
      for (const named of declaration.getNamedImports()) local.set(named.getAliasNode()?.getText() ?? named.getName(), named.getName());
    }
    for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      const [argument] = call.getArguments();
      if (call.getExpression().getText() !== 'require' || !argument || !Node.isStringLiteral(argument) || argument.getLiteralValue() !== shim) continue;
      const holder = call.getParent();
      const name = holder && Node.isVariableDeclaration(holder) ? holder.getNameNode() : undefined;
      if (!name || !Node.isObjectBindingPattern(name)) continue;
      for (const element of name.getElements()) local.set(element.getName(), element.getPropertyNameNode()?.getText() ?? element.getName());
    }
    for (const test of record.sourceFile.getDescendantsOfKind(SyntaxKind.BinaryExpression)) {
      if (test.getOperatorToken().getKind() !== SyntaxKind.InstanceOfKeyword) continue;
      const right = test.getRight();
      const name = Node.isIdentifier(right) ? local.get(right.getText()) : Node.isPropertyAccessExpression(right) && right.getExpression().getText() === 'deferred' ? right.getName() : undefined;
      if (name && !tests.has(name)) tests.set(name, `${record.rel}:${test.getStartLineNumber()}`);
    }
  }
  shimClassTestsBy.set(analysis, tests);
  return tests;
}

/**
 * An error class of the legacy taskqueue module made with `new` (a test's mock or fake queue
 * throwing `new TaskAlreadyExistsError('dup')`) while the migrated code tests the shim's class of
 * that failure with `instanceof`, in this file or another: the error made here no longer takes
 * that branch (h39-r3: 409 before, 500 after). The import of the legacy class is kept where it
 * is constructed (taskqueue-errors.ts: the shim's constructors differ), so it is reported.
 */
function legacyErrorsMade(analysis: Analysis, record: SourceRecord): LegacyReference[] {
  if (!record.text.includes('appengine/api/taskqueue') || !/\bnew\b/.test(record.text)) return [];
  const legacy = new Map<string, string>(); // local name (or `ns.`) → legacy class name
  const objects = new Set<string>();
  for (const declaration of record.sourceFile.getImportDeclarations()) {
    if (!LEGACY_TASKQUEUE.test(declaration.getModuleSpecifierValue())) continue;
    for (const named of declaration.getNamedImports()) legacy.set(named.getAliasNode()?.getText() ?? named.getName(), named.getName());
    const object = declaration.getNamespaceImport() ?? declaration.getDefaultImport();
    if (object) objects.add(object.getText());
  }
  for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const [argument] = call.getArguments();
    if (call.getExpression().getText() !== 'require' || !argument || !Node.isStringLiteral(argument) || !LEGACY_TASKQUEUE.test(argument.getLiteralValue())) continue;
    const holder = call.getParent();
    const name = holder && Node.isVariableDeclaration(holder) ? holder.getNameNode() : undefined;
    if (name && Node.isObjectBindingPattern(name)) for (const element of name.getElements()) legacy.set(element.getName(), element.getPropertyNameNode()?.getText() ?? element.getName());
    else if (name && Node.isIdentifier(name)) objects.add(name.getText());
  }
  if (legacy.size === 0 && objects.size === 0) return [];
  const found: LegacyReference[] = [];
  for (const made of record.sourceFile.getDescendantsOfKind(SyntaxKind.NewExpression)) {
    const callee = made.getExpression();
    const name = Node.isIdentifier(callee) ? legacy.get(callee.getText()) : Node.isPropertyAccessExpression(callee) && objects.has(callee.getExpression().getText()) ? callee.getName() : undefined;
    const instead = name === undefined ? undefined : LEGACY_ERROR_CLASSES.get(name);
    const tested = instead === undefined ? undefined : shimClassTests(analysis).get(instead);
    if (!name || !instead || !tested) continue;
    found.push({
      node: made,
      what: `\`${made.getText().length > 60 ? `new ${callee.getText()}(...)` : made.getText()}\` (the legacy taskqueue module's ${name})`,
      why: `the migrated code tests deferred-migrate/shim's ${instead} instead (${tested}: instanceof), so an error made here (a mock's or a fake's throw) no longer takes that branch. Throw the shim's ${instead} (import it from deferred-migrate/shim; its constructor takes (taskName, queue) for TaskAlreadyExistsError, a message for the others)`,
    });
  }
  return found;
}

/**
 * Error classes of the legacy taskqueue module that a file the migration covers
 * tests with `instanceof`: the shim's defer() rejects with its own classes, so
 * such a test (around a migrated defer(), say) silently takes its other branch.
 */
function legacyTaskqueueErrors(analysis: Analysis, record: SourceRecord): LegacyReference[] {
  if (!record.text.includes('appengine/api/taskqueue') || !record.text.includes('instanceof')) return [];
  const tested = new Set(
    record.sourceFile
      .getDescendantsOfKind(SyntaxKind.BinaryExpression)
      .filter((b) => b.getOperatorToken().getKind() === SyntaxKind.InstanceOfKeyword)
      .map((b) => b.getRight().getText()),
  );
  const testedName = (name: string): boolean => tested.has(name);
  const testedMember = (object: string): boolean => [...tested].some((t) => t.startsWith(`${object}.`));
  const found: LegacyReference[] = [];
  // Why the codemod did not move the import itself (taskqueue-errors.ts), for the message.
  const kept = taskqueueErrorsKept(analysis);
  const whyFor = (name?: string): string => {
    const instead = name === undefined ? 'TaskAlreadyExistsError, InvalidTaskNameError...' : LEGACY_ERROR_CLASSES.get(name);
    const lead = "deferred-migrate/shim's defer() rejects with its own error classes, so an instanceof test against this one no longer matches";
    // The legacy module stays in use: its calls still throw the legacy class into such a catch.
    if (kept) return `${lead}, and the codemod left it: ${kept}. Test both classes (this one and ${instead ? `${instead} of deferred-migrate/shim` : 'the class the shim throws'}), or error.name`;
    if (!instead) return `${lead}, and the shim throws nothing alike: test the class the shim throws for that failure, or drop the branch`;
    const onSomeBackends = name === undefined ? undefined : BACKEND_DEPENDENT_ERROR_CLASSES.get(name);
    if (onSomeBackends) return `${lead}, and the codemod left it: ${onSomeBackends}`;
    if (name !== undefined && name !== instead) return `${lead}: the shim throws ${instead} for that failure; import it from deferred-migrate/shim (or test error.name)`;
    if (name !== undefined && !movableErrorClass(name)) {
      return `${lead}: the shim's ${name} also covers its InvalidTaskNameError, InvalidEtaError and InvalidUrlError (the legacy one did not), so check the order of the tests, then import it from deferred-migrate/shim`;
    }
    return `${lead}, and the codemod left it: it is used otherwise than as the right operand of instanceof (a new, a throw, a subclass would get the shim's class, whose constructor differs). Import ${instead} from deferred-migrate/shim where the tests are, or test error.name`;
  };
  const why = whyFor();
  for (const declaration of record.sourceFile.getImportDeclarations()) {
    const specifier = declaration.getModuleSpecifierValue();
    if (!LEGACY_TASKQUEUE.test(specifier)) continue;
    for (const named of declaration.getNamedImports()) {
      const local = named.getAliasNode()?.getText() ?? named.getName();
      if (testedName(local)) found.push({ node: named, what: `${named.getName()} of ${specifier}`, why: whyFor(named.getName()) });
    }
    const object = declaration.getNamespaceImport() ?? declaration.getDefaultImport();
    if (object && testedMember(object.getText())) found.push({ node: object, what: `the errors of ${specifier} (${object.getText()})`, why });
  }
  for (const call of record.sourceFile.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const [argument] = call.getArguments();
    if (call.getExpression().getText() !== 'require' || !argument || !Node.isStringLiteral(argument) || !LEGACY_TASKQUEUE.test(argument.getLiteralValue())) continue;
    const holder = call.getParent();
    if (!holder || !Node.isVariableDeclaration(holder)) continue;
    const name = holder.getNameNode();
    const locals = Node.isObjectBindingPattern(name) ? name.getElements().map((e) => e.getName()) : [name.getText()];
    if (locals.some((local) => testedName(local) || testedMember(local))) found.push({ node: call, what: `require('${argument.getLiteralValue()}')`, why });
  }
  return found;
}
