// The dashboard's pages, rendered on the server. Every page is complete without
// JavaScript; regions marked `data-live` (with an id) are what the script refreshes.
// All text from tasks and queues goes through `html` (escaped).
import { throughputChart } from './chart.js';
import { formatDuration, formatRelative, formatTime, formatValue, oneLine } from './format.js';
import { html, type HtmlValue, type SafeHtml } from './html.js';
import { TASK_STATES, type QueueSummary, type TaskDetails, type TaskPage, type TaskState, type ThroughputBucket } from '../operations/types.js';

export interface PageContext {
  /** The dashboard's path, without a trailing slash. */
  base: string;
  /** The CSRF token to put in every form. */
  csrf: string;
  nowMs: number;
  /** Whether a logout button makes sense (token sessions). */
  canLogOut: boolean;
}

export interface Flash {
  text: string;
  error?: boolean;
}

const STATE_LABELS: Record<TaskState, string> = { pending: 'Pending', leased: 'Running', retry: 'Retrying', done: 'Done', failed: 'Failed' };

export function queuePath(ctx: PageContext, queue: string): string {
  return `${ctx.base}/queues/${encodeURIComponent(queue)}`;
}

export function taskPath(ctx: PageContext, queue: string, task: string): string {
  return `${queuePath(ctx, queue)}/tasks/${encodeURIComponent(task)}`;
}

function layout(ctx: PageContext, title: string, crumbs: { label: string; href?: string }[], body: HtmlValue): SafeHtml {
  const trail = crumbs.map((c, i) =>
    c.href && i < crumbs.length - 1 ? html`<li><a href="${c.href}">${c.label}</a></li>` : html`<li aria-current="page">${c.label}</li>`,
  );
  const logout = ctx.canLogOut
    ? html`<form class="inline" method="post" action="${ctx.base}/logout">${csrfField(ctx)}<button type="submit">Sign out</button></form>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · deferred tasks</title>
<link rel="stylesheet" href="${ctx.base}/assets/dashboard.css">
<script src="${ctx.base}/assets/dashboard.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="${ctx.base}/">Deferred tasks</a>
<nav aria-label="Breadcrumb"><ol>${trail}</ol></nav>
${logout}
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>
`;
}

function csrfField(ctx: PageContext): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${ctx.csrf}">`;
}

/** A POST button: the only way the dashboard changes anything. */
function action(ctx: PageContext, path: string, label: string, options: { danger?: boolean; name?: string } = {}): SafeHtml {
  return html`<form class="inline" method="post" action="${path}">${csrfField(ctx)}<button type="submit"${options.danger ? html` class="danger"` : ''}${options.name ? html` aria-label="${options.name}"` : ''}>${label}</button></form>`;
}

function flashBox(flash: Flash | undefined): SafeHtml {
  if (!flash) return html``;
  return html`<p class="flash${flash.error ? ' error' : ''}" role="${flash.error ? 'alert' : 'status'}">${flash.text}</p>`;
}

function stateBadge(state: TaskState): SafeHtml {
  return html`<span class="state state-${state}">${STATE_LABELS[state]}</span>`;
}

function pausedBadge(paused: boolean): SafeHtml {
  return paused ? html`<span class="state state-paused">Paused</span>` : html`<span class="state state-active">Active</span>`;
}

function limitsText(queue: QueueSummary): string {
  const { limits } = queue;
  const parts: string[] = [];
  if (limits.ratePerSecond !== undefined) parts.push(`${limits.ratePerSecond}/s`);
  if (limits.bucketSize !== undefined) parts.push(`bucket ${limits.bucketSize}`);
  if (limits.maxConcurrentRequests !== undefined) parts.push(`${limits.maxConcurrentRequests} concurrent`);
  for (const [key, value] of Object.entries(limits.retry)) if (value !== undefined) parts.push(`${key} ${String(value)}`);
  const text = parts.length > 0 ? parts.join(', ') : 'unlimited';
  return queue.defined ? text : `${text} (not in queue.yaml)`;
}

function count(queue: QueueSummary, state: TaskState): SafeHtml {
  const n = queue.counts[state];
  return state === 'failed' && n > 0 ? html`<span class="failed-count">${n}</span>` : html`${n}`;
}

