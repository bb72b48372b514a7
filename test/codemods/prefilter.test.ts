// The prefilter's compiled needle lists must find exactly what a plain substring
// search finds, whatever regular expression they are compiled to.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { containsAny, HOST_APP_NEEDLES } from '../../codemods/analysis/prefilter.js';
import { createMatchers, prefilterNeedles } from '../../codemods/analysis/specifiers.js';

const LISTS: Record<string, readonly string[]> = {
  host: HOST_APP_NEEDLES,
  legacy: prefilterNeedles(createMatchers(['./vendor/deferred.js'], ['@acme/webapp'])),
  'one needle': ['TaskHandler'],
  'shared last character, with regex syntax': ['a.(', '[b](', '*c('],
};

/** Texts built from pieces of the needles, so near-misses are common. */
function texts(needles: readonly string[]): fc.Arbitrary<string> {
  const pieces = needles.flatMap((n) => [n, n.slice(1), n.slice(0, -1), n.slice(0, Math.ceil(n.length / 2))]);
  return fc.array(fc.oneof(fc.constantFrom(...pieces, ' ', '(', '\n', 'new ', 'x'), fc.string({ maxLength: 3 })), { maxLength: 12 }).map((parts) => parts.join(''));
}

describe('prefilter needles', () => {
  for (const [name, needles] of Object.entries(LISTS)) {
    it(`${name}: containsAny agrees with a plain substring search`, () => {
      fc.assert(
        fc.property(texts(needles), (text) => {
          expect(containsAny(text, needles)).toBe(needles.some((n) => text.includes(n)));
        }),
        { numRuns: 2000 },
      );
    });
  }
});
