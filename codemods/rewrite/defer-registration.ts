// Rule `defer-registration`: the shim runs only registered functions, so every
// function that can reach defer() is registered right after its module-level
// declaration (in whichever file declares it), once; task-function-values.ts
// says which functions those are.
import * as path from 'node:path';
import { Node, type ObjectLiteralExpression } from 'ts-morph';
import type { Analysis } from '../analysis/index.js';
import { findDeferCalls, findDeferValueUses, findPayloadCalls } from '../analysis/defer-calls.js';
import { isMember } from '../analysis/legacy-symbols.js';
import { StartupLoads } from '../analysis/startup-load.js';
import { isTestFile } from '../analysis/unrecognised-servers.js';
import type { SourceRecord } from '../analysis/project.js';
import { quoted, semi } from '../analysis/style.js';
import type { Rule, RuleMeta, RuleOutput } from './context.js';
import { addNeededImports } from './imports.js';
import { forwardedBy } from './forwarded-arguments.js';
import { earlyRegistration, ImportCycles, registerBinder, runsCodeWhenLoaded } from './registration-order.js';
import { TaskFunctionValues, type RegistrationTarget, type Unregistrable } from './task-function-values.js';
import { namespaceAccess, useShimName } from './names.js';
import { makeTransform } from './single-file.js';
import { indentAt } from './text.js';

export const meta: RuleMeta = {
  id: 'defer-registration',
  description: 'Registers every function passed to defer() where it is declared, so a fresh process knows it by name.',
  reasonCodes: ['non-registrable-callable', 'unresolved-legacy-reference', 'lazy-registration', 'registration-order'],
  docs: 'docs/manual-steps.md#non-registrable-callable',
};

/** Top-level `register(fn)` / `deferred.register(fn, ...)` already present for `name` (`fn`, `Tasks.run`). */
export function hasRegistration(analysis: Analysis, record: SourceRecord, name: string): boolean {
  return registrationOf(analysis, record, name) !== undefined;
}

/** The top-level statement registering `name`, if there is one. */
function registrationOf(analysis: Analysis, record: SourceRecord, name: string): Node | undefined {
  for (const statement of record.sourceFile.getStatements()) {
    if (!Node.isExpressionStatement(statement)) continue;
    const expression = statement.getExpression();
    if (!Node.isCallExpression(expression)) continue;
    const [first] = expression.getArguments();
    if (!first || !(Node.isIdentifier(first) || Node.isPropertyAccessExpression(first) || Node.isElementAccessExpression(first)) || first.getText() !== name) continue;
    if (isMember(analysis.symbols.resolve(record, expression.getExpression()), ['register'])) return statement;
  }
  return undefined;
}

function nonRegistrable(out: RuleOutput, problem: Unregistrable, callee: string): void {
  const message = problem.external
    ? `${problem.what} comes from '${problem.external}', outside the migrated files. Register it where it is declared (register(${problem.at.getText()})) before this code runs.`
    : `${callee}() is given ${problem.what}, which cannot be registered by name. Move the work into a named module-level function (arguments carry the data), register it, and defer that.`;
  out.report(problem.record, problem.at, 'non-registrable-callable', 'warning', `${forwardedBy(problem.via)}${message}`);
}

/**
 * A registration in a module the app loads only lazily runs only once that code
 * has run: a freshly started process that receives the task first fails it. (Only
 * where the run has a host app: without one, what the serving process loads is unknown.)
 */
