// Text positions for edits: whole-line removal of statements, indentation of a
// line, insertion points after a statement, and skipping trivia.
import { ts, type Node } from 'ts-morph';

export function lineStartOf(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

export function indentAt(text: string, pos: number): string {
  const start = lineStartOf(text, pos);
  return /^[ \t]*/.exec(text.slice(start))![0];
}

/**
 * The span to delete so that a statement disappears with its line: from the
 * line start (when only indentation precedes it) through the line break (when
 * only whitespace follows it).
 */
export function statementRemovalSpan(text: string, node: Node): [number, number] {
  let start = typeCommentStart(text, node) ?? node.getStart();
  let end = node.getEnd();
  const lineStart = lineStartOf(text, start);
  const before = text.slice(lineStart, start);
  const afterMatch = /^[ \t]*(\r?\n|$)/.exec(text.slice(end));
  if (/^[ \t]*$/.test(before) && afterMatch) {
    return collapseBlankLines(text, [lineStart, end + afterMatch[0].length]);
  }
  return [start, end];
}

/**
 * The start of a `/** @type {…} *\/` (or `@satisfies`) JSDoc block on the lines
 * right above the statement: it describes only that statement, so it goes with
 * it. Other JSDoc (a file header, a `@typedef`) stays.
 */
function typeCommentStart(text: string, node: Node): number | undefined {
  const withDocs = node.getStart(true);
  const start = node.getStart();
  if (withDocs >= start) return undefined;
  const docs = text.slice(withDocs, start);
  if (!/@(?:type|satisfies)\b/.test(docs) || /@typedef\b|@callback\b/.test(docs)) return undefined;
  // Only whitespace between the comment and the statement, and the comment starts its line.
  const lastClose = docs.lastIndexOf('*/');
  if (!/^\s*$/.test(docs.slice(lastClose + 2)) || !/^[ \t]*$/.test(text.slice(lineStartOf(text, withDocs), withDocs))) return undefined;
  return withDocs;
}

/**
 * Spans that delete the elements at `removed` from a comma-separated list
 * (array elements, import specifiers), separators included, so the rest of the
 * list keeps its layout. Empty when every element goes (the caller removes the
 * whole construct).
 */
export function listRemovalSpans(elements: Node[], removed: Set<number>): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  if (removed.size === elements.length) return spans;
  let i = 0;
  while (i < elements.length) {
    if (!removed.has(i)) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < elements.length && removed.has(j + 1)) j++;
    const next = elements[j + 1];
    const previous = elements[i - 1];
    if (next) spans.push([elements[i]!.getStart(), next.getStart()]);
    else if (previous) spans.push([previous.getEnd(), elements[j]!.getEnd()]);
    i = j + 1;
  }
  return spans;
}

/**
 * Removal spans for several statements of one file: statements on consecutive
 * lines are removed as one block, so the blank lines around the block collapse
 * the way they would around a single statement.
 */
export function statementsRemovalSpans(text: string, nodes: Node[]): Array<[number, number]> {
  return mergeLineRemovals(text, nodes.map((node) => statementRemovalSpan(text, node)));
}

/** Merges whole-line removals separated only by whitespace, then collapses blank lines around each block. */
export function mergeLineRemovals(text: string, spans: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const merged: Array<[number, number]> = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    // Overlapping (each span may have taken a blank line of its own) or apart by whitespace only.
    if (last && (span[0] <= last[1] || /^\s*$/.test(text.slice(last[1], span[0])))) {
      last[1] = Math.max(last[1], span[1]);
      continue;
    }
    merged.push([span[0], span[1]]);
  }
  return merged.map((span) => collapseBlankLines(text, span));
}

/**
 * Widens a whole-line removal so it leaves no double blank line behind: between
 * two blank lines (or a blank line and the start/end of the file) one goes too.
 */
export function collapseBlankLines(text: string, [start, end]: [number, number]): [number, number] {
  const blankBefore = /(^|\r?\n)[ \t]*\r?\n$/.exec(text.slice(0, start));
  const blankAfter = /^[ \t]*\r?\n/.exec(text.slice(end));
  if ((blankBefore || start === 0) && blankAfter) return [start, end + blankAfter[0].length];
  if (blankBefore && end === text.length) return [start - blankBefore[0].length + blankBefore[1]!.length, end];
  return [start, end];
}

/** The first position from `pos` that is not whitespace or a comment. */
export function skipSpaceAndComments(text: string, pos: number): number {
  for (;;) {
    const ch = text.charCodeAt(pos);
    if (ts.isWhiteSpaceLike(ch)) pos++;
    else if (ch === 47 /* / */ && text.charCodeAt(pos + 1) === 47) while (pos < text.length && !ts.isLineBreak(text.charCodeAt(pos))) pos++;
    else if (ch === 47 && text.charCodeAt(pos + 1) === 42 /* * */) {
      const close = text.indexOf('*/', pos + 2);
      if (close < 0) return text.length;
      pos = close + 2;
    } else return pos;
  }
}
