import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadDecodeError, UnserializableArgumentError } from '../../../shim/api/errors.js';
import { decodeValue, encodeValue, MAX_DEPTH, TAG } from '../../../shim/serialization/codec.js';

/** Through JSON text, as on the queue. */
function roundTrip(value: unknown): unknown {
  return decodeValue(JSON.parse(JSON.stringify(encodeValue(value))));
}

describe('codec round trips', () => {
  it('keeps every supported type', () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const value = {
      json: { s: 'é✓', n: 1.5, b: true, nil: null, list: [1, 'two', [3]] },
      undef: undefined,
      date: new Date(Date.UTC(2024, 1, 29, 12)),
      invalidDate: new Date(Number.NaN),
      big: -(2n ** 100n),
      map: new Map<unknown, unknown>([[1, 'one'], [{ k: 1 }, new Set([1n])]]),
      set: new Set(['a', undefined]),
      bytes,
      buffer: Buffer.from('hi'),
      numbers: [Number.NaN, Infinity, -Infinity, -0, 0],
      sparse: [1, undefined, 3],
    };
    const back = roundTrip(value) as typeof value;
    // Uint8Array comes back as a Buffer (a Uint8Array subclass), as documented.
    expect(back).toEqual({ ...value, bytes: Buffer.from(bytes) });
    expect(Object.is((back.numbers as number[])[3], -0)).toBe(true);
    expect(Object.is((back.numbers as number[])[4], 0)).toBe(true);
    expect('undef' in back).toBe(true);
    expect(Buffer.isBuffer(back.bytes)).toBe(true);
    expect([...back.bytes]).toEqual([0, 1, 254, 255]);
    expect(back.date).toBeInstanceOf(Date);
    expect(Number.isNaN(back.invalidDate.getTime())).toBe(true);
  });

  it('round-trips objects whose keys collide with the tag key', () => {
    const value = { [TAG]: 'date', v: 1, nested: { [TAG]: 'u' }, list: [{ [TAG]: 'obj', v: {} }] };
    expect(roundTrip(value)).toEqual(value);
  });

  it('round-trips arbitrary JSON-like values (property)', () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.date(),
      fc.uint8Array().map((a) => Buffer.from(a)),
    );
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(TAG, 'v', '__proto__', 'constructor')), tie('node'), { maxKeys: 4 }),
        fc.array(tie('node'), { maxLength: 3 }).map((items) => new Set(items)),
        fc.array(fc.tuple(leaf, tie('node')), { maxLength: 3 }).map((entries) => new Map(entries)),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (value) => {
        expect(roundTrip(value)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('codec refusals at encode time', () => {
  it.each([
    ['a function', [1, () => 0], /argument 2 is a function/],
    ['a symbol', [Symbol('s')], /argument 1 is a symbol/],
    ['a class instance', [{ when: new (class Payment {})() }], /argument 1\.when is an instance of Payment/],
    ['a RegExp', [[/x/]], /argument 1\[0\] is an instance of RegExp/],
    ['a Promise', [Promise.resolve()], /argument 1 is an instance of Promise/],
    ['a typed array other than Uint8Array', [new Float32Array(1)], /instance of Float32Array/],
  ])('refuses %s, naming the argument and the type', (_label, args, message) => {
    const run = () => (args as unknown[]).forEach((arg, i) => encodeValue(arg, `argument ${i + 1}`));
    expect(run).toThrow(UnserializableArgumentError);
    expect(run).toThrow(message);
  });

  it('refuses cycles but accepts shared references', () => {
    const shared = { a: 1 };
    expect(roundTrip({ x: shared, y: shared })).toEqual({ x: { a: 1 }, y: { a: 1 } });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeValue(cyclic, 'argument 1')).toThrow(/argument 1\.self contains a circular reference/);
  });

  it('refuses values nested deeper than the limit', () => {
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DEPTH + 2; i++) deep = [deep];
    expect(() => encodeValue(deep)).toThrow(/deeper than 256/);
  });
});

describe('codec decoding is safe', () => {
  it('turns __proto__, constructor and prototype keys into own data, polluting nothing', () => {
    const tree = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":1}');
    const value = decodeValue(tree) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(value).sort()).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ polluted: true });
    expect(value.polluted).toBeUndefined();
  });

  it('gives a decode error, not a crash, for hostile nesting', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => decodeValue(JSON.parse(deep))).toThrow(PayloadDecodeError);
  });

  it.each([
    [{ [TAG]: 'nope' }, /unknown type tag "nope"/],
    [{ [TAG]: 'bigint', v: '1'.repeat(10_001) }, /malformed bigint/],
    [{ [TAG]: 'bigint', v: '12a' }, /malformed bigint/],
    [{ [TAG]: 'date', v: 'yesterday' }, /malformed date/],
    [{ [TAG]: 'bytes', v: '***' }, /malformed bytes/],
    [{ [TAG]: 'map', v: [[1]] }, /bad map entry/],
    [{ [TAG]: 'num', v: 'Pi' }, /malformed num/],
    [{ [TAG]: 'obj', v: [] }, /malformed obj/],
  ])('refuses the malformed tag %j', (tree, message) => {
    expect(() => decodeValue(tree)).toThrow(PayloadDecodeError);
    expect(() => decodeValue(tree)).toThrow(message);
  });
});
