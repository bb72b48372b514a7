// SARIF 2.1.0 for code-scanning annotations: one rule per reason code (helpUri =
// its docs), one result per manual item; automatic edits are results too (level
// `note`, rule `edit/<rule>`) so the report carries the same facts as JSON.
import { pathToFileURL } from 'node:url';
import type { Severity } from '../types.js';
import { allItems, hasChanges, isApplied, notableFiles, type RunReport } from './run-report.js';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const EDIT_RULE_PREFIX = 'edit/';
const SRCROOT = '%SRCROOT%';

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  helpUri?: string;
  help?: { text: string };
  defaultConfiguration: { level: SarifLevel };
}
type SarifLevel = 'error' | 'warning' | 'note';

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: SarifLevel;
  kind: 'fail' | 'informational';
  message: { text: string };
  locations: Array<{
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId: string };
      region: { startLine: number; startColumn?: number };
    };
  }>;
  properties?: Record<string, unknown>;
  suppressions?: Array<{ kind: 'inSource'; justification: string }>;
}

export function toSarif(report: RunReport): Record<string, unknown> {
  const { result, mode } = report;
  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  const ensureRule = (rule: SarifRule): number => {
    const known = ruleIndex.get(rule.id);
    if (known !== undefined) return known;
    ruleIndex.set(rule.id, rules.length);
    rules.push(rule);
    return rules.length - 1;
  };

  const results: SarifResult[] = [];
  for (const item of allItems(result)) {
    const index = ensureRule({
      id: item.code,
      name: camelName(item.code),
      shortDescription: { text: `deferred-migrate: ${item.code}` },
      // helpUri must be an absolute URI; the default links are paths into the installed package.
      ...(/^[a-z][a-z0-9+.-]*:/i.test(item.docsUrl) ? { helpUri: item.docsUrl } : { help: { text: `See ${item.docsUrl}` } }),
      defaultConfiguration: { level: level(item.severity) },
    });
    results.push({
      ruleId: item.code,
      ruleIndex: index,
      level: level(item.severity),
      kind: 'fail',
      message: { text: item.message },
      locations: [location(item.file, item.line, item.column)],
      properties: { producedBy: item.rule },
      // `// deferred-migrate-ignore <code>: <why>` at the site.
      ...(item.acknowledged !== undefined ? { suppressions: [{ kind: 'inSource', justification: item.acknowledged }] } : {}),
    });
  }
  for (const f of notableFiles(result)) {
    if (!hasChanges(f) || f.status === 'failed') continue;
    const applied = isApplied(mode, f);
    for (const edit of f.edits) {
      const id = `${EDIT_RULE_PREFIX}${edit.rule}`;
      const index = ensureRule({
        id,
        name: camelName(id),
        shortDescription: { text: `deferred-migrate automatic rewrite (${edit.rule})` },
        defaultConfiguration: { level: 'note' },
      });
      results.push({
        ruleId: id,
        ruleIndex: index,
        level: 'note',
        kind: applied ? 'informational' : 'fail',
        message: { text: `${applied ? 'Rewritten' : 'Would rewrite'}: ${edit.description}` },
        locations: [location(f.file, edit.line)],
        properties: { applied },
      });
    }
  }

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: report.tool.name, version: report.tool.version, informationUri: 'https://www.npmjs.com/package/deferred-migrate', rules } },
        originalUriBaseIds: { [SRCROOT]: { uri: directoryUri(result.root) } },
        invocations: [{ executionSuccessful: result.summary.failed === 0, properties: { mode } }],
        results,
      },
    ],
  };
}

export function renderSarif(report: RunReport): string {
  return `${JSON.stringify(toSarif(report), null, 2)}\n`;
}

function location(file: string, line: number, column?: number): SarifResult['locations'][number] {
  return {
    physicalLocation: {
      artifactLocation: { uri: encodeURI(file), uriBaseId: SRCROOT },
      region: column === undefined ? { startLine: Math.max(1, line) } : { startLine: Math.max(1, line), startColumn: Math.max(1, column) },
    },
  };
}

/** Our severities are SARIF's level names; the function keeps the mapping explicit if either side grows. */
function level(severity: Severity): SarifLevel {
  return severity;
}

function directoryUri(dir: string): string {
  const href = pathToFileURL(dir).href;
  return href.endsWith('/') ? href : `${href}/`;
}

/** `transactional-enqueue` -> `TransactionalEnqueue` (SARIF rule names are identifiers). */
function camelName(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}
