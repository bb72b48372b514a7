// App Engine app configs: finds `builtins: - deferred: on` and the `handlers:`
// entry for /_ah/queue/deferred, as line ranges of the original text (the yaml
// Document API locates them), so removing them leaves every other byte alone.
// A removal is kept only when App Engine reads the rest of the file as before
// (checked by parsing the result) and task requests still reach the app with
// what lets the queue in (checked against the handlers that would answer the URL).
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Pair, type YAMLMap } from 'yaml';
import { YAML_TEMPLATE, type DiscoveredFile } from './discover.js';
import type { ProjectIndex } from './project.js';
import { BUILTIN_URL } from './route-tables.js';

export interface YamlRemoval {
  start: number;
  end: number;
  line: number;
  column: number;
  what: 'builtin' | 'handler';
}

export interface AppYamlFile {
  absPath: string;
  rel: string;
  text: string;
  /** Has App Engine app keys (runtime, builtins or handlers at the top level). */
  isAppConfig: boolean;
  /** Uses the built-in deferred endpoint (`builtins: - deferred: on`). */
  usesBuiltin: boolean;
  removals: YamlRemoval[];
  /** Handlers entries for /_ah/queue/deferred kept, with why removing them would change where task requests go. */
  kept: Array<{ line: number; column: number; reason: string }>;
  /**
   * What a human must finish (rule `app-yaml`, code `app-yaml-manual`): the removals could
   * not be written without changing what App Engine reads (`removals` is then empty), or
   * once the builtin is gone task requests reach a handler the queue cannot pass.
   */
  manual: Array<{ line: number; column: number; reason: string }>;
  /** An app config in a directory above the run's paths (App Engine deploys it with them): reported, never edited. */
  outsideRun?: boolean;
  parseError?: { line: number; column: number; message: string };
}

/** appinfo.py's ON and ON_ALIASES (`yes`, `y`, `True`, `t`, `1`, `true`), compared in lower case. */
const ON_VALUES = new Set(['on', 'true', 'yes', 'y', 't', '1']);

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

function lineEnd(text: string, offset: number): number {
  // `offset` is the end of a node: the removal runs to the end of that node's last line.
  const from = offset > 0 && text[offset - 1] === '\n' ? offset - 1 : offset;
  const newline = text.indexOf('\n', from);
  return newline === -1 ? text.length : newline + 1;
}

function scalarValue(node: unknown): string | undefined {
  if (isScalar(node)) return String(node.value).toLowerCase();
  return undefined;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((item) => isPair(item) && scalarValue(item.key) === key) as Pair | undefined;
}

