// SARIF 2.1.0 shape check shared by the report tests: the schema's required
// properties, its enums, and the references between rules and results.
import { expect } from 'vitest';

/** Structural checks of the SARIF 2.1.0 schema's required properties and the references between them. */
export function assertSarif210(log: any): void {
  expect(log.version).toBe('2.1.0');
  expect(log.$schema).toMatch(/sarif-2\.1\.0/);
  expect(Array.isArray(log.runs)).toBe(true);
  for (const run of log.runs) {
    expect(typeof run.tool.driver.name).toBe('string');
    const rules = run.tool.driver.rules as any[];
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.id).toMatch(/^\S+$/);
      if (rule.helpUri !== undefined) expect(() => new URL(rule.helpUri)).not.toThrow();
      expect(['none', 'note', 'warning', 'error']).toContain(rule.defaultConfiguration.level);
    }
    for (const [, base] of Object.entries<any>(run.originalUriBaseIds ?? {})) expect(base.uri).toMatch(/^file:\/\/.*\/$/);
    for (const result of run.results as any[]) {
      expect(result.message.text.length).toBeGreaterThan(0);
      expect(rules[result.ruleIndex].id).toBe(result.ruleId);
      expect(['none', 'note', 'warning', 'error']).toContain(result.level);
      expect(['notApplicable', 'pass', 'fail', 'review', 'open', 'informational']).toContain(result.kind);
      for (const loc of result.locations) {
        const { artifactLocation, region } = loc.physicalLocation;
        expect(artifactLocation.uri).not.toMatch(/^\/|\\| /); // relative URI reference, encoded
        expect(Object.keys(run.originalUriBaseIds)).toContain(artifactLocation.uriBaseId);
        expect(Number.isInteger(region.startLine) && region.startLine >= 1).toBe(true);
        if (region.startColumn !== undefined) expect(region.startColumn).toBeGreaterThanOrEqual(1);
      }
    }
  }
}
