// Human output of the `queues` and `tasks` commands: aligned tables and a task's
// details. Arguments are shown with util.inspect, so a Date, Map or Buffer the
// codec decoded reads as one.
import { inspect } from 'node:util';
import type { Painter } from '../../codemods/report/color.js';
import type { QueueSummary, TaskDetails, TaskSummary } from '../../shim/operations/types.js';

export function table(headers: string[], rows: string[][], paint: Painter): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [paint('bold', line(headers)), ...rows.map(line)].join('\n');
}

export function queuesTable(queues: QueueSummary[], paint: Painter): string {
  if (queues.length === 0) return 'No queues: none is defined and no task was ever queued.';
  const rows = queues.map((q) => [
    q.name,
    q.paused ? 'paused' : 'running',
    String(q.counts.pending),
    String(q.counts.leased),
    String(q.counts.retry),
    String(q.counts.failed),
    String(q.counts.done),
    q.oldestDueAgeMs === undefined ? '-' : duration(q.oldestDueAgeMs),
    limitsText(q),
  ]);
  return table(['QUEUE', 'STATE', 'PENDING', 'LEASED', 'RETRY', 'FAILED', 'DONE', 'OLDEST DUE', 'LIMITS'], rows, paint);
}

function limitsText(q: QueueSummary): string {
  const parts: string[] = [];
  const { limits } = q;
  if (limits.ratePerSecond !== undefined) parts.push(`rate ${rate(limits.ratePerSecond)}`);
  if (limits.bucketSize !== undefined) parts.push(`bucket ${limits.bucketSize}`);
  if (limits.maxConcurrentRequests !== undefined) parts.push(`concurrent ${limits.maxConcurrentRequests}`);
  const r = limits.retry;
  if (r.task_retry_limit !== undefined) parts.push(`retries ${r.task_retry_limit}`);
  if (r.task_age_limit !== undefined) parts.push(`age ${duration(r.task_age_limit * 1000)}`);
  if (r.min_backoff_seconds !== undefined || r.max_backoff_seconds !== undefined || r.max_doublings !== undefined) {
    parts.push(`backoff ${r.min_backoff_seconds ?? 0.1}s..${r.max_backoff_seconds ?? 3600}s x${r.max_doublings ?? 16}`);
  }
  if (parts.length === 0) return q.defined ? '-' : 'none (not in queue.yaml)';
  return parts.join(', ');
}

export function tasksTable(tasks: TaskSummary[], paint: Painter): string {
  if (tasks.length === 0) return 'No tasks.';
  const rows = tasks.map((t) => [
    t.name,
    t.queue,
    t.state,
    t.function ?? '-',
    time(t.etaMs),
    String(t.attempts),
    oneLine(t.lastError ?? '', 60) || '-',
  ]);
  return table(['NAME', 'QUEUE', 'STATE', 'FUNCTION', 'ETA', 'ATTEMPTS', 'LAST ERROR'], rows, paint);
}

export function taskDetails(task: TaskDetails, paint: Painter, color: boolean): string {
  const lines: Array<[string, string]> = [
    ['Name', task.name],
    ['Queue', task.queue],
    ['State', task.state],
    ['Function', task.function ?? '-'],
  ];
  if (task.args !== undefined) {
    task.args.forEach((arg, i) => lines.push([`Argument ${i + 1}`, inspect(arg, { depth: 6, colors: color, breakLength: 100 })]));
    if (task.args.length === 0) lines.push(['Arguments', '(none)']);
  } else if (task.payloadError !== undefined) {
    lines.push(['Arguments', `cannot be decoded: ${task.payloadError}`]);
  } else {
    lines.push(['Arguments', '(not kept once a task is done)']);
  }
  lines.push(['ETA', time(task.etaMs)], ['Created', time(task.createdMs)]);
  if (task.finishedMs !== undefined) lines.push([task.state === 'failed' ? 'Failed' : 'Finished', time(task.finishedMs)]);
  lines.push(['Attempts', `${task.attempts}${task.lastStatus === undefined ? '' : ` (last status ${task.lastStatus})`}`]);
  lines.push(['URL', task.url]);
  if (task.retryOptions) lines.push(['Retry options', JSON.stringify(task.retryOptions)]);
  const width = Math.max(...lines.map(([k]) => k.length));
  const out = lines.map(([k, v]) => `${paint('bold', k.padEnd(width))}  ${indentAfterFirst(v, width + 2)}`);
  if (task.attemptLog.length > 0) {
    out.push('', paint('bold', 'Failed attempts'));
    for (const attempt of task.attemptLog) {
      const started = attempt.startedMs === undefined ? '' : `${time(attempt.startedMs)} -> `;
      const status = attempt.status === undefined ? 'did not reach the app' : `HTTP ${attempt.status}`;
      out.push(`  #${attempt.number}  ${started}${time(attempt.finishedMs)}  ${status}  ${paint('red', oneLine(attempt.error?.message ?? '', 200))}`);
      const stack = attempt.error?.stack?.split('\n').slice(1);
      if (stack && stack.length > 0) out.push(...stack.map((line) => paint('dim', `      ${line.trim()}`)));
    }
  }
  return out.join('\n');
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

function rate(perSecond: number): string {
  if (perSecond === 0) return '0 (paused)';
  for (const [unit, seconds] of [['s', 1], ['m', 60], ['h', 3600], ['d', 86400]] as const) {
    const n = perSecond * seconds;
    if (n >= 1 && Number.isInteger(Math.round(n * 1000) / 1000)) return `${Math.round(n * 1000) / 1000}/${unit}`;
  }
  return `${perSecond}/s`;
}

function oneLine(text: string, max: number): string {
  const first = text.split('\n')[0]!;
  return first.length > max ? `${first.slice(0, max - 1)}…` : first;
}

function indentAfterFirst(text: string, indent: number): string {
  return text.split('\n').join(`\n${' '.repeat(indent)}`);
}
