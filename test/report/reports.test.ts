// The renderers over one hand-built result: JSON schema, Markdown PR body, SARIF 2.1.0
// shape, the summary line, diffs and the colour decision; and that all three reports
// carry the same facts.
import { describe, expect, it } from 'vitest';
import { useColor } from '../../codemods/report/color.js';
import { fileDiff } from '../../codemods/report/diff.js';
import { renderJson, toJsonReport } from '../../codemods/report/json.js';
import { renderMarkdown } from '../../codemods/report/markdown.js';
import type { RunMode, RunReport } from '../../codemods/report/run-report.js';
import { EDIT_RULE_PREFIX, toSarif } from '../../codemods/report/sarif.js';
import { itemLines, statusLines, summaryLine } from '../../codemods/report/summary.js';
import { assertSarif210 } from './sarif-shape.js';
import type { FileResult, MigrationResult, ReportItem } from '../../codemods/types.js';

const DOCS = 'https://docs.example.test/manual-steps.md#';

function item(file: string, line: number, column: number, code: ReportItem['code'], message: string, severity: ReportItem['severity'] = 'warning'): ReportItem {
  return { file, line, column, code, severity, message, rule: 'some-rule', docsUrl: `${DOCS}${code}` };
}

function fixtureResult(): MigrationResult {
  const files: FileResult[] = [
    {
      file: 'src/tasks.ts',
      absPath: '/repo/src/tasks.ts',
      status: 'manual',
      original: "import * as deferred from 'google/appengine/ext/deferred';\ndeferred.defer(work, { _transactional: true });\n",
      updated: "import { deferred } from 'deferred-migrate/shim';\ndeferred.defer(work, { _transactional: true });\n",
      edits: [{ rule: 'imports', line: 1, description: 'legacy import -> shim import' }],
      items: [item('src/tasks.ts', 2, 24, 'transactional-enqueue', 'no transactional enqueue on Cloud Tasks: check the *order* of writes | enqueue')],
    },
    {
      file: 'src/app.ts',
      absPath: '/repo/src/app.ts',
      status: 'migrated',
      original: 'const app = express();\napp.use(tasks);\n',
      updated: "const app = wrapApp(express(), { useDeferred: true });\n",
      edits: [
        { rule: 'mount', line: 2, description: 'remove the route-table mount' },
        { rule: 'host-app', line: 1, description: 'wrap the app' },
      ],
      items: [],
    },
    { file: 'src/plain.ts', absPath: '/repo/src/plain.ts', status: 'unchanged', original: 'x\n', edits: [], items: [] },
    {
      file: 'src/broken file.ts',
      absPath: '/repo/src/broken file.ts',
      status: 'failed',
      original: 'let = ;\n',
      edits: [],
      items: [item('src/broken file.ts', 1, 5, 'parse-error', "Identifier expected", 'error')],
    },
    {
      file: 'src/handlers.ts',
      absPath: '/repo/src/handlers.ts',
      status: 'manual',
      original: 'class H extends TaskHandler {}\n',
      edits: [],
      items: [item('src/handlers.ts', 1, 17, 'request-access', 'reads this.request.headers'), item('src/handlers.ts', 1, 1, 'handler-as-value', 'passed around', 'note')],
    },
  ];
  return { root: '/repo', files, summary: { scanned: 120, candidates: 5, migrated: 1, unchanged: 116, manual: 2, failed: 1 }, durationMs: 1500 };
}

const report = (mode: RunMode = 'dry-run'): RunReport => ({ tool: { name: 'deferred-migrate', version: '1.2.3' }, mode, result: fixtureResult() });

describe('JSON report', () => {
  it('has the documented, versioned schema', () => {
    const json = JSON.parse(renderJson(report('write')));
    expect(Object.keys(json)).toEqual(['version', 'tool', 'mode', 'root', 'summary', 'files']);
    expect(json).toMatchObject({ version: 1, tool: { name: 'deferred-migrate', version: '1.2.3' }, mode: 'write', root: '/repo' });
    expect(json.summary).toEqual({
      scanned: 120,
      candidates: 5,
      migrated: 1,
      unchanged: 116,
      manual: 2,
      failed: 1,
      manualSteps: 3,
      itemsByCode: { 'transactional-enqueue': 1, 'parse-error': 1, 'request-access': 1, 'handler-as-value': 1 },
      durationMs: 1500,
      filesPerSecond: 80,
    });
    // Unchanged files are counted, not listed; files sorted by path; edits by line.
    expect(json.files.map((f: { file: string }) => f.file)).toEqual(['src/app.ts', 'src/broken file.ts', 'src/handlers.ts', 'src/tasks.ts']);
    const app = json.files[0];
    expect(app).toMatchObject({ status: 'migrated', applied: true, edits: [{ line: 1, rule: 'host-app' }, { line: 2, rule: 'mount' }] });
    expect(app.diff).toContain('+const app = wrapApp(express(), { useDeferred: true });');
    expect(json.files[1]).toMatchObject({ status: 'failed', applied: false });
    expect(json.files[1].diff).toBeUndefined();
    expect(json.files[2].items.map((i: ReportItem) => i.column)).toEqual([1, 17]);
  });

  it('marks nothing applied outside write mode', () => {
    expect(toJsonReport(report('dry-run')).files.every((f) => !f.applied)).toBe(true);
    expect(toJsonReport(report('check')).mode).toBe('check');
  });
});

