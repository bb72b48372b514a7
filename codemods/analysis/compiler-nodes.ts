// Walks over the compiler's own nodes, cached per parsed file. ts-morph's
// `getDescendantsOfKind` wraps every match (and, for identifiers, materialises
// every token of the file through `getChildren`); the analysis and rewrite loops
// mostly discard what they find, so they walk these lists, filter on the compiler
// node, and wrap only what they keep.
import { ts, type Node, type SourceFile } from 'ts-morph';

// Lists indexed by SyntaxKind (an array: the walk touches every node of every loaded file).
const byKindCache = new WeakMap<ts.SourceFile, Array<ts.Node[] | undefined>>();
const identifierCache = new WeakMap<ts.SourceFile, ts.Identifier[]>();
const NONE: readonly ts.Node[] = [];
const NONE_IDENTIFIERS: readonly ts.Identifier[] = [];

/**
 * The file's nodes of `kind` (a parse-tree kind such as CallExpression, not a token
 * or JSDoc kind), in the order `getDescendantsOfKind(kind)` returns them: one
 * `ts.forEachChild` walk per file serves every kind.
 */
export function compilerNodesOfKind<T extends ts.Node = ts.Node>(sf: SourceFile, kind: ts.SyntaxKind): readonly T[] {
  const root = sf.compilerNode;
  let byKind = byKindCache.get(root);
  if (!byKind) {
    const index = new Array<ts.Node[] | undefined>(ts.SyntaxKind.Count);
    const visit = (node: ts.Node): void => {
      const list = index[node.kind];
      if (list) list.push(node);
      else index[node.kind] = [node];
      ts.forEachChild(node, visit);
    };
    ts.forEachChild(root, visit);
    byKind = index;
    byKindCache.set(root, byKind);
  }
  return (byKind[kind] ?? NONE) as unknown as readonly T[];
}

/**
 * The compiler descendants of `node` (itself excluded) that pass `test`, in the
 * order `node.getDescendantsOfKind(kind)` gives for a parse-tree kind: a
 * `forEachChild` walk, for searches inside one node (a method, a class).
 */
export function compilerDescendants<T extends ts.Node = ts.Node>(node: ts.Node, test: (candidate: ts.Node) => boolean): T[] {
  const found: T[] = [];
  const visit = (child: ts.Node): void => {
    if (test(child)) found.push(child as T);
    ts.forEachChild(child, visit);
  };
  ts.forEachChild(node, visit);
  return found;
}

/**
 * The file's identifiers in the order `getDescendantsOfKind(SyntaxKind.Identifier)`
 * returns them: that walk goes through `getChildren`, which also enters JSDoc
 * (before the node's own children), so this one does too.
 */
export function compilerIdentifiers(sf: SourceFile): readonly ts.Identifier[] {
  const root = sf.compilerNode;
  let identifiers = identifierCache.get(root);
  // Without a `/**` comment the file has no JSDoc: the parse-tree walk's identifiers are the same list.
  if (!identifiers && !root.text.includes('/**')) {
    identifiers = compilerNodesOfKind<ts.Identifier>(sf, ts.SyntaxKind.Identifier) as ts.Identifier[];
    identifierCache.set(root, identifiers);
  }
  if (!identifiers) {
    const found: ts.Identifier[] = [];
    const visit = (node: ts.Node): void => {
      if (node.kind === ts.SyntaxKind.Identifier) found.push(node as ts.Identifier);
      const docs = (node as { jsDoc?: ts.Node[] }).jsDoc;
      if (docs) for (const doc of docs) visit(doc);
      ts.forEachChild(node, visit);
    };
    ts.forEachChild(root, visit);
    identifiers = found;
    identifierCache.set(root, identifiers);
  }
  return identifiers;
}

const identifiersByTextCache = new WeakMap<ts.SourceFile, Map<string, ts.Identifier[]>>();

/**
 * ts-morph's `getText()` of a compiler node: an identifier's (or private name's)
 * cooked name (`\u0061` reads `a`), any other node's source text.
 */
export function morphText(sf: ts.SourceFile, node: ts.Node): string {
  if (node.kind === ts.SyntaxKind.Identifier || node.kind === ts.SyntaxKind.PrivateIdentifier) return (node as ts.Identifier | ts.PrivateIdentifier).text;
  return sf.text.substring(node.getStart(sf), node.end);
}

/** `morphText(sf, node) === text`, without slicing a name. */
export function morphTextIs(sf: ts.SourceFile, node: ts.Node, text: string): boolean {
  if (node.kind === ts.SyntaxKind.Identifier || node.kind === ts.SyntaxKind.PrivateIdentifier) return (node as ts.Identifier | ts.PrivateIdentifier).text === text;
  return sf.text.substring(node.getStart(sf), node.end) === text;
}

/**
 * The identifiers of `compilerIdentifiers(sf)` (same order) named `name`: what
 * `getDescendantsOfKind(Identifier).filter((id) => id.getText() === name)` finds
 * (an identifier's getText() is its cooked name), from an index built once.
 */
export function compilerIdentifiersNamed(sf: SourceFile, name: string): readonly ts.Identifier[] {
  const root = sf.compilerNode;
  let byText = identifiersByTextCache.get(root);
  if (!byText) {
    byText = new Map();
    for (const identifier of compilerIdentifiers(sf)) {
      const list = byText.get(identifier.text);
      if (list) list.push(identifier);
      else byText.set(identifier.text, [identifier]);
    }
    identifiersByTextCache.set(root, byText);
  }
  return byText.get(name) ?? NONE_IDENTIFIERS;
}

/** The source text of a compiler node (ts's getText(); for an identifier written with escapes, not ts-morph's). */
export function compilerText(sf: SourceFile, node: ts.Node): string {
  return node.getText(sf.compilerNode);
}

/** The ts-morph wrapper of a compiler node of `sf` (the same instance ts-morph hands out). */
export function wrapCompilerNode<T extends Node = Node>(sf: SourceFile, node: ts.Node): T {
  return (sf as unknown as { _getNodeFromCompilerNode(node: ts.Node): Node })._getNodeFromCompilerNode(node) as T;
}
