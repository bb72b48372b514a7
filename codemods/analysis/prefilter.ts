// Cheap text tests that decide which files are parsed at all: the whole tree is
// never loaded into ts-morph, only candidates and their import neighbours.
export function containsAny(text: string, needles: readonly string[]): boolean {
  return needles.some((needle) => needle.length > 0 && text.includes(needle));
}

/** Patterns that create a host app; looked for only when an app must be wrapped. */
export const HOST_APP_NEEDLES = ['express(', 'new Koa(', 'Fastify(', 'fastify(', 'new Hono(', 'createServer('];
