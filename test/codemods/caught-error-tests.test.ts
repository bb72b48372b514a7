// The legacy error classes the legacy-error-text check knows, against the classes
// the shim really has: a name the shim has is not reported, so the table must not
// claim a class the shim lacks (nor miss one it gained).
import { describe, expect, it } from 'vitest';
import * as shimErrors from '../../shim/api/errors.js';
import * as shim from '../../shim/index.js';
import { LEGACY_ERROR_CLASSES } from '../../codemods/analysis/legacy-errors.js';

const shimClasses = new Set(
  Object.entries(shimErrors)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
    .map(([name]) => name),
);

describe('LEGACY_ERROR_CLASSES', () => {
  it('says "the shim has it" exactly for the legacy names the shim has a class of', () => {
    for (const [legacy, instead] of LEGACY_ERROR_CLASSES) {
      expect({ legacy, shimHasIt: shimClasses.has(legacy) }).toEqual({ legacy, shimHasIt: instead === legacy });
    }
  });

  it('suggests only classes the shim has, and exports those a catch can import', () => {
    for (const [legacy, instead] of LEGACY_ERROR_CLASSES) {
      if (instead === undefined) continue;
      expect({ legacy, instead, known: shimClasses.has(instead) }).toEqual({ legacy, instead, known: true });
      // A legacy class the shim has keeps its name there, and a migrated catch can import it
      // (TaskTooLargeError aside: the shim stores large payloads instead of throwing it).
      if (instead === legacy && legacy !== 'TaskTooLargeError') expect(Object.keys(shim)).toContain(legacy);
    }
  });

  it("names each shim class after itself (error.name is the class name)", () => {
    for (const name of shimClasses) {
      const cls = (shimErrors as unknown as Record<string, new (...args: never[]) => Error>)[name]!;
      expect(cls.name).toBe(name);
    }
    expect(new shimErrors.InvalidEtaError('x').name).toBe('InvalidEtaError');
    expect(new shimErrors.TaskAlreadyExistsError('n', 'q').name).toBe('TaskAlreadyExistsError');
  });
});
