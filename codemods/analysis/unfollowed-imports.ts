// Files whose imports the analysis cannot follow: a bare specifier that is neither the
// legacy API, a Node built-in, an alias of the tree nor a package declared or installed
// (a bundler's alias, a package that is not there), or a require or import of a computed
// path. Such a file may reach any module of the run without the import graph showing it,
// so a proof that the graph shows every caller of a function must read these files too.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Node, SyntaxKind, ts, type Identifier } from 'ts-morph';
import { dependencyNames, readJsonObject } from './alias-config.js';
import { compilerNodesOfKind, wrapCompilerNode } from './compiler-nodes.js';
import { outermostExpression, unwrapCompiler } from './legacy-symbols.js';
import { patternLoadsIn } from './pattern-loads.js';
import { sameScopeReferences } from './scope.js';
import type { Analysis } from './index.js';
import { isNodeBuiltin, packageName, roleOfSpecifier } from './specifiers.js';

class PackageLookup {
  private readonly answers = new Map<string, boolean>();
  private readonly declared = new Map<string, ReadonlySet<string>>();

  /** Whether `name` is installed in, or declared by the manifest of, `dir` or one of its ancestors. */
  known(dir: string, name: string): boolean {
    const key = `${dir}\0${name}`;
    let answer = this.answers.get(key);
    if (answer === undefined) {
      const parent = path.dirname(dir);
      answer = this.declaredIn(dir).has(name) || existsSync(path.join(dir, 'node_modules', name)) || (parent !== dir && this.known(parent, name));
      this.answers.set(key, answer);
    }
    return answer;
  }

