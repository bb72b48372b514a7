// Markers in the code: every manual item leaves
//   // deferred-migrate(<code>): <short message> see <link>
// above its site, so the code itself says where a human must look; and
// `// deferred-migrate-ignore <code>: <why>` (above the site or on its line)
// acknowledges an item. Both are found again on the next run, which therefore
// adds nothing (idempotent) and treats acknowledged items as done.
import { ts } from 'ts-morph';
import { YAML_TEMPLATE } from '../analysis/discover.js';
import type { ReasonCode } from '../types.js';
import { lineIndexAt, lineStarts } from './offset-map.js';

export const MARKER_PREFIX = 'deferred-migrate';
export const IGNORE_DIRECTIVE = 'deferred-migrate-ignore';

export type CommentSyntax = 'source' | 'yaml';

export function commentSyntaxOf(absPath: string): CommentSyntax {
  return /\.ya?ml$/i.test(absPath) || YAML_TEMPLATE.test(absPath) ? 'yaml' : 'source';
}

export interface MarkerSite {
  /** Offset of the site in the text the marker goes into. */
  offset: number;
  code: ReasonCode;
  message: string;
  docsUrl: string;
}

export interface Insertion {
  start: number;
  end: number;
  text: string;
}

type Style = 'line' | 'jsx' | 'inline';

interface Anchor {
  /** Where the marker goes: the start of a line, or (inline) just before a node on its line. */
  offset: number;
  style: Style;
  /** 0-based line whose comment block above is searched for markers and directives. */
  line: number;
  indent: string;
}

const MAX_MESSAGE = 110;

/** The first sentence of an item's message, on one line, short, safe inside any comment. */
export function shortMessage(message: string): string {
  const flat = message.replace(/\s+/g, ' ').trim();
  const sentence = /^(.*?[.;])(?:\s|$)/.exec(flat)?.[1] ?? flat;
  const clipped = sentence.length <= MAX_MESSAGE ? sentence : `${sentence.slice(0, MAX_MESSAGE).replace(/\s+\S*$/, '')}…`;
  return clipped.replace(/\*\//g, '* /').replace(/[.;:,]$/, '');
}

export function markerComment(site: Pick<MarkerSite, 'code' | 'message' | 'docsUrl'>, syntax: CommentSyntax, style: Style): string {
  const body = `${MARKER_PREFIX}(${site.code}): ${shortMessage(site.message)}; see ${site.docsUrl.replace(/\*\//g, '%2A/')}`;
  if (syntax === 'yaml') return `# ${body}`;
  if (style === 'jsx') return `{/* ${body} */}`;
  if (style === 'inline') return `/* ${body} */`;
  return `// ${body}`;
}

/** Lines directly above `line` that are comments (the block a marker or directive lives in), top first. */
function commentBlockAbove(lines: readonly string[], line: number, syntax: CommentSyntax): number[] {
  const block: number[] = [];
  for (let i = line - 1; i >= 0; i--) {
    const trimmed = lines[i]!.trim();
    const isComment = syntax === 'yaml' ? trimmed.startsWith('#') : /^(\/\/|\/\*|\*|\{\/\*)/.test(trimmed);
    if (!isComment) break;
    block.unshift(i);
  }
  return block;
}

function mentions(text: string, pattern: RegExp, code: ReasonCode): string | undefined {
  for (const match of text.matchAll(pattern)) {
    const codes = match[1]!.split(/\s*,\s*/);
    if (codes.includes(code)) return (match[2] ?? '').replace(/\s*(\*\/\}?|-->)\s*$/, '').trim();
  }
  return undefined;
}

const MARKER = /deferred-migrate\(([a-z0-9-]+)\)()/g;
const DIRECTIVE = /deferred-migrate-ignore\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)(?:\s*:\s*(.*))?/g;

/** Marker placement and lookup for one text (parsed once, for any number of sites). */
export class MarkerPlanner {
  private readonly starts: number[];
  private readonly lines: string[];
  private parsed: ts.SourceFile | undefined;

  constructor(
    private readonly text: string,
    private readonly fileName: string,
    private readonly syntax: CommentSyntax = commentSyntaxOf(fileName),
  ) {
    this.starts = lineStarts(text);
    this.lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  }

  /** The `<why>` of a `deferred-migrate-ignore <code>` at the site ('' without one), or undefined. */
  acknowledgement(offset: number, code: ReasonCode): string | undefined {
    const anchor = this.anchor(offset);
    const siteLine = lineIndexAt(this.starts, offset);
    const candidates = [...commentBlockAbove(this.lines, anchor.line, this.syntax), anchor.line, siteLine];
    for (const line of candidates) {
      const why = mentions(this.lines[line]!, DIRECTIVE, code);
      if (why !== undefined) return why;
    }
    return undefined;
  }

  /** Insertions that mark the sites not marked yet (one per code and anchor). */
  plan(sites: readonly MarkerSite[]): Insertion[] {
    const insertions = new Map<string, Insertion>();
    const ordered = [...sites].sort((a, b) => a.offset - b.offset || a.code.localeCompare(b.code));
    for (const site of ordered) {
      const anchor = this.anchor(site.offset);
      const key = `${anchor.offset}\u0000${site.code}`;
      if (insertions.has(key) || this.isMarked(anchor, site.code)) continue;
      const comment = markerComment(site, this.syntax, anchor.style);
      const newline = this.text.includes('\r\n') ? '\r\n' : '\n';
      if (anchor.style === 'inline') insertions.set(key, { start: anchor.offset, end: anchor.offset, text: `${comment} ` });
      else {
        // Above the comment block of the line, so a `@ts-expect-error` or a JSDoc stays next to its code.
        const top = commentBlockAbove(this.lines, anchor.line, this.syntax)[0] ?? anchor.line;
        const at = this.starts[top]!;
        insertions.set(key, { start: at, end: at, text: `${anchor.indent}${comment}${newline}` });
      }
    }
    // Several markers at one point: one insertion each, in code order (applyEdits keeps input order).
    return [...insertions.values()];
  }

