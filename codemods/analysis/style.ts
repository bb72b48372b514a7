// The file's own conventions (quotes, semicolons, indentation, newline), so that
// generated code reads like the code around it.
import { ts, type SourceFile } from 'ts-morph';

const SEMI_STATEMENTS = new Set([ts.SyntaxKind.ImportDeclaration, ts.SyntaxKind.VariableStatement, ts.SyntaxKind.ExpressionStatement, ts.SyntaxKind.ExportDeclaration]);

export interface CodeStyle {
  quote: "'" | '"';
  semi: boolean;
  indent: string;
  newline: '\n' | '\r\n';
}

/** `text.slice(start, end).trimEnd().endsWith(';')`, without the copy. */
function endsWithSemicolon(text: string, start: number, end: number): boolean {
  let last = end - 1;
  while (last >= start && /\s/.test(text[last]!)) last--;
  return last >= start && text.charCodeAt(last) === 59;
}

export function detectStyle(text: string, sourceFile?: SourceFile): CodeStyle {
  const newline = text.includes('\r\n') ? '\r\n' : '\n';
  const single = (text.match(/(?:from\s+|require\(\s*|import\(\s*)'/g) ?? []).length;
  const double = (text.match(/(?:from\s+|require\(\s*|import\(\s*)"/g) ?? []).length;
  let quote: CodeStyle['quote'] = "'";
  if (double > single) quote = '"';
  else if (single === 0 && double === 0) {
    const s = (text.match(/'/g) ?? []).length;
    const d = (text.match(/"/g) ?? []).length;
    if (d > s) quote = '"';
  }
  let withSemi = 0;
  let withoutSemi = 0;
  if (sourceFile) {
    // On the compiler's statements: runs for every loaded file, wrapping them all was measurable.
    const sf = sourceFile.compilerNode;
    for (const statement of sf.statements) {
      if (SEMI_STATEMENTS.has(statement.kind)) {
        if (endsWithSemicolon(sf.text, statement.getStart(sf), statement.end)) withSemi++;
        else withoutSemi++;
      }
    }
  }
  const semi = withSemi >= withoutSemi;
  let indent = '  ';
  let smallest = Infinity;
  // Line by line (lines end at \n or \r\n), without splitting the text: the indentation
  // at each line start, when something other than whitespace follows it.
  const indentation = /([ \t]+)\S/y;
  for (let lineStart = 0; ; ) {
    indentation.lastIndex = lineStart;
    const match = indentation.exec(text);
    if (match) {
      const lead = match[1]!;
      if (lead.startsWith('\t')) {
        indent = '\t';
        smallest = 0;
        break;
      }
      if (lead.length >= 2 && lead.length < smallest) smallest = lead.length;
    }
    const next = text.indexOf('\n', lineStart);
    if (next < 0) break;
    lineStart = next + 1;
  }
  if (indent !== '\t' && Number.isFinite(smallest)) indent = ' '.repeat(Math.min(smallest, 8));
  return { quote, semi, indent, newline };
}

export function quoted(style: CodeStyle, value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').split(style.quote).join('\\' + style.quote);
  return style.quote + escaped + style.quote;
}

export function semi(style: CodeStyle): string {
  return style.semi ? ';' : '';
}
