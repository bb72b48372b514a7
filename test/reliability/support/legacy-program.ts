// fast-check arbitraries that build legacy programs from the forms of the
// contract (shared/spec/legacy-api.md): import styles (namespace, named with
// aliases, default) of every recognised specifier, task functions in each
// registrable form, TaskHandler subclass chains (also across files), route
// tables with the built-in and custom rows mounted in Express or node:http (or
// nowhere), defer() calls with every option, comments and odd formatting (CRLF,
// tabs, multi-line calls, inline comments), and unrelated code around all of it.
// Handler bases are also derived from the module the ways the resolver follows
// (destructuring, alias chains, element access, an alias exported from another
// file, class expressions), and route rows are built in a variable (spread,
// push) as well as inline. Some programs get a file of defer() calls whose
// synchronous throw a try or a Promise chain handled (guarded-sites.ts), and
// some Express hosts wrap the /kick handler's calls in a try/catch.
//
// Unrelated code is emitted as chunks tagged `/* U<n> */`: the property test
// checks that each chunk survives the migration byte for byte, in order.
import fc from 'fast-check';
import { scaled } from './scale.js';
import { buildGuardedFile, guardedChoices, type GuardedChoices, type GuardedSite } from './guarded-sites.js';

export const LEGACY_SPECIFIERS = [
  'google/appengine/ext/deferred',
  '@acme/appengine/ext/deferred',
  'google/appengine/ext/deferred/index.js',
  '../vendor/google/appengine/ext/deferred',
] as const;
/** Where a program that uses the vendored specifier keeps its copy (a re-export of the legacy runtime). */
export const VENDOR_DEFERRED = 'vendor/google/appengine/ext/deferred/index.ts';

type LegacyName = 'defer' | 'TaskHandler' | 'PermanentTaskFailure' | 'SingularTaskFailure';

interface ImportChoice {
  style: 'namespace' | 'named' | 'default';
  alias: string;
  /** Local names for the named style ('' keeps the exported name). */
  renames: Record<LegacyName, string>;
  specifier: (typeof LEGACY_SPECIFIERS)[number];
  quote: "'" | '"';
}

type TaskForm = 'declaration' | 'async' | 'arrow' | 'function-expression';
type HandlerBody = 'post' | 'post-async' | 'run-from-request' | 'empty';
type OptionKey = '_countdown' | '_queue' | '_name' | '_url' | '_retry_options' | '_headers' | '_eta' | '_transactional' | '_target';

interface DeferSite {
  task: number;
  options: OptionKey[];
  layout: 0 | 1 | 2;
  comment: boolean;
}

/** How handlers.ts gets the TaskHandler its chain extends. */
type BaseDerivation = 'direct' | 'destructure' | 'alias-chain' | 'element-access' | 'exported-alias' | 'const-object' | 'reassigned-let';
/** How app.ts calls defer: directly, through `.call(null, ...)`, or through a property of a const object. */
type DeferVia = 'direct' | 'call' | 'object';
/** How the route table's rows are written (express hosts). */
type TableForm = 'literal' | 'spread' | 'push';

interface ProgramChoices {
  imports: { tasks: ImportChoice; handlers: ImportChoice; app: ImportChoice };
  derive: BaseDerivation;
  classExpression: boolean;
  tableForm: TableForm;
  deferVia: DeferVia;
  tasks: Array<{ form: TaskForm; throws: 'none' | 'PermanentTaskFailure' | 'SingularTaskFailure' }>;
  taskImport: 'named' | 'namespace';
  chain: HandlerBody[];
  chainAcrossFiles: boolean;
  host: 'express' | 'node' | 'none';
  table: boolean;
  builtinRow: boolean;
  webappStyle: 'named' | 'namespace';
  sites: DeferSite[];
  lambdaSite: boolean;
  unrelated: Array<{ file: 'tasks' | 'handlers' | 'app'; kind: number; at: number }>;
  collider: 'none' | 'register' | 'wrapApp' | 'environFrom' | 'Handler';
  banner: boolean;
  crlf: boolean;
  tabs: boolean;
  /** A file of defer() calls whose synchronous throw a try handles (guarded-sites.ts), or none. */
  guarded: GuardedChoices | null;
  /** An Express host's /kick handler wraps its defer() calls in a try/catch. */
  kickGuard: boolean;
}

export interface LegacyProgram {
  /** Relative POSIX path -> text. */
  files: Record<string, string>;
  /** Relative path -> unrelated chunks in file order. */
  unrelated: Record<string, string[]>;
  /** The program uses a construct the codemod must report (no host app, _transactional, _target, a lambda). */
  expectsManualSteps: boolean;
  /** TypeScript programs are type-checked (input against the legacy types, output against the shim). */
  typeChecked: boolean;
  /** The program declares its own register/wrapApp/environFrom/Handler, names the migration imports. */
  declaresShimName: boolean;
  choices: ProgramChoices | CommonJsChoices;
  /** Relative path -> the defer() calls whose synchronous throw a try handles, by marker (guarded-sites.ts). */
  guardedSites: Record<string, GuardedSite[]>;
}

