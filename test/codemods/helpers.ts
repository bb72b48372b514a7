// Temporary project trees for codemod tests.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export interface TempTree {
  root: string;
  path(rel: string): string;
  cleanup(): void;
}

export function makeTree(files: Record<string, string>): TempTree {
  const root = mkdtempSync(path.join(tmpdir(), 'dm-codemod-'));
  for (const [rel, text] of Object.entries(files)) {
    const abs = path.join(root, rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  }
  return { root, path: (rel) => path.join(root, rel), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