export function queuesPage(ctx: PageContext, queues: QueueSummary[], throughput: Map<string, ThroughputBucket[]>, flash?: Flash): SafeHtml {
  const rows = queues.map((q) => {
    const t = throughput.get(q.name);
    return html`<tr>
<th scope="row"><a href="${queuePath(ctx, q.name)}">${q.name}</a></th>
<td>${pausedBadge(q.paused)}</td>
${TASK_STATES.map((s) => html`<td class="num">${count(q, s)}</td>`)}
<td class="num">${q.oldestDueAgeMs === undefined ? html`<span class="muted">none</span>` : formatDuration(q.oldestDueAgeMs)}</td>
<td>${t ? throughputChart(t, `Queue ${q.name}`) : ''}</td>
<td>${limitsText(q)}</td>
<td>${q.paused ? action(ctx, `${queuePath(ctx, q.name)}/resume`, 'Resume', { name: `Resume queue ${q.name}` }) : action(ctx, `${queuePath(ctx, q.name)}/pause`, 'Pause', { name: `Pause queue ${q.name}` })}</td>
</tr>`;
  });
  const body = html`<h1>Queues</h1>
${flashBox(flash)}
<div id="queues-live" data-live>
${
  queues.length === 0
    ? html`<p>No queues yet: a queue appears when a task is deferred to it or when queue.yaml names it.</p>`
    : html`<table>
<caption>Tasks by state per queue, as of ${formatTime(ctx.nowMs)}</caption>
<thead><tr><th scope="col">Queue</th><th scope="col">State</th>${TASK_STATES.map((s) => html`<th scope="col" class="num">${STATE_LABELS[s]}</th>`)}<th scope="col" class="num">Oldest due</th><th scope="col">Throughput (15 min)</th><th scope="col">Limits</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
</div>`;
  return layout(ctx, 'Queues', [{ label: 'Queues' }], body);
}

export interface QueuePageData {
  queue: QueueSummary;
  state: TaskState | undefined;
  page: TaskPage;
  /** The cursor this page was read from; undefined for the first page. */
  cursor: string | undefined;
  throughput?: ThroughputBucket[];
}

export function queuePage(ctx: PageContext, data: QueuePageData, flash?: Flash): SafeHtml {
  const { queue, state, page, cursor } = data;
  const q = queuePath(ctx, queue.name);
  const pageLink = (at: string | undefined) => `${q}?${new URLSearchParams({ ...(state && { state }), ...(at !== undefined && { cursor: at }) }).toString()}`;
  const rows = page.tasks.map(
    (t) => html`<tr>
<th scope="row"><a href="${taskPath(ctx, t.queue, t.name)}">${t.name}</a></th>
<td>${stateBadge(t.state)}</td>
<td><code>${t.function ?? '?'}</code></td>
<td><time datetime="${new Date(t.etaMs).toISOString()}">${formatRelative(t.etaMs, ctx.nowMs)}</time></td>
<td class="num">${t.attempts}</td>
<td>${t.lastError ? oneLine(t.lastError) : t.lastStatus !== undefined ? `HTTP ${t.lastStatus}` : ''}</td>
</tr>`,
  );
  const body = html`<h1>Queue <q>${queue.name}</q></h1>
${flashBox(flash)}
<div id="queue-live" data-live>
<p>${pausedBadge(queue.paused)} ${TASK_STATES.map((s) => html`<span class="muted">${STATE_LABELS[s]}:</span> ${count(queue, s)} `)}
<span class="muted">Oldest due:</span> ${queue.oldestDueAgeMs === undefined ? 'none' : formatDuration(queue.oldestDueAgeMs)}
${data.throughput ? throughputChart(data.throughput, `Queue ${queue.name}`) : ''}</p>
<p><span class="muted">Limits:</span> ${limitsText(queue)}</p>
</div>
<div class="actions">
${queue.paused ? action(ctx, `${q}/resume`, 'Resume queue') : action(ctx, `${q}/pause`, 'Pause queue')}
${action(ctx, `${q}/retry-failed`, 'Retry all failed')}
<a class="button" href="${q}/purge">Purge queue…</a>
</div>
<form class="filters" method="get" action="${q}">
<label for="state-filter">State
<select id="state-filter" name="state">
<option value=""${state === undefined ? html` selected` : ''}>All states</option>
${TASK_STATES.map((s) => html`<option value="${s}"${s === state ? html` selected` : ''}>${STATE_LABELS[s]}</option>`)}
</select></label>
<button type="submit">Show</button>
</form>
<div id="tasks-live" data-live>
${
  page.tasks.length === 0
    ? html`<p>No ${state ? STATE_LABELS[state].toLowerCase() : ''} tasks in this queue.</p>`
    : html`<table>
<caption>${state ? STATE_LABELS[state] : 'All'} tasks${cursor !== undefined ? ' (continued)' : ''}</caption>
<thead><tr><th scope="col">Task</th><th scope="col">State</th><th scope="col">Function</th><th scope="col">ETA</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th></tr></thead>
<tbody>${rows}</tbody>
</table>`
}
<nav class="pager" aria-label="Pages">
${cursor !== undefined ? html`<a href="${pageLink(undefined)}" rel="first">First page</a>` : ''}
${page.nextCursor !== undefined ? html`<a href="${pageLink(page.nextCursor)}" rel="next">Next page</a>` : ''}
</nav>
</div>`;
  return layout(ctx, `Queue ${queue.name}`, [{ label: 'Queues', href: `${ctx.base}/` }, { label: queue.name }], body);
}

export function taskPage(ctx: PageContext, task: TaskDetails, flash?: Flash): SafeHtml {
  const t = taskPath(ctx, task.queue, task.name);
  const args =
    task.payloadError !== undefined
      ? html`<p class="flash error">The arguments cannot be decoded: ${task.payloadError}</p>`
      : task.args === undefined
        ? html`<p class="muted">No payload kept (finished tasks keep only their name and times).</p>`
        : task.args.length === 0
          ? html`<p class="muted">No arguments.</p>`
          : html`<ol start="0" class="args">${task.args.map((v) => html`<li><pre>${formatValue(v)}</pre></li>`)}</ol>`;
  const attempts =
    task.attemptLog.length === 0
      ? html`<p class="muted">No attempts recorded.</p>`
      : html`<ol class="attempts">${task.attemptLog.map(
          (a) => html`<li value="${a.number}"><time datetime="${new Date(a.finishedMs).toISOString()}">${formatTime(a.finishedMs)}</time>
${a.status !== undefined ? html` — HTTP ${a.status}` : ' — not delivered'}${a.error ? html`<pre class="error">${a.error.stack ?? a.error.message}</pre>` : ''}</li>`,
        )}</ol>`;
  const body = html`<h1>Task <q>${task.name}</q></h1>
${flashBox(flash)}
<div id="task-live" data-live>
<dl class="facts">
<dt>State</dt><dd>${stateBadge(task.state)}</dd>
<dt>Queue</dt><dd><a href="${queuePath(ctx, task.queue)}">${task.queue}</a></dd>
<dt>Function</dt><dd><code>${task.function ?? 'unknown'}</code></dd>
<dt>URL</dt><dd><code>${task.url}</code></dd>
<dt>ETA</dt><dd><time datetime="${new Date(task.etaMs).toISOString()}">${formatTime(task.etaMs)}</time> (${formatRelative(task.etaMs, ctx.nowMs)})</dd>
<dt>Created</dt><dd>${formatTime(task.createdMs)}</dd>
<dt>Attempts</dt><dd>${task.attempts}</dd>
${task.finishedMs !== undefined ? html`<dt>Finished</dt><dd>${formatTime(task.finishedMs)}</dd>` : ''}
${task.lastStatus !== undefined ? html`<dt>Last status</dt><dd>HTTP ${task.lastStatus}</dd>` : ''}
${task.lastError ? html`<dt>Last error</dt><dd class="last-error">${oneLine(task.lastError, 400)}</dd>` : ''}
</dl>
</div>
<div class="actions">
${task.state === 'failed' || task.state === 'retry' || task.state === 'pending' ? action(ctx, `${t}/retry`, task.state === 'pending' ? 'Run now' : 'Retry') : ''}
${task.state !== 'leased' ? action(ctx, `${t}/delete`, 'Delete', { danger: true }) : ''}
</div>
<h2>Arguments</h2>
${args}
<h2>Attempts</h2>
<div id="attempts-live" data-live>
${attempts}
</div>`;
  return layout(
    ctx,
    `Task ${task.name}`,
    [{ label: 'Queues', href: `${ctx.base}/` }, { label: task.queue, href: queuePath(ctx, task.queue) }, { label: task.name }],
    body,
  );
}

export function purgeConfirmPage(ctx: PageContext, queue: QueueSummary): SafeHtml {
  const q = queuePath(ctx, queue.name);
  const waiting = queue.counts.pending + queue.counts.retry + queue.counts.failed;
  const body = html`<h1>Purge queue <q>${queue.name}</q>?</h1>
<div class="confirm">
<p>This deletes every pending, retrying and failed task of the queue (${waiting} now); running tasks finish. It cannot be undone.</p>
<form method="post" action="${q}/purge">${csrfField(ctx)}<input type="hidden" name="confirm" value="yes">
<div class="actions"><button type="submit" class="danger">Purge ${queue.name}</button> <a class="button" href="${q}">Cancel</a></div>
</form>
</div>`;
  return layout(ctx, `Purge ${queue.name}`, [{ label: 'Queues', href: `${ctx.base}/` }, { label: queue.name, href: q }, { label: 'Purge' }], body);
}

export function loginPage(ctx: PageContext, message?: string): SafeHtml {
  const body = html`<h1>Sign in</h1>
${message ? html`<p class="flash error" role="alert">${message}</p>` : ''}
<form method="post" action="${ctx.base}/login">${csrfField(ctx)}
<p><label for="token">Dashboard token</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required size="40"></p>
<button type="submit">Sign in</button>
</form>
<p class="muted">The token is the dashboard's <code>token</code> option or the <code>DEFERRED_DASHBOARD_TOKEN</code> variable of the app.</p>`;
  return layout({ ...ctx, canLogOut: false }, 'Sign in', [{ label: 'Sign in' }], body);
}

export function messagePage(ctx: PageContext, title: string, message: string): SafeHtml {
  return layout({ ...ctx, canLogOut: false }, title, [{ label: title }], html`<h1>${title}</h1><p>${message}</p><p><a href="${ctx.base}/">Queues</a></p>`);
}