const NAMESPACE_ALIASES = ['deferred', 'tq', 'legacy', 'appengine', 'd'];
const RENAMES: Record<LegacyName, string[]> = {
  defer: ['', 'enqueue', 'later', 'deferTask'],
  TaskHandler: ['', 'TH', 'BaseTaskHandler'],
  PermanentTaskFailure: ['', 'Fatal'],
  SingularTaskFailure: ['', 'RetryMe'],
};
const TASK_NAMES = ['sendEmail', 'bumpCounter', 'reindexShard'];
const OPTION_KEYS: OptionKey[] = ['_countdown', '_queue', '_name', '_url', '_retry_options', '_headers', '_eta', '_transactional', '_target'];

const importChoice: fc.Arbitrary<ImportChoice> = fc.record({
  style: fc.constantFrom('namespace', 'named', 'default'),
  alias: fc.constantFrom(...NAMESPACE_ALIASES),
  renames: fc.record({
    defer: fc.constantFrom(...RENAMES.defer),
    TaskHandler: fc.constantFrom(...RENAMES.TaskHandler),
    PermanentTaskFailure: fc.constantFrom(...RENAMES.PermanentTaskFailure),
    SingularTaskFailure: fc.constantFrom(...RENAMES.SingularTaskFailure),
  }),
  specifier: fc.constantFrom(...LEGACY_SPECIFIERS),
  quote: fc.constantFrom("'" as const, '"' as const),
});

/**
 * One program in twenty gets a guarded file (one in ten under LONG=1): its
 * migration asks the language service for callers, about 0.4 s of CPU a
 * program, and the default run's budget for these shapes is a few seconds.
 */
const GUARDED_ODDS = scaled(19, 9);
const guardedOption: fc.Arbitrary<GuardedChoices | null> = fc.oneof({ weight: GUARDED_ODDS, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: guardedChoices });

