// Offsets in a text before and after a set of edits: report items stay in the
// coordinates of the file as the user had it, while the verification pass finds
// sites in the migrated text and markers are placed there.
import { sortEdits } from '../rewrite/apply.js';

export interface Replacement {
  start: number;
  end: number;
  text: string;
}

interface Span {
  start: number;
  end: number;
  newStart: number;
  newEnd: number;
}

export class OffsetMap {
  private readonly spans: Span[] = [];

  /** `edits` as `applyEdits` applies them (non-overlapping, in original offsets). */
  constructor(edits: readonly Replacement[]) {
    let delta = 0;
    let previous: Replacement | undefined;
    for (const edit of sortEdits(edits.filter((e) => !(e.start === e.end && e.text === '')).map((e) => ({ ...e, rule: '' })))) {
      // applyEdits applies identical replacements once.
      if (previous && previous.start === edit.start && previous.end === edit.end && previous.text === edit.text && edit.start !== edit.end) continue;
      previous = edit;
      const newStart = edit.start + delta;
      this.spans.push({ start: edit.start, end: edit.end, newStart, newEnd: newStart + edit.text.length });
      delta += edit.text.length - (edit.end - edit.start);
    }
  }

  /** Original offset → offset in the edited text (inside a replaced span: where its replacement starts). */
  forward(offset: number): number {
    let delta = 0;
    for (const span of this.spans) {
      if (offset < span.start) break;
      if (offset < span.end) return span.newStart;
      delta = span.newEnd - span.end;
    }
    return offset + delta;
  }

  /** Edited offset → original offset (inside inserted text: where the edit was made). */
  backward(offset: number): number {
    let delta = 0;
    for (const span of this.spans) {
      if (offset < span.newStart) break;
      if (offset < span.newEnd) return span.start;
      delta = span.newEnd - span.end;
    }
    return offset - delta;
  }
}

/** Start offsets of the lines of `text`. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}

/** 0-based line index of an offset. */
export function lineIndexAt(starts: readonly number[], offset: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return low;
}

/** Offset of a 1-based line and column (clamped to the text). */
export function offsetAt(starts: readonly number[], textLength: number, line: number, column: number): number {
  const start = starts[Math.min(Math.max(line, 1), starts.length) - 1]!;
  return Math.min(start + Math.max(column, 1) - 1, textLength);
}

/** 1-based line and column of an offset. */
export function positionAt(starts: readonly number[], offset: number): { line: number; column: number } {
  const index = lineIndexAt(starts, offset);
  return { line: index + 1, column: offset - starts[index]! + 1 };
}
