// Cheap text tests that decide which files are parsed at all: the whole tree is
// never loaded into ts-morph, only candidates and their import neighbours.

// One regular expression per needle list: a single pass over the text instead of one
// `includes` per needle (the prefilter reads every file of the tree).
const compiled = new WeakMap<readonly string[], RegExp | null>();

function matcherFor(needles: readonly string[]): RegExp | null {
  let re = compiled.get(needles);
  if (re === undefined) {
    const kept = needles.filter((n) => n.length > 0);
    const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const last = kept[0]?.at(-1);
    if (kept.length > 1 && kept.every((n) => n.length > 1 && n.at(-1) === last)) {
      // Needles ending in one character (`express(`, `new Koa(`, ...): look for that character
      // after one of the needles' next-to-last characters first, and behind it for the rest;
      // the engine then skips text far faster than it tries every alternative at every
      // position. The same matches.
      const before = [...new Set(kept.map((n) => n.at(-2)!))].map((c) => c.replace(/[\\\]^-]/, '\\$&')).join('');
      re = new RegExp(`[${before}]${escape(last!)}(?<=(?:${kept.map((n) => escape(n.slice(0, -1))).join('|')})${escape(last!)})`);
    } else {
      re = kept.length > 0 ? new RegExp(kept.map(escape).join('|')) : null;
    }
    compiled.set(needles, re);
  }
  return re;
}

export function containsAny(text: string, needles: readonly string[]): boolean {
  const re = matcherFor(needles);
  return re !== null && re.test(text);
}

/**
 * Patterns that create a host app; looked for only when an app must be wrapped. The
 * last four are compiled CommonJS: `(0, express_1.default)()`, `new koa_1.default()`,
 * `new hono_1.Hono()`, `(0, http_1.createServer)(listener)`.
 */
export const HOST_APP_NEEDLES = ['express(', 'new Koa(', 'Fastify(', 'fastify(', 'new Hono(', 'createServer(', '.default)(', '.default(', '.Hono(', 'createServer)('];

// Relative specifiers after `from`, `require(`, `import(` or a bare `import` at the
// start of a line. Found quote first (a native search for a quote followed by a dot,
// which code rarely has), then the words before the quote are checked: the same
// matches as RELATIVE_SPECIFIER_REFERENCE (test/codemods/prefilter.test.ts holds the
// two to each other) at a fraction of the cost.
const QUOTE_DOTS = ["'.", '".', '`.'];
const WORD = /[A-Za-z0-9_]/;
const LINE_BREAK = /[\n\r\u2028\u2029]/;

function isWhitespace(ch: string): boolean {
  return /\s/.test(ch);
}

/** Whether `word` ends at `end` (exclusive) with a word boundary before it. */
function wordEndsAt(text: string, end: number, word: string): boolean {
  const start = end - word.length;
  if (start < 0 || !text.startsWith(word, start)) return false;
  return start === 0 || !WORD.test(text[start - 1]!);
}

function introducesSpecifier(text: string, quote: number): boolean {
  let i = quote;
  while (i > 0 && isWhitespace(text[i - 1]!)) i--;
  const spaced = i < quote;
  if (wordEndsAt(text, i, 'from')) return true;
  if (text[i - 1] === '(' && (wordEndsAt(text, i - 1, 'require') || wordEndsAt(text, i - 1, 'import'))) return true;
  if (!spaced || !text.startsWith('import', i - 6)) return false;
  // `^\s*import\s+`: only whitespace between a line start and `import`.
  let j = i - 6;
  const importStart = j;
  while (j > 0 && isWhitespace(text[j - 1]!)) j--;
  return j === 0 || LINE_BREAK.test(text.slice(j - 1, importStart));
}

function isQuote(code: number): boolean {
  return code === 39 /* ' */ || code === 34 /* " */ || code === 96 /* ` */;
}

/**
 * The end (after the closing quote) of a quoted relative specifier opening at `quote`
 * (`'./x'`, `"../x/y"`, `'.'`, `".."`; any quote may close it), or -1.
 */
function quotedRelativeEnd(text: string, quote: number): number {
  let i = quote + 2; // past the quote and the first dot
  if (text.charCodeAt(i) === 46 /* . */) i++;
  const next = text.charCodeAt(i);
  if (isQuote(next)) return i + 1;
  if (next !== 47 /* / */) return -1;
  for (i++; i < text.length; i++) if (isQuote(text.charCodeAt(i))) return i + 1;
  return -1;
}

