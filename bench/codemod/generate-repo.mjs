// Generates a synthetic monorepo for the codemod benchmark: ordinary TS/TSX/JS
// modules of realistic size that import each other, plus small legacy apps that use
// the TaskHandler-style deferred API in every recognised style (ESM namespace, named,
// aliased, default, CommonJS, barrels, subclass chains across files, route tables,
// host apps mounting them). Deterministic for a given seed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

const FILES_PER_PACKAGE = 50;
const LEGACY_FILES_PER_APP = 6;

/** Small seeded PRNG (mulberry32) so every run measures the same tree. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['account', 'order', 'invoice', 'user', 'session', 'cart', 'item', 'price', 'report', 'event', 'queue', 'cache', 'token', 'profile', 'audit', 'metric', 'ledger', 'shipment', 'coupon', 'review'];
const VERBS = ['load', 'save', 'compute', 'validate', 'render', 'merge', 'sync', 'format', 'resolve', 'publish'];

/**
 * @param {string} dir  empty directory to fill
 * Shapes of the ordinary modules:
 *   'standard'  about 4 KB each, flat src/ folders, two imports (the package index, the predecessor);
 *   'deep'      1 to 40 KB (most small, a long tail of large ones), folders up to five levels
 *               deep, 3 to 12 imports each (siblings, the package index, other packages), and
 *               more nested code (closures inside loops inside methods).
 * @param {{ files?: number, legacyShare?: number, seed?: number, shape?: 'standard' | 'deep' }} options
 * @returns {{ files: string[], legacy: string[] }} relative paths
 */
