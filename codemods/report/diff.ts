// Unified diffs of the files a run changes, git-style headers, optional colour.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { painter } from './color.js';

export interface DiffOptions {
  color?: boolean;
  /** Lines of context around each change. */
  context?: number;
}

/** Unified diff of one file (`file` relative, POSIX). Empty string when the texts are equal. */
export function fileDiff(file: string, original: string, updated: string, options: DiffOptions = {}): string {
  if (original === updated) return '';
  const patch = createTwoFilesPatch(`a/${file}`, `b/${file}`, original, updated, undefined, undefined, {
    context: options.context ?? 3,
    headerOptions: FILE_HEADERS_ONLY,
  });
  return options.color ? colorizePatch(patch) : patch;
}

function colorizePatch(patch: string): string {
  const paint = painter(true);
  return patch
    .split('\n')
    .map((line) => {
      if (line.startsWith('--- ') || line.startsWith('+++ ')) return paint('bold', line);
      if (line.startsWith('@@')) return paint('cyan', line);
      if (line.startsWith('+')) return paint('green', line);
      if (line.startsWith('-')) return paint('red', line);
      if (line.startsWith('\\')) return paint('dim', line);
      return line;
    })
    .join('\n');
}