/** The relative specifiers a module imports or requires, in text order. */
export function relativeSpecifiers(text: string): string[] {
  const openings: number[] = [];
  for (const quoteDot of QUOTE_DOTS) {
    for (let i = text.indexOf(quoteDot); i >= 0; i = text.indexOf(quoteDot, i + 2)) openings.push(i);
  }
  if (openings.length === 0) return [];
  openings.sort((a, b) => a - b);
  const found: string[] = [];
  // As a global regular expression would go: a match resumes the search after its end;
  // a failed candidate's closing quote may open the next one.
  let from = 0;
  for (const quote of openings) {
    if (quote < from) continue;
    const end = quotedRelativeEnd(text, quote);
    if (end < 0) continue;
    if (introducesSpecifier(text, quote)) {
      found.push(text.slice(quote + 1, end - 1));
      from = end;
    } else {
      from = end - 1;
    }
  }
  return found;
}

// Bare specifiers that may be aliases (`alias-config.ts`): a quote followed by the first
// character of a prefix is found by one small expression (a monorepo's hundreds of
// package names cost no more than a few), and only there are the prefixes compared.
interface AliasOpening {
  re: RegExp;
  /** The prefixes and their lengths; undefined when any bare specifier may be one (a `*` paths key). */
  prefixes: { set: Set<string>; lengths: number[] } | undefined;
}

// By list: a run passes the discovery's one list for every file.
const aliasOpenings = new WeakMap<readonly string[], AliasOpening>();

