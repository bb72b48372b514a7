// Throughput as a small inline SVG bar chart: one bar per minute (tasks done),
// tasks that failed for good stacked on it in another colour. Inline markup, not an image, so
// the Content-Security-Policy needs no exception; only numbers go into the SVG.
import type { ThroughputBucket } from '../operations/types.js';
import { html, unsafeRaw, type SafeHtml } from './html.js';

const WIDTH = 180;
const HEIGHT = 36;

export function throughputChart(buckets: readonly ThroughputBucket[], label: string): SafeHtml {
  const total = buckets.reduce((sum, b) => sum + b.done, 0);
  const failed = buckets.reduce((sum, b) => sum + b.failed, 0);
  const summary = `${label}: ${total} done, ${failed} failed in the last ${buckets.length} minutes`;
  if (buckets.length === 0) return html`<span class="muted">no data</span>`;
  const peak = Math.max(1, ...buckets.map((b) => b.done + b.failed));
  const step = WIDTH / buckets.length;
  const barWidth = Math.max(1, step - 1);
  const bars = buckets
    .map((bucket, i) => {
      const x = (i * step).toFixed(1);
      const okHeight = (bucket.done / peak) * (HEIGHT - 2);
      const badHeight = (bucket.failed / peak) * (HEIGHT - 2);
      const ok = okHeight > 0 ? `<rect class="bar" x="${x}" y="${(HEIGHT - okHeight).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${okHeight.toFixed(1)}"/>` : '';
      const bad =
        badHeight > 0
          ? `<rect class="bar failed" x="${x}" y="${(HEIGHT - okHeight - badHeight).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${badHeight.toFixed(1)}"/>`
          : '';
      return ok + bad;
    })
    .join('');
  return html`<svg class="chart" role="img" aria-label="${summary}" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}"><title>${summary}</title><line x1="0" y1="${HEIGHT - 0.5}" x2="${WIDTH}" y2="${HEIGHT - 0.5}"/>${unsafeRaw(bars)}</svg>`;
}
