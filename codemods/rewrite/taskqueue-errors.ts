// The legacy taskqueue module's error classes (`google/appengine/api/taskqueue`),
// imported to test a caught error (`error instanceof TaskAlreadyExistsError`): the
// shim's defer() rejects with its own classes, so such a test silently took its other
// branch. Where the shim exports a class of the same name that it throws for the same
// failure, the import is moved to deferred-migrate/shim. Only when it is sound:
// - the class is a leaf of the hierarchy (InvalidTaskError and TaskQueueError cover
//   other sets of errors in the shim, which makes InvalidTaskNameError an InvalidTaskError);
// - every use of the imported name is the right operand of `instanceof` (a `new`, a
//   `throw`, a subclass would get the shim's class with other constructor arguments);
// - no file of the run uses the legacy taskqueue module for anything else (`Queue`,
//   `Task`, `add`, the module object as a value): its throws are the legacy classes,
//   which the moved test would no longer match.
// Everything else stays, and the verification pass reports it
// (`unresolved-legacy-reference`, codemods/verify/legacy-references.ts).
import { Node, SyntaxKind, type ImportDeclaration, type SourceFile } from 'ts-morph';
import { compilerIdentifiersNamed, wrapCompilerNode } from '../analysis/compiler-nodes.js';
import type { Analysis } from '../analysis/index.js';
import type { SourceRecord } from '../analysis/project.js';
import { BACKEND_DEPENDENT_ERROR_CLASSES, LEGACY_ERROR_CLASSES, LEGACY_TASKQUEUE } from '../analysis/legacy-errors.js';
import { SHIM_EXPORTS } from '../analysis/shim-exports.js';
import { semi } from '../analysis/style.js';
import type { RuleOutput } from './context.js';

/** Classes whose set of errors differs in the shim (its InvalidTaskError includes the name, URL and ETA errors). */
const NOT_LEAVES: ReadonlySet<string> = new Set(['InvalidTaskError', 'TaskQueueError', 'Error']);

/** The legacy error classes an instanceof test may move to the shim: same name, exported, thrown for the same failure. */
export function movableErrorClass(name: string): boolean {
  return LEGACY_ERROR_CLASSES.get(name) === name && SHIM_EXPORTS.has(name) && !NOT_LEAVES.has(name) && !BACKEND_DEPENDENT_ERROR_CLASSES.has(name);
}

/** What a file does with the legacy taskqueue module. */
interface TaskqueueUses {
  /** Import declarations of the module, with the named imports that may move. */
  imports: Array<{ declaration: ImportDeclaration; movable: string[]; kept: string[]; namespaceMovable: boolean }>;
  /** `const { A, B: C } = require(...)` of error classes only, with the literal, and whether every name may move. */
  requires: Array<{ literal: Node; movable: boolean }>;
  /** Uses of the module's API or of its object as a value (the run's legacy taskqueue calls throw legacy classes), first found first. */
  apiUses: TaskqueueApiUse[];
}

/** A use of the legacy taskqueue module other than its error classes: where, and what (without the place), for a message. */
export interface TaskqueueApiUse {
  node: Node;
  what: string;
}

function isInstanceofRight(node: Node): boolean {
  let outer: Node = node;
  while (Node.isParenthesizedExpression(outer.getParent())) outer = outer.getParent()!;
  const parent = outer.getParent();
  return !!parent && Node.isBinaryExpression(parent) && parent.getOperatorToken().getKind() === SyntaxKind.InstanceOfKeyword && parent.getRight() === outer;
}

function where(node: Node, record: SourceRecord): string {
  return `${record.rel}:${node.getStartLineNumber()}`;
}

