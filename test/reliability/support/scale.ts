// The reliability suites run short by default (npm test) and long with LONG=1
// (npm run test:long). Every count and duration of these suites goes through here.
export const LONG = process.env.LONG === '1';

/** `short` in the default suite, `long` under LONG=1. */
export function scaled<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** The default suite's seed: the same inputs on every run, so a CI failure is a change, not a new draw. */
const FIXED_SEED = 20_261_126;

/**
 * A seed for fast-check and the kill planners: RELIABILITY_SEED=<n> replays a run;
 * RELIABILITY_SEED=random (and LONG=1 unless a seed is given) draws a new one.
 * Suites print the seed they used.
 */
export function suiteSeed(): number {
  return seedFrom(process.env.RELIABILITY_SEED);
}

export function seedFrom(given: string | undefined): number {
  const unset = given === undefined || given === '';
  if (given === 'random' || (unset && LONG)) return Date.now() % 2 ** 31;
  if (unset) return FIXED_SEED;
  const seed = Number(given);
  if (!Number.isInteger(seed)) throw new Error(`seed must be an integer or "random", got ${JSON.stringify(given)}`);
  return seed;
}
