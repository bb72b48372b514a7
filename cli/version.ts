// The package's own name and version, read from the package.json above this module
// (dist/esm/cli/ when built, cli/ when run from source).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ToolInfo {
  name: string;
  version: string;
}

let cached: ToolInfo | undefined;

export function toolInfo(): ToolInfo {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'deferred-migrate' && typeof pkg.version === 'string') return (cached = { name: pkg.name, version: pkg.version });
    } catch {
      // not here (or dist/cjs's type-only package.json): keep walking up
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = { name: 'deferred-migrate', version: '0.0.0-unknown' });
    dir = parent;
  }
}
