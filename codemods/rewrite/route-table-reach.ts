// Where a webapp route table is served and reached beyond the mounts the analysis
// follows: what decides, for the `route-table` rule, that a table stays as it is or that
// its built-in row stays (mounted in several places, used where the codemod does not
// follow it, exported again, served under a path or condition that wrapApp does not share).
import path from 'node:path';
import { Node, SyntaxKind, ts, type CallExpression } from 'ts-morph';
import { compilerNodesOfKind } from '../analysis/compiler-nodes.js';
import type { Analysis } from '../analysis/index.js';
import { unwrap } from '../analysis/legacy-symbols.js';
import { isExported, mountPrefixOf, type Mount, type RouteTable } from '../analysis/route-tables.js';
import { rootHostOf } from '../analysis/wrap-plan.js';
import { AsyncPlanner } from './async-plan.js';
import { isCommonJsExportByName, moduleAndImporters, moduleObjectUseOf } from './exported-references.js';

/** `file:line under '/v2'` for each mount, when the table's mounts do not all serve it at one place of one app; else undefined. */
export function differentMounts(table: RouteTable): string | undefined {
  if (table.mounts.length < 2) return undefined;
  const placeOf = (mount: Mount): string => {
    const prefix = mountPrefixOf(mount);
    const under = prefix === undefined ? 'under a path the codemod cannot read' : prefix === '' ? 'at the root' : `under ${prefix}`;
    return `${mount.record.rel}:${mount.call.getStartLineNumber()} (${mount.app?.getText() ?? mount.kind} ${under})`;
  };
  const keyOf = (mount: Mount): string => `${mount.record.absPath}\0${mount.kind}\0${mount.app?.getText() ?? ''}\0${mountPrefixOf(mount) ?? '?'}`;
  const keys = new Set(table.mounts.map(keyOf));
  return keys.size > 1 ? table.mounts.map(placeOf).join(', ') : undefined;
}

/**
 * Where a table the analysis found mounted is also used in a way it does not follow, so
 * that it may be mounted there too (`app2.use('/v2', routes['tasks'])`, `mount(routes)`,
 * `Object.values(routes)`, `const { tasks } = await import('./tasks')`): a use other than a
 * mount, or, for an exported table, its module object (or a barrel's) used other than by
 * member names, or loaded with import(). `"src/admin.js:5"`, or undefined.
 */
export function unfollowedUse(analysis: Analysis, table: RouteTable): string | undefined {
  const name = table.variable?.getName();
  // `module.exports = { tasks }`, `exports.tasks = tasks`: how importers reach it, like `export`.
  const exportedByName = (use: Node): boolean => name !== undefined && use.getSourceFile() === table.record.sourceFile && isCommonJsExportByName(use, name);
  const use = table.otherUses.find((u) => !exportedByName(u));
  if (use) return `${path.relative(analysis.root, use.getSourceFile().getFilePath())}:${use.getStartLineNumber()}`;
  if (!table.variable || !(isExported(table.record, table.variable) || table.otherUses.some(exportedByName))) return undefined;
  return moduleObjectUseOf(analysis, table.record.absPath) ?? dynamicImportOf(analysis, table.record.absPath) ?? reexportOf(analysis, table.record.absPath, name!) ?? outsideImporters(analysis, table);
}

/**
 * An exported table whose importers may be files the run does not see (a run on ./src
 * beside ./test or ./server, a package's entry point): there it may be mounted, or its
 * import fails once the table is gone.
 */
function outsideImporters(analysis: Analysis, table: RouteTable): string | undefined {
  const outside = AsyncPlanner.of(analysis).exportsLeavePackage(table.record);
  return outside === undefined ? undefined : `its export \`${table.variable!.getName()}\`, whose importers may be outside the run (${outside})`;
}

/**
 * A file other than the table's that exports it again (`export { tasks } from './tasks.js'`
 * in a barrel, `import { tasks } from './tasks.js'; export { tasks }`): what its own importers
 * (maybe outside the run) do with it is not seen, and the export would outlive the table.
 */