function reportLazyRegistrations(analysis: Analysis, out: RuleOutput, targets: readonly RegistrationTarget[]): void {
  if (analysis.hosts.length === 0) return;
  const loads = StartupLoads.of(analysis);
  for (const target of targets) {
    const load = loads.of(target.record.absPath);
    if (load.eager && !loads.loadedByServer(target.record.absPath)) {
      const from = [...new Set(target.sites.map((site) => site.getSourceFile().getFilePath()))].map((file) => analysis.index.load(file)?.rel ?? file);
      const servingHosts = [...new Set(analysis.hosts.map((host) => host.record.rel).filter((rel) => !isTestFile(rel)))];
      out.report(
        target.record,
        target.declaration,
        'lazy-registration',
        'warning',
        `${target.expression} is registered in ${target.record.rel}, which the process that serves the app does not load as far as the run sees (nothing imports it from ${servingHosts.join(', ')} or the modules that import ${servingHosts.length > 1 ? 'them' : 'it'}; it is deferred from ${from.join(', ')}): a task for it reaches the app, which fails it permanently (PermanentTaskFailure; Cloud Tasks then deletes it). Import ${target.record.rel} statically from the module that creates the app (or its entry point), so that the serving process registers it at startup; if the app loads it in a way the run does not show (a framework's loader, a computed require()), this item does not apply.`,
      );
      continue;
    }
    if (load.eager || load.lazy.length === 0) continue;
    const where = load.lazy.map((site) => `${site.how} at ${site.file}:${site.line}`).join(', ');
    out.report(
      target.record,
      target.declaration,
      'lazy-registration',
      'warning',
      `${target.expression} is registered in ${target.record.rel}, which the app loads only lazily (${where}), not when it starts: a freshly started process that receives a task for it before that code runs fails the task permanently (PermanentTaskFailure; Cloud Tasks then deletes it). Import ${target.record.rel} statically from the module that creates the app (or its entry point), so that every process registers it at startup.`,
    );
  }
}

/**
 * A function declaration (hoisted: the legacy runtime could defer it before its line
 * ran) in a module of an import cycle: a module of the cycle that runs first and
 * defers it while loading finds it unregistered. No placement in its own module helps.
 */
function reportCycles(analysis: Analysis, out: RuleOutput, targets: readonly RegistrationTarget[]): void {
  const cycles = new ImportCycles(analysis);
  for (const target of targets) {
    if (!Node.isFunctionDeclaration(target.declaration)) continue;
    const others = cycles.of(target.record);
    if (!others) continue;
    // Modules that only declare things cannot defer anything while they load.
    const running = others.flatMap((file) => {
      const record = analysis.index.load(file);
      return !record ? [file] : runsCodeWhenLoaded(record) ? [record.rel] : [];
    });
    if (running.length === 0 && others.length > 0) continue;
    const listed = running.length > 3 ? `${running.slice(0, 3).join(', ')} and ${running.length - 3} more` : running.join(', ') || 'itself';
    out.report(
      target.record,
      target.declaration,
      'registration-order',
      'warning',
      `${target.expression} is registered in ${target.record.rel} when that module has run, but ${target.record.rel} is in an import cycle with ${listed}: a module of the cycle evaluated before it runs its own code first, and a defer() of ${target.expression} made then (the legacy runtime could defer the hoisted function) now fails with NotRegisteredError. Break the cycle, or make sure no module of it defers ${target.expression} while it loads.`,
    );
  }
}

/**
 * Code above a function declaration that may defer it but comes before what binds
 * `register` (CommonJS): registered after the declaration, and reported unless a
 * registration above that code exists already (moved there by hand).
 */
function reportLate(analysis: Analysis, out: RuleOutput, targets: readonly RegistrationTarget[]): void {
  for (const target of targets) {
    const { record, statement } = target;
    const early = Node.isStatement(statement) ? earlyRegistration(record, statement, target.sites, registerBinder(analysis, record)) : undefined;
    if (!early || !('late' in early)) continue;
    const existing = registrationOf(analysis, record, target.expression);
    if (existing && existing.getStart() < early.late.getStart()) continue;
    out.report(
      record,
      statement,
      'registration-order',
      'warning',
      `${target.expression} is registered after its declaration, but ${record.rel}:${early.late.getStartLineNumber()} runs code before that line (and before the module's require() calls), which may defer it as the legacy runtime allowed (a function declaration is hoisted): such a defer() now fails with NotRegisteredError. Move register(${target.expression}) above that code, after the require() of the shim.`,
    );
  }
}

const MOCK_CALLS = new Set(['jest.mock', 'jest.doMock', 'jest.unstable_mockModule', 'vi.mock', 'vi.doMock']);

/** The module a `jest.mock()`/`vi.mock()` argument names: `'./tasks'`, `import('./tasks')`. */
function mockedSpecifier(argument: Node | undefined): string | undefined {
  if (argument && Node.isStringLiteral(argument)) return argument.getLiteralValue();
  if (argument && Node.isCallExpression(argument) && argument.getExpression().getText() === 'import') {
    const [inner] = argument.getArguments();
    if (inner && Node.isStringLiteral(inner)) return inner.getLiteralValue();
  }
  return undefined;
}

