// Cheap text tests that decide which files are parsed at all: the whole tree is
// never loaded into ts-morph, only candidates and their import neighbours.
import * as path from 'node:path';

export function containsAny(text: string, needles: readonly string[]): boolean {
  return needles.some((needle) => needle.length > 0 && text.includes(needle));
}

/** Patterns that create a host app; looked for only when an app must be wrapped. */
export const HOST_APP_NEEDLES = ['express(', 'new Koa(', 'Fastify(', 'fastify(', 'new Hono(', 'createServer('];

/**
 * Strings an importer of `absPath` would contain in its module specifier: the
 * file's base name without extension, or its directory name for an index file.
 */
export function importNeedlesFor(absPath: string): string[] {
  const ext = path.extname(absPath);
  const base = path.basename(absPath, ext);
  const needles = [`/${base}'`, `/${base}"`, `/${base}.`, `/${base}\``];
  if (base === 'index') {
    const dir = path.basename(path.dirname(absPath));
    needles.push(`/${dir}'`, `/${dir}"`, `/${dir}\``, `/${dir}/`);
  }
  return needles;
}