function reexportOf(analysis: Analysis, absPath: string, name: string): string | undefined {
  const chain = moduleAndImporters(analysis, absPath);
  const inChain = (file: string, specifier: string | undefined): boolean => {
    const target = specifier === undefined ? undefined : analysis.index.resolve(file, specifier);
    return target !== undefined && chain.includes(target);
  };
  for (const file of chain) {
    const record = file === absPath ? undefined : analysis.index.load(file);
    if (!record || record.parseProblem) continue;
    const sf = record.sourceFile;
    // The local names bound to it by an import (`import { tasks as t } from './tasks.js'`).
    const locals = new Set(sf.getImportDeclarations().filter((d) => !d.isTypeOnly() && inChain(file, d.getModuleSpecifierValue())).flatMap((d) => d.getNamedImports().filter((i) => !i.isTypeOnly() && i.getName() === name).map((i) => i.getAliasNode()?.getText() ?? name)));
    for (const declaration of sf.getExportDeclarations()) {
      if (declaration.isTypeOnly()) continue;
      const specifier = declaration.getModuleSpecifierValue();
      const exported = specifier === undefined
        ? declaration.getNamedExports().some((e) => !e.isTypeOnly() && locals.has(e.getName()))
        : inChain(file, specifier) && declaration.getNamedExports().some((e) => !e.isTypeOnly() && e.getName() === name);
      if (exported) return `${record.rel} at line ${declaration.getStartLineNumber()}`;
    }
  }
  return undefined;
}

/** A file importing the module at `absPath`, or a barrel passing it on, with import(): `"src/admin.js at line 3"`. */
function dynamicImportOf(analysis: Analysis, absPath: string): string | undefined {
  const chain = moduleAndImporters(analysis, absPath);
  const passesOn = (target: string | undefined): boolean => target === absPath || (target !== undefined && chain.includes(target) && /\bexport\s*(?:\*|\{)/.test(analysis.index.text(target) ?? ''));
  for (const file of chain) {
    const importer = analysis.index.load(file);
    if (!importer || importer.parseProblem) continue;
    for (const call of compilerNodesOfKind<ts.CallExpression>(importer.sourceFile, SyntaxKind.CallExpression)) {
      const [argument] = call.arguments;
      if (call.expression.kind !== SyntaxKind.ImportKeyword || !argument || !ts.isStringLiteralLike(argument)) continue;
      if (passesOn(analysis.index.resolve(file, argument.text))) return `${importer.rel} at line ${importer.sourceFile.getLineAndColumnAtPos(call.getStart(importer.sourceFile.compilerNode)).line}`;
    }
  }
  return undefined;
}

/**
 * Why a table's built-in row did not answer /_ah/queue/deferred at the root of an app
 * wrapApp wraps (where wrapApp answers it now), or undefined when it did. A table
 * mounted with app.use on something that is not a host app (a Router, a parameter, a
 * plugin's instance) served it under a path only that object's own mount tells; a
 * mount under a path that is not a string, or inside a condition, likewise.
 */
export function builtinServedElsewhere(analysis: Analysis, table: RouteTable): string | undefined {
  const mount = table.mounts[0];
  if (!mount && table.otherUses.length > 0) {
    const use = table.otherUses[0]!;
    return `and it is used where the codemod does not follow it (${table.record.rel}:${use.getStartLineNumber()}: exported, passed on or stored), so where it is mounted is not known`;
  }
  if (!mount || mount.kind === 'create-server') return undefined;
  const at = `${mount.record.rel}:${mount.call.getStartLineNumber()}`;
  if (mount.kind === 'listener-call') {
    const registration = rootHostOf(analysis, mount) ? undefined : registeredBy(mount.call);
    if (registration) return `by a call (${at}) in a function registered with \`${registration}(...)\`, a route or middleware of a framework, which may hand it a path below its own mount`;
    const rewritten = urlRewrite(mount.call);
    if (rewritten) return `by a call (${at}) after the listener rewrites the request's URL (\`${rewritten.replace(/\s+/g, ' ').slice(0, 80)}\`), so the table saw another path than the one requested`;
    return undefined;
  }
  if (mountPrefixOf(mount) === undefined) return `under a path the codemod cannot read (${at}: \`${mount.call.getText().replace(/\s+/g, ' ').slice(0, 80)}\`)`;
  const host = rootHostOf(analysis, mount);
  if (!host) return `on \`${mount.app?.getText() ?? 'an object'}\` (${at}), which is not an app the codemod found created (a Router, a sub-app or plugin instance handed in): the path that serves it under is not known`;
  const condition = conditionAround(mount.call, host.create);
  if (condition) return `only when \`${condition.replace(/\s+/g, ' ').slice(0, 80)}\` holds (${at}), where wrapApp answers it always`;
  return undefined;
}

/** `app.use` in `app.use('/x', (req, res) => tasks(req, res))`: the call that registers the function calling the table (not an http server's listener, which the caller rules out). */
function registeredBy(call: CallExpression): string | undefined {
  const fn = call.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a));
  const parent = fn?.getParent();
  if (!fn || !parent || !Node.isCallExpression(parent) || !parent.getArguments().includes(fn as never)) return undefined;
  const callee = parent.getExpression();
  return Node.isPropertyAccessExpression(callee) ? callee.getText().replace(/\s+/g, '') : undefined;
}

