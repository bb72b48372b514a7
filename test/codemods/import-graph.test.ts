// The relative-import graph the analysis expands candidates with: which files may import
// a module, found by the last path segment of their specifiers, then resolved; and its
// update for the idempotency pass, which must be the graph a fresh index would be.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DiscoveredFile } from '../../codemods/analysis/discover.js';
import { ImportGraph } from '../../codemods/analysis/import-graph.js';
import { ProjectIndex } from '../../codemods/analysis/project.js';
import type { TextScan, TextScans } from '../../codemods/analysis/tree-scan.js';

const ROOT = '/repo';
const IMPORTS: Record<string, string[]> = {
  'src/app.ts': ['./tasks.js', './lib', './lib/util'],
  'src/tasks.ts': [],
  'src/routes.js': ['./tasks'],
  'src/lib/index.ts': ['./util.js'],
  'src/lib/util.ts': ['.'],
  'src/handlers/custom.ts': ['../tasks', '../lib/index.js'],
  'src/jobs/worker.ts': ['./tasks', './index'],
};
const FILES: DiscoveredFile[] = Object.keys(IMPORTS).map((rel) => ({ absPath: `${ROOT}/${rel}`, rel, kind: 'source' }));
const SCANS: TextScans = new Map(FILES.map((file): [string, TextScan] => [file.absPath, { legacy: false, host: false, specifiers: IMPORTS[file.rel]! }]));

/** What the analysis asks the graph: the files that may import `rel` and do. */
function importersOf(rel: string, graph = ImportGraph.of(FILES, SCANS), index = new ProjectIndex(FILES)): string[] {
  const absPath = `${ROOT}/${rel}`;
  return graph
    .importerCandidates(absPath, index)
    .flat()
    .filter((file) => graph.importsOf(file, index).has(absPath))
    .map((file) => file.slice(ROOT.length + 1));
}

/** Everything the analysis may ask, for every file. */
function answers(graph: ImportGraph, index: ProjectIndex): Record<string, string[]> {
  return Object.fromEntries(FILES.map((file) => [file.rel, importersOf(file.rel, graph, index)]));
}

/** The index itself, key order aside (private: an update must hold what a fresh index holds). */
function indexOf(graph: ImportGraph): Array<[string, string[]]> {
  return [...(graph as unknown as { byKey: Map<string, string[]> }).byKey].sort(([a], [b]) => (a < b ? -1 : 1));
}

const SPECIFIERS = ['./tasks', './tasks.js', '../tasks', './lib', './lib/', './lib/index.js', './util', '..', '.', './handlers/custom', '../handlers', './custom.js'];
const specifierLists = fc.array(fc.array(fc.constantFrom(...SPECIFIERS), { maxLength: 4 }), { minLength: FILES.length, maxLength: FILES.length });

describe('import graph', () => {
  it('finds the importers of a module, whatever extension the specifier names', () => {
    expect(importersOf('src/tasks.ts')).toEqual(['src/app.ts', 'src/routes.js', 'src/handlers/custom.ts']);
  });

  it('finds the importers of an index file through its directory and through `.`', () => {
    expect(importersOf('src/lib/index.ts').sort()).toEqual(['src/app.ts', 'src/handlers/custom.ts', 'src/lib/util.ts']);
  });

  it('leaves out files whose specifier shares the name but resolves elsewhere', () => {
    // worker.ts's `./tasks` and `./index` name files of src/jobs, which has neither.
    expect(importersOf('src/tasks.ts')).not.toContain('src/jobs/worker.ts');
    expect(importersOf('src/lib/index.ts')).not.toContain('src/jobs/worker.ts');
    expect(importersOf('src/app.ts')).toEqual([]);
  });

  it('updated for the files whose relative imports changed, is the graph a fresh index makes', () => {
    fc.assert(
      fc.property(specifierLists, specifierLists, fc.array(fc.boolean(), { minLength: FILES.length, maxLength: FILES.length }), (before, after, changes) => {
        const first: TextScans = new Map(FILES.map((file, i): [string, TextScan] => [file.absPath, { legacy: false, host: false, specifiers: before[i]! }]));
        // The idempotency pass's scans: unchanged files keep their scan objects.
        const second: TextScans = new Map(first);
        FILES.forEach((file, i) => {
          if (changes[i]) second.set(file.absPath, { legacy: false, host: false, specifiers: after[i]! });
        });
        const index = new ProjectIndex(FILES);
        const earlier = ImportGraph.of(FILES, first);
        answers(earlier, index); // fills its resolutions, which must not be carried over for changed files
        const updated = ImportGraph.of(FILES, second, earlier);
        const fresh = ImportGraph.of(FILES, second);
        expect(indexOf(updated)).toEqual(indexOf(fresh));
        expect(answers(updated, index)).toEqual(answers(fresh, index));
        // The earlier graph still answers for its own scans.
        expect(answers(earlier, index)).toEqual(answers(ImportGraph.of(FILES, first), index));
      }),
      { numRuns: 500 },
    );
  });

  it('is indexed afresh for another file list', () => {
    const other = FILES.slice(0, 2);
    const scans: TextScans = new Map(other.map((file): [string, TextScan] => [file.absPath, { legacy: false, host: false, specifiers: [] }]));
    expect(indexOf(ImportGraph.of(other, scans, ImportGraph.of(FILES, SCANS)))).toEqual([]);
  });
});
