// The dashboard's only static files, shipped as strings inside the package (no
// build step, no CDN: the app may have no internet). The page works without the
// script; the script only keeps the `data-live` regions fresh.
//
// Colours: every text/background pair used here has a contrast ratio of at least
// 4.5:1 (WCAG AA); the ratios are checked in test/shim/dashboard/assets.test.ts.

export const DASHBOARD_CSS = `
:root { color-scheme: light; --fg: #1b1b1f; --muted: #4a4a55; --bg: #ffffff; --panel: #f4f5f7; --line: #c9ccd3;
  --link: #0a50b8; --focus: #0a50b8; --ok: #0b6b2f; --warn: #7a4b00; --bad: #b0221b; --accent-bg: #e6eefc; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--link); }
a:focus-visible, button:focus-visible, select:focus-visible, input:focus-visible, summary:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: var(--bg); padding: .5em; }
.skip:focus { left: .5em; }
header.top { display: flex; align-items: baseline; gap: 1.5em; padding: .75em 1.25em; border-bottom: 1px solid var(--line); background: var(--panel); }
header.top .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
header.top nav ol { display: flex; gap: .5em; list-style: none; margin: 0; padding: 0; }
header.top nav li + li::before { content: "/"; color: var(--muted); margin-right: .5em; }
main { padding: 1em 1.25em 2em; max-width: 72em; }
h1 { font-size: 1.4em; margin: .2em 0 .6em; }
h2 { font-size: 1.1em; margin: 1.4em 0 .5em; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; color: var(--muted); padding: .3em 0; }
th, td { text-align: left; padding: .45em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: var(--panel); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { display: inline-block; padding: 0 .45em; border-radius: .3em; font-size: .9em; font-weight: 600; border: 1px solid currentColor; }
.state-pending { color: #174ea6; } .state-leased { color: var(--warn); } .state-failed { color: var(--bad); }
.state-done { color: var(--ok); } .state-retry { color: var(--warn); } .state-paused { color: var(--warn); } .state-active { color: var(--ok); }
.failed-count { color: var(--bad); font-weight: 700; }
.muted { color: var(--muted); }
.flash { padding: .6em .9em; border: 1px solid var(--line); border-left: 4px solid var(--ok); background: var(--panel); margin: 0 0 1em; }
.flash.error { border-left-color: var(--bad); }
form.inline { display: inline; }
.actions { display: flex; flex-wrap: wrap; gap: .5em; margin: .6em 0 1em; }
button, .button { font: inherit; padding: .35em .9em; border-radius: .35em; border: 1px solid var(--link); background: var(--bg); color: var(--link);
  cursor: pointer; text-decoration: none; display: inline-block; }
button:hover, .button:hover { background: var(--accent-bg); }
button.danger { border-color: var(--bad); color: var(--bad); }
button.danger:hover { background: #fdecea; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3em 1.2em; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; }
pre { background: var(--panel); border: 1px solid var(--line); padding: .7em; overflow: auto; max-height: 28em; white-space: pre-wrap; word-break: break-word; margin: .3em 0; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.filters { display: flex; gap: .6em; align-items: end; margin: .5em 0 1em; }
.filters label { display: flex; flex-direction: column; font-size: .9em; color: var(--muted); gap: .2em; }
select { font: inherit; padding: .25em; }
.chart rect.bar { fill: #0a50b8; } .chart rect.bar.failed { fill: #b0221b; } .chart line { stroke: var(--line); }
.chart text { fill: var(--muted); font-size: 10px; }
.pager { display: flex; gap: 1em; margin-top: .8em; }
ol.attempts { padding-left: 1.2em; }
ol.attempts li { margin-bottom: .8em; }
.confirm { border: 1px solid var(--bad); padding: 1em; max-width: 40em; }
`;

export const DASHBOARD_JS = `
// Live refresh: re-reads this same page every few seconds and swaps in the regions
// marked data-live (server-rendered, escaped HTML). Without this script the page
// is complete; reload it to see new counts.
(function () {
  'use strict';
  var INTERVAL_MS = 2000;
  var regions = document.querySelectorAll('[data-live][id]');
  if (!regions.length || !window.fetch || !window.DOMParser) return;
  var busy = false;
  function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(location.href, { credentials: 'same-origin' })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var fresh = new DOMParser().parseFromString(text, 'text/html');
        for (var i = 0; i < regions.length; i++) {
          var region = regions[i];
          var next = fresh.getElementById(region.id);
          // Leave a region alone while keyboard focus is inside it.
          if (!next || next.innerHTML === region.innerHTML || region.contains(document.activeElement)) continue;
          region.replaceChildren.apply(region, Array.prototype.map.call(next.childNodes, function (node) {
            return document.importNode(node, true);
          }));
        }
        document.documentElement.setAttribute('data-refreshed', String(Date.now()));
      })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  setInterval(refresh, INTERVAL_MS);
})();
`;
