// The shipped stylesheet's colour pairs meet WCAG AA (contrast 4.5:1 for text),
// keyboard focus is visible, and `html` escapes what it interpolates.
import { describe, expect, it } from 'vitest';
import { DASHBOARD_CSS, DASHBOARD_JS } from '../../../shim/dashboard/assets.js';
import { escapeHtml, html } from '../../../shim/dashboard/html.js';

function luminance(hex: string): number {
  const channels = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4)) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

function variable(name: string): string {
  const match = new RegExp(`--${name}: (#[0-9a-f]{6})`).exec(DASHBOARD_CSS);
  if (!match) throw new Error(`--${name} is not a #rrggbb colour in the stylesheet`);
  return match[1]!;
}

describe('the stylesheet', () => {
  it('has text/background pairs of at least 4.5:1', () => {
    const pending = /\.state-pending \{ color: (#[0-9a-f]{6})/.exec(DASHBOARD_CSS)![1]!;
    const dangerHover = /button\.danger:hover \{ background: (#[0-9a-f]{6})/.exec(DASHBOARD_CSS)![1]!;
    const pairs: [string, string, string][] = [
      ['text', variable('fg'), variable('bg')],
      ['text on panels', variable('fg'), variable('panel')],
      ['muted text', variable('muted'), variable('bg')],
      ['muted text on panels', variable('muted'), variable('panel')],
      ['links', variable('link'), variable('bg')],
      ['links on panels', variable('link'), variable('panel')],
      ['buttons hovered', variable('link'), variable('accent-bg')],
      ['failed', variable('bad'), variable('bg')],
      ['danger button hovered', variable('bad'), dangerHover],
      ['done', variable('ok'), variable('bg')],
      ['running, paused', variable('warn'), variable('bg')],
      ['pending', pending, variable('bg')],
    ];
    const low = pairs.map(([what, fg, bg]) => ({ what, ratio: Math.round(contrast(fg, bg) * 100) / 100 })).filter((p) => p.ratio < 4.5);
    expect(low).toEqual([]);
  });

  it('shows keyboard focus on every control', () => {
    expect(DASHBOARD_CSS).toMatch(/a:focus-visible, button:focus-visible, select:focus-visible, input:focus-visible, summary:focus-visible \{\s*outline: 3px solid/);
  });

  it('loads nothing from elsewhere (no CDN, no url())', () => {
    expect(DASHBOARD_CSS).not.toMatch(/url\(|@import|https?:/);
    expect(DASHBOARD_JS).not.toMatch(/https?:\/\/|eval\(|innerHTML\s*=[^=]|document\.write/);
  });
});

describe('html', () => {
  it('escapes interpolated text, arrays included, and keeps nested templates as markup', () => {
    const evil = `<script>"x" & 'y'</script>`;
    expect(escapeHtml(evil)).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
    expect(html`<p title="${evil}">${[evil, html`<b>${1}</b>`]}${undefined}${null}${false}</p>`.value).toBe(
      `<p title="${escapeHtml(evil)}">${escapeHtml(evil)}<b>1</b></p>`,
    );
  });
});
