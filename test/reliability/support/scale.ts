// The reliability suites run short by default (npm test) and long with LONG=1
// (npm run test:long). Every count and duration of these suites goes through here.
export const LONG = process.env.LONG === '1';

/** `short` in the default suite, `long` under LONG=1. */
export function scaled<T>(short: T, long: T): T {
  return LONG ? long : short;
}

/** A seed for fast-check and the kill planners: RELIABILITY_SEED=<n> replays a run. */
export function suiteSeed(): number {
  const given = process.env.RELIABILITY_SEED;
  return given !== undefined && given !== '' ? Number(given) : Date.now() % 2 ** 31;
}
