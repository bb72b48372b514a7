// The TypeScript checker as the resolver's second opinion, used only where the
// legacy module is a file of the project (a vendored copy): there the checker
// knows what `extends baseFor('mail')` or `extends pick(registry)` evaluates to,
// which the syntactic tracker does not. Creating a program is expensive, so it
// happens at most once per run, and only when such a question is asked.
import { Node, type Type } from 'ts-morph';
import type { ProjectIndex } from './project.js';
import { roleOfSpecifier, type ModuleMatchers } from './specifiers.js';

const LEGACY_HANDLER = 'TaskHandler';

export class CheckerResolver {
  private vendored: Set<string> | undefined;

  constructor(
    private readonly index: ProjectIndex,
    private readonly matchers: ModuleMatchers,
  ) {}

  /** Project files that are the legacy deferred module itself. */
  private vendoredFiles(): Set<string> {
    if (!this.vendored) {
      this.vendored = new Set(
        this.index
          .knownFiles()
          .filter((f) => f.kind === 'source' && roleOfSpecifier(f.absPath.replace(/\\/g, '/'), this.matchers) === 'deferred')
          .map((f) => f.absPath),
      );
    }
    return this.vendored;
  }

  /** Whether the checker can say anything: the legacy module is part of the project. */
  available(): boolean {
    return this.vendoredFiles().size > 0;
  }

  /**
   * Steps from the legacy TaskHandler of the class an expression evaluates to
   * (0 = TaskHandler itself), according to the checker; undefined when it is
   * not a constructor of a TaskHandler class (or the checker cannot tell).
   */
  handlerDepth(expression: Node): number | undefined {
    if (!this.available()) return undefined;
    for (const path of this.vendoredFiles()) this.index.load(path);
    let type: Type;
    try {
      type = this.index.project.getTypeChecker().getTypeAtLocation(expression);
    } catch {
      return undefined;
    }
    for (const signature of type.getConstructSignatures()) {
      const depth = this.depthOfInstance(signature.getReturnType(), 0, new Set());
      if (depth !== undefined) return depth;
    }
    return undefined;
  }

  private depthOfInstance(type: Type, depth: number, seen: Set<Type>): number | undefined {
    if (seen.has(type) || depth > 16) return undefined;
    seen.add(type);
    const symbol = type.getSymbol();
    if (symbol?.getName() === LEGACY_HANDLER && symbol.getDeclarations().some((d) => this.vendoredFiles().has(d.getSourceFile().getFilePath()))) return depth;
    for (const base of type.getBaseTypes()) {
      const found = this.depthOfInstance(base, depth + 1, seen);
      if (found !== undefined) return found;
    }
    return undefined;
  }
}