describe('Markdown report', () => {
  const md = renderMarkdown(report('write'));

  it('leads with the counts and says whether anything was written', () => {
    expect(md.startsWith('## deferred-migrate report\n\n**1 migrated, 116 unchanged, 2 manual, 1 failed (120 files scanned in 1.50 s, 80 files/s)**\n')).toBe(true);
    expect(md).toContain('Changes were written to disk.');
    expect(renderMarkdown(report('dry-run'))).toContain('Dry run: nothing was written.');
  });

  it('has a checklist of manual steps grouped by reason code, with file:line links and docs', () => {
    const section = md.slice(md.indexOf('### Manual steps'), md.indexOf('### Files'));
    expect(section).toContain('### Manual steps (2)');
    const headings = [...section.matchAll(/^#### `([a-z-]+)` \((\d+)\) · \[what to do\]\((\S+)\)$/gm)].map((m) => [m[1], m[2], m[3]]);
    expect(headings).toEqual([
      ['request-access', '1', `${DOCS}request-access`],
      ['transactional-enqueue', '1', `${DOCS}transactional-enqueue`],
    ]);
    expect(section).toContain('- [ ] [`src/tasks.ts:2:24`](src/tasks.ts#L2) no transactional enqueue on Cloud Tasks: check the \\*order\\* of writes \\| enqueue');
    expect(section).not.toContain('parse-error'); // failures have their own section
    expect(section).not.toContain('handler-as-value'); // a note: what was done, not a step
    expect(md).toContain('### Notes (1)\n\n- [`src/handlers.ts:1:1`](src/handlers.ts#L1) `handler-as-value`: passed around');
  });

  it('lists changed files with their rules, and failures with their reason', () => {
    expect(md).toContain('### Files changed (2)');
    expect(md).toContain('| [`src/app.ts`](src/app.ts) | 2 | `host-app`, `mount` |');
    expect(md).toContain('### Failed (1)\n\n- [`src/broken file.ts:1:5`](src/broken%20file.ts#L1) `parse-error`: Identifier expected');
  });

  it('prefixes links with --link-base', () => {
    expect(renderMarkdown(report(), { linkBase: 'https://github.com/o/r/blob/abc/' })).toContain('(https://github.com/o/r/blob/abc/src/tasks.ts#L2)');
  });
});

describe('SARIF report', () => {
  it('is valid SARIF 2.1.0 with one rule per reason code and its docs as helpUri', () => {
    const log = toSarif(report()) as any;
    assertSarif210(log);
    const run = log.runs[0];
    const reasonRules = run.tool.driver.rules.filter((r: any) => !r.id.startsWith(EDIT_RULE_PREFIX));
    expect(reasonRules.map((r: any) => [r.id, r.helpUri]).sort()).toEqual(
      ['handler-as-value', 'parse-error', 'request-access', 'transactional-enqueue'].map((c) => [c, `${DOCS}${c}`]),
    );
    const tx = run.results.find((r: any) => r.ruleId === 'transactional-enqueue');
    expect(tx).toMatchObject({ level: 'warning', kind: 'fail', locations: [{ physicalLocation: { artifactLocation: { uri: 'src/tasks.ts', uriBaseId: '%SRCROOT%' }, region: { startLine: 2, startColumn: 24 } } }] });
    expect(run.results.find((r: any) => r.ruleId === 'parse-error').locations[0].physicalLocation.artifactLocation.uri).toBe('src/broken%20file.ts');
    expect(run.originalUriBaseIds['%SRCROOT%'].uri).toBe('file:///repo/');
  });

  it('reports edits as notes: pending in a dry run, informational once written', () => {
    const pending = (toSarif(report('dry-run')) as any).runs[0].results.filter((r: any) => r.ruleId.startsWith(EDIT_RULE_PREFIX));
    expect(pending.map((r: any) => [r.ruleId, r.kind, r.message.text])).toContainEqual(['edit/mount', 'fail', 'Would rewrite: remove the route-table mount']);
    const written = (toSarif(report('write')) as any).runs[0].results.filter((r: any) => r.ruleId.startsWith(EDIT_RULE_PREFIX));
    expect(written.every((r: any) => r.kind === 'informational' && r.level === 'note')).toBe(true);
  });
});

describe('the three reports carry the same facts', () => {
  it('same manual items (file, line, column, code) and the same edits', () => {
    const r = report('dry-run');
    const json = toJsonReport(r);
    const sarif = (toSarif(r) as any).runs[0].results;
    const md = renderMarkdown(r);
    const jsonItems = json.files.flatMap((f) => f.items.map((i) => `${i.file}:${i.line}:${i.column} ${i.code}`)).sort();
    const sarifItems = sarif
      .filter((x: any) => !x.ruleId.startsWith(EDIT_RULE_PREFIX))
      .map((x: any) => `${decodeURI(x.locations[0].physicalLocation.artifactLocation.uri)}:${x.locations[0].physicalLocation.region.startLine}:${x.locations[0].physicalLocation.region.startColumn} ${x.ruleId}`)
      .sort();
    expect(sarifItems).toEqual(jsonItems);
    for (const it of jsonItems) expect(md).toContain(it.split(' ')[0]!);
    const jsonEdits = json.files.flatMap((f) => f.edits.map((e) => `${f.file}:${e.line} ${e.rule}`)).sort();
    const sarifEdits = sarif
      .filter((x: any) => x.ruleId.startsWith(EDIT_RULE_PREFIX))
      .map((x: any) => `${x.locations[0].physicalLocation.artifactLocation.uri}:${x.locations[0].physicalLocation.region.startLine} ${x.ruleId.slice(EDIT_RULE_PREFIX.length)}`)
      .sort();
    expect(sarifEdits).toEqual(jsonEdits);
  });
});

describe('console output', () => {
  it('prints the summary line', () => {
    expect(summaryLine(fixtureResult())).toBe('1 migrated, 116 unchanged, 2 manual, 1 failed (120 files scanned in 1.50 s, 80 files/s)');
    expect(summaryLine(fixtureResult(), { color: true })).toContain('\u001b[31m1 failed\u001b[39m');
  });

  it('prints one status line per notable file and one line per item', () => {
    expect(statusLines('dry-run', fixtureResult())).toEqual([
      'migrated  src/app.ts (2 edits, would change)',
      'failed    src/broken file.ts (parse-error: Identifier expected)',
      'manual    src/handlers.ts (1 manual item; 1 note)',
      'manual    src/tasks.ts (1 edit, would change; 1 manual item)',
    ]);
    expect(itemLines([item('a.ts', 3, 4, 'target-routing', 'uses _target')])).toEqual([`a.ts:3:4  warning  target-routing  uses _target  ${DOCS}target-routing`]);
  });
});

describe('diff', () => {
  it('is a git-style unified diff, coloured on request, empty when nothing changes', () => {
    const plain = fileDiff('src/a.ts', 'a\nb\nc\n', 'a\nB\nc\n');
    expect(plain).toBe('--- a/src/a.ts\n+++ b/src/a.ts\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n');
    const coloured = fileDiff('src/a.ts', 'a\nb\nc\n', 'a\nB\nc\n', { color: true });
    expect(coloured).toContain('\u001b[31m-b\u001b[39m\n\u001b[32m+B\u001b[39m');
    expect(coloured).toContain('\u001b[36m@@ -1,3 +1,3 @@\u001b[39m');
    expect(fileDiff('x', 'same', 'same')).toBe('');
  });

  it('decides colour: flag, then FORCE_COLOR, then NO_COLOR, then TTY', () => {
    expect(useColor({ env: {}, isTTY: true })).toBe(true);
    expect(useColor({ env: {}, isTTY: false })).toBe(false);
    expect(useColor({ env: { TERM: 'dumb' }, isTTY: true })).toBe(false);
    expect(useColor({ env: { NO_COLOR: '1' }, isTTY: true })).toBe(false);
    expect(useColor({ env: { NO_COLOR: '' }, isTTY: true })).toBe(true);
    expect(useColor({ env: { FORCE_COLOR: '1' }, isTTY: false })).toBe(true);
    expect(useColor({ env: { FORCE_COLOR: '0' }, isTTY: true })).toBe(false);
    expect(useColor({ env: { FORCE_COLOR: '1', NO_COLOR: '1' }, isTTY: false })).toBe(true);
    expect(useColor({ flag: false, env: { FORCE_COLOR: '1' }, isTTY: true })).toBe(false);
    expect(useColor({ flag: true, env: { NO_COLOR: '1' }, isTTY: false })).toBe(true);
  });
});