export function analyzeAppYaml(absPath: string, rel: string, text: string): AppYamlFile {
  const result: AppYamlFile = { absPath, rel, text, isAppConfig: false, usesBuiltin: false, removals: [], kept: [], manual: [] };
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, keepSourceTokens: false });
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    const position = lineCounter.linePos(error.pos[0]);
    result.parseError = { line: position.line, column: position.col, message: error.message };
    return result;
  }
  const contents = document.contents;
  if (!isMap(contents)) return result;
  result.isAppConfig = ['runtime', 'builtins', 'handlers'].some((key) => pairOf(contents, key));
  if (!result.isAppConfig) return result;
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const builtins = pairOf(contents, 'builtins');
  if (builtins && isSeq(builtins.value)) {
    const sequence = builtins.value;
    const deferredItems = sequence.items.filter((item) => {
      if (!isMap(item)) return false;
      const pair = pairOf(item, 'deferred');
      return !!pair && ON_VALUES.has(scalarValue(pair.value) ?? '');
    });
    if (deferredItems.length > 0) {
      result.usesBuiltin = true;
      const keyNode = builtins.key as { range?: [number, number, number] };
      if (deferredItems.length === sequence.items.length && keyNode.range && sequence.range) {
        const start = lineStart(text, keyNode.range[0]);
        result.removals.push({ start, end: lineEnd(text, sequence.range[1]), ...position(keyNode.range[0]), what: 'builtin' });
      } else {
        for (const item of deferredItems) {
          const range = (item as { range?: [number, number, number] }).range;
          if (!range) continue;
          result.removals.push({ start: lineStart(text, range[0]), end: lineEnd(text, range[1]), ...position(range[0]), what: 'builtin' });
        }
      }
    }
  }

  const handlers = pairOf(contents, 'handlers');
  const entries = handlers && isSeq(handlers.value) ? handlers.value.items : [];
  // A file without `runtime` is included by another: that file's handlers follow its own. The
  // handlers of `includes:` come first (appinfo.py MergeAppYamlAppInclude puts them at the head,
  // after the builtins' own): they answer the URL before and after a removal of this file's entry
  // alike, but not once the builtin's handler, ahead of them, is gone.
  const isInclude = !pairOf(contents, 'runtime');
  const othersUnknown = isInclude;
  let builtinEntries = entries.filter((item) => isMap(item) && scalarValue(pairOf(item, 'url')?.value) === BUILTIN_URL);
  if (builtinEntries.length > 0) {
    const problem = removalProblem(entries, builtinEntries, othersUnknown);
    if (problem) {
      for (const item of builtinEntries) result.kept.push({ ...position(rangeOf(item)?.[0] ?? 0), reason: `if it were removed, ${problem}` });
      builtinEntries = [];
    }
  }
  if (handlers && isSeq(handlers.value) && builtinEntries.length > 0) {
    const sequence = handlers.value;
    const keyNode = handlers.key as { range?: [number, number, number] };
    if (builtinEntries.length === sequence.items.length && keyNode.range && sequence.range) {
      result.removals.push({ start: lineStart(text, keyNode.range[0]), end: lineEnd(text, sequence.range[1]), ...position(keyNode.range[0]), what: 'handler' });
    } else {
      for (const item of builtinEntries) {
        const range = rangeOf(item);
        if (!range) continue;
        result.removals.push({ start: lineStart(text, range[0]), end: lineEnd(text, range[1]), ...position(range[0]), what: 'handler' });
      }
    }
  }
  if (result.usesBuiltin && builtins) {
    // The builtin's own handler (login: admin) answered the URL ahead of every handler of the
    // file; without it the first remaining handler that matches answers task requests.
    const remaining = entries.filter((item) => !builtinEntries.includes(item));
    const problem = reachProblem(remaining, isInclude || !!pairOf(contents, 'includes'));
    if (problem) {
      // The builtin stays until a human gives the URL a handler of its own (reported).
      result.manual.push({ ...position((builtins.key as { range?: [number, number, number] }).range?.[0] ?? 0), reason: problem });
      result.removals = result.removals.filter((removal) => removal.what !== 'builtin');
    }
  }
  for (const removal of result.removals) removal.end = withoutTrailingComments(text, removal);
  let unsafe = result.removals.length > 0 ? unsafeRemoval(text, document, result.removals, builtinEntries.length > 0) : undefined;
  if (unsafe && builtinEntries.length > 0) {
    // A handlers entry that stays routes task requests to the app as it should: keep it, and
    // try the builtin alone.
    for (const item of builtinEntries) result.kept.push({ ...position(rangeOf(item)?.[0] ?? 0), reason: unsafe.replace(/; it was left as it is:.*$/, '') });
    result.removals = result.removals.filter((removal) => removal.what === 'builtin');
    if (result.removals.length > 0 && builtins) {
      const problem = reachProblem(entries, isInclude || !!pairOf(contents, 'includes'));
      if (problem) {
        result.manual = [{ ...position((builtins.key as { range?: [number, number, number] }).range?.[0] ?? 0), reason: problem }];
        result.removals = [];
      }
    }
    unsafe = result.removals.length > 0 ? unsafeRemoval(text, document, result.removals, false) : undefined;
  }
  if (unsafe) {
    // Nothing is removed: the builtin's handler still answers, so only this is left to do.
    const first = result.removals[0]!;
    result.manual = [{ line: first.line, column: first.column, reason: unsafe }];
    result.removals = [];
  }
  return result;
}

function rangeOf(node: unknown): [number, number, number] | undefined {
  return (node as { range?: [number, number, number] }).range;
}

/** Where `url` lands among `entries` (App Engine's order: the first that matches), or 'unknown' for a pattern JavaScript cannot read. */
function firstMatch(entries: unknown[], url: string): unknown | 'unknown' | undefined {
  for (const item of entries) {
    if (!isMap(item)) continue;
    const pattern = pairOf(item, 'url')?.value;
    if (!isScalar(pattern)) return 'unknown';
    const text = String(pattern.value);
    if (pairOf(item, 'static_dir')) {
      // A static_dir handler serves everything under its url prefix.
      if (url === text || url.startsWith(text.endsWith('/') ? text : `${text}/`)) return item;
      continue;
    }
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${text})$`);
    } catch {
      return 'unknown';
    }
    if (regex.test(url)) return item;
  }
  return undefined;
}

/**
 * Why task requests would no longer reach the app once `/_ah/queue/deferred` is answered by
 * the handlers in `remaining`: a handler that serves files or redirects, one with
 * `login: required` (Cloud Tasks and App Engine's queue send no user: the request is
 * redirected to a login page), a pattern that cannot be read, or handlers not in this file.
 */
function reachProblem(remaining: unknown[], othersUnknown: boolean): string | undefined {
  const match = firstMatch(remaining, BUILTIN_URL);
  if (match === 'unknown') return 'where task requests go is not known (a handler `url` pattern could not be read)';
  if (match === undefined) return othersUnknown ? 'where task requests go would depend on handlers in other files (`includes:`, or the app config including this file), which were not checked' : undefined;
  const url = scalarValue(pairOf(match as YAMLMap, 'url')?.value) ?? '?';
  if (!pairOf(match as YAMLMap, 'script')) return `task requests to ${BUILTIN_URL} would reach the handler for \`${url}\`, which does not run the app (static files or a redirect)`;
  if (scalarValue(pairOf(match as YAMLMap, 'login')?.value) === 'required') {
    return `task requests to ${BUILTIN_URL} would reach the handler for \`${url}\` with \`login: required\`, which the queue cannot pass (its requests carry no user)`;
  }
  return undefined;
}

