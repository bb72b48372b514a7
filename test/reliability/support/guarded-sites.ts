// fast-check arbitraries for the shapes in which a synchronous throw of the
// legacy defer() is handled: a try/catch (or try/finally, or a catch that
// rethrows to an outer try) around the call, in a nested block, or around a
// call of a helper that calls it (one or two levels), in function
// declarations, arrows, function expressions, private (`private`, `#`) and
// public methods, members of a `const` object literal (a method or an arrow),
// methods of a class called on a `const` instance or statically, inside the callback of an awaited `.then()` chain or of a
// chain with a later `.catch()`, and at the top level of a module; defer() named by the import, a `const` alias or a
// destructured binding; written as a statement, through `.call(null, ...)`,
// with its Task used, or returned to the caller. The shim's defer() rejects instead of throwing, so
// each such call must come out awaited along the whole path to the try, or be
// reported (`sync-error-handling`). A caller outside any try of a function that
// now rejects must await it as well: its discarded promise would reject unhandled.
//
// Each defer() call on such a path is preceded by a `/* G<n> */` marker and
// each call of a function on the path by `/* C<n>_<k> */`: the property test
// (codemod-properties.test.ts) finds them in the output.
import fc from 'fast-check';

/** How the function at one level of the path is written. */
export type FrameForm =
  | 'declaration'
  | 'arrow'
  | 'function-expression'
  | 'private-method'
  | 'hash-method'
  | 'public-method'
  // Held by a container of its own, called through it: `holder.name()`.
  | 'object-method'
  | 'object-arrow'
  | 'instance-method'
  | 'static-method';
/** What handles the throw: a catch, a finally only, or a catch that rethrows (both then reach an outer try). */
export type Guard = 'catch' | 'finally' | 'rethrow' | 'catch-finally';
/**
 * What handles the throw: a try in a function of the path, a try around an
 * awaited `.then()` chain whose callback calls the path, a `.catch()` (or a
 * `.then(ok, handler)`) later in such a chain (no await, no try), or a try at
 * module level.
 */
export type TryHolder = 'function' | 'then-callback' | 'catch-chain' | 'top-level';
export type Nesting = 'direct' | 'if' | 'for' | 'block' | 'inner-try';
/** How the guarded file names defer: the import itself, a `const` alias, a destructured binding. */
export type DeferBinding = 'import' | 'alias' | 'destructure';
/** How the call is written: a statement, through `.call(null, ...)`, its Task used, or returned by its function. */
export type CallForm = 'statement' | 'call' | 'result' | 'returned';

export interface GuardedSiteChoice {
  /** Forms of the functions from the one holding defer() (first) to the one holding the try (last). */
  frames: FrameForm[];
  holder: TryHolder;
  guard: Guard;
  nesting: Nesting;
  /** The function holding the try returns a boolean (its return type changes to Promise<boolean>). */
  valued: boolean;
  call: CallForm;
  /**
   * Another caller of the function holding defer(), outside any try (a plain or
   * an async function): once that function rejects, this call must be awaited
   * too, or the rejection goes unhandled where the throw propagated.
   */
  stray: 'none' | 'sync' | 'async';
}

export interface GuardedChoices {
  binding: DeferBinding;
  sites: GuardedSiteChoice[];
}

export interface GuardedSite {
  /** `G<n>`: the marker before the defer() call. */
  marker: string;
  /** `C<n>_<k>`: markers before the calls of the path's functions, innermost first. */
  callers: string[];
  /** A function of the path is a member of an object literal or a class, called through it. */
  throughMember: boolean;
}

const frameForm = fc.constantFrom<FrameForm>(
  'declaration',
  'declaration',
  'arrow',
  'function-expression',
  'private-method',
  'hash-method',
  'public-method',
  'object-method',
  'object-arrow',
  'instance-method',
  'static-method',
);

