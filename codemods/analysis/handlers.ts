// TaskHandler subclasses: classes whose `extends` chain reaches the legacy
// TaskHandler (or the shim's Handler, for code already migrated), through aliases
// and across files.
import { Node, SyntaxKind, type ClassDeclaration, type ClassExpression } from 'ts-morph';
import { resolveName } from './declarations.js';
import { isHandlerRef, type SymbolTable } from './legacy-symbols.js';
import type { ProjectIndex, SourceRecord } from './project.js';

export type ClassNode = ClassDeclaration | ClassExpression;

export interface HandlerClass {
  record: SourceRecord;
  node: ClassNode;
  /** Declared name, or the variable it is assigned to. */
  name: string | undefined;
  /** Extends TaskHandler/Handler itself rather than another subclass. */
  direct: boolean;
  /** Steps from TaskHandler (1 = direct subclass). */
  depth: number;
}

export interface HandlerClasses {
  classes: HandlerClass[];
  /** Whether an expression in `record` denotes TaskHandler, Handler or one of their subclasses. */
  isHandlerExpression(record: SourceRecord, expression: Node): boolean;
  of(node: ClassNode): HandlerClass | undefined;
}

export function findHandlerClasses(index: ProjectIndex, symbols: SymbolTable, records: SourceRecord[]): HandlerClasses {
  const memo = new Map<ClassNode, HandlerClass | null>();
  const recordOf = (node: Node): SourceRecord | undefined => index.load(node.getSourceFile().getFilePath());

  function classNameOf(node: ClassNode): string | undefined {
    const own = node.getName();
    if (own) return own;
    const parent = node.getParent();
    if (parent && Node.isVariableDeclaration(parent)) return parent.getName();
    return undefined;
  }

  /** Depth of the handler chain the expression denotes: 0 = TaskHandler itself, undefined = none. */
  function depthOf(record: SourceRecord, expression: Node, seen: Set<Node>): number | undefined {
    if (isHandlerRef(symbols.resolve(record, expression))) return 0;
    if (Node.isClassExpression(expression)) return classify(expression, seen)?.depth;
    if (!Node.isIdentifier(expression)) return undefined;
    const resolution = resolveName(index, record, expression.getText(), 0);
    if (resolution.kind !== 'module') return undefined;
    const declaration = resolution.node;
    if (Node.isClassDeclaration(declaration)) return classify(declaration, seen)?.depth;
    if (Node.isVariableDeclaration(declaration)) {
      const initializer = declaration.getInitializer();
      if (!initializer) return undefined;
      if (Node.isClassExpression(initializer)) return classify(initializer, seen)?.depth;
      if (isHandlerRef(symbols.resolve(resolution.record, initializer))) return 0;
      if (Node.isIdentifier(initializer) && initializer.getText() !== expression.getText()) {
        return depthOf(resolution.record, initializer, seen);
      }
    }
    return undefined;
  }

  function classify(node: ClassNode, seen = new Set<Node>()): HandlerClass | undefined {
    const cached = memo.get(node);
    if (cached !== undefined) return cached ?? undefined;
    if (seen.has(node)) return undefined;
    seen.add(node);
    const record = recordOf(node);
    const heritage = node.getExtends();
    let result: HandlerClass | null = null;
    if (record && heritage) {
      const depth = depthOf(record, heritage.getExpression(), seen);
      if (depth !== undefined) result = { record, node, name: classNameOf(node), direct: depth === 0, depth: depth + 1 };
    }
    memo.set(node, result);
    return result ?? undefined;
  }

  const classes: HandlerClass[] = [];
  for (const record of records) {
    for (const node of [...record.sourceFile.getDescendantsOfKind(SyntaxKind.ClassDeclaration), ...record.sourceFile.getDescendantsOfKind(SyntaxKind.ClassExpression)]) {
      const handler = classify(node);
      if (handler) classes.push(handler);
    }
  }
  classes.sort((a, b) => (a.record.rel === b.record.rel ? a.node.getStart() - b.node.getStart() : a.record.rel < b.record.rel ? -1 : 1));
  return {
    classes,
    isHandlerExpression: (record, expression) => depthOf(record, expression, new Set()) !== undefined,
    of: (node) => classify(node),
  };
}
