// Exit codes of the CLI (documented in docs/cli.md and `--help`). Never 0 on a failure.
export const ExitCode = {
  /** Changes written (or shown with --dry-run) or nothing to do; manual items may remain. */
  Success: 0,
  /** `check`: legacy usages remain. */
  LegacyUsagesRemain: 1,
  /** Bad flags, bad paths, invalid configuration. */
  UsageError: 2,
  /** At least one file failed (does not parse, unreadable, could not be written); the others were processed. */
  FileFailures: 3,
  /** Dirty git tree refused (pass --allow-dirty). */
  DirtyTree: 4,
  /** `queues purge`: the operator answered no at the prompt. */
  Declined: 1,
  /** `queues` / `tasks`: no such task, or no queue file at --data-dir. */
  NotFound: 5,
  /** `queues` / `tasks`: the task's state does not allow it (e.g. it is running now). */
  WrongState: 6,
  /** `queues` / `tasks`: the queue file cannot be used (locked longer than the busy timeout, damaged, newer schema). */
  QueueUnavailable: 7,
  /** A bug: internal error (EX_SOFTWARE). */
  InternalError: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP = `Exit codes:
  0   success: changes written (or shown with --dry-run) or nothing to do;
      manual items may remain and are listed
  1   check: legacy usages remain (a file would change or a manual item is reported)
  2   usage or configuration error
  3   at least one file failed (does not parse, unreadable, could not be written);
      the others were processed
  4   dirty git tree refused (commit or stash first, or pass --allow-dirty)
  70  internal error`;

export const OPS_EXIT_CODE_HELP = `Exit codes:
  0   success
  1   queues purge: declined at the confirmation prompt
  2   usage error (bad flag or argument; queues purge with no --yes and no terminal to ask)
  5   no such task (or queue file at --data-dir)
  6   the task's state does not allow it (e.g. it is running now)
  7   the queue file cannot be used (locked beyond the busy timeout, damaged, newer schema)
  70  internal error`;

/** Thrown for bad flags, paths or configuration: exit 2 with the message, no stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}
