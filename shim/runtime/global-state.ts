// The one process-wide state object. It lives on globalThis under a registered
// symbol so that the ESM and CommonJS builds of the shim, both loaded in one
// process, share one registry and one runtime.

const KEY = Symbol.for('deferred-migrate.runtime');

/** Slots filled by the modules that own them (registry, runtime). */
export interface SharedState {
  [slot: string]: unknown;
}

export function sharedState(): SharedState {
  const holder = globalThis as unknown as Record<symbol, SharedState | undefined>;
  return (holder[KEY] ??= {});
}

/** The slot `name`, created by `init` on first use. */
export function sharedSlot<T>(name: string, init: () => T): T {
  const state = sharedState();
  if (!(name in state)) state[name] = init();
  return state[name] as T;
}