/** Why removing the handlers entries `removed` would change where task requests go, or undefined. */
function removalProblem(entries: unknown[], removed: unknown[], othersUnknown: boolean): string | undefined {
  const before = firstMatch(entries, BUILTIN_URL);
  // An earlier handler already answered the URL: the entry never did.
  if (before !== 'unknown' && before !== undefined && !removed.includes(before)) return undefined;
  return reachProblem(entries.filter((item) => !removed.includes(item)), othersUnknown);
}

/**
 * The end of a removal without the blank lines and the comments at or left of its own
 * column that close it: yaml counts them into the range of a collection's last node, but
 * they belong to what follows (`# Handlers` above `handlers:`).
 */
function withoutTrailingComments(text: string, removal: YamlRemoval): number {
  let end = removal.end;
  for (;;) {
    const body = end > removal.start && text[end - 1] === '\n' ? end - 1 : end;
    const start = text.lastIndexOf('\n', body - 1) + 1;
    if (start <= removal.start) return end;
    const line = text.slice(start, body).replace(/\r$/, '');
    const comment = /^([ \t]*)#/.exec(line);
    if (!/^[ \t]*$/.test(line) && !(comment && comment[1]!.length <= removal.column - 1)) return end;
    end = start;
  }
}

/**
 * Why the text without `removals` is not the same configuration less the removed items
 * (a flow collection on one line, an anchor aliased elsewhere, a node sharing a line), or
 * a file left empty (App Engine refuses an empty include), or undefined when it is.
 */
function unsafeRemoval(text: string, original: Document.Parsed, removals: YamlRemoval[], handlersRemoved: boolean): string | undefined {
  let after = text;
  for (const removal of [...removals].sort((a, b) => b.start - a.start)) after = after.slice(0, removal.start) + after.slice(removal.end);
  const document = parseDocument(after);
  const manualStep = 'it was left as it is: remove the deferred builtin and the /_ah/queue/deferred handler by hand';
  const broken = (why: string) => `removing these lines would leave YAML that does not load (${why.split('\n')[0]}); ${manualStep}`;
  if (document.errors.length > 0) return broken(document.errors[0]!.message);
  let value: unknown;
  let before: unknown;
  try {
    before = original.toJS();
    value = document.toJS();
  } catch (error) {
    // An alias whose anchor went with the removed lines.
    return broken(error instanceof Error ? error.message : String(error));
  }
  if (value === null || value === undefined || (typeof value === 'object' && Object.keys(value).length === 0)) {
    return `removing these lines would leave the file empty, which App Engine refuses (an \`includes:\` entry naming it fails to deploy); ${manualStep}, with the \`includes:\` entry naming this file`;
  }
  if (!isDeepStrictEqual(value, expectedAfter(before, handlersRemoved))) return `removing these lines would also change other settings (a flow collection, an anchor, keys sharing a line); ${manualStep}`;
  return undefined;
}

function isDeferredUrl(item: unknown): boolean {
  return !!item && typeof item === 'object' && String((item as Record<string, unknown>).url).toLowerCase() === BUILTIN_URL;
}

/** The configuration less the deferred builtin and the handlers for /_ah/queue/deferred that are removed. */
function expectedAfter(before: unknown, handlersRemoved: boolean): unknown {
  if (!before || typeof before !== 'object' || Array.isArray(before)) return before;
  const copy: Record<string, unknown> = { ...(before as Record<string, unknown>) };
  const strip = (key: string, drop: (item: unknown) => boolean) => {
    const list = copy[key];
    if (!Array.isArray(list)) return;
    const rest = list.filter((item) => !drop(item));
    if (rest.length === 0) delete copy[key];
    else copy[key] = rest;
  };
  strip('builtins', (item) => !!item && typeof item === 'object' && Object.entries(item as Record<string, unknown>).some(([k, v]) => k.toLowerCase() === 'deferred' && ON_VALUES.has(String(v).toLowerCase())));
  if (handlersRemoved) strip('handlers', isDeferredUrl);
  return copy;
}

