// Applies one file's edits to its original text: sorted, checked for overlap
// (an overlap fails the file instead of corrupting it), applied bottom-up so
// every byte outside the edited spans stays as it was.
import type { TextEdit } from '../types.js';

export interface EditConflict {
  first: TextEdit;
  second: TextEdit;
}

export type ApplyResult = { ok: true; text: string } | { ok: false; conflict: EditConflict };

function isInsertion(edit: TextEdit): boolean {
  return edit.start === edit.end;
}

/** Stable order: by start; at one position insertions precede replacements; otherwise input order. */
export function sortEdits<T extends TextEdit>(edits: T[]): T[] {
  return edits
    .map((edit, index) => ({ edit, index }))
    .sort((a, b) => a.edit.start - b.edit.start || Number(isInsertion(b.edit)) - Number(isInsertion(a.edit)) || a.index - b.index)
    .map(({ edit }) => edit);
}

export function applyEdits(original: string, edits: TextEdit[]): ApplyResult {
  const sorted = sortEdits(edits.filter((e) => !(e.start === e.end && e.text === '')));
  // Identical edits from two rules (the same import added twice) count once.
  const unique: TextEdit[] = [];
  for (const edit of sorted) {
    const previous = unique[unique.length - 1];
    if (previous && previous.start === edit.start && previous.end === edit.end && previous.text === edit.text && !isInsertion(edit)) continue;
    unique.push(edit);
  }
  for (let i = 1; i < unique.length; i++) {
    const previous = unique[i - 1]!;
    const current = unique[i]!;
    if (previous.end > current.start || (previous.start === current.start && !isInsertion(previous) && !isInsertion(current))) {
      return { ok: false, conflict: { first: previous, second: current } };
    }
  }
  let text = original;
  for (const edit of [...unique].reverse()) {
    text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  }
  return { ok: true, text };
}