  /** The package's own name and its dependencies of every kind; nothing for a missing or unreadable manifest. */
  private declaredIn(dir: string): ReadonlySet<string> {
    let names = this.declared.get(dir);
    if (names === undefined) {
      const pkg = readJsonObject(path.join(dir, 'package.json'));
      names = new Set<string>([...(typeof pkg?.name === 'string' ? [pkg.name] : []), ...dependencyNames(pkg, ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'])]);
      this.declared.set(dir, names);
    }
    return names;
  }
}

const cache = new WeakMap<Analysis, string[]>();

/** The source files of the run (absolute paths) with an import the analysis cannot follow. */
export function filesWithUnfollowedImports(analysis: Analysis): readonly string[] {
  let files = cache.get(analysis);
  if (files === undefined) {
    const packages = new PackageLookup();
    files = [];
    for (const [absPath, scan] of analysis.scans) {
      // A load by another function (`createRequire`'s, `const r = require`) may take a computed path too (`req(p)`).
      if (scan.computedImport || scan.unseenLoad || scan.bare?.some((specifier) => !followed(analysis, packages, absPath, specifier))) files.push(absPath);
    }
    cache.set(analysis, files);
  }
  return files;
}

function followed(analysis: Analysis, packages: PackageLookup, absPath: string, specifier: string): boolean {
  if (isNodeBuiltin(specifier)) return true;
  if (roleOfSpecifier(specifier, analysis.matchers, absPath) !== undefined) return true;
  if (analysis.index.resolve(absPath, specifier) !== undefined) return true;
  if (analysis.index.isUnfollowedAlias(absPath, specifier)) return false;
  return packages.known(path.dirname(absPath), packageName(specifier));
}

/** Members whose call may load a module: `module.require()`, `jest.requireActual()`, `require.call()`, `Module._load()`. */
const LOADING_MEMBERS: ReadonlySet<string> = new Set(['require', 'requireActual', 'importActual', 'call', 'apply', '_load']);

/**
 * Where a file loads a module that `loads` accepts (given its absolute path) by a call the
 * import graph does not follow: `createRequire(url)('./tasks')` or its function under any
 * name, `module.require('./tasks')`, `const r = require; r('./tasks')`, `require.call(null,
 * './tasks')`, `jest.requireActual('./tasks')`. Only files whose text shows such a load
 * (tree-scan's `unseenLoad`) are read. What that module object reaches is not followed,
 * so the functions it holds have callers no reference shows: `"app.ts at line 3 by
 * \`req()\`"`, or undefined.
 */
export function unseenLoad(analysis: Analysis, loads: (absPath: string) => boolean): string | undefined {
  let found = unseenLoadsCache.get(analysis);
  if (found === undefined) {
    found = [];
    for (const [absPath, scan] of analysis.scans) if (scan.unseenLoad) found.push(...unseenLoadsIn(analysis, absPath));
    unseenLoadsCache.set(analysis, found);
  }
  return found.find((load) => loads(load.target))?.where;
}

/** A load the graph does not read: the module it loads, and where. */
interface UnseenLoad {
  target: string;
  where: string;
}

const unseenLoadsCache = new WeakMap<Analysis, UnseenLoad[]>();

function unseenLoadsIn(analysis: Analysis, absPath: string): UnseenLoad[] {
  const record = analysis.index.load(absPath);
  if (!record || record.parseProblem) return [];
  const sf = record.sourceFile.compilerNode;
  const found: UnseenLoad[] = [];
  for (const call of compilerNodesOfKind<ts.CallExpression>(record.sourceFile, SyntaxKind.CallExpression)) {
    const callee = call.expression;
    // What the graph follows (`require` under its own name, even a local one from createRequire).
    if (callee.kind === SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === 'require')) continue;
    // A function under any name, `createRequire(url)(...)`, `module.require`, `require.call`; not
    // `fs.readFileSync('./x.js')` nor `jest.mock('./x')` (its test calls the mock).
    if (!ts.isIdentifier(callee) && !ts.isCallExpression(callee) && !(ts.isPropertyAccessExpression(callee) && LOADING_MEMBERS.has(callee.name.text))) continue;
    for (const argument of call.arguments) {
      if (!ts.isStringLiteral(argument) && !ts.isNoSubstitutionTemplateLiteral(argument)) continue;
      if (!argument.text.startsWith('.') && !path.isAbsolute(argument.text)) continue;
      const target = analysis.index.resolve(absPath, argument.text);
      if (target !== undefined) found.push({ target, where: `${record.rel} at line ${sf.getLineAndCharacterOfPosition(call.getStart(sf)).line + 1} by \`${callee.getText(sf)}()\`` });
    }
  }
  return found;
}

/** A computed load whose module object is used other than by member names; `dir`: the directory its path starts in, when it says. */
interface ComputedLoadEscape {
  where: string;
  dir?: string;
}

const escapesCache = new WeakMap<Analysis, ComputedLoadEscape[]>();

/**
 * Where a file loads a module from a computed path (`require(path.join(dir, file))`, `await
 * import(where)`, `` require(`./jobs/${kind}`) ``) that may be one of `files` holding a
 * function (`holds`), and uses the module object other than by member names
 * (`mod[action](to)`, `Object.values(mod)`, `register(mod)`): its functions are then called
 * without their names being spelled, which the name-based check of such files
 * (`filesWithUnfollowedImports`) cannot see. `"jobs.js at line 3"`, or undefined.
 */
export function computedLoadEscape(analysis: Analysis, files: readonly string[], holds: (absPath: string) => boolean): string | undefined {
  let escapes = escapesCache.get(analysis);
  if (escapes === undefined) {
    escapes = [];
    for (const [absPath, scan] of analysis.scans) if (scan.computedImport || scan.unseenLoad) escapes.push(...computedLoadEscapesIn(analysis, absPath));
    escapesCache.set(analysis, escapes);
  }
  const reached = escapes.find((escape) => escape.dir === undefined || files.some((file) => file.startsWith(escape.dir + path.sep) && holds(file)));
  return reached?.where;
}

function computedLoadEscapesIn(analysis: Analysis, absPath: string): ComputedLoadEscape[] {
  const record = analysis.index.load(absPath);
  if (!record || record.parseProblem) return [];
  const sf = record.sourceFile;
  const found: ComputedLoadEscape[] = [];
  const { loaders, creators } = loaderNames(sf.compilerNode);
  for (const compilerCall of compilerNodesOfKind<ts.CallExpression>(sf, SyntaxKind.CallExpression)) {
    const callee = compilerCall.expression;
    const dynamic = callee.kind === SyntaxKind.ImportKeyword;
    if (!dynamic && !(ts.isIdentifier(callee) && (callee.text === 'require' || loaders.has(callee.text))) && !isLoaderCall(callee, creators)) continue;
    const [argument] = compilerCall.arguments;
    if (!argument || ts.isStringLiteral(argument) || ts.isNoSubstitutionTemplateLiteral(argument)) continue;
    const call = wrapCompilerNode<Node>(sf, compilerCall);
    if (usedByMemberNames(call, dynamic)) continue;
    const dir = computedDirectory(argument, path.dirname(absPath));
    found.push({ where: `${record.rel} at line ${call.getStartLineNumber()}`, ...(dir !== undefined ? { dir } : {}) });
  }
  for (const load of patternLoadsIn(sf.compilerNode, path.dirname(absPath))) {
    found.push({ where: `${record.rel} at line ${load.line} (\`${load.loader}\`, which loads every module of a directory or pattern)`, ...(load.dir !== undefined ? { dir: load.dir } : {}) });
  }
  for (const access of compilerNodesOfKind<ts.PropertyAccessExpression>(sf, SyntaxKind.PropertyAccessExpression)) {
    if (!isModuleRegistry(access)) continue;
    const registry = wrapCompilerNode<Node>(sf, access);
    if (!registryReachesExports(registry)) continue;
    found.push({ where: `${record.rel} at line ${registry.getStartLineNumber()} (\`${access.getText(sf.compilerNode)}\`, the module registry)` });
  }
  // `const { cache } = require`, `const { _cache: c } = Module`: the registry under a name of its own, whose uses are not followed.
  for (const declaration of compilerNodesOfKind<ts.VariableDeclaration>(sf, SyntaxKind.VariableDeclaration)) {
    const owner = declaration.initializer && unwrapCompiler(declaration.initializer);
    if (!owner || !ts.isIdentifier(owner) || !['require', 'module', 'Module'].includes(owner.text) || !ts.isObjectBindingPattern(declaration.name)) continue;
    const registry = declaration.name.elements.find((e) => ['cache', '_cache', 'children'].includes((e.propertyName ?? e.name).getText(sf.compilerNode)));
    if (!registry) continue;
    // Its uses as those of `require.cache`: `cache[key].exports.later()` names what it reaches.
    const bound = ts.isIdentifier(registry.name) ? wrapCompilerNode<Identifier>(sf, registry.name) : undefined;
    if (bound && !sameScopeReferences(bound).some((ref) => registryReachesExports(ref))) continue;
    found.push({ where: `${record.rel} at line ${sf.compilerNode.getLineAndCharacterOfPosition(registry.getStart(sf.compilerNode)).line + 1} (\`${registry.getText(sf.compilerNode)}\` of \`${owner.text}\`, the module registry)` });
  }
  return found;
}

/** The loading function called directly: `createRequire(url)(path)`, `module.require(path)`, `Module._load(path)`, `Module['_load'](path)`. `creators`: local names of createRequire (`import { createRequire as cr }`). */
function isLoaderCall(callee: ts.Expression, creators: ReadonlySet<string> = new Set()): boolean {
  const inner = unwrapCompiler(callee);
  if (ts.isCallExpression(inner)) return /(?:^|\.)createRequire$/.test(inner.expression.getText()) || (ts.isIdentifier(inner.expression) && creators.has(inner.expression.text));
  if (ts.isPropertyAccessExpression(inner)) return inner.name.text === 'require' || inner.name.text === '_load';
  return ts.isElementAccessExpression(inner) && ts.isStringLiteralLike(inner.argumentExpression) && ['require', '_load'].includes(inner.argumentExpression.text);
}

/** Names the file binds to a loading function (`const req = createRequire(import.meta.url)`, `const r = require`, `const load = Module._load`): a call of one loads a module. */
function loaderNames(sf: ts.SourceFile): { loaders: Set<string>; creators: Set<string> } {
  const names = new Set<string>();
  const creators = new Set<string>();
  const visit = (node: ts.Node): void => {
    // `import { createRequire as cr } from 'node:module'`, `const { createRequire: cr } = require('module')`.
    if ((ts.isImportSpecifier(node) || ts.isBindingElement(node)) && (node.propertyName ?? node.name).getText(sf) === 'createRequire' && ts.isIdentifier(node.name)) creators.add(node.name.text);
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      const value = unwrapCompiler(node.initializer);
      if ((ts.isIdentifier(value) && value.text === 'require') || isLoaderCall(value, creators)) names.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { loaders: names, creators };
}

/** `require.cache` (`Module._cache`, `module.constructor._cache`), or the `children` of `module`, `require.main`, `process.mainModule`, `module.parent`. */
function isModuleRegistry(access: ts.PropertyAccessExpression): boolean {
  const owner = access.expression;
  if (access.name.text === 'cache') return ts.isIdentifier(owner) && owner.text === 'require';
  if (access.name.text === '_cache') return ts.isIdentifier(owner) ? owner.text === 'Module' : ts.isPropertyAccessExpression(owner) && owner.name.text === 'constructor' && ts.isIdentifier(owner.expression) && owner.expression.text === 'module';
  if (access.name.text !== 'children') return false;
  if (ts.isIdentifier(owner)) return owner.text === 'module';
  return ts.isPropertyAccessExpression(owner) && ['main', 'mainModule', 'parent'].includes(owner.name.text) && ts.isIdentifier(owner.expression) && ['require', 'process', 'module'].includes(owner.expression.text);
}

/** Record fields that do not hold the module's exports. */
const RECORD_FIELDS: ReadonlySet<string> = new Set(['filename', 'id', 'loaded', 'path', 'paths', 'length']);

/**
 * Whether a read of the module registry may reach a module's exports other than by member
 * names: not the keys (`Object.keys(require.cache)`, `for (k in require.cache)`, `k in
 * require.cache`), a record removed or replaced (`delete require.cache[k]`), a test
 * (`if (require.cache[k])`), a record's own fields (`.filename`), nor `.exports` read
 * by member names (found by name in this file, as a computed path's are).
 */
function registryReachesExports(registry: Node): boolean {
  const value = outermostExpression(registry);
  const parent = value.getParent();
  if (!parent) return false;
  if (Node.isForInStatement(parent) && parent.getExpression() === value) return false;
  if (Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.InKeyword) return false;
  if (Node.isCallExpression(parent) && parent.getArguments()[0] === value && parent.getExpression().getText() === 'Object.keys') return false;
  if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === value) return !RECORD_FIELDS.has(parent.getName());
  if (!Node.isElementAccessExpression(parent) || parent.getExpression() !== value) return true;
  const record = outermostExpression(parent);
  const use = record.getParent();
  if (!use || Node.isDeleteExpression(use) || Node.isPrefixUnaryExpression(use) || Node.isIfStatement(use) || Node.isExpressionStatement(use)) return false;
  if (Node.isConditionalExpression(use) && use.getCondition() === record) return false;
  if (Node.isBinaryExpression(use)) {
    const operator = use.getOperatorToken().getKind();
    if (operator === SyntaxKind.EqualsToken && use.getLeft() === record) return false;
    if ([SyntaxKind.EqualsEqualsEqualsToken, SyntaxKind.ExclamationEqualsEqualsToken, SyntaxKind.EqualsEqualsToken, SyntaxKind.ExclamationEqualsToken].includes(operator)) return false;
  }
  if (Node.isPropertyAccessExpression(use) && use.getExpression() === record) {
    if (use.getName() === 'exports') return !usedByMemberNames(use, false);
    return !RECORD_FIELDS.has(use.getName());
  }
  return true;
}

/**
 * The directory a computed path starts in, when it says: `./jobs/` of `` `./jobs/${kind}` `` or
 * `'./jobs/' + kind`, `<dir>/routes` of `path.join(__dirname, 'routes', file)`.
 */
function computedDirectory(argument: ts.Expression, fileDir: string): string | undefined {
  const head = ts.isTemplateExpression(argument) ? argument.head.text : ts.isBinaryExpression(argument) && ts.isStringLiteral(argument.left) ? argument.left.text : undefined;
  if (head !== undefined) return head.startsWith('.') && head.includes('/') ? path.resolve(fileDir, head.slice(0, head.lastIndexOf('/') + 1)) : undefined;
  if (!ts.isCallExpression(argument) || !ts.isPropertyAccessExpression(argument.expression) || !['join', 'resolve'].includes(argument.expression.name.text)) return undefined;
  const [base, ...rest] = argument.arguments;
  if (!base || !ts.isIdentifier(base) || base.text !== '__dirname') return undefined;
  const segments: string[] = [];
  // The literal segments before the first computed one; the last of several is itself computed (a file).
  for (const segment of rest) {
    if (!ts.isStringLiteral(segment)) break;
    segments.push(segment.text);
  }
  if (segments.length === rest.length) segments.pop();
  return path.resolve(fileDir, ...segments);
}

/**
 * The module object a load yields is only read by member names (`m.run()`, `const { run } =`,
 * a `const` only used so), or not used (`require(file);`): a function it holds is reached
 * under its own name. For `import()`, once awaited or in a `.then()` callback's parameter.
 */
function usedByMemberNames(load: Node, dynamic: boolean): boolean {
  let value = outermostExpression(load);
  let parent = value.getParent();
  if (dynamic) {
    if (parent && Node.isAwaitExpression(parent)) {
      value = outermostExpression(parent);
      parent = value.getParent();
    } else if (parent && Node.isPropertyAccessExpression(parent) && parent.getName() === 'then') {
      const call = parent.getParent();
      const callback = call && Node.isCallExpression(call) && call.getExpression() === parent ? call.getArguments()[0] : undefined;
      if (!callback || !(Node.isArrowFunction(callback) || Node.isFunctionExpression(callback))) return false;
      const parameter = callback.getParameters()[0];
      return !parameter || boundByMemberNames(parameter.getNameNode());
    } else return !!parent && Node.isExpressionStatement(parent);
  }
  if (!parent || Node.isExpressionStatement(parent)) return true;
  if (Node.isPropertyAccessExpression(parent) && parent.getExpression() === value) return parent.getName() !== 'default' || usedByMemberNames(parent, false);
  if (Node.isVariableDeclaration(parent) && parent.getInitializer() === value) {
    const list = parent.getParent();
    return Node.isVariableDeclarationList(list) && list.getDeclarationKind() === 'const' && boundByMemberNames(parent.getNameNode());
  }
  return false;
}

/** A binding of a module object used only by member names: `{ a, b: c }` (no rest, no `default`), or a name every use of which reads a member. */
function boundByMemberNames(name: Node): boolean {
  if (Node.isObjectBindingPattern(name)) {
    return name.getElements().every((e) => {
      const property = e.getPropertyNameNode();
      return !e.getDotDotDotToken() && Node.isIdentifier(e.getNameNode()) && (!property || Node.isIdentifier(property)) && (property?.getText() ?? e.getName()) !== 'default';
    });
  }
  return Node.isIdentifier(name) && sameScopeReferences(name as Identifier).every((ref) => {
    const access = outermostExpression(ref).getParent();
    // `m.default.run()`: the default export (or a CommonJS module's object) read by member names in turn.
    return !!access && Node.isPropertyAccessExpression(access) && (access.getName() !== 'default' || usedByMemberNames(access, false));
  });
}
