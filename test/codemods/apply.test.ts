import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEdits } from '../../codemods/rewrite/apply.js';
import { collapseBlankLines, listRemovalSpans } from '../../codemods/rewrite/text.js';
import type { TextEdit } from '../../codemods/types.js';
import { Project, SyntaxKind } from 'ts-morph';

const edit = (start: number, end: number, text: string, rule = 'r'): TextEdit => ({ start, end, text, rule });

describe('applyEdits', () => {
  it('applies edits bottom-up on the original offsets', () => {
    const result = applyEdits('abcdef', [edit(0, 1, 'X'), edit(4, 6, 'YZW'), edit(2, 2, '+')]);
    expect(result).toEqual({ ok: true, text: 'Xb+cdYZW' });
  });

  it('puts insertions at one position in rule order, before a replacement starting there', () => {
    const result = applyEdits('0123', [edit(1, 3, 'R', 'b'), edit(1, 1, 'A', 'a'), edit(1, 1, 'B', 'c'), edit(3, 3, 'E')]);
    expect(result).toEqual({ ok: true, text: '0ABRE3' });
  });

  it('refuses overlapping edits instead of corrupting the text', () => {
    const result = applyEdits('0123456789', [edit(2, 6, 'x', 'first'), edit(5, 8, 'y', 'second')]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect([result.conflict.first.rule, result.conflict.second.rule]).toEqual(['first', 'second']);
    expect(applyEdits('0123', [edit(1, 3, 'a'), edit(1, 2, 'b')]).ok).toBe(false);
  });

  it('keeps every byte outside the edited spans (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60 }), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ maxLength: 4 })), { maxLength: 6 }), (text, raw) => {
        // Disjoint edits: sort by start and drop overlapping ones.
        const edits: TextEdit[] = [];
        let lastEnd = 0;
        for (const [s, len, t] of raw.map(([s, l, t]) => [s % (text.length + 1), l, t] as const).sort((a, b) => a[0] - b[0])) {
          const end = Math.min(s + len, text.length);
          if (s < lastEnd || (len > 0 && end === s)) continue;
          edits.push(edit(s, end, t));
          lastEnd = end;
        }
        const result = applyEdits(text, edits);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        // Rebuild independently: untouched segments in order, replacements between them.
        let expected = '';
        let cursor = 0;
        for (const e of edits) {
          expected += text.slice(cursor, e.start) + e.text;
          cursor = e.end;
        }
        expected += text.slice(cursor);
        expect(result.text).toBe(expected);
      }),
    );
  });
});

describe('text spans', () => {
  it('removes list elements with their separators', () => {
    const project = new Project({ useInMemoryFileSystem: true });
    const sf = project.createSourceFile('a.ts', 'const x = [\n  a,\n  b,\n  c,\n];\n');
    const elements = sf.getVariableDeclarationOrThrow('x').getInitializerIfKindOrThrow(SyntaxKind.ArrayLiteralExpression).getElements();
    const apply = (removed: number[]): string => {
      const edits = listRemovalSpans(elements, new Set(removed)).map(([s, e]) => edit(s, e, ''));
      const result = applyEdits(sf.getFullText(), edits);
      return result.ok ? result.text : 'conflict';
    };
    expect(apply([0])).toBe('const x = [\n  b,\n  c,\n];\n');
    expect(apply([1])).toBe('const x = [\n  a,\n  c,\n];\n');
    expect(apply([2])).toBe('const x = [\n  a,\n  b,\n];\n');
    expect(apply([1, 2])).toBe('const x = [\n  a,\n];\n');
    expect(listRemovalSpans(elements, new Set([0, 1, 2]))).toEqual([]);
  });

  it('collapses the blank lines around a removed block', () => {
    const text = 'a\n\nREMOVED\n\nb\n';
    const start = text.indexOf('REMOVED');
    expect(collapseBlankLines(text, [start, start + 'REMOVED\n'.length])).toEqual([start, start + 'REMOVED\n\n'.length]);
    const tail = 'a\n\nREMOVED\n';
    expect(collapseBlankLines(tail, [3, tail.length])).toEqual([2, tail.length]);
  });
});
