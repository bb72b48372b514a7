// App Engine app configs: finds `builtins: - deferred: on` and the `handlers:`
// entry for /_ah/queue/deferred, as line ranges of the original text (the yaml
// Document API locates them), so removing them leaves every other byte alone.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Pair, type YAMLMap } from 'yaml';
import type { DiscoveredFile } from './discover.js';
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
  parseError?: { line: number; column: number; message: string };
}

const ON_VALUES = new Set(['on', 'true', 'yes']);

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
  const result: AppYamlFile = { absPath, rel, text, isAppConfig: false, usesBuiltin: false, removals: [] };
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
  if (handlers && isSeq(handlers.value)) {
    const sequence = handlers.value;
    const builtinEntries = sequence.items.filter((item) => isMap(item) && scalarValue(pairOf(item, 'url')?.value) === BUILTIN_URL);
    const keyNode = handlers.key as { range?: [number, number, number] };
    if (builtinEntries.length > 0 && builtinEntries.length === sequence.items.length && keyNode.range && sequence.range) {
      result.removals.push({ start: lineStart(text, keyNode.range[0]), end: lineEnd(text, sequence.range[1]), ...position(keyNode.range[0]), what: 'handler' });
    } else {
      for (const item of builtinEntries) {
        const range = (item as { range?: [number, number, number] }).range;
        if (!range) continue;
        result.removals.push({ start: lineStart(text, range[0]), end: lineEnd(text, range[1]), ...position(range[0]), what: 'handler' });
      }
    }
  }
  return result;
}

export function analyzeAppYamls(files: DiscoveredFile[], index: ProjectIndex): AppYamlFile[] {
  const result: AppYamlFile[] = [];
  for (const file of files) {
    const text = index.text(file.absPath);
    if (text === undefined) continue;
    if (!/^(runtime|builtins|handlers)\s*:/m.test(text)) continue;
    result.push(analyzeAppYaml(file.absPath, file.rel, text));
  }
  return result;
}
