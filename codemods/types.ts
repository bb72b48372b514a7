// Shared contracts of the codemod: analysis produces facts, rules turn facts into
// edits and report items, the engine applies edits once per file, report/ renders.
import type { TreeScanSource } from './analysis/tree-scan.js';

/** Stable reason codes for sites a human must look at (docs/manual-steps.md#<code>). */
export type ReasonCode =
  | 'parse-error'
  | 'transactional-enqueue'
  | 'target-routing'
  | 'request-access'
  | 'response-access'
  | 'non-registrable-callable'
  | 'dynamic-import'
  | 'handler-as-value'
  | 'mount-not-found'
  | 'webapp-router-kept'
  | 'regex-route'
  | 'unknown-framework'
  | 'app-yaml'
  // An app.yaml change the codemod could not write safely, or a builtin whose URL now reaches a handler the queue cannot pass.
  | 'app-yaml-manual'
  | 'unreadable-file'
  | 'io-error'
  // Added by the engine (E1): overlapping edits from two rules, and output that is not a fixpoint.
  | 'edit-conflict'
  | 'not-idempotent'
  // Added by E1: the result of defer() (now a Promise of the task) used where it cannot be awaited.
  | 'defer-result'
  // A defer() whose synchronous throw was handled (try/catch/finally) and that could not be awaited.
  | 'sync-error-handling'
  // A catch clause a migrated defer()'s error reaches tests its message, or a legacy error name the shim lacks.
  | 'legacy-error-text'
  // A defer() or run() not awaited, after which the process ends (process.exit()...), that could not be awaited.
  | 'process-exit'
  // Added by the verification pass: the output still reaches a legacy-only symbol, or type-checks worse than the input.
  | 'unresolved-legacy-reference'
  | 'legacy-dependency'
  | 'new-type-error'
  | 'shim-unresolved'
  | 'verify-incomplete'
  // Added by the CLI's write phase: `.deferred/` (the shim's data directory) added to a .gitignore.
  | 'data-dir-gitignore'
  // queue.yaml fields with no Cloud Tasks equivalent (pull queues, acl, total_storage_limit); a queue.yaml the shim does not find by itself.
  | 'queue-yaml-unsupported'
  | 'queue-yaml-location'
  // A run(data) whose payload may come from a request: a task route of the app's own, which nothing checks off App Engine.
  | 'unchecked-task-payload'
  // Added by the resolver (issue 12): a class whose base could not be followed (a legacy value the tracker lost is unresolved-legacy-reference).
  | 'unknown-handler-base'
  // A handler subclass using webapp's RequestHandler beyond request/response: error(), redirect(), router hooks, other verbs.
  | 'handler-webapp-member'
  // A migrated post()/runFromRequest() that can end without [body, status, headers].
  | 'handler-result'
  // A Handler subclass a route table served at /_ah/queue/deferred, which wrapApp could not be given.
  | 'default-url-handler'
  // The built-in URL's mount sat behind app middleware that wrapApp's earlier answer skips.
  | 'middleware-bypassed'
  // Several apps wrapped while tasks go to custom URLs: the one the embedded queue delivers to is not known.
  | 'delivery-target'
  // A task function registered in a module the app loads only lazily (import(), require() in a function).
  | 'lazy-registration'
  // A hoisted task function in a module of an import cycle: a module of the cycle may defer it before it is registered.
  | 'registration-order';

export type Severity = 'error' | 'warning' | 'note';

/** A site the codemod reports (could not fix, or fixed with something to check). */
export interface ReportItem {
  file: string; // relative to the run's root, POSIX separators
  line: number; // 1-based
  column: number; // 1-based
  code: ReasonCode;
  severity: Severity;
  message: string;
  rule: string; // id of the rule that produced it
  docsUrl: string;
  /**
   * Present when a `// deferred-migrate-ignore <code>: <why>` comment at the site
   * acknowledges the item: the text after the colon ('' when none). An acknowledged
   * item is listed, but is not a manual step (check passes for it).
   */
  acknowledged?: string;
}

/** One text replacement in the *original* text of a file. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
  rule: string;
}

export type FileStatus = 'migrated' | 'unchanged' | 'manual' | 'failed';

export interface FileResult {
  file: string; // relative, POSIX
  absPath: string;
  status: FileStatus;
  original: string;
  /** Present when the file changes. */
  updated?: string;
  /** Edits applied, with the rule that made each, for the report. */
  edits: Array<{ rule: string; line: number; description: string }>;
  items: ReportItem[];
}

export interface MigrationResult {
  root: string;
  files: FileResult[];
  /** Counts for the summary line. */
  summary: { scanned: number; candidates: number; migrated: number; unchanged: number; manual: number; failed: number };
  durationMs: number;
}

export interface MigrateOptions {
  /** Directory or file paths to process. */
  paths: string[];
  /** Root used for .gitignore and for relative paths in reports (defaults to the git root, else cwd). */
  root?: string;
  /** Extra module specifiers treated as the legacy deferred module (suffix match like the built-ins). */
  legacyModules?: string[];
  /** Extra specifiers treated as the legacy webapp module. */
  legacyWebappModules?: string[];
  /** Specifier written for the new API. */
  shimModule?: string; // default 'deferred-migrate/shim'
  /** Progress callback (files done, total). */
  onProgress?: (done: number, total: number) => void;
  /** Called when a slow phase starts (the type-check verification), with a one-line description. */
  onPhase?: (description: string) => void;
  /** Leave a `// deferred-migrate(<code>)` comment at the site of every manual item (default true). */
  markers?: boolean;
  /**
   * Type-check the changed files and their importers before and after (in memory):
   * 'auto' (default) when the project has a tsconfig.json / jsconfig.json, true to
   * require it, false to skip. The legacy-reference check always runs.
   */
  verify?: boolean | 'auto';
  /** A file whose migration adds a type error is not changed (it fails instead). */
  strict?: boolean;
  /** Prefix of the docs links in items and markers, up to the `#` (default: DOCS_BASE). */
  docsBase?: string;
  /**
   * Declaration file of `deferred-migrate/shim` to type-check against when the
   * project cannot resolve the shim module itself (not installed yet).
   */
  shimTypes?: string;
  /**
   * A discovery and text scan of the same paths, started earlier (the CLI runs it in
   * a worker thread while the engine loads); made in process when absent.
   */
  treeScan?: TreeScanSource;
}

/** Items a human must act on (notes describe what was done; acknowledged items were reviewed). */
export function isManual(item: Pick<ReportItem, 'severity' | 'acknowledged'>): boolean {
  return item.severity !== 'note' && item.acknowledged === undefined;
}
