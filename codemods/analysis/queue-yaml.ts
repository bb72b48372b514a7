// App Engine queue configs (`queue.yaml`): the fields that have no Cloud Tasks
// equivalent, with their line and column (pull queues, `acl`,
// `total_storage_limit`), and whether the shim's default lookup finds the file. The
// codemod reports them and changes nothing: the rest of the file keeps working (the
// shim enforces it on the embedded queue once it reads it, and `deferred-migrate
// queues apply` maps it onto Cloud Tasks).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Pair, type YAMLMap } from 'yaml';
import type { DiscoveredFile } from './discover.js';
import type { ProjectIndex } from './project.js';

export interface UnsupportedQueueField {
  field: 'mode' | 'acl' | 'total_storage_limit';
  /** The queue it belongs to; undefined for the file-level `total_storage_limit`. */
  queue?: string;
  line: number;
  column: number;
}

export interface QueueYamlFile {
  absPath: string;
  rel: string;
  text: string;
  unsupported: UnsupportedQueueField[];
  /**
   * Why the shim's default lookup does not find this file (it reads `queue.yaml` or
   * `queue.yml` from the working directory only when `app.yaml` or `app.yml` is there
   * too: shim/runtime/runtime.ts `resolveQueues`), or undefined when it does.
   */
  notFoundBecause?: string;
  /** Where the top-level `queue:` list starts, when there is one. */
  queueList?: { line: number; column: number };
  parseError?: { line: number; column: number; message: string };
}

/** `queue.yaml` / `queue.yml` by name (App Engine reads no other name), or any YAML file with a top-level `queue:` list. */
export function isQueueYaml(file: DiscoveredFile, text: string): boolean {
  return /^queue\.ya?ml$/.test(path.basename(file.absPath)) || /^queue\s*:\s*(#.*)?$/m.test(text);
}

export function analyzeQueueYaml(absPath: string, rel: string, text: string): QueueYamlFile {
  const result: QueueYamlFile = { absPath, rel, text, unsupported: [] };
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  if (document.errors.length > 0) {
    const error = document.errors[0]!;
    const { line, col } = lineCounter.linePos(error.pos[0]);
    result.parseError = { line, column: col, message: error.message.split('\n')[0]! };
    return result;
  }
  const contents = document.contents;
  if (!isMap(contents)) return result;
  const at = (pair: Pair) => {
    const { line, col } = lineCounter.linePos((pair.key as { range?: [number, number, number] }).range?.[0] ?? 0);
    return { line, column: col };
  };
  const storage = pairOf(contents, 'total_storage_limit');
  if (storage) result.unsupported.push({ field: 'total_storage_limit', ...at(storage) });
  const queues = pairOf(contents, 'queue');
  if (queues) result.queueList = at(queues);
  if (queues && isSeq(queues.value)) {
    for (const item of queues.value.items) {
      if (!isMap(item)) continue;
      const name = scalarText(pairOf(item, 'name')?.value);
      const mode = pairOf(item, 'mode');
      if (mode && scalarText(mode.value) === 'pull') result.unsupported.push({ field: 'mode', ...(name ? { queue: name } : {}), ...at(mode) });
      const acl = pairOf(item, 'acl');
      if (acl) result.unsupported.push({ field: 'acl', ...(name ? { queue: name } : {}), ...at(acl) });
    }
  }
  return result;
}

export function analyzeQueueYamls(files: DiscoveredFile[], index: ProjectIndex): QueueYamlFile[] {
  const result: QueueYamlFile[] = [];
  for (const file of files) {
    const text = index.text(file.absPath);
    if (text === undefined || !isQueueYaml(file, text)) continue;
    const analyzed = analyzeQueueYaml(file.absPath, file.rel, text);
    // A file with no queues has nothing the shim would miss.
    const notFoundBecause = analyzed.queueList ? defaultLookupMiss(file.absPath) : undefined;
    if (notFoundBecause !== undefined) analyzed.notFoundBecause = notFoundBecause;
    result.push(analyzed);
  }
  return result;
}

/** The names the shim's default lookup takes (shim/runtime/runtime.ts), as App Engine's deploy tools did. */
const QUEUE_CONFIG_NAMES = ['queue.yaml', 'queue.yml'];
const APP_CONFIG_NAMES = ['app.yaml', 'app.yml'];

function defaultLookupMiss(absPath: string): string | undefined {
  const name = path.basename(absPath);
  if (!QUEUE_CONFIG_NAMES.includes(name)) return `it is named ${name}, not queue.yaml`;
  const directory = path.dirname(absPath);
  if (!APP_CONFIG_NAMES.some((app) => existsSync(path.join(directory, app)))) return 'no app.yaml sits beside it (App Engine deployed it for the whole app, from any directory)';
  const shadowing = QUEUE_CONFIG_NAMES.slice(0, QUEUE_CONFIG_NAMES.indexOf(name)).find((other) => existsSync(path.join(directory, other)));
  return shadowing === undefined ? undefined : `${shadowing} beside it is read instead`;
}

function pairOf(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((item) => isPair(item) && scalarText(item.key) === key) as Pair | undefined;
}

function scalarText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}