/** The object literal a mock factory returns (`() => ({ ... })`, `() => { return { ... } }`, async too), if it is one. */
function factoryObject(factory: Node): ObjectLiteralExpression | undefined {
  if (!Node.isArrowFunction(factory) && !Node.isFunctionExpression(factory)) return undefined;
  let body: Node | undefined = factory.getBody();
  if (body && Node.isBlock(body)) body = body.getStatements().filter(Node.isReturnStatement).at(-1)?.getExpression();
  while (body && (Node.isParenthesizedExpression(body) || Node.isAsExpression(body) || Node.isSatisfiesExpression(body))) body = body.getExpression();
  return body && Node.isObjectLiteralExpression(body) ? body : undefined;
}

/**
 * A test that replaces a module declaring task functions with a mock: jest's or vitest's automock
 * (`jest.mock('../src/reports')` with no factory, a manual mock in `__mocks__`), or a factory whose
 * object gives a task function's name another value (`{ build: jest.fn() }`). The legacy defer()
 * enqueued any named function, the mock too (by its name); the shim's looks the function up among
 * those registered, where the real one is and the mock is not, so a defer() of the mock in the code
 * under test now rejects with NotRegisteredError and the test fails (or passes for the wrong reason).
 */
function reportMockedTaskModules(analysis: Analysis, out: RuleOutput, targets: readonly RegistrationTarget[]): void {
  // Per declaring file: each task function's name and the files that defer it.
  const byFile = new Map<string, Map<string, Set<string>>>();
  for (const target of targets) {
    const names = byFile.get(target.record.absPath) ?? new Map<string, Set<string>>();
    const name = target.expression.split('.')[0]!;
    const deferrers = names.get(name) ?? new Set<string>();
    for (const site of target.sites) deferrers.add(site.getSourceFile().getFilePath());
    names.set(name, deferrers);
    byFile.set(target.record.absPath, names);
  }
  if (byFile.size === 0) return;
  // The task functions of `target` deferred where the test runs them: outside the mocked module (whose own
  // functions are mocked too), in this test or in code that is no test.
  const deferredNames = (record: SourceRecord, target: string): Set<string> => {
    const declared = byFile.get(target);
    if (!declared) return new Set();
    return new Set(
      [...declared].filter(([, deferrers]) => [...deferrers].some((file) => file !== target && (file === record.absPath || !isTestFile(path.relative(analysis.root, file).replace(/\\/g, '/'))))).map(([name]) => name),
    );
  };
  const report = (record: SourceRecord, node: Node, target: string, how: string, mocked: readonly string[]): void => {
    const file = path.relative(path.dirname(record.absPath), target).replace(/\\/g, '/');
    out.report(
      record,
      node,
      'non-registrable-callable',
      'warning',
      `This test replaces ${file} with ${how}, and ${mocked.join(', ')} ${mocked.length === 1 ? 'is a task function' : 'are task functions'} the migration registers with the shim (register() where declared). The legacy defer() enqueued any named function, a mock too; the shim's enqueues only registered functions, and the mock is another function, so a defer() of it in the code under test now rejects with NotRegisteredError (the test fails, or passes on the error path). Keep the real task functions in the mock (spread jest.requireActual / vi.importActual and replace only the others), or mock the shim's defer in this test.`,
    );
  };
  for (const record of analysis.candidates) {
    const mocks = /\b(?:jest|vi)\.(?:do|unstable_)?[mM]ock(?:Module)?\s*\(/.test(record.text);
    const spies = /\b(?:jest|vi)\.(?:spyOn|replaceProperty)\s*\(/.test(record.text) || (isTestFile(record.rel) && /\.[\w$]+\s*=[^=]/.test(record.text));
    if (!mocks && !spies) continue;
    record.sourceFile.forEachDescendant((node) => {
      // `jest.spyOn(reports, 'build')`, `vi.spyOn(...)`, `jest.replaceProperty(reports, 'build', fn)`, and in a test
      // `reports.build = jest.fn()`: the module object's member is another function from then on.
      if (spies) {
        const replaced = replacedMember(node);
        // An assignment counts in a test file only (elsewhere it is the module's own setup).
        if (replaced && (replaced.how !== 'an assignment' || isTestFile(record.rel))) {
          const specifier = moduleObjectSpecifier(replaced.object);
          const target = specifier === undefined ? undefined : analysis.index.resolve(record.absPath, specifier);
          if (target !== undefined && target !== record.absPath && deferredNames(record, target).has(replaced.name)) {
            report(record, node, target, `${replaced.how} of ${replaced.name} on its module object (code under test that reads ${replaced.name} through the module at call time, as TypeScript's and Babel's CommonJS output of a named import does, gets the replacement)`, [replaced.name]);
          }
          return;
        }
      }
      if (!Node.isCallExpression(node) || !MOCK_CALLS.has(node.getExpression().getText())) return;
      const [first, factory] = node.getArguments();
      const specifier = mockedSpecifier(first);
      const target = specifier === undefined ? undefined : analysis.index.resolve(record.absPath, specifier);
      if (target === undefined || target === record.absPath) return;
      const names = deferredNames(record, target);
      if (names.size === 0) return;
      let mocked: string[];
      let how: string;
      if (!factory || !(Node.isArrowFunction(factory) || Node.isFunctionExpression(factory))) {
        mocked = [...names];
        how = 'an automatic mock (no factory: jest and vitest replace every function it exports, or use its __mocks__ file)';
      } else {
        const object = factoryObject(factory);
        if (!object) return;
        mocked = [];
        for (const property of object.getProperties()) {
          const name = Node.isPropertyAssignment(property) || Node.isShorthandPropertyAssignment(property) || Node.isMethodDeclaration(property) ? property.getName().replace(/^['"]|['"]$/g, '') : undefined;
          if (name === undefined || !names.has(name)) continue;
          // `build: actual.build`, `build: jest.requireActual('../src/reports').build`: the real, registered function.
          const value = Node.isPropertyAssignment(property) ? property.getInitializer() : undefined;
          if (value && Node.isPropertyAccessExpression(value) && value.getName() === name && /\b(?:actual|requireActual|importActual|original)\b/i.test(value.getExpression().getText())) continue;
          mocked.push(name);
        }
        how = 'its factory';
        if (mocked.length === 0) return;
      }
      report(record, node, target, how, mocked);
    });
  }
}

/** `jest.spyOn(o, 'k')`, `vi.spyOn(o, 'k')`, `jest.replaceProperty(o, 'k', v)`, `o.k = v`: the object and the member replaced. */
function replacedMember(node: Node): { object: Node; name: string; how: string } | undefined {
  if (Node.isCallExpression(node)) {
    const callee = node.getExpression().getText();
    if (!/^(?:jest|vi)\.(?:spyOn|replaceProperty)$/.test(callee)) return undefined;
    const [object, key] = node.getArguments();
    if (!object || !key || !(Node.isStringLiteral(key) || Node.isNoSubstitutionTemplateLiteral(key))) return undefined;
    return { object, name: key.getLiteralText(), how: `${callee}()` };
  }
  if (Node.isBinaryExpression(node) && node.getOperatorToken().getText() === '=') {
    const left = node.getLeft();
    if (!Node.isPropertyAccessExpression(left)) return undefined;
    return { object: left.getExpression(), name: left.getName(), how: 'an assignment' };
  }
  return undefined;
}

/** The module a module-object binding holds: `const reports = require('../src/reports')`, `import * as reports from`, a default import. */
function moduleObjectSpecifier(object: Node): string | undefined {
  if (!Node.isIdentifier(object)) return undefined;
  const name = object.getText();
  const sf = object.getSourceFile();
  for (const declaration of sf.getImportDeclarations()) {
    if (declaration.getNamespaceImport()?.getText() === name || declaration.getDefaultImport()?.getText() === name) return declaration.getModuleSpecifierValue();
  }
  const variable = sf.getVariableDeclaration(name);
  const initializer = variable?.getInitializer();
  if (!initializer || !Node.isCallExpression(initializer) || initializer.getExpression().getText() !== 'require') return undefined;
  const [argument] = initializer.getArguments();
  return argument && Node.isStringLiteral(argument) ? argument.getLiteralValue() : undefined;
}

export const rule: Rule = {
  meta,
  run(analysis, out) {
    const values = new TaskFunctionValues(analysis);
    // serialize(fn, ...) names fn in its payload as defer does: the shim's needs it registered.
    const serializeCalls = findPayloadCalls(analysis.symbols, analysis.candidates, 'serialize');
    const serializing = new Set(serializeCalls.map((c) => c.call));
    for (const call of [...findDeferCalls(analysis.symbols, analysis.candidates), ...serializeCalls]) {
      if (!call.fn) continue;
      const before = values.problems.length;
      values.add(call.record, call.fn);
      for (const problem of values.problems.slice(before)) nonRegistrable(out, problem, serializing.has(call.call) ? 'serialize' : 'defer');
    }

    // defer as a value: what it will enqueue is not known, so nothing is registered for it.
    for (const record of analysis.candidates) {
      for (const use of findDeferValueUses(analysis.symbols, record)) {
        out.report(
          record,
          use.node,
          'unresolved-legacy-reference',
          'warning',
          `\`${use.node.getText()}\` is ${use.member}() of the deferred module used as a value (bound, passed or stored), which the codemod does not follow: after migration it returns a Promise, and the functions it enqueues are not registered. Call it directly (or register each function it is given with register(fn)) and handle the Promise.`,
        );
      }
    }

    const targets = [...values.targets.values()];
    reportMockedTaskModules(analysis, out, targets);
    reportLazyRegistrations(analysis, out, targets);
    reportCycles(analysis, out, targets);
    reportLate(analysis, out, targets);
    const byName = new Map<string, number>();
    for (const target of targets) byName.set(target.name, (byName.get(target.name) ?? 0) + 1);
    // The name a module path gives: without its extension, unless a sibling module differing only
    // by it (`index.mjs` and `index.cjs` of a dual package, `jobs.ts` beside `jobs.js`) holds a
    // function of the same name: a process loading both would register one name twice.
    const withoutExtension = (rel: string): string => rel.replace(/\.[^./]+$/, '');
    const modulesOf = new Map<string, Set<string>>();
    for (const target of targets) {
      const key = `${target.name}\0${withoutExtension(target.record.rel)}`;
      modulesOf.set(key, (modulesOf.get(key) ?? new Set()).add(target.record.rel));
    }
    const modulePart = (rel: string, name: string): string => ((modulesOf.get(`${name}\0${withoutExtension(rel)}`)?.size ?? 0) > 1 ? rel : withoutExtension(rel));
    // Registrations after the same statement (members of one object) go in one edit, in source order.
    const byStatement = new Map<Node, RegistrationTarget[]>();
    for (const target of targets.sort((x, y) => x.declaration.getStart() - y.declaration.getStart())) {
      if (hasRegistration(analysis, target.record, target.expression)) continue;
      byStatement.set(target.statement, [...(byStatement.get(target.statement) ?? []), target]);
    }
    for (const [statement, group] of byStatement) {
      const record = group[0]!.record;
      const namespace = namespaceAccess(analysis, record);
      const callee = namespace ? `${namespace.local}.register` : useShimName(analysis, out, record, 'register');
      if (namespace) out.use(record, [namespace.local]);
      const calls = group.map(({ expression, name }) => {
        const explicitName = (byName.get(name) ?? 0) > 1 ? `, ${quoted(record.style, `${modulePart(record.rel, name)}:${expression}`)}` : '';
        return `${callee}(${expression}${explicitName})${semi(record.style)}`;
      });
      const described = `registered ${group.map((t) => t.expression).join(', ')} for defer()`;
      // A hoisted function its own module may defer before the declaration's line: register it first.
      const binder = registerBinder(analysis, record);
      const early = Node.isStatement(statement) ? earlyRegistration(record, statement, group.flatMap((t) => t.sites), binder) : undefined;
      if (early && 'before' in early) {
        const indent = indentAt(record.text, early.before.getStart());
        out.edit(record, early.before.getStart(), early.before.getStart(), calls.map((call) => `${call}${record.style.newline}${indent}`).join(''), described);
        continue;
      }
      // After the declaration, and after the CommonJS require() that binds `register` when that comes later.
      const after = binder && binder.getStart() > statement.getStart() ? binder : statement;
      const indent = indentAt(record.text, after.getStart());
      out.edit(record, after.getEnd(), after.getEnd(), calls.map((call) => `${record.style.newline}${indent}${call}`).join(''), described);
    }
  },
};

export default makeTransform(rule, addNeededImports);
