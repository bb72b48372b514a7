// Loads of every module a directory or pattern holds, which no specifier names:
// bundlers' `import.meta.glob('./jobs/*.ts')` and `require.context('./jobs')`, and npm
// packages that require a directory (`require-all`, `require-directory`, Fastify's
// autoload). The modules come back in a record or are called by the package, so their
// functions are reached without their names being spelled.
import * as path from 'node:path';
import { ts } from 'ts-morph';
import { DIRECTORY_LOADERS } from './prefilter.js';


/** Bundler calls that load the modules a pattern or directory names. */
const BUNDLER_LOADS: ReadonlySet<string> = new Set(['import.meta.glob', 'import.meta.globEager', 'import.meta.webpackContext', 'require.context']);

/** A load of a directory or pattern: the call's line, what loads, and the directory it names when it says. */
export interface PatternLoad {
  line: number;
  loader: string;
  dir?: string;
}

/** The pattern and directory loads of a file (`fileDir`: its directory). */
export function patternLoadsIn(sf: ts.SourceFile, fileDir: string): PatternLoad[] {
  const loaderNames = directoryLoaderBindings(sf);
  const found: PatternLoad[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node)) {
      const loader = loaderOf(node, sf, loaderNames);
      if (loader !== undefined) {
        const dir = BUNDLER_LOADS.has(loader) ? patternDirectory(node.arguments[0], fileDir) : loaderDirectory(node.arguments, fileDir);
        found.push({ line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, loader, ...(dir !== undefined ? { dir } : {}) });
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** Local names of the directory-loader packages a file imports or requires. */
function directoryLoaderBindings(sf: ts.SourceFile): ReadonlySet<string> {
  const names = new Set<string>();
  for (const statement of sf.statements) {
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier) && DIRECTORY_LOADERS.has(statement.moduleSpecifier.text)) {
      const clause = statement.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      else if (bindings) for (const element of bindings.elements) names.add(element.name.text);
    } else if (ts.isImportEqualsDeclaration(statement) && ts.isExternalModuleReference(statement.moduleReference) && ts.isStringLiteral(statement.moduleReference.expression) && DIRECTORY_LOADERS.has(statement.moduleReference.expression.text)) {
      names.add(statement.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (ts.isIdentifier(declaration.name) && declaration.initializer && requiredLoader(declaration.initializer) !== undefined) names.add(declaration.name.text);
      }
    }
  }
  return names;
}

/** `require('require-all')` (also its `.default`): the package it names. */
function requiredLoader(expression: ts.Expression): string | undefined {
  const call = ts.isPropertyAccessExpression(expression) && expression.name.text === 'default' ? expression.expression : expression;
  if (!ts.isCallExpression(call) || !ts.isIdentifier(call.expression) || call.expression.text !== 'require') return undefined;
  const [argument] = call.arguments;
  return argument && ts.isStringLiteral(argument) && DIRECTORY_LOADERS.has(argument.text) ? argument.text : undefined;
}

/** What a call loads with: a bundler call, a loader package called (`requireAll(...)`) or passed on (`app.register(autoload, ...)`). */
function loaderOf(call: ts.CallExpression, sf: ts.SourceFile, loaderNames: ReadonlySet<string>): string | undefined {
  const callee = call.expression;
  if (ts.isPropertyAccessExpression(callee)) {
    const text = callee.getText(sf).replace(/\s+/g, '');
    if (BUNDLER_LOADS.has(text)) return text;
  }
  const inline = requiredLoader(callee);
  if (inline !== undefined) return inline;
  if (ts.isIdentifier(callee) && loaderNames.has(callee.text)) return callee.text;
  const passed = call.arguments.find((argument) => ts.isIdentifier(argument) && loaderNames.has(argument.text));
  return passed && ts.isIdentifier(passed) ? passed.text : undefined;
}

/** The directory before a pattern's first wildcard: `./jobs/` of `'./jobs/*.ts'`, `./jobs` of `require.context('./jobs')`. */
function patternDirectory(argument: ts.Expression | undefined, fileDir: string): string | undefined {
  if (!argument || !(ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument)) || !argument.text.startsWith('.')) return undefined;
  const wildcard = argument.text.search(/[*?{[]/);
  const fixed = wildcard < 0 ? argument.text : argument.text.slice(0, argument.text.lastIndexOf('/', wildcard) + 1);
  return fixed === '' ? undefined : path.resolve(fileDir, fixed);
}

/**
 * The directory a loader package is given, when every argument that may be one says the same:
 * a relative string, `__dirname`, `__dirname + '/jobs'`, `path.join(__dirname, 'jobs')`, also as
 * an option (`{ dirname: ... }`, `{ dir: ... }`).
 */
function loaderDirectory(args: readonly ts.Expression[], fileDir: string): string | undefined {
  const candidates: ts.Expression[] = [];
  for (const argument of args) {
    if (ts.isObjectLiteralExpression(argument)) {
      for (const property of argument.properties) {
        if (ts.isPropertyAssignment(property) && ts.isIdentifier(property.name) && ['dirname', 'dir'].includes(property.name.text)) candidates.push(property.initializer);
      }
    } else if (!ts.isIdentifier(argument) || argument.text === '__dirname') candidates.push(argument);
  }
  const dirs = candidates.map((candidate) => literalDirectory(candidate, fileDir));
  return dirs.length > 0 && dirs.every((dir) => dir !== undefined && dir === dirs[0]) ? dirs[0] : undefined;
}

function literalDirectory(expression: ts.Expression, fileDir: string): string | undefined {
  if (ts.isStringLiteral(expression) || ts.isNoSubstitutionTemplateLiteral(expression)) return expression.text.startsWith('.') ? path.resolve(fileDir, expression.text) : undefined;
  if (isDirname(expression)) return fileDir;
  if (ts.isBinaryExpression(expression) && expression.operatorToken.kind === ts.SyntaxKind.PlusToken && isDirname(expression.left) && ts.isStringLiteral(expression.right)) {
    return path.join(fileDir, expression.right.text);
  }
  const callee = ts.isCallExpression(expression) ? expression.expression : undefined;
  const joins = callee && (ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : undefined);
  if (ts.isCallExpression(expression) && (joins === 'join' || joins === 'resolve')) {
    const [base, ...rest] = expression.arguments;
    if (!base || !isDirname(base) || !rest.every(ts.isStringLiteral)) return undefined;
    return path.resolve(fileDir, ...rest.map((segment) => (segment as ts.StringLiteral).text));
  }
  return undefined;
}

/** `__dirname`, or `import.meta.dirname`. */
function isDirname(expression: ts.Expression): boolean {
  if (ts.isIdentifier(expression)) return expression.text === '__dirname';
  return ts.isPropertyAccessExpression(expression) && expression.name.text === 'dirname' && ts.isMetaProperty(expression.expression);
}
