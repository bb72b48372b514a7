// Shared contracts of the codemod: analysis produces facts, rules turn facts into
// edits and report items, the engine applies edits once per file, report/ renders.

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
  | 'unreadable-file'
  | 'io-error'
  // Added by the engine (E1): overlapping edits from two rules, and output that is not a fixpoint.
  | 'edit-conflict'
  | 'not-idempotent'
  // Added by E1: the result of defer() (now a Promise of the task) used where it cannot be awaited.
  | 'defer-result'
  // Added by the resolver (issue 12): a class whose base could not be followed, and a legacy value the tracker lost.
  | 'unknown-handler-base'
  | 'unresolved-legacy-reference';

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
}
