// Deferrable functions are identified by a registered name, never by code: the
// payload names the function and the process that runs the task looks it up here.
//
// Task modules: a fresh process may receive a task before the module that
// registers its function was imported (the Python library's "fresh instance"
// failure). Modules listed in `configure({ taskModules })` or
// DEFERRED_TASK_MODULES (comma-separated) are imported before a name is declared
// unknown.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sharedSlot } from '../runtime/global-state.js';
import { NotRegisteredError } from './errors.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskFunction = (...args: any[]) => unknown;

/** A file path (relative to the cwd) or module specifier, or a loader such as `() => import('./tasks.js')`. */
export type TaskModule = string | (() => Promise<unknown>);

interface RegistryState {
  byName: Map<string, TaskFunction>;
  byFunction: WeakMap<TaskFunction, string>;
  taskModules: TaskModule[] | undefined;
  loading: Promise<void> | undefined;
}

const state = sharedSlot<RegistryState>('registry', () => ({
  byName: new Map(),
  byFunction: new WeakMap(),
  taskModules: undefined,
  loading: undefined,
}));

const NAME_PATTERN = /^[^\s]{1,500}$/;

/**
 * Makes `fn` deferrable under `name` (default `fn.name`) and returns it.
 * Registering the same function again is harmless; another function under a
 * taken name is an error.
 */
export function register<F extends TaskFunction>(fn: F, name?: string): F {
  if (typeof fn !== 'function') {
    throw new TypeError(`register() needs a function, got ${describe(fn)}`);
  }
  const chosen = name ?? fn.name;
  if (name === undefined && (chosen === '' || chosen === 'anonymous')) {
    throw new TypeError(
      'register() got an anonymous function: give it a name, e.g. register(fn, "sendEmail"), ' +
        'or define it as a named function (function sendEmail() {} or const sendEmail = () => {}).',
    );
  }
  if (name === undefined && chosen.startsWith('bound ')) {
    throw new TypeError(
      `register() got a bound function (${chosen}): a task cannot carry its receiver. ` +
        'Register a module-level function (or a static method) and pass the data it needs as arguments.',
    );
  }
  if (typeof chosen !== 'string' || !NAME_PATTERN.test(chosen)) {
    throw new TypeError(`register(): invalid task function name ${JSON.stringify(chosen)} (1-500 characters, no whitespace).`);
  }
  const existing = state.byName.get(chosen);
  if (existing !== undefined && existing !== fn) {
    throw new Error(
      `register(): the name "${chosen}" is already taken by another function. ` +
        'Pass a distinct name as the second argument, e.g. register(fn, "billing.sendEmail").',
    );
  }
  state.byName.set(chosen, fn);
  if (!state.byFunction.has(fn)) state.byFunction.set(fn, chosen);
  return fn;
}

/**
 * Registers every function-valued own property of `module` (a module namespace,
 * an object of tasks, or a class for its static methods) as `prefix.key`.
 * Classes found among the properties contribute their static methods as
 * `prefix.Class.method`. Returns the module.
 */
export function registerModule<M extends object>(module: M, prefix?: string): M {
  if (module === null || (typeof module !== 'object' && typeof module !== 'function')) {
    throw new TypeError(`registerModule() needs a module object, got ${describe(module)}`);
  }
  const qualify = (key: string) => (prefix ? `${prefix}.${key}` : key);
  const isClassObject = isClass(module);
  for (const key of Object.getOwnPropertyNames(module)) {
    if (isClassObject && (key === 'prototype' || key === 'name' || key === 'length')) continue;
    const value = Object.getOwnPropertyDescriptor(module, key)?.value ?? (module as Record<string, unknown>)[key];
    if (typeof value !== 'function') continue;
    if (key === 'default' && state.byFunction.has(value as TaskFunction)) continue;
    if (isClass(value)) {
      registerModule(value, qualify(key));
      continue;
    }
    register(value as TaskFunction, qualify(key));
  }
  return module;
}

/** The registered name of `fn`, or undefined. */
export function nameOf(fn: unknown): string | undefined {
  return typeof fn === 'function' ? state.byFunction.get(fn as TaskFunction) : undefined;
}

/** The registered name of `fn`; throws `NotRegisteredError` (with what to do) otherwise. */
export function requireName(fn: unknown): string {
  if (typeof fn !== 'function') {
    throw new NotRegisteredError(`defer() needs a registered function as its first argument, got ${describe(fn)}.`);
  }
  const name = state.byFunction.get(fn as TaskFunction);
  if (name === undefined) {
    const label = fn.name ? `"${fn.name}"` : 'an anonymous function';
    throw new NotRegisteredError(
      `${label} is not registered for deferred execution. Call register(${fn.name || 'fn'}) where it is defined ` +
        '(a module-level function or a static method; closures, lambdas and bound methods cannot be deferred ' +
        'because a fresh process could not rebuild them).',
    );
  }
  return name;
}

/** The function registered under `name`, or undefined. */
export function lookup(name: string): TaskFunction | undefined {
  return state.byName.get(name);
}

/** Like `lookup`, but imports the configured task modules before declaring `name` unknown. */
export async function resolveTaskFunction(name: string): Promise<TaskFunction> {
  const found = state.byName.get(name);
  if (found !== undefined) return found;
  await loadTaskModules();
  const loaded = state.byName.get(name);
  if (loaded !== undefined) return loaded;
  throw new NotRegisteredError(
    `No function is registered under "${name}" in this process. Make sure the module that calls register() ` +
      'for it is imported at startup, or list it in configure({ taskModules }) / DEFERRED_TASK_MODULES.',
  );
}

/** Sets the modules to import on an unknown name (undefined: use DEFERRED_TASK_MODULES). */
export function setTaskModules(modules: TaskModule[] | undefined): void {
  state.taskModules = modules === undefined ? undefined : [...modules];
  state.loading = undefined;
}

/** Imports the task modules once; a failed import is retried on the next unknown name. */
export function loadTaskModules(): Promise<void> {
  const modules = state.taskModules ?? taskModulesFromEnv();
  if (modules.length === 0) return Promise.resolve();
  state.loading ??= Promise.all(modules.map(importTaskModule)).then(
    () => undefined,
    (error: unknown) => {
      state.loading = undefined;
      throw error;
    },
  );
  return state.loading;
}

/** Forgets every registration and task module (tests). */
export function clearRegistry(): void {
  state.byName.clear();
  state.byFunction = new WeakMap();
  state.taskModules = undefined;
  state.loading = undefined;
}

function taskModulesFromEnv(): string[] {
  return (process.env.DEFERRED_TASK_MODULES ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

// A Function-built import() stays a real dynamic import in the CommonJS build
// too (TypeScript would turn a literal import() into require()), so ESM task
// modules load from both builds.
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

/**
 * A loader is called; a string is a path relative to the cwd when it starts with
 * `.`, is absolute, or names an existing file (`dist/tasks.js`); otherwise it is
 * a URL or package specifier, imported as is.
 */
function importTaskModule(module: TaskModule): Promise<unknown> {
  if (typeof module === 'function') return module();
  const isPath = module.startsWith('.') || isAbsolute(module) || existsSync(resolve(module));
  return nativeImport(isPath ? pathToFileURL(resolve(module)).href : module);
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ? `an instance of ${(value as object).constructor.name}` : 'an object';
  return typeof value;
}