/** The /kick handler's try costs the same (the checker resolves the calls in it). */
const rarely: fc.Arbitrary<boolean> = fc.oneof({ weight: GUARDED_ODDS, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

const choices: fc.Arbitrary<ProgramChoices> = fc
  .record({
    imports: fc.record({ tasks: importChoice, handlers: importChoice, app: importChoice }),
    derive: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom<BaseDerivation>('direct', 'direct', 'destructure', 'alias-chain', 'element-access', 'exported-alias', 'const-object') },
      // A base the resolver cannot follow: it must be reported, never judged.
      { weight: 1, arbitrary: fc.constant<BaseDerivation>('reassigned-let') },
    ),
    classExpression: fc.boolean(),
    tableForm: fc.constantFrom<TableForm>('literal', 'literal', 'spread', 'push'),
    deferVia: fc.constantFrom<DeferVia>('direct', 'direct', 'direct', 'call', 'object'),
    tasks: fc.array(
      fc.record({
        form: fc.constantFrom<TaskForm>('declaration', 'async', 'arrow', 'function-expression'),
        throws: fc.constantFrom('none', 'none', 'PermanentTaskFailure', 'SingularTaskFailure'),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    taskImport: fc.constantFrom('named', 'named', 'named', 'named', 'namespace'),
    chain: fc.array(fc.constantFrom<HandlerBody>('post', 'post-async', 'run-from-request', 'empty'), { maxLength: 3 }),
    chainAcrossFiles: fc.boolean(),
    host: fc.constantFrom('express', 'express', 'express', 'node', 'node', 'none'),
    table: fc.boolean(),
    builtinRow: fc.boolean(),
    webappStyle: fc.constantFrom('named', 'namespace'),
    sites: fc.array(
      fc.record({
        task: fc.nat(2),
        options: fc.subarray(OPTION_KEYS, { maxLength: 4 }),
        layout: fc.constantFrom(0, 1, 2),
        comment: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    lambdaSite: fc.boolean(),
    unrelated: fc.array(fc.record({ file: fc.constantFrom('tasks', 'handlers', 'app'), kind: fc.nat(7), at: fc.nat(20) }), { maxLength: 6 }),
    collider: fc.oneof({ weight: 6, arbitrary: fc.constant('none' as const) }, fc.constantFrom('register', 'wrapApp', 'environFrom', 'Handler')),
    banner: fc.boolean(),
    crlf: fc.boolean(),
    tabs: fc.boolean(),
    guarded: guardedOption,
    kickGuard: rarely,
  })
  .map((c) => {
    // Keep manual-step constructs rare, so most programs must migrate completely.
    const rare = (flag: boolean, salt: number) => flag && (c.sites.length + c.tasks.length + salt) % 4 === 0;
    return {
      ...c,
      // A node:http host serves the route table, so it needs one.
      table: c.host === 'node' ? true : c.table,
      sites: c.sites.map((site, i) => ({
        ...site,
        options: site.options.filter((key) => (key === '_transactional' || key === '_target' ? rare(true, i + key.length) : true)),
      })),
      lambdaSite: rare(c.lambdaSite, 1),
    };
  });

export const legacyProgram: fc.Arbitrary<LegacyProgram> = choices.map(buildProgram);

// --- Building -----------------------------------------------------------------

function localName(imp: ImportChoice, name: LegacyName): string {
  return imp.style === 'named' ? imp.renames[name] || name : `${imp.alias}.${name}`;
}

function importLine(imp: ImportChoice, used: LegacyName[]): string {
  const from = `${imp.quote}${imp.specifier}${imp.quote}`;
  if (imp.style === 'namespace') return `import * as ${imp.alias} from ${from};`;
  if (imp.style === 'default') return `import ${imp.alias} from ${from};`;
  const specs = used.map((name) => (imp.renames[name] ? `${name} as ${imp.renames[name]}` : name));
  return `import { ${specs.join(', ')} } from ${from};`;
}

/** Unrelated code: each kind is complete, valid TypeScript that the codemod has no business touching. */
function unrelatedChunk(kind: number, n: number): string {
  const tag = `/* U${n} */`;
  switch (kind) {
    case 0:
      return `${tag} export function unrelated${n}(x: number): number {\n    return x * ${n + 2}   // keep   this spacing\n}`;
    case 1:
      return `${tag} const queue${n} = { defer(x: number) { return x + 1; }, post() { return 'not a handler'; } };\nqueue${n}.defer(${n});`;
    case 2:
      return `${tag} class Other${n} {\n  post(): string { return 'post'; }\n  runFromRequest(): number { return ${n}; }\n}\nvoid Other${n};`;
    case 3:
      return `${tag} export const settings${n} = {\n  _countdown: 5,\n  _queue: 'not-an-option',\n};`;
    case 4:
      return `${tag} function shadow${n}(): number {\n  const defer = (value: number) => value;\n  return defer(${n});\n}\nvoid shadow${n};`;
    case 5:
      return `${tag} const quoted${n} = "import { defer } from 'google/appengine/ext/deferred'; class A extends TaskHandler {}";\nvoid quoted${n};`;
    case 6:
      return `${tag} type Shape${n} = {\n\ta: string;   b?: number\n};\nexport const shape${n}: Shape${n} = { a: 'x' };`;
    default:
      return `${tag} export async function* ticker${n}(): AsyncGenerator<number> {\n  for (let i = 0; i < ${n + 1}; i++) yield i;\n}`;
  }
}

const COLLIDERS: Record<Exclude<ProgramChoices['collider'], 'none'>, string> = {
  register: 'function register(label: string): string {\n  return label;\n}\nvoid register;',
  wrapApp: 'const wrapApp = (value: number): number => value;\nvoid wrapApp;',
  environFrom: 'function environFrom(): Record<string, string> {\n  return {};\n}\nvoid environFrom;',
  Handler: 'class Handler {\n  handle(): void {}\n}\nvoid Handler;',
};

function optionText(key: OptionKey, customUrl: string | undefined, index: number): string | undefined {
  switch (key) {
    case '_countdown':
      return `_countdown: ${60 * (index + 1)}`;
    case '_queue':
      return `_queue: 'background'`;
    case '_name':
      return `_name: 'task-${index}'`;
    case '_url':
      return customUrl === undefined ? undefined : `_url: '${customUrl}'`;
    case '_retry_options':
      return '_retry_options: { task_retry_limit: 3, min_backoff_seconds: 1 }';
    case '_headers':
      return `_headers: { 'X-Trace': 'abc' }`;
    case '_eta':
      return index % 2 === 0 ? '_eta: new Date(Date.now() + 60_000)' : '_eta: 1_900_000_000';
    case '_transactional':
      return '_transactional: true';
    case '_target':
      return `_target: 'v2'`;
  }
}

function deferCall(deferRef: string, fnRef: string, options: string[], layout: 0 | 1 | 2, comment: boolean, thisArg?: string): string {
  const note = comment ? ' /* why: spread the load */' : '';
  const args = [...(thisArg ? [thisArg] : []), fnRef, `'key'`, '1'];
  if (layout === 0) {
    const opts = options.length > 0 ? `, { ${options.join(', ')} }` : '';
    return `${deferRef}(${args.join(', ')}${note}${opts});`;
  }
  if (layout === 1) {
    const opts = options.length > 0 ? ` ,{${options.join(' ,')}}` : '';
    return `${deferRef}( ${args.join(' ,')}${note}${opts} );`;
  }
  const opts = options.length > 0 ? `  {\n      ${options.join(',\n      ')}, // trailing\n    },\n` : '';
  return `${deferRef}(\n    ${args.join(',\n    ')},${note}\n${opts}  );`;
}

function buildProgram(c: ProgramChoices): LegacyProgram {
  let chunkCounter = 0;
  const files: Record<'tasks' | 'base' | 'handlers' | 'handlersExtra' | 'app' | 'guarded', string[]> = { tasks: [], base: [], handlers: [], handlersExtra: [], app: [], guarded: [] };
  const unrelated: Record<string, string[]> = {};
  const pathOf: Record<string, string> = {
    tasks: 'src/tasks.ts',
    base: 'src/base.ts',
    handlers: 'src/handlers.ts',
    handlersExtra: 'src/more-handlers.ts',
    app: 'src/app.ts',
    guarded: 'src/guarded.ts',
  };
  const guardedSites: Record<string, GuardedSite[]> = {};

  // tasks.ts
  const taskImp = c.imports.tasks;
  const taskNames = c.tasks.map((_, i) => TASK_NAMES[i]!);
  const thrown = [...new Set(c.tasks.map((t) => t.throws).filter((t) => t !== 'none'))] as LegacyName[];
  const taskBody: string[] = [];
  if (thrown.length > 0) taskBody.push(importLine(taskImp, thrown));
  c.tasks.forEach((task, i) => {
    const name = taskNames[i]!;
    const check = task.throws === 'none' ? '' : `  if (amount < 0) throw new ${localName(taskImp, task.throws)}('negative amount');\n`;
    const body = `${check}  console.log('${name}', key, amount);`;
    const doc = i % 2 === 0 ? `/** Runs later, on the queue. */\n` : '';
    switch (task.form) {
      case 'declaration':
        taskBody.push(`${doc}export function ${name}(key: string, amount: number): void {\n${body}\n}`);
        break;
      case 'async':
        taskBody.push(`${doc}export async function ${name}(key: string, amount: number): Promise<void> {\n${body}\n  await Promise.resolve();\n}`);
        break;
      case 'arrow':
        taskBody.push(`${doc}export const ${name} = (key: string, amount: number): void => {\n${body}\n};`);
        break;
      case 'function-expression':
        taskBody.push(`${doc}export const ${name} = function (key: string, amount: number): void {\n${body}\n};`);
        break;
    }
  });
  files.tasks = taskBody;

  // handlers.ts (and more-handlers.ts for a chain split across files)
  const handlerNames = c.chain.map((_, i) => `TaskHandler${['Logging', 'Billing', 'Metered'][i]}`);
  if (c.chain.length > 0) {
    const imp = c.imports.handlers;
    // A derived base reads the member from the module object (namespace or default import).
    const moduleImp: ImportChoice = { ...imp, style: imp.style === 'default' ? 'default' : 'namespace' };
    let rootBase = localName(imp, 'TaskHandler');
    if (c.derive === 'direct') files.handlers.push(importLine(imp, ['TaskHandler']));
    else if (c.derive === 'exported-alias') {
      files.base.push(importLine(moduleImp, []), `export const { TaskHandler: DerivedBase } = ${moduleImp.alias};`);
      files.handlers.push(`import { DerivedBase } from './base';`);
      rootBase = 'DerivedBase';
    } else {
      files.handlers.push(importLine(moduleImp, []));
      if (c.derive === 'destructure') files.handlers.push(`const { TaskHandler: DerivedBase } = ${moduleImp.alias};`);
      else if (c.derive === 'alias-chain') files.handlers.push(`const moduleAlias = ${moduleImp.alias};\nconst DerivedBase = moduleAlias.TaskHandler;`);
      else if (c.derive === 'const-object') {
        files.handlers.push(`const handlerRegistry = { Base: ${moduleImp.alias}.TaskHandler };`);
        rootBase = 'handlerRegistry.Base';
      } else if (c.derive === 'reassigned-let') files.handlers.push(`let DerivedBase = ${moduleImp.alias}.TaskHandler;\nif (process.env.OTHER_BASE) DerivedBase = ${moduleImp.alias}.TaskHandler;`);
      else files.handlers.push(`const DerivedBase = ${moduleImp.alias}['TaskHandler'];`);
      if (c.derive !== 'const-object') rootBase = 'DerivedBase';
    }
    c.chain.forEach((body, i) => {
      const name = handlerNames[i]!;
      const base = i === 0 ? rootBase : handlerNames[i - 1]!;
      const target = c.chainAcrossFiles && i > 0 ? 'handlersExtra' : 'handlers';
      let members = '';
      if (body === 'post') members = `  override post() {\n    console.log('${name}');\n    return super.post();\n  }\n`;
      else if (body === 'post-async') members = `  override async post(): Promise<void> {\n    console.log('${name}');\n    await super.post();\n  }\n`;
      else if (body === 'run-from-request') members = `  override runFromRequest() {\n    console.log('${name}');\n    return super.runFromRequest();\n  }\n`;
      // The first handler may be a class expression held by a const.
      if (i === 0 && c.classExpression) files[target].push(`export const ${name} = class extends ${base} {\n${members}};`);
      else files[target].push(`export class ${name} extends ${base} {\n${members}}`);
    });
    if (c.chainAcrossFiles && c.chain.length > 1) {
      const fromFirst = handlerNames[0]!;
      files.handlersExtra.unshift(`import { ${fromFirst} } from './handlers';`);
    }
  }

  // app.ts
  const appImp = c.imports.app;
  const app: string[] = [];
  const tableRows: string[] = [];
  const usesBuiltinRow = c.table && (c.builtinRow || c.chain.length === 0);
  const mountedHandlers = c.table ? handlerNames : [];
  mountedHandlers.forEach((name, i) => tableRows.push(`['/tasks/custom-${i}', ${name}]`));
  if (usesBuiltinRow) tableRows.unshift(`['/_ah/queue/deferred', ${localName(appImp, 'TaskHandler')}]`);
  const customUrl = c.table && c.host !== 'none' && mountedHandlers.length > 0 ? '/tasks/custom-0' : undefined;

  const legacyUsed: LegacyName[] = ['defer'];
  if (usesBuiltinRow) legacyUsed.push('TaskHandler');
  if (c.host === 'express') app.push(`import express from 'express';`);
  if (c.host === 'node') app.push(`import * as http from 'node:http';`);
  app.push(importLine(appImp, legacyUsed));
  if (c.table) {
    app.push(c.webappStyle === 'named' ? `import { WSGIApplication } from 'google/appengine/ext/webapp';` : `import * as webapp from 'google/appengine/ext/webapp';`);
  }
  app.push(c.taskImport === 'named' ? `import { ${[...new Set(c.sites.map((s) => taskNames[s.task % taskNames.length]!))].join(', ')} } from './tasks';` : `import * as jobs from './tasks';`);
  const importedHandlers = mountedHandlers.map((name, i) => ({ name, file: c.chainAcrossFiles && i > 0 ? './more-handlers' : './handlers' }));
  for (const file of ['./handlers', './more-handlers']) {
    const names = importedHandlers.filter((h) => h.file === file).map((h) => h.name);
    if (names.length > 0) app.push(`import { ${names.join(', ')} } from '${file}';`);
  }

  const plainDeferRef = localName(appImp, 'defer');
  const deferRef = c.deferVia === 'call' ? `${plainDeferRef}.call` : c.deferVia === 'object' ? 'queueApi.enqueue' : plainDeferRef;
  // In a try of the Express /kick handler, each call is marked for the property test.
  const kickGuard = c.kickGuard && c.host === 'express';
  const mark = (i: number): string => (kickGuard ? `/* G${i} */ ` : '');
  const calls = c.sites.map((site, i) => {
    const fn = taskNames[site.task % taskNames.length]!;
    const fnRef = c.taskImport === 'named' ? fn : `jobs.${fn}`;
    const options = site.options.map((key) => optionText(key, customUrl, i)).filter((text): text is string => text !== undefined);
    return `  ${mark(i)}${deferCall(deferRef, fnRef, options, site.layout, site.comment, c.deferVia === 'call' ? 'null' : undefined)}`;
  });
  if (c.lambdaSite) calls.push(`  ${mark(calls.length)}${plainDeferRef}(() => console.log('inline'));`);
  if (kickGuard) guardedSites[pathOf.app!] = calls.map((_, i) => ({ marker: `G${i}`, callers: [], throughMember: false }));
  if (c.deferVia === 'object') app.push(`const queueApi = { enqueue: ${plainDeferRef} };`);
  const callBlock = calls.join('\n');

  const wsgi = c.webappStyle === 'named' ? 'WSGIApplication' : 'webapp.WSGIApplication';
  const rowsType = `ConstructorParameters<typeof ${wsgi}>[0]`;
  // Rows in a variable (express hosts): a const array spread into the table, or rows pushed onto one.
  const tableForm = c.host === 'express' ? c.tableForm : 'literal';
  const tableText = !c.table
    ? undefined
    : tableForm === 'spread'
      ? `const taskRows: ${rowsType} = [\n  ${tableRows.join(',\n  ')},\n];\nconst tasks = new ${wsgi}([...taskRows], { debug: true });`
      : tableForm === 'push'
        ? `const taskRows: ${rowsType} = [];\n${tableRows.map((row) => `taskRows.push(${row});`).join('\n')}\nconst tasks = new ${wsgi}(taskRows, { debug: true });`
        : `const tasks = new ${wsgi}([\n  ${tableRows.join(',\n  ')},\n], { debug: true });`;
  if (c.host === 'express') {
    app.push(`export const app = express();`);
    const guardedBlock = kickGuard ? `  try {\n${callBlock.replace(/^/gm, '  ')}\n  } catch (error) {\n    console.error('not queued', error);\n  }` : callBlock;
    app.push(`app.get('/kick', (_req, res) => {\n${guardedBlock}\n  res.send('Deferred.');\n});`);
    if (tableText) app.push(`${tableText}\napp.use(tasks);`);
  } else if (c.host === 'node') {
    app.push(`${tableText!}\nexport const server = http.createServer(tasks);`);
    app.push(`export function kick(): void {\n${callBlock}\n}`);
  } else {
    if (tableText) app.push(`export ${tableText}`);
    app.push(`export function kick(): void {\n${callBlock}\n}`);
  }
  if (c.collider !== 'none') app.push(COLLIDERS[c.collider]);
  files.app = app;

  if (c.guarded) {
    const task = taskNames[0]!;
    const guarded = buildGuardedFile(c.guarded, {
      typescript: true,
      imports: [importLine(appImp, ['defer']), `import { ${task} } from './tasks';`],
      deferRef: plainDeferRef,
      moduleObject: appImp.style === 'named' ? undefined : appImp.alias,
      task,
    });
    files.guarded = [guarded.text.replace(/\n$/, '')];
    guardedSites[pathOf.guarded!] = guarded.sites;
  }

  // Unrelated chunks, after the imports of each file they go to.
  for (const spot of c.unrelated) {
    const list = files[spot.file];
    if (list.length === 0) continue;
    const firstAfterImports = list.findIndex((statement) => !statement.startsWith('import '));
    const start = firstAfterImports < 0 ? list.length : firstAfterImports;
    const at = start + (spot.at % (list.length - start + 1));
    list.splice(at, 0, unrelatedChunk(spot.kind, chunkCounter++));
  }
  if (c.banner) files.app.unshift(`/* U${chunkCounter++} */ // Copyright (c) The Example Authors.\n// Banner comments stay where they are.`);

  const out: Record<string, string> = {};
  for (const [key, statements] of Object.entries(files)) {
    if (statements.length === 0) continue;
    let text = statements
      .map((statement) => (c.tabs && !statement.includes('/* U') ? statement.replace(/^( {2})+/gm, (m) => '\t'.repeat(m.length / 2)) : statement))
      .join('\n\n');
    text += '\n';
    const chunks = statements.filter((statement) => /^\/\* U\d+ \*\//.test(statement));
    if (c.crlf) text = text.replace(/\n/g, '\r\n');
    out[pathOf[key]!] = text;
    if (chunks.length > 0) unrelated[pathOf[key]!] = chunks.map((chunk) => (c.crlf ? chunk.replace(/\n/g, '\r\n') : chunk));
  }
  const usesVendor = Object.values(c.imports).some((imp) => imp.specifier.startsWith('../vendor'));
  if (usesVendor) out[VENDOR_DEFERRED] = VENDOR_PLACEHOLDER;

  const expectsManualSteps =
    // No host app: nothing to wrap (unknown-framework), and a route table nobody mounts (mount-not-found).
    c.host === 'none' ||
    (c.derive === 'reassigned-let' && c.chain.length > 0) ||
    c.lambdaSite ||
    c.sites.some((site) => site.options.includes('_transactional') || site.options.includes('_target'));
  return { files: out, unrelated, expectsManualSteps, typeChecked: true, declaresShimName: c.collider !== 'none', choices: c, guardedSites };
}

/** Replaced by the harness with a re-export of the legacy runtime (its absolute path is machine-specific). */
export const VENDOR_PLACEHOLDER = '__VENDOR__';

// --- CommonJS programs ------------------------------------------------------------
// The require() forms of the contract: `const deferred = require(...)`, a
// destructuring require with renames, and `require(...).defer(...)` inline, in
// .js or .cjs files exporting through `module.exports` or `exports.x`.

interface CommonJsChoices {
  /** `module-object`: the module object required, then destructured (`const { TaskHandler } = deferred`). */
  requireStyle: 'namespace' | 'destructure' | 'inline' | 'module-object';
  alias: string;
  deferRename: string;
  specifier: (typeof LEGACY_SPECIFIERS)[number];
  extension: '.js' | '.cjs';
  exportStyle: 'object' | 'properties';
  tasks: TaskForm[];
  chain: HandlerBody[];
  host: 'express' | 'node' | 'none';
  table: boolean;
  sites: DeferSite[];
  unrelated: Array<{ file: 'tasks' | 'app'; kind: number; at: number }>;
  crlf: boolean;
  guarded: GuardedChoices | null;
  kickGuard: boolean;
}

const commonJsChoices: fc.Arbitrary<CommonJsChoices> = fc
  .record({
    requireStyle: fc.constantFrom('namespace', 'destructure', 'inline', 'module-object'),
    alias: fc.constantFrom(...NAMESPACE_ALIASES),
    deferRename: fc.constantFrom(...RENAMES.defer),
    specifier: fc.constantFrom(...LEGACY_SPECIFIERS),
    extension: fc.constantFrom('.js', '.cjs'),
    exportStyle: fc.constantFrom('object', 'properties'),
    tasks: fc.array(fc.constantFrom<TaskForm>('declaration', 'async', 'arrow', 'function-expression'), { minLength: 1, maxLength: 3 }),
    chain: fc.array(fc.constantFrom<HandlerBody>('post', 'run-from-request', 'empty'), { maxLength: 2 }),
    host: fc.constantFrom('express', 'express', 'node', 'none'),
    table: fc.boolean(),
    sites: fc.array(
      fc.record({
        task: fc.nat(2),
        options: fc.subarray(OPTION_KEYS.filter((key) => key !== '_transactional' && key !== '_target'), { maxLength: 3 }),
        layout: fc.constantFrom(0, 1, 2),
        comment: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    unrelated: fc.array(fc.record({ file: fc.constantFrom('tasks', 'app'), kind: fc.nat(5), at: fc.nat(20) }), { maxLength: 4 }),
    crlf: fc.boolean(),
    guarded: guardedOption,
    kickGuard: rarely,
  })
  .map((c) => ({ ...c, table: c.host === 'node' ? true : c.table }));

function unrelatedChunkJs(kind: number, n: number): string {
  const tag = `/* U${n} */`;
  switch (kind) {
    case 0:
      return `${tag} function unrelated${n}(x) {\n    return x * ${n + 2}   // keep   this spacing\n}\nvoid unrelated${n};`;
    case 1:
      return `${tag} const queue${n} = { defer(x) { return x + 1; }, post() { return 'not a handler'; } };\nqueue${n}.defer(${n});`;
    case 2:
      return `${tag} class Other${n} {\n  post() { return 'post'; }\n  runFromRequest() { return ${n}; }\n}\nvoid Other${n};`;
    case 3:
      return `${tag} const settings${n} = {\n  _countdown: 5,\n  _queue: 'not-an-option',\n};\nvoid settings${n};`;
    case 4:
      return `${tag} function shadow${n}() {\n  const defer = (value) => value;\n  return defer(${n});\n}\nvoid shadow${n};`;
    default:
      return `${tag} const quoted${n} = "require('google/appengine/ext/deferred').defer(x)";\nvoid quoted${n};`;
  }
}

function buildCommonJsProgram(c: CommonJsChoices): LegacyProgram {
  const req = `require('${c.specifier}')`;
  const taskNames = c.tasks.map((_, i) => TASK_NAMES[i]!);
  const tasks: string[] = ["'use strict';"];
  c.tasks.forEach((form, i) => {
    const name = taskNames[i]!;
    const body = `  console.log('${name}', key, amount);`;
    if (form === 'declaration') tasks.push(`function ${name}(key, amount) {\n${body}\n}`);
    else if (form === 'async') tasks.push(`async function ${name}(key, amount) {\n${body}\n  await Promise.resolve();\n}`);
    else if (form === 'arrow') tasks.push(`const ${name} = (key, amount) => {\n${body}\n};`);
    else tasks.push(`const ${name} = function (key, amount) {\n${body}\n};`);
  });
  if (c.exportStyle === 'object') tasks.push(`module.exports = { ${taskNames.join(', ')} };`);
  else tasks.push(taskNames.map((name) => `exports.${name} = ${name};`).join('\n'));

  const app: string[] = ["'use strict';"];
  if (c.host === 'express') app.push(`const express = require('express');`);
  if (c.host === 'node') app.push(`const http = require('node:http');`);
  const usesBuiltinRow = c.table && c.chain.length === 0;
  const needsTaskHandler = c.chain.length > 0 || usesBuiltinRow;
  let deferRef: string;
  let taskHandlerRef = 'TaskHandler';
  if (c.requireStyle === 'namespace') {
    app.push(`const ${c.alias} = ${req};`);
    deferRef = `${c.alias}.defer`;
    taskHandlerRef = `${c.alias}.TaskHandler`;
  } else if (c.requireStyle === 'destructure' || c.requireStyle === 'module-object') {
    const deferLocal = c.deferRename || 'defer';
    const pattern = `{ ${c.deferRename ? `defer: ${c.deferRename}` : 'defer'}${needsTaskHandler ? ', TaskHandler' : ''} }`;
    if (c.requireStyle === 'destructure') app.push(`const ${pattern} = ${req};`);
    else app.push(`const ${c.alias} = ${req};\nconst ${pattern} = ${c.alias};`);
    deferRef = deferLocal;
  } else {
    if (needsTaskHandler) app.push(`const { TaskHandler } = ${req};`);
    deferRef = `${req}.defer`;
  }
  if (c.table) app.push(`const webapp = require('google/appengine/ext/webapp');`);
  app.push(`const { ${[...new Set(c.sites.map((s) => taskNames[s.task % taskNames.length]!))].join(', ')} } = require('./tasks${c.extension}');`);
  const handlerNames = c.chain.map((_, i) => `Handler${['Logging', 'Billing'][i]}Task`);
  c.chain.forEach((body, i) => {
    const name = handlerNames[i]!;
    const base = i === 0 ? taskHandlerRef : handlerNames[i - 1]!;
    let members = '';
    if (body === 'post') members = `  post() {\n    console.log('${name}');\n    return super.post();\n  }\n`;
    else if (body === 'run-from-request') members = `  runFromRequest() {\n    console.log('${name}');\n    return super.runFromRequest();\n  }\n`;
    app.push(`class ${name} extends ${base} {\n${members}}`);
  });
  const rows = c.table ? handlerNames.map((name, i) => `['/tasks/custom-${i}', ${name}]`) : [];
  if (usesBuiltinRow) rows.unshift(`['/_ah/queue/deferred', ${taskHandlerRef}]`);
  const customUrl = c.table && c.host !== 'none' && handlerNames.length > 0 ? '/tasks/custom-0' : undefined;
  const kickGuard = c.kickGuard && c.host === 'express';
  const guardedSites: Record<string, GuardedSite[]> = {};
  const calls = c.sites
    .map((site, i) => {
      const options = site.options.map((key) => optionText(key, customUrl, i)).filter((text): text is string => text !== undefined);
      return `  ${kickGuard ? `/* G${i} */ ` : ''}${deferCall(deferRef, taskNames[site.task % taskNames.length]!, options, site.layout, site.comment)}`;
    })
    .join('\n');
  if (kickGuard) guardedSites[`src/app${c.extension}`] = c.sites.map((_, i) => ({ marker: `G${i}`, callers: [], throughMember: false }));
  const table = c.table ? `const tasks = new webapp.WSGIApplication([\n  ${rows.join(',\n  ')},\n]);` : undefined;
  if (c.host === 'express') {
    app.push('const app = express();');
    const guardedBlock = kickGuard ? `  try {\n${calls.replace(/^/gm, '  ')}\n  } catch (error) {\n    console.error('not queued', error);\n  }` : calls;
    app.push(`app.get('/kick', (req, res) => {\n${guardedBlock}\n  res.send('Deferred.');\n});`);
    if (table) app.push(`${table}\napp.use(tasks);`);
    app.push('module.exports = app;');
  } else if (c.host === 'node') {
    app.push(`${table!}\nconst server = http.createServer(tasks);`);
    app.push(`function kick() {\n${calls}\n}`);
    app.push('module.exports = { server, kick };');
  } else {
    if (table) app.push(table);
    app.push(`function kick() {\n${calls}\n}`);
    app.push(`module.exports = { kick${table ? ', tasks' : ''} };`);
  }

  let counter = 0;
  const files: { tasks: string[]; app: string[]; guarded?: string[] } = { tasks, app };
  if (c.guarded) {
    const task = taskNames[0]!;
    // The guarded file requires defer the way app does.
    const requireLines = c.requireStyle === 'namespace' ? [`const ${c.alias} = ${req};`] : c.requireStyle === 'module-object' ? [`const ${c.alias} = ${req};\nconst { ${c.deferRename ? `defer: ${c.deferRename}` : 'defer'} } = ${c.alias};`] : c.requireStyle === 'destructure' ? [`const { ${c.deferRename ? `defer: ${c.deferRename}` : 'defer'} } = ${req};`] : [];
    const guarded = buildGuardedFile(c.guarded, {
      typescript: false,
      imports: ["'use strict';", ...requireLines, `const { ${task} } = require('./tasks${c.extension}');`],
      deferRef: c.requireStyle === 'namespace' ? `${c.alias}.defer` : c.requireStyle === 'inline' ? `${req}.defer` : c.deferRename || 'defer',
      moduleObject: c.requireStyle === 'namespace' || c.requireStyle === 'module-object' ? c.alias : c.requireStyle === 'inline' ? req : undefined,
      task,
    });
    files.guarded = [guarded.text.replace(/\n$/, '')];
    guardedSites[`src/guarded${c.extension}`] = guarded.sites;
  }
  for (const spot of c.unrelated) {
    const list = files[spot.file];
    // After 'use strict' and the requires, before the exports line.
    const start = list.findIndex((s, i) => i > 0 && !/^const .*require\(/.test(s));
    const from = start < 0 ? list.length - 1 : start;
    const at = from + (spot.at % Math.max(1, list.length - 1 - from + 1));
    list.splice(Math.min(at, list.length - 1), 0, unrelatedChunkJs(spot.kind, counter++));
  }
  const out: Record<string, string> = {};
  const unrelated: Record<string, string[]> = {};
  for (const [key, statements] of Object.entries(files)) {
    const path = `src/${key}${c.extension}`;
    let text = `${statements.join('\n\n')}\n`;
    if (c.crlf) text = text.replace(/\n/g, '\r\n');
    out[path] = text;
    const chunks = statements.filter((s) => /^\/\* U\d+ \*\//.test(s)).map((chunk) => (c.crlf ? chunk.replace(/\n/g, '\r\n') : chunk));
    if (chunks.length > 0) unrelated[path] = chunks;
  }
  return {
    files: out,
    unrelated,
    expectsManualSteps: c.host === 'none',
    typeChecked: false,
    declaresShimName: false,
    choices: c,
    guardedSites,
  };
}

export const legacyCommonJsProgram: fc.Arbitrary<LegacyProgram> = commonJsChoices.map(buildCommonJsProgram);