/** `req.url = ...` in the function that calls the table with `req`: an assignment to the URL of the request it passes. */
function urlRewrite(call: CallExpression): string | undefined {
  const request = call.getArguments()[0];
  const fn = call.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a));
  if (!request || !Node.isIdentifier(request) || !fn) return undefined;
  const name = request.getText();
  for (const assignment of fn.getDescendantsOfKind(SyntaxKind.BinaryExpression)) {
    if (assignment.getOperatorToken().getKind() < SyntaxKind.FirstAssignment || assignment.getOperatorToken().getKind() > SyntaxKind.LastAssignment) continue;
    const left = unwrap(assignment.getLeft());
    if (Node.isPropertyAccessExpression(left) && left.getName() === 'url' && left.getExpression().getText() === name) return assignment.getText();
  }
  return undefined;
}

/**
 * The condition a call runs under within its function (an if, a switch, `?:`, `&&`/`||`/`??`), if any,
 * as a text (`!(...)` for an else branch). A condition that also holds around `app`, the creation of the
 * app the call mounts on (`if (cluster.isPrimary) {...} else { const app = express(); app.use(tasks) }`),
 * is none: wrapApp, written where the app is made, answers under the same condition.
 */
function conditionAround(call: Node, app?: Node): string | undefined {
  const holdsApp = (node: Node): boolean => app !== undefined && node.getSourceFile() === app.getSourceFile() && node.getStart() <= app.getStart() && app.getEnd() <= node.getEnd();
  for (let node: Node = call, parent = node.getParent(); parent; node = parent, parent = parent.getParent()) {
    if (Node.isFunctionLikeDeclaration(parent) || Node.isSourceFile(parent) || holdsApp(node)) return undefined;
    if (Node.isIfStatement(parent) && parent.getExpression() !== node) return parent.getElseStatement() === node ? `!(${parent.getExpression().getText()})` : parent.getExpression().getText();
    if (Node.isConditionalExpression(parent) && parent.getCondition() !== node) return parent.getCondition().getText();
    if (Node.isSwitchStatement(parent) && parent.getExpression() !== node) return parent.getExpression().getText();
    if (Node.isBinaryExpression(parent) && parent.getRight() === node && ['&&', '||', '??'].includes(parent.getOperatorToken().getText())) return parent.getLeft().getText();
  }
  return undefined;
}