export function generateRepo(dir, { files = 10_000, legacyShare = 0.02, seed = 42, shape = 'standard' } = {}) {
  if (shape !== 'standard' && shape !== 'deep') throw new Error(`unknown repository shape ${shape}`);
  const random = rng(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const all = [];
  const legacy = [];
  const write = (rel, text) => {
    const abs = join(dir, rel);
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, text);
    all.push(rel);
  };

  // The apps' framework is declared, as in a real repository: an import of a package the
  // tree neither declares nor installs counts as one the analysis cannot follow.
  write('package.json', JSON.stringify({ name: 'bench-monorepo', private: true, type: 'module', dependencies: { express: '^5.1.0' } }, null, 2) + '\n');
  write('.gitignore', 'node_modules/\ndist/\n');
  write('tsconfig.json', JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', jsx: 'react-jsx' } }, null, 2) + '\n');

  const legacyTarget = Math.round(files * legacyShare);
  const apps = Math.ceil(legacyTarget / LEGACY_FILES_PER_APP);
  let legacyLeft = legacyTarget;
  for (let app = 0; app < apps; app++) {
    const count = Math.min(LEGACY_FILES_PER_APP, legacyLeft);
    for (const [rel, text] of legacyApp(app, count, random)) {
      write(rel, text);
      legacy.push(rel);
    }
    legacyLeft -= count;
  }

  const ordinaryTarget = files - all.length;
  const kindOf = (index) => (index % 10 === 9 ? 'tsx' : index % 7 === 6 ? 'js' : 'ts');
  const nameOf = (pkg, index) => `${WORDS[(pkg * 7 + index) % WORDS.length]}-${index}`;
  const packages = Math.ceil(ordinaryTarget / FILES_PER_PACKAGE);
  for (let pkg = 0; pkg < packages; pkg++) {
    // Every ordinary module imports its package's index.ts, and its TS predecessor: a real import graph.
    write(`packages/p${pkg}/src/index.ts`, `export const packageName = 'p${pkg}';\nexport const version = '1.${pkg}.0';\n`);
  }
  for (let i = 0; i < ordinaryTarget - packages; i++) {
    const pkg = i % packages;
    const index = Math.floor(i / packages);
    const kind = kindOf(index);
    if (shape === 'deep') {
      const rel = deepPath(pkg, index, nameOf(pkg, index), kind);
      write(rel, deepModule(kind, rel, deepImports(pkg, index, packages, kindOf, nameOf, random), random, pick));
      continue;
    }
    const neighbour = index > 0 && kindOf(index - 1) !== 'js' ? `./${nameOf(pkg, index - 1)}` : undefined;
    write(`packages/p${pkg}/src/${nameOf(pkg, index)}.${kind}`, ordinaryModule(kind, neighbour, random, pick));
  }
  return { files: all, legacy };
}

/** Deep shape: module `index` of a package lives 0 to 4 folders below src/. */
function deepPath(pkg, index, name, kind) {
  const depth = index % 5;
  const folders = Array.from({ length: depth }, (_, level) => `${WORDS[(index + level * 3) % WORDS.length]}${level}`);
  return posix.join(`packages/p${pkg}/src`, ...folders, `${name}.${kind}`);
}

/** Deep shape: 3 to 12 import targets (repository-relative, without extension): earlier TS siblings, the index, other packages' indexes. */
function deepImports(pkg, index, packages, kindOf, nameOf, random) {
  const targets = new Set([`packages/p${pkg}/src/index`]);
  const wanted = 3 + Math.floor(random() * 10);
  for (let tries = 0; targets.size < wanted && tries < wanted * 3; tries++) {
    const roll = random();
    if (roll < 0.7 && index > 0) {
      const other = Math.floor(random() * index);
      if (kindOf(other) !== 'js') targets.add(deepPath(pkg, other, nameOf(pkg, other), kindOf(other)).replace(/\.tsx?$/, ''));
    } else {
      targets.add(`packages/p${Math.floor(random() * packages)}/src/index`);
    }
  }
  return [...targets];
}

function deepModule(kind, rel, imports, random, pick) {
  if (kind === 'js') return ordinaryModule(kind, undefined, random, pick);
  const noun = pick(WORDS);
  const Type = noun[0].toUpperCase() + noun.slice(1);
  // Mostly small files and a long tail of large ones: about 1 KB to 40 KB.
  const methods = 1 + Math.floor(random() ** 3 * 48);
  const from = posix.dirname(rel);
  const lines = [`// ${Type} workflows (generated, deep shape)`];
  imports.forEach((target, i) => {
    let spec = posix.relative(from, target);
    if (!spec.startsWith('.')) spec = `./${spec}`;
    lines.push(target.endsWith('/index') ? `import * as dep${i} from '${spec}';` : `import type * as dep${i} from '${spec}';`);
  });
  lines.push('', `type Step = { name: string; run: (input: number) => Promise<number> };`, '');
  lines.push(`export class ${Type}Workflow {`, `  private readonly steps: Step[] = [];`, `  private readonly seen = new Map<string, number>();`, '');
  for (let m = 0; m < methods; m++) {
    const verb = pick(VERBS);
    lines.push(
      `  async ${verb}${Type}${m}(inputs: number[], options: { limit?: number; label?: string } = {}): Promise<number[]> {`,
      `    const out: number[] = [];`,
      `    for (const [i, input] of inputs.entries()) {`,
      `      if (options.limit !== undefined && i >= options.limit) break;`,
      `      const step = this.steps[i % Math.max(1, this.steps.length)];`,
      `      const value = await (async () => {`,
      `        try {`,
      `          if (!step) return input;`,
      `          const result = await step.run(input);`,
      `          return Number.isFinite(result) ? result : (() => { throw new RangeError(\`\${options.label ?? '${noun}'}: \${result}\`); })();`,
      `        } catch (error) {`,
      `          this.seen.set(String(error), (this.seen.get(String(error)) ?? 0) + 1);`,
      `          return input;`,
      `        }`,
      `      })();`,
      `      out.push(value);`,
      `    }`,
      `    return out;`,
      `  }`,
      '',
    );
  }
  lines.push('}', '');
  lines.push(`export const ${noun}Dependencies = [${imports.map((target, i) => (target.endsWith('/index') ? `dep${i}` : `'${posix.basename(target)}'`)).join(', ')}];`, '');
  if (kind === 'tsx') {
    lines.push(`export function ${Type}Panel({ values }: { values: number[] }) {`, `  return (`, `    <section>`, `      <ul>{values.map((v, i) => <li key={i}>{v.toFixed(1)}</li>)}</ul>`, `    </section>`, `  );`, `}`, '');
  }
  return lines.join('\n');
}

function ordinaryModule(kind, neighbour, random, pick) {
  const noun = pick(WORDS);
  const Type = noun[0].toUpperCase() + noun.slice(1);
  const methods = 3 + Math.floor(random() * 6);
  const lines = [];
  lines.push(`// ${Type} helpers (generated)`);
  if (kind === 'js') {
    lines.push(`'use strict';`, `const { EventEmitter } = require('node:events');`, `const path = require('node:path');`, '');
    lines.push(`class ${Type}Store extends EventEmitter {`, `  constructor(options = {}) {`, `    super();`, `    this.items = new Map();`, `    this.root = path.resolve(options.root || '.');`, `  }`);
    for (let m = 0; m < methods; m++) {
      const verb = pick(VERBS);
      lines.push(
        `  ${verb}${Type}${m}(key, value) {`,
        `    const previous = this.items.get(key);`,
        `    if (previous && previous.version > (value.version || 0)) {`,
        `      this.emit('conflict', { key, previous, value });`,
        `      return previous;`,
        `    }`,
        `    const next = { ...previous, ...value, version: (previous ? previous.version : 0) + 1, at: Date.now() };`,
        `    this.items.set(key, next);`,
        `    return next;`,
        `  }`,
      );
    }
    lines.push('}', '', `module.exports = { ${Type}Store, create${Type}Store: (o) => new ${Type}Store(o) };`, '');
    return lines.join('\n');
  }
  if (neighbour) lines.push(`import type { Options as NeighbourOptions } from '${neighbour}';`);
  lines.push(`import { packageName } from './index';`, '');
  lines.push(`export interface Options {`, `  retries: number;`, `  timeoutMs?: number;`, `  labels: Record<string, string>;`, `}`, '');
  lines.push(`export interface ${Type} {`, `  id: string;`, `  createdAt: Date;`, `  amount: number;`, `  tags: string[];`, `  owner?: { id: string; name: string };`, `}`, '');
  lines.push(`export class ${Type}Service {`, `  private readonly cache = new Map<string, ${Type}>();`, `  constructor(private readonly options: Options${neighbour ? ' & Partial<NeighbourOptions>' : ''}) {}`, '');
  for (let m = 0; m < methods; m++) {
    const verb = pick(VERBS);
    lines.push(
      `  async ${verb}${Type}${m}(id: string, patch: Partial<${Type}> = {}): Promise<${Type} | undefined> {`,
      `    const current = this.cache.get(id);`,
      `    for (let attempt = 0; attempt <= this.options.retries; attempt++) {`,
      `      try {`,
      `        const merged: ${Type} = { id, createdAt: new Date(), amount: 0, tags: [], ...current, ...patch };`,
      `        if (merged.amount < 0) throw new RangeError(\`negative amount for \${id} in \${packageName}\`);`,
      `        this.cache.set(id, merged);`,
      `        return merged;`,
      `      } catch (error) {`,
      `        if (attempt === this.options.retries) throw error;`,
      `        await new Promise((resolve) => setTimeout(resolve, (this.options.timeoutMs ?? 10) * 2 ** attempt));`,
      `      }`,
      `    }`,
      `    return undefined;`,
      `  }`,
      '',
    );
  }
  lines.push('}', '');
  lines.push(`export function summarise${Type}s(items: ${Type}[]): { total: number; byTag: Map<string, number> } {`, `  const byTag = new Map<string, number>();`, `  let total = 0;`, `  for (const item of items) {`, `    total += item.amount;`, `    for (const tag of item.tags) byTag.set(tag, (byTag.get(tag) ?? 0) + item.amount);`, `  }`, `  return { total, byTag };`, `}`, '');
  if (kind === 'tsx') {
    lines.push(
      `export function ${Type}Row({ item }: { item: ${Type} }) {`,
      `  return (`,
      `    <tr data-id={item.id}>`,
      `      <td>{item.owner?.name ?? 'n/a'}</td>`,
      `      <td className="amount">{item.amount.toFixed(2)}</td>`,
      `      <td>{item.tags.map((t) => <span key={t}>{t}</span>)}</td>`,
      `    </tr>`,
      `  );`,
      `}`,
      '',
    );
  }
  return lines.join('\n');
}

const DEFERRED = 'google/appengine/ext/deferred';
const WEBAPP = 'google/appengine/ext/webapp';

/** One small legacy app: barrel, tasks, a handler subclass chain, a route table, the host app. */
function legacyApp(app, count, random) {
  const base = `services/legacy-${app}/src`;
  const style = app % 5;
  const files = [];
  const fn = `recount${app}`;

  // 1. tasks (style varies: namespace / named+alias / default / CommonJS / through the barrel)
  if (style === 3) {
    files.push([
      `${base}/tasks.js`,
      [
        `'use strict';`,
        `const deferred = require('${DEFERRED}');`,
        `const { defer } = require('${DEFERRED}');`,
        ``,
        `function ${fn}(key, amount) {`,
        `  console.log('recount', key, amount);`,
        `}`,
        `function schedule(key) {`,
        `  deferred.defer(${fn}, key, 1);`,
        `  defer(${fn}, key, 2, { _countdown: 30, _queue: 'slow' });`,
        `  require('${DEFERRED}').defer(${fn}, key, 3);`,
        `}`,
        `module.exports = { ${fn}, schedule };`,
        ``,
      ].join('\n'),
    ]);
  } else {
    const importLine = [
      `import * as deferred from '${DEFERRED}';`,
      `import { defer as later, PermanentTaskFailure } from '${DEFERRED}';`,
      `import deferred from '${DEFERRED}';`,
      '',
      `import { deferred, defer } from './deferred';`,
    ][style];
    const call = [
      `deferred.defer(${fn}, key, amount, { _countdown: 60 });`,
      `later(${fn}, key, amount, { _url: '/custom/${app}', _name: \`recount-\${key}\` });`,
      `deferred.defer(${fn}, key, amount, { _eta: new Date(Date.now() + 1000) });`,
      '',
      `defer(${fn}, key, amount); deferred.defer(${fn}, key, amount + 1, { _transactional: ${app % 2 === 0} });`,
    ][style];
    files.push([
      `${base}/tasks.ts`,
      [
        importLine,
        ``,
        `export function ${fn}(key: string, amount: number): void {`,
        style === 1 ? `  if (amount < 0) throw new PermanentTaskFailure('negative');` : `  if (amount < 0) return;`,
        `  console.log('recount', key, amount);`,
        `}`,
        ``,
        `export function schedule(key: string, amount: number): void {`,
        `  ${call}`,
        `}`,
        ``,
      ].join('\n'),
    ]);
  }
  // 2. barrel re-export of the legacy module
  files.push([`${base}/deferred.ts`, `export * from '${DEFERRED}';\nexport * as deferred from '${DEFERRED}';\n`]);
  // 3. + 4. handler subclass chain across two files
  files.push([
    `${base}/handlers/logging.ts`,
    [
      `import { TaskHandler as Base } from '../deferred';`,
      ``,
      `export class LoggingHandler${app} extends Base {`,
      `  override async post(): Promise<void> {`,
      `    console.info('task from', this.request.headers['X-AppEngine-QueueName'] ?? '?');`,
      `    await super.post();`,
      `  }`,
      `}`,
      ``,
    ].join('\n'),
  ]);
  files.push([
    `${base}/handlers/custom.ts`,
    [
      `import { LoggingHandler${app} } from './logging';`,
      ``,
      `export class CustomHandler${app} extends LoggingHandler${app} {`,
      `  override async runFromRequest(): Promise<void> {`,
      `  ${random() < 0.5 ? '  console.debug(\'custom run\');' : '  // nothing special'}`,
      `    await super.runFromRequest();`,
      `  }`,
      `}`,
      ``,
    ].join('\n'),
  ]);
  // 5. route table
  files.push([
    `${base}/routes.ts`,
    [
      `import { WSGIApplication } from '${WEBAPP}';`,
      `import { TaskHandler } from '${DEFERRED}';`,
      `import { CustomHandler${app} } from './handlers/custom';`,
      ``,
      `export const tasks = new WSGIApplication([`,
      `  ['/_ah/queue/deferred', TaskHandler],`,
      `  ['/custom/${app}', CustomHandler${app}],`,
      `], { debug: false });`,
      ``,
    ].join('\n'),
  ]);
  // 6. the host app mounting the table
  files.push([
    `${base}/app.ts`,
    [
      `import express from 'express';`,
      `import { tasks } from './routes';`,
      `import { schedule } from './tasks${style === 3 ? '.js' : ''}';`,
      ``,
      `export function createApp() {`,
      `  const app = express();`,
      `  app.get('/recount/:key', (req, res) => {`,
      `    schedule(req.params.key, 1);`,
      `    res.send('ok');`,
      `  });`,
      `  app.use(tasks);`,
      `  return app;`,
      `}`,
      ``,
    ].join('\n'),
  ]);
  return files.slice(0, count);
}