const APP_CONFIG_NEEDLE = /^(runtime|builtins|handlers)\s*:/m;
const DEFERRED_NEEDLE = /\/_ah\/queue\/deferred|^\s*-?\s*["']?deferred["']?\s*:/m;

export function analyzeAppYamls(files: DiscoveredFile[], index: ProjectIndex, paths: readonly string[] = [], root?: string, ignored: readonly string[] = []): AppYamlFile[] {
  const result: AppYamlFile[] = [];
  for (const file of files) {
    const text = index.text(file.absPath);
    if (text === undefined) continue;
    if (!APP_CONFIG_NEEDLE.test(text)) continue;
    const analyzed = analyzeAppYaml(file.absPath, file.rel, text);
    if (analyzed.parseError && YAML_TEMPLATE.test(file.absPath)) {
      // Template syntax ({% if %}, <%= %>) need not be YAML: only one that uses the endpoint is said.
      if (!DEFERRED_NEEDLE.test(text)) continue;
      const { line, column, message } = analyzed.parseError;
      delete analyzed.parseError;
      analyzed.usesBuiltin = /^\s*-?\s*["']?deferred["']?\s*:/m.test(text);
      analyzed.manual.push({ line, column, reason: `this template of an app config does not read as YAML (${message.split('\n')[0]}), so its deferred builtin or /_ah/queue/deferred handler was left as it is: remove it by hand, as docs/manual-steps.md#app-yaml says` });
    }
    result.push(analyzed);
  }
  if (root !== undefined) {
    const walked = new Set(files.map((f) => f.absPath));
    const outside = outsideFiles(paths, root, walked).map((absPath) => ({ absPath, why: "is outside the run's paths (App Engine deploys it with them)" }));
    const notInRepository = ignored.filter((absPath) => !walked.has(absPath)).map((absPath) => ({ absPath, why: 'is git-ignored (App Engine deploys it from the working copy all the same)' }));
    result.push(...reportedOnly([...outside, ...notInRepository], root));
  }
  return result;
}

/** The `*.yaml`/`*.yml` files of the directories from the root down to each run path's parent, which the walk does not reach (a run on `src/` beside `app.yaml`). */
function outsideFiles(paths: readonly string[], root: string, walked: ReadonlySet<string>): string[] {
  const result: string[] = [];
  const rootDir = path.resolve(root);
  const seen = new Set<string>();
  for (const given of paths) {
    for (let dir = path.dirname(path.resolve(given)); ; dir = path.dirname(dir)) {
      if (path.relative(rootDir, dir).startsWith('..') || seen.has(dir)) break;
      seen.add(dir);
      try {
        for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
          const absPath = path.join(dir, name);
          if (!walked.has(absPath)) result.push(absPath);
        }
      } catch {
        // An unreadable directory above the run: nothing to say about it.
      }
      if (dir === rootDir || path.dirname(dir) === dir) break;
    }
  }
  return result;
}

/**
 * App configs the run does not edit but App Engine deploys with its code (above the run's
 * paths, git-ignored): a deferred builtin or handlers entry there is reported
 * (`app-yaml-manual`) and left as it is.
 */
function reportedOnly(files: ReadonlyArray<{ absPath: string; why: string }>, root: string): AppYamlFile[] {
  const result: AppYamlFile[] = [];
  for (const { absPath, why } of files) {
    let text: string;
    try {
      text = readFileSync(absPath, 'utf8');
    } catch {
      continue;
    }
    if (!APP_CONFIG_NEEDLE.test(text)) continue;
    const analyzed = analyzeAppYaml(absPath, path.relative(path.resolve(root), absPath).split(path.sep).join('/'), text);
    if (analyzed.parseError || (!analyzed.usesBuiltin && analyzed.removals.length === 0 && analyzed.kept.length === 0)) continue;
    const first = analyzed.removals[0] ?? analyzed.manual[0] ?? analyzed.kept[0]!;
    const what = analyzed.usesBuiltin ? 'the deferred builtin' : 'a handlers entry for /_ah/queue/deferred';
    result.push({
      ...analyzed,
      outsideRun: true,
      removals: [],
      kept: [],
      manual: [
        {
          line: first.line,
          column: first.column,
          reason: `this app config ${why}, so ${what} was left as it is: run the codemod on it too, or remove it by hand (docs/manual-steps.md#app-yaml)`,
        },
      ],
    });
  }
  return result;
}