/** Identifiers of `sourceFile` spelled `name`, other than `except`, that are not a member name or a property key. */
function usesOf(sourceFile: SourceFile, name: string, except: Node): Node[] {
  return compilerIdentifiersNamed(sourceFile, name).map((id) => wrapCompilerNode(sourceFile, id)).filter((id) => {
    if (id === except) return false;
    const parent = id.getParent();
    if (Node.isPropertyAccessExpression(parent) && parent.getNameNode() === id) return false;
    if ((Node.isPropertyAssignment(parent) || Node.isMethodDeclaration(parent) || Node.isPropertyDeclaration(parent)) && parent.getNameNode() === id) return false;
    return !(Node.isImportSpecifier(parent) || Node.isImportClause(parent) || Node.isNamespaceImport(parent));
  });
}

function usesIn(record: SourceRecord): TaskqueueUses {
  const uses: TaskqueueUses = { imports: [], requires: [], apiUses: [] };
  const sf = record.sourceFile;
  const block = (node: Node, what: string): void => {
    uses.apiUses.push({ node, what });
  };
  for (const declaration of sf.getImportDeclarations()) {
    if (!LEGACY_TASKQUEUE.test(declaration.getModuleSpecifierValue())) continue;
    if (declaration.isTypeOnly()) continue;
    const movable: string[] = [];
    const kept: string[] = [];
    for (const named of declaration.getNamedImports()) {
      const name = named.getName();
      const local = named.getAliasNode() ?? named.getNameNode();
      if (!LEGACY_ERROR_CLASSES.has(name)) {
        // A type describes the legacy queue's values; it runs nothing.
        if (!named.isTypeOnly()) block(named, `${name} of the legacy taskqueue module`);
        continue;
      }
      const refs = usesOf(sf, local.getText(), local);
      if (movableErrorClass(name) && refs.every(isInstanceofRight)) movable.push(named.getText());
      else kept.push(named.getText());
    }
    let namespaceMovable = false;
    const object = declaration.getNamespaceImport() ?? declaration.getDefaultImport();
    if (object) {
      const refs = usesOf(sf, object.getText(), object);
      namespaceMovable = refs.length > 0;
      for (const ref of refs) {
        const access = ref.getParent();
        const member = Node.isPropertyAccessExpression(access) && access.getExpression() === ref ? access.getName() : undefined;
        if (member === undefined) {
          block(ref, 'the legacy taskqueue module object used as a value');
          namespaceMovable = false;
        } else if (!LEGACY_ERROR_CLASSES.has(member)) {
          block(access!, `${object.getText()}.${member}`);
          namespaceMovable = false;
        } else if (!movableErrorClass(member) || !isInstanceofRight(access!)) namespaceMovable = false;
      }
    }
    uses.imports.push({ declaration, movable, kept, namespaceMovable });
  }
  // A destructuring require() of error classes moves like an import; any other load (import(),
  // the module object kept) is an API use.
  for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const [argument] = call.getArguments();
    if (!argument || !Node.isStringLiteral(argument) || !LEGACY_TASKQUEUE.test(argument.getLiteralValue())) continue;
    const holder = call.getParent();
    const pattern = holder && Node.isVariableDeclaration(holder) && holder.getInitializer() === call ? holder.getNameNode() : undefined;
    const elements = pattern && Node.isObjectBindingPattern(pattern) && call.getExpression().getText() === 'require' ? pattern.getElements() : undefined;
    if (!elements || elements.some((e) => e.getDotDotDotToken() || !LEGACY_ERROR_CLASSES.has(e.getPropertyNameNode()?.getText() ?? e.getName()))) {
      block(call, 'a load of the legacy taskqueue module');
      continue;
    }
    const movable = elements.every((e) => {
      const local = e.getNameNode();
      return movableErrorClass(e.getPropertyNameNode()?.getText() ?? e.getName()) && Node.isIdentifier(local) && usesOf(sf, local.getText(), local).every(isInstanceofRight);
    });
    uses.requires.push({ literal: argument, movable });
  }
  for (const declaration of sf.getExportDeclarations()) {
    const specifier = declaration.getModuleSpecifierValue();
    if (specifier && LEGACY_TASKQUEUE.test(specifier)) block(declaration, 'a re-export of the legacy taskqueue module');
  }
  return uses;
}