  private isMarked(anchor: Anchor, code: ReasonCode): boolean {
    const lines = [...commentBlockAbove(this.lines, anchor.line, this.syntax)];
    if (lines.some((l) => mentions(this.lines[l]!, MARKER, code) !== undefined)) return true;
    // Inline markers sit on the anchor line, before the anchor.
    const before = this.text.slice(this.starts[anchor.line]!, anchor.offset);
    return anchor.style === 'inline' && mentions(before, MARKER, code) !== undefined;
  }

  private anchor(offset: number): Anchor {
    const line = lineIndexAt(this.starts, Math.min(offset, this.text.length));
    const lineAnchor = (index: number, style: Style): Anchor => ({
      offset: this.starts[index]!,
      style,
      line: index,
      indent: /^[ \t]*/.exec(this.lines[index]!)![0],
    });
    if (this.syntax === 'yaml') return lineAnchor(line, 'line');
    const head = this.starts[line]! + /^[ \t]*/.exec(this.lines[line]!)![0].length;
    const context = this.contextAt(head);
    if (context.kind === 'code') return lineAnchor(line, 'line');
    if (context.kind === 'jsx-child') return lineAnchor(line, 'jsx');
    // Inside a literal or a JSX tag: mark the enclosing statement instead.
    const statement = this.enclosingStatement(offset);
    if (!statement) return lineAnchor(line, 'line');
    const start = statement.getStart(this.source());
    const statementLine = lineIndexAt(this.starts, start);
    const statementHead = this.starts[statementLine]! + /^[ \t]*/.exec(this.lines[statementLine]!)![0].length;
    if (statementHead === start || this.contextAt(statementHead).kind === 'code') return lineAnchor(statementLine, 'line');
    return { offset: start, style: 'inline', line: statementLine, indent: '' };
  }

  private source(): ts.SourceFile {
    if (!this.parsed) {
      const kind = /\.(tsx|jsx)$/i.test(this.fileName) ? ts.ScriptKind.TSX : /\.(m|c)?js$/i.test(this.fileName) ? ts.ScriptKind.JSX : ts.ScriptKind.TS;
      this.parsed = ts.createSourceFile(this.fileName, this.text, ts.ScriptTarget.Latest, true, kind);
    }
    return this.parsed;
  }

  /** Innermost node containing `offset` (tokens included), with its ancestors. */
  private path(offset: number): ts.Node[] {
    const sf = this.source();
    const chain: ts.Node[] = [sf];
    let current: ts.Node = sf;
    for (;;) {
      let next: ts.Node | undefined;
      for (const child of current.getChildren(sf)) {
        if (child.getStart(sf) <= offset && offset < child.getEnd()) {
          next = child;
          break;
        }
      }
      if (!next) return chain;
      chain.push(next);
      current = next;
    }
  }

  /** What a line starting at `head` starts inside of. */
  private contextAt(head: number): { kind: 'code' | 'jsx-child' | 'literal' | 'jsx-tag' } {
    if (head >= this.text.length) return { kind: 'code' };
    const sf = this.source();
    const chain = this.path(head);
    const innermost = chain[chain.length - 1]!;
    const literalKinds = [
      ts.SyntaxKind.StringLiteral,
      ts.SyntaxKind.NoSubstitutionTemplateLiteral,
      ts.SyntaxKind.TemplateHead,
      ts.SyntaxKind.TemplateMiddle,
      ts.SyntaxKind.TemplateTail,
      ts.SyntaxKind.RegularExpressionLiteral,
      ts.SyntaxKind.JsxText,
    ];
    if (literalKinds.includes(innermost.kind) && innermost.getStart(sf) < head) return { kind: 'literal' };
    // The outermost node that starts at the line head decides.
    let headNode: ts.Node = innermost;
    for (let i = chain.length - 1; i > 0; i--) {
      const node = chain[i]!;
      if (node.getStart(sf) !== head) break;
      headNode = node;
    }
    const parent = headNode.parent as ts.Node | undefined;
    if (parent && (ts.isJsxElement(parent) || ts.isJsxFragment(parent))) {
      const isChild = !(ts.isJsxOpeningElement(headNode) || ts.isJsxClosingElement(headNode) || ts.isJsxOpeningFragment(headNode) || ts.isJsxClosingFragment(headNode));
      return { kind: isChild ? 'jsx-child' : 'jsx-tag' };
    }
    // A SyntaxList of children sits between a JSX element and its children.
    if (parent && parent.kind === ts.SyntaxKind.SyntaxList && parent.parent && (ts.isJsxElement(parent.parent) || ts.isJsxFragment(parent.parent))) return { kind: 'jsx-child' };
    if (chain.some((n) => ts.isJsxOpeningElement(n) || ts.isJsxSelfClosingElement(n) || ts.isJsxClosingElement(n)) && !ts.isJsxSelfClosingElement(headNode)) return { kind: 'jsx-tag' };
    return { kind: 'code' };
  }

  private enclosingStatement(offset: number): ts.Node | undefined {
    const chain = this.path(offset);
    for (let i = chain.length - 1; i > 0; i--) {
      const node = chain[i]!;
      const parent = node.parent as ts.Node | undefined;
      if (!parent) continue;
      if (ts.isSourceFile(parent) || ts.isBlock(parent) || ts.isModuleBlock(parent) || ts.isCaseClause(parent) || ts.isDefaultClause(parent)) return node;
      if (ts.isClassElement(node)) return node;
    }
    return undefined;
  }
}