function aliasOpening(prefixes: readonly string[]): AliasOpening {
  let opening = aliasOpenings.get(prefixes);
  if (opening === undefined) {
    if (prefixes.includes('')) opening = { re: /['"`][^'"`.]/g, prefixes: undefined };
    else {
      const firsts = [...new Set(prefixes.map((p) => p[0]!))].map((c) => c.replace(/[\\\]^-]/, '\\$&')).join('');
      const lengths = [...new Set(prefixes.map((p) => p.length))];
      opening = { re: new RegExp(`['"\`][${firsts}]`, 'g'), prefixes: { set: new Set(prefixes), lengths } };
    }
    aliasOpenings.set(prefixes, opening);
  }
  return opening;
}

/** The bare specifiers beginning with one of `prefixes` that a module imports or requires, in text order. */
export function aliasSpecifiers(text: string, prefixes: readonly string[]): string[] {
  const { re, prefixes: known } = aliasOpening(prefixes);
  const found: string[] = [];
  re.lastIndex = 0;
  for (let match = re.exec(text); match !== null; match = re.exec(text)) {
    const quote = match.index;
    const open = text[quote]!;
    let end = quote + 1;
    while (end < text.length && text[end] !== open && text[end] !== '\n') end++;
    if (text[end] !== open) continue;
    const specifier = text.slice(quote + 1, end);
    // One set lookup per distinct prefix length, however many prefixes there are.
    if (known !== undefined && !known.lengths.some((length) => length <= specifier.length && known.set.has(specifier.slice(0, length)))) continue;
    if (!introducesSpecifier(text, quote)) continue;
    found.push(specifier);
    re.lastIndex = end + 1;
  }
  return found;
}

// Bare specifiers after `from`, `require(` or `import(`, and requires or imports of a
// computed path: what the run may not resolve to a file (a bundler's alias, a package
// that is not installed), so a module reached that way has callers the import graph
// does not show (a template literal with a substitution, or a string joined with `+`
// as in `require('./jobs/' + name)`, is a computed path). One expression
// over the text (about 60 ms on the deep bench's 140 MB).
const BARE_OR_COMPUTED = /\bfrom\s*(['"])([^'"./\s,;()[\]][^'"\s,;()[\]]*)\1|\b(?:require|import)\s*\(\s*(?:(['"`])([^'"`./\s,;()[\]][^'"`\s,;()[\]]*)\3(?!\s*\+)|(`[^`]*\$\{|[^'"`\s)]|(['"`])[^'"`\\\r\n]*\6\s*\+))/g;

// A module load the import graph does not read (it follows `require(`, `import(` and
// `from` only): `createRequire(url)`'s function, `module.require(...)`, `require` passed
// on or aliased (`const r = require`, `require.call(null, './m')`), a test runner's
// `requireActual`/`importActual`, Node's internal `Module._load(...)` (also read as
// `Module['_load']`, a function under another name then). The substring test
// keeps the expression off most texts.
const UNSEEN_LOAD = /\bcreateRequire\b|\.\s*(?:require|requireActual|importActual|_load)\s*\(|\[\s*(['"`])(?:require|_load)\1\s*\]|(?<!\.\s*)\brequire\b(?!\s*\()(?:\s*\.\s*(?:call|apply|bind)\b|\s*[;,)\]}]|[ \t]*(?:\r?\n|$)(?!\s*[(.]))/;

/** Whether the text may load a module in a way the import graph does not follow (see UNSEEN_LOAD). */
export function mayLoadUnseen(text: string): boolean {
  return LOAD_WORDS.test(text) && UNSEEN_LOAD.test(text);
}

// CommonJS's module registry, whose records hold loaded modules' exports: `require.cache`
// (`Module._cache`), `module.children` (also of `require.main`, `process.mainModule`, `module.parent`),
// also read by a quoted key or destructured (`const { cache } = require`).
const MODULE_REGISTRY = /\brequire\s*(?:\.\s*cache\b|\[\s*(['"`])cache\1)|\.\s*_cache\b|\[\s*(['"`])_cache\2|\b(?:module|main|mainModule|parent)\s*(?:\.\s*children\b|\[\s*(['"`])children\3)|\{[^{}]*\b(?:cache|_cache|children)\b[^{}]*\}\s*=\s*(?:require|module|Module)\b(?!\s*[(.[])/;

/** npm packages that load every module of a directory (`pattern-loads.ts`). */
export const DIRECTORY_LOADERS: ReadonlySet<string> = new Set(['require-all', 'require-directory', 'require-dir', 'bulk-require', 'import-modules', '@fastify/autoload', 'fastify-autoload']);

// Bundlers' loads of every module a pattern or directory names (`pattern-loads.ts`).
const PATTERN_LOAD = /\bimport\s*\.\s*meta\s*\.\s*(?:glob|globEager|webpackContext)\b|\brequire\s*\.\s*context\s*\(/;

/** Whether the text may load modules by a pattern (see PATTERN_LOAD). */
export function mayLoadByPattern(text: string): boolean {
  return LOAD_WORDS.test(text) && PATTERN_LOAD.test(text);
}

/** Whether the text may read CommonJS's module registry (see MODULE_REGISTRY): a module reached that way is named by no specifier. */
export function mayReadModuleRegistry(text: string): boolean {
  return LOAD_WORDS.test(text) && MODULE_REGISTRY.test(text);
}

// A word every match of UNSEEN_LOAD, MODULE_REGISTRY and PATTERN_LOAD spells: one pass over
// a text that has none (most of a tree) instead of a search per word or expression
// (about 35 ms on the deep bench's 82 MB of sources, where the separate tests took 220).
const LOAD_WORDS = /equire|odule|meta|children|_load|_cache|Actual/;

/** What the text may load that no specifier names, with the three tests above; none when it spells no LOAD_WORDS. */
export function unnamedLoads(text: string): { unseen: boolean; registry: boolean; pattern: boolean } {
  if (!LOAD_WORDS.test(text)) return { unseen: false, registry: false, pattern: false };
  return { unseen: UNSEEN_LOAD.test(text), registry: MODULE_REGISTRY.test(text), pattern: PATTERN_LOAD.test(text) };
}

/** The distinct bare specifiers a module imports or requires, and whether it requires or imports a computed path. */
export function bareSpecifiers(text: string): { specifiers: string[]; computed: boolean } {
  const specifiers = new Set<string>();
  let computed = false;
  BARE_OR_COMPUTED.lastIndex = 0;
  for (let match = BARE_OR_COMPUTED.exec(text); match !== null; match = BARE_OR_COMPUTED.exec(text)) {
    const specifier = match[2] ?? match[4];
    if (specifier !== undefined) specifiers.add(specifier);
    else computed = true;
  }
  return { specifiers: [...specifiers], computed };
}

/** A regular expression matching `name` as a whole identifier (not part of a longer one). */
export function identifierPattern(name: string, flags?: string): RegExp {
  return new RegExp(`(?<![\\w$])${name.replace(/\$/g, '\\$')}(?![\\w$])`, flags);
}