/**
 * Why the run keeps the legacy taskqueue module in use, if it does: the first file of
 * the run (loaded or not) that uses its API. A single-file run cannot see the others.
 */
function runUsesTaskqueueApi(analysis: Analysis): string | undefined {
  if (analysis.singleFile) return 'this run sees one file only, and another file may call the legacy taskqueue module, whose throws are its own classes';
  const index = analysis.index;
  for (const file of index.knownFiles()) {
    if (file.kind !== 'source') continue;
    const text = index.loadedText(file.absPath) ?? index.text(file.absPath);
    if (!text?.includes('appengine/api/taskqueue')) continue;
    const record = index.load(file.absPath);
    if (!record || record.parseProblem) return `${file.rel} mentions the legacy taskqueue module and does not parse`;
    const [apiUse] = usesIn(record).apiUses;
    if (apiUse) return `the run also uses the legacy taskqueue module (${apiUse.what}${Node.isImportSpecifier(apiUse.node) ? ', imported' : ''} at ${where(apiUse.node, record)}), whose throws are its own classes`;
  }
  return undefined;
}

const verdicts = new WeakMap<Analysis, string | null>();

/** A file's uses of the legacy taskqueue module other than its error classes (the verification reports them). */
export function taskqueueApiUses(record: SourceRecord): TaskqueueApiUse[] {
  if (!record.text.includes('appengine/api/taskqueue')) return [];
  return usesIn(record).apiUses;
}

/** Why the legacy taskqueue error imports of the run stay as they are, if they do. */
export function taskqueueErrorsKept(analysis: Analysis): string | undefined {
  let verdict = verdicts.get(analysis);
  if (verdict === undefined) {
    verdict = runUsesTaskqueueApi(analysis) ?? null;
    verdicts.set(analysis, verdict);
  }
  return verdict ?? undefined;
}

/**
 * Moves the legacy taskqueue error classes that the migrated files test with
 * `instanceof` to deferred-migrate/shim, where that is sound (see above): the
 * whole import when every name moves (its specifier rewritten), else the names
 * that move into an import of the shim of their own, below it.
 */
export function moveTaskqueueErrorImports(analysis: Analysis, out: RuleOutput): void {
  const records = analysis.candidates.filter((r) => r.text.includes('appengine/api/taskqueue') && r.text.includes('instanceof'));
  if (records.length === 0 || taskqueueErrorsKept(analysis)) return;
  const shim = analysis.matchers.shim;
  const description = `legacy taskqueue error classes imported from ${shim} (it rejects with its own)`;
  for (const record of records) {
    const uses = usesIn(record);
    for (const { literal, movable } of uses.requires) {
      if (movable) out.edit(record, literal.getStart() + 1, literal.getEnd() - 1, shim, description);
    }
    for (const { declaration, movable, kept, namespaceMovable } of uses.imports) {
      const specifier = declaration.getModuleSpecifier();
      const object = declaration.getNamespaceImport() ?? declaration.getDefaultImport();
      const wholeMoves = (object ? namespaceMovable : true) && kept.length === 0 && (movable.length > 0 || namespaceMovable);
      if (wholeMoves) {
        // The literal's text without its quotes, so the quote style stays.
        out.edit(record, specifier.getStart() + 1, specifier.getEnd() - 1, shim, description);
        continue;
      }
      if (movable.length === 0) continue;
      const named = declaration.getNamedImports();
      const first = named[0]!;
      const last = named[named.length - 1]!;
      out.edit(record, first.getStart(), last.getEnd(), kept.join(', '), description);
      const quote = specifier.getText()[0];
      out.edit(record, declaration.getEnd(), declaration.getEnd(), `${record.style.newline}import { ${movable.join(', ')} } from ${quote}${shim}${quote}${semi(record.style)}`, description);
    }
  }
}