export const guardedChoices: fc.Arbitrary<GuardedChoices> = fc.record({
  binding: fc.constantFrom<DeferBinding>('import', 'import', 'alias', 'destructure'),
  sites: fc.array(
    fc.record({
      // 1 to 3 functions: defer() directly in the try's function, or one or two helpers below it.
      frames: fc.array(frameForm, { minLength: 1, maxLength: 3 }),
      holder: fc.constantFrom<TryHolder>('function', 'function', 'function', 'then-callback', 'catch-chain', 'top-level'),
      guard: fc.constantFrom<Guard>('catch', 'catch', 'finally', 'rethrow', 'catch-finally'),
      nesting: fc.constantFrom<Nesting>('direct', 'direct', 'if', 'for', 'block', 'inner-try'),
      valued: fc.boolean(),
      call: fc.constantFrom<CallForm>('statement', 'statement', 'statement', 'call', 'result', 'returned'),
      stray: fc.constantFrom<'none' | 'sync' | 'async'>('none', 'none', 'sync', 'async'),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

export interface GuardedFileOptions {
  typescript: boolean;
  /** Statements that import (or require) defer and the task, in the program's style. */
  imports: string[];
  /** How the import names defer (`defer`, `later`, `ns.defer`, `require('…').defer`). */
  deferRef: string;
  /** An expression for the module object, when the style has one (`ns`, `d`): a destructured binding reads it. */
  moduleObject: string | undefined;
  /** The task function's local name. */
  task: string;
}

const MEMBER_FORMS = new Set<FrameForm>(['object-method', 'object-arrow', 'instance-method', 'static-method']);

/** Forms that stand alone in the module (the others are methods of the path's own class). */
const FUNCTION_FORMS = new Set<FrameForm>(['declaration', 'arrow', 'function-expression', 'object-method', 'object-arrow', 'instance-method', 'static-method']);

/** The guarded file's text and its sites. */
export function buildGuardedFile(choices: GuardedChoices, options: GuardedFileOptions): { text: string; sites: GuardedSite[] } {
  const ts = options.typescript;
  const out: string[] = [...options.imports];
  let deferRef = options.deferRef;
  if (choices.binding === 'alias') {
    out.push(`const laterAlias = ${options.deferRef};`);
    deferRef = 'laterAlias';
  } else if (choices.binding === 'destructure') {
    if (options.moduleObject) out.push(`const { defer: laterPicked } = ${options.moduleObject};`);
    else out.push(`const deferApi = { defer: ${options.deferRef} };\nconst { defer: laterPicked } = deferApi;`);
    deferRef = 'laterPicked';
  }
  const sites: GuardedSite[] = [];
  choices.sites.forEach((site, n) => {
    const built = buildSite(site, n, deferRef, options.task, ts);
    out.push(...built.statements);
    sites.push(built.site);
  });
  return { text: `${out.join('\n\n')}\n`, sites };
}

function indent(text: string, by = '  '): string {
  return text.replace(/^(?=.)/gm, by);
}

/** Wraps `statement` in the site's nesting inside the try block. */
function nest(statement: string, nesting: Nesting): string {
  switch (nesting) {
    case 'direct':
      return statement;
    case 'if':
      return `if (process.env.NODE_ENV !== 'test') {\n${indent(statement)}\n}`;
    case 'for':
      return `for (const attempt of [1, 2]) {\n${indent(statement)}\n  console.log('attempt', attempt);\n}`;
    case 'block':
      return `{\n${indent(statement)}\n}`;
    case 'inner-try':
      return `try {\n${indent(statement)}\n} finally {\n  console.log('inner done');\n}`;
  }
}

/** try … catch/finally around `body`; a valued function returns true from the try and false from the catch. */
function tryStatement(body: string, guard: Guard, valued: boolean): string {
  const ok = valued ? '\n  return true;' : '';
  const failed = valued ? '\n  return false;' : '';
  const tryBlock = `try {\n${indent(body)}${ok}\n}`;
  switch (guard) {
    case 'catch':
      return `${tryBlock} catch (error) {\n  console.error('not queued', error);${failed}\n}`;
    case 'catch-finally':
      return `${tryBlock} catch (error) {\n  console.error('not queued', error);${failed}\n} finally {\n  console.log('done');\n}`;
    case 'finally':
      return `${tryBlock} finally {\n  console.log('cleanup');\n}`;
    case 'rethrow':
      return `${tryBlock} catch (error) {\n  console.error('rethrown', error);\n  throw error;\n}`;
  }
}

function buildSite(site: GuardedSiteChoice, n: number, deferRef: string, task: string, ts: boolean): { statements: string[]; site: GuardedSite } {
  // Methods and functions do not mix in one path: a path with a method is a class.
  const inClass = site.holder === 'function' && site.frames.some((f) => !FUNCTION_FORMS.has(f));
  const frames = site.frames.map((form) => (inClass ? (FUNCTION_FORMS.has(form) ? 'private-method' : form) : FUNCTION_FORMS.has(form) ? form : 'declaration'))
    // JavaScript has no `private`: `#` instead.
    .map((form) => (!ts && form === 'private-method' ? 'hash-method' : form));
  const names = frames.map((_, k) => (k === frames.length - 1 && site.holder === 'function' ? `guarded${n}` : `enqueueStep${n}_${k}`));
  const callOf = (k: number): string => {
    const form = frames[k]!;
    if (form === 'hash-method') return `this.#${names[k]}()`;
    if (form === 'private-method' || form === 'public-method') return `this.${names[k]}()`;
    if (form === 'static-method') return `Holder${n}_${k}.${names[k]}()`;
    if (form === 'object-method' || form === 'object-arrow' || form === 'instance-method') return `holder${n}_${k}.${names[k]}()`;
    return `${names[k]}()`;
  };
  const callers: string[] = [];
  const args = `${task}, 'guarded-${n}', ${n}`;
  // A returned Task cannot be the boolean of a valued function holding the try.
  const callForm = site.call === 'returned' && site.valued && frames.length === 1 && site.holder === 'function' ? 'statement' : site.call;
  const deferStatement =
    callForm === 'call'
      ? `/* G${n} */ ${deferRef}.call(null, ${args});`
      : callForm === 'result'
        ? `const task${n} = /* G${n} */ ${deferRef}(${args});\nconsole.log('queued', task${n}.name);`
        : callForm === 'returned'
          ? `return /* G${n} */ ${deferRef}(${args});`
          : `/* G${n} */ ${deferRef}(${args});`;
  // The statement each function's body runs: defer() in the first, a call of the previous one in the others.
  const bodies: string[] = [];
  frames.forEach((_, k) => {
    if (k === 0) bodies.push(deferStatement);
    else {
      callers.push(`C${n}_${k - 1}`);
      bodies.push(`/* C${n}_${k - 1} */ ${callOf(k - 1)};`);
    }
  });
  // What holds the try: the last function itself, or code calling it (a chain's callback, the module's top level).
  const lastHoldsTry = site.holder === 'function';
  let holderStatement: string | undefined;
  if (!lastHoldsTry) {
    const last = frames.length - 1;
    callers.push(`C${n}_${last}`);
    holderStatement = `/* C${n}_${last} */ ${callOf(last)};`;
  }
  const sig = (valued: boolean): string => (ts ? (valued ? ': boolean' : ': void') : '');
  const functionText = (k: number): string => {
    const form = frames[k]!;
    const holdsTry = lastHoldsTry && k === frames.length - 1;
    const valued = holdsTry && site.valued;
    const body = holdsTry ? tryStatement(nest(bodies[k]!, site.nesting), site.guard, valued) : bodies[k]!;
    const block = `{\n${indent(body)}\n}`;
    // The function returning the Task has its type inferred.
    const type = k === 0 && callForm === 'returned' ? '' : sig(valued);
    switch (form) {
      case 'declaration':
        return `function ${names[k]}()${type} ${block}`;
      case 'arrow':
        return `const ${names[k]} = ()${type} => ${block};`;
      case 'function-expression':
        return `const ${names[k]} = function ()${type} ${block};`;
      case 'private-method':
        return `private ${names[k]}()${type} ${block}`;
      case 'hash-method':
        return `#${names[k]}()${type} ${block}`;
      case 'public-method':
        return `${names[k]}()${type} ${block}`;
      case 'object-method':
        return `const holder${n}_${k} = {\n${indent(`${names[k]}()${type} ${block},`)}\n};`;
      case 'object-arrow':
        return `const holder${n}_${k} = {\n${indent(`${names[k]}: ()${type} => ${block},`)}\n};`;
      case 'instance-method':
        return `class Holder${n}_${k} {\n${indent(`${names[k]}()${type} ${block}`)}\n}\nconst holder${n}_${k} = new Holder${n}_${k}();`;
      case 'static-method':
        return `class Holder${n}_${k} {\n${indent(`static ${names[k]}()${type} ${block}`)}\n}`;
    }
  };
  const statements: string[] = [];
  const texts = frames.map((_, k) => functionText(k));
  if (inClass) statements.push(`class Scheduler${n} {\n${indent(texts.join('\n\n'))}\n}`);
  else statements.push(...texts);
  // A finally or a rethrowing catch passes the throw on: an outer try handles it.
  const passesOn = site.guard === 'finally' || site.guard === 'rethrow';
  if (site.holder === 'then-callback') {
    const inner = tryStatement(`await Promise.resolve().then(() => {\n${indent(nest(holderStatement!, site.nesting))}\n});`, site.guard === 'rethrow' || site.guard === 'finally' ? 'catch' : site.guard, false);
    statements.push(`async function chained${n}()${ts ? ': Promise<void>' : ''} {\n${indent(inner)}\n}`);
  } else if (site.holder === 'catch-chain') {
    const callback = `() => {\n${indent(nest(holderStatement!, site.nesting))}\n}`;
    // The handler: `.catch(handler)`, or (for a valued site) the second argument of a later `.then()`.
    const handler = site.valued ? `.then(() => console.log('queued'), (error) => console.error('not queued', error))` : `.catch((error) => console.error('not queued', error))`;
    statements.push(`function chained${n}()${sig(false)} {\n  void Promise.resolve()\n    .then(${indent(callback, '    ').trimStart()})\n    ${handler};\n}`);
  } else if (site.holder === 'top-level') {
    statements.push(tryStatement(nest(holderStatement!, site.nesting), passesOn ? 'catch' : site.guard, false));
  } else if (passesOn) {
    const outerName = `outer${n}`;
    callers.push(`C${n}_outer`);
    const outer = tryStatement(`/* C${n}_outer */ ${callOf(frames.length - 1)};`, 'catch', false);
    if (inClass) {
      // The outer caller is a private method of the same class.
      const cls = statements.pop()!;
      const privateOuter = ts ? `private ${outerName}(): void` : `#${outerName}()`;
      statements.push(cls.replace(/\n}$/, `\n\n${indent(`${privateOuter} {\n${indent(outer)}\n}`)}\n}`));
    } else statements.push(`function ${outerName}()${sig(false)} {\n${indent(outer)}\n}`);
  }
  // The stray caller calls the function holding defer() when that one can reject (no catch of its own).
  const firstRejects = frames.length > 1 || site.holder !== 'function' || passesOn;
  if (site.stray !== 'none' && firstRejects) {
    callers.push(`C${n}_stray`);
    const isAsync = site.stray === 'async';
    const body = `{\n  /* C${n}_stray */ ${callOf(0)};\n  console.log('after');\n}`;
    const returns = ts ? (isAsync ? ': Promise<void>' : ': void') : '';
    if (inClass) {
      const cls = statements.findIndex((statement) => statement.startsWith(`class Scheduler${n} `));
      const head = `${ts ? 'private ' : ''}${isAsync ? 'async ' : ''}${ts ? '' : '#'}stray${n}()${returns} `;
      statements[cls] = statements[cls]!.replace(/\n}$/, `\n\n${indent(`${head}${body}`)}\n}`);
    } else statements.push(`${isAsync ? 'async ' : ''}function stray${n}()${returns} ${body}`);
  }
  return { statements, site: { marker: `G${n}`, callers, throughMember: frames.some((form) => MEMBER_FORMS.has(form)) } };
}
