// Fuzz of the payload decoder: random bytes and structured mutations of valid
// envelopes go into `decodeEnvelope`, `run` and `Handler.post`. The only
// acceptable outcomes are a decoded envelope / a run of the registered probe, or
// the documented errors (PayloadDecodeError from the decoder, PermanentTaskFailure
// from `run`, 200 "PermanentTaskFailure" from the Handler). Any other exception,
// any other status, and any change to a built-in prototype fail the test.
// RELIABILITY_SEED=<n> replays a run; LONG=1 runs a hundred times more inputs.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadDecodeError, PermanentTaskFailure } from '../../shim/api/errors.js';
import { Handler } from '../../shim/api/handler.js';
import { register } from '../../shim/api/registry.js';
import { resetRuntime } from '../../shim/runtime/runtime.js';
import { decodeEnvelope, encodeCall, run } from '../../shim/serialization/envelope.js';
import { freshRuntime, taskEnviron } from '../shim/core/helpers.js';
import { scaled, suiteSeed } from './support/scale.js';

const RUNS = scaled(1_000, 100_000);
const seed = suiteSeed();
const probeCalls: unknown[][] = [];

/** Every built-in prototype a decoder could pollute, with its own keys before the run. */
const PROTOTYPES: Array<[string, object]> = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['Map.prototype', Map.prototype],
  ['Set.prototype', Set.prototype],
  ['Date.prototype', Date.prototype],
  ['Uint8Array.prototype', Uint8Array.prototype],
  ['Buffer.prototype', Buffer.prototype],
];
const keysBefore = new Map(PROTOTYPES.map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort()]));

function expectNoPollution(input: string): void {
  expect(({} as Record<string, unknown>).polluted, `Object.prototype polluted by ${input}`).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted, `Array.prototype polluted by ${input}`).toBeUndefined();
  for (const [name, proto] of PROTOTYPES) {
    expect(Reflect.ownKeys(proto).map(String).sort(), `${name} changed by ${input}`).toEqual(keysBefore.get(name));
  }
}

// --- Inputs -----------------------------------------------------------------

/** Values `defer` accepts: JSON plus the typed values of the codec. */
const argument: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 2 }),
    fc.date({ noInvalidDate: false }),
    fc.bigInt(),
    fc.constantFrom(undefined, Number.NaN, Infinity, -Infinity, -0),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('$t', 'v', '__proto__', 'constructor')), tie('value'), { maxKeys: 3 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 2 }).map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
  ),
})).value;

/** A valid v1 payload of `probe(...args)`. */
const validEnvelope = fc.array(argument, { maxLength: 4 }).map((args) => Buffer.from(encodeCall('probe', args)).toString('utf8'));

const parse = (text: string): unknown => JSON.parse(text);

/** Subtrees an attacker would plant. Built with JSON.parse so `__proto__` stays an own key. */
const hostileNode: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    parse('{"__proto__":{"polluted":"yes"}}'),
    parse('{"constructor":{"prototype":{"polluted":"yes"}}}'),
    parse('{"$t":"obj","v":{"__proto__":{"polluted":"yes"}}}'),
    parse('{"$t":"map","v":[["__proto__",{"polluted":"yes"}],[{"$t":"u"},1]]}'),
    parse('{"$t":"set","v":[{"__proto__":{"polluted":"yes"}}]}'),
    parse('{"prototype":{"polluted":"yes"},"__defineGetter__":1,"toString":2,"hasOwnProperty":3}'),
    { $t: 'bigint', v: '9'.repeat(20_000) },
    { $t: 'bigint', v: '12e3' },
    { $t: 'bytes', v: '!!not base64!!' },
    { $t: 'date', v: 'yesterday' },
    { $t: 'num', v: 'Infinityy' },
    { $t: 'map', v: [[1]] },
    { $t: 'map', v: 'entries' },
    { $t: 'obj', v: [1, 2] },
    { $t: '__proto__', v: 1 },
    { $t: 'constructor' },
    { $t: null },
    { $t: { $t: 'u' } },
  ),
  fc.record({ $t: fc.string({ maxLength: 8 }), v: fc.jsonValue({ maxDepth: 2 }) }),
  fc.integer({ min: 250, max: 600 }).map((depth) => nest(depth)),
);

function nest(depth: number): unknown {
  let tree: unknown = 0;
  for (let i = 0; i < depth; i += 1) tree = i % 2 === 0 ? [tree] : { k: tree };
  return tree;
}

/** Replaces a pseudo-randomly chosen subtree of `tree` with `replacement`. */
function plant(tree: unknown, replacement: unknown, pick: number): unknown {
  const slots: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number }> = [];
  const walk = (node: unknown) => {
    if (node === null || typeof node !== 'object') return;
    for (const key of Object.keys(node)) {
      slots.push({ holder: node as Record<string, unknown>, key });
      walk((node as Record<string, unknown>)[key]);
    }
  };
  walk(tree);
  if (slots.length === 0) return replacement;
  const { holder, key } = slots[pick % slots.length]!;
  Object.defineProperty(holder, key, { value: replacement, enumerable: true, writable: true, configurable: true });
  return tree;
}

/** Mutations of the top-level envelope fields. */
const envelopeMutation: fc.Arbitrary<(envelope: Record<string, unknown>) => void> = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }).map((v) => (e: Record<string, unknown>) => void (e.v = v)),
  fc
    .oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'probe ', 'PROBE', '', 'probe\u0000'), fc.string(), fc.jsonValue({ maxDepth: 1 }))
    .map((fn) => (e: Record<string, unknown>) => void (e.fn = fn)),
  fc.jsonValue({ maxDepth: 2 }).map((args) => (e: Record<string, unknown>) => void (e.args = args)),
  fc.oneof(fc.string(), fc.constant('__proto__'), fc.jsonValue({ maxDepth: 1 })).map((key) => (e: Record<string, unknown>) => void (e.overflow = key)),
  fc.constant((e: Record<string, unknown>) => void delete e.v),
  fc.constant((e: Record<string, unknown>) => void delete e.args),
);

/** Byte-level damage: truncation, flipped bytes, inserted garbage. */
function damage(text: string, kind: number, position: number, garbage: Uint8Array): Uint8Array {
  const bytes = Buffer.from(text);
  const at = bytes.length === 0 ? 0 : position % bytes.length;
  switch (kind % 3) {
    case 0:
      return bytes.subarray(0, at);
    case 1: {
      const copy = Buffer.from(bytes);
      if (copy.length > 0) copy[at] = copy[at]! ^ (garbage[0] ?? 0x5a);
      return copy;
    }
    default:
      return Buffer.concat([bytes.subarray(0, at), garbage, bytes.subarray(at)]);
  }
}

const payload: fc.Arbitrary<{ label: string; bytes: Uint8Array }> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }).map((bytes) => ({ label: 'random bytes', bytes })),
  fc.string({ unit: 'binary', maxLength: 128 }).map((text) => ({ label: 'random text', bytes: Buffer.from(text) })),
  validEnvelope.map((text) => ({ label: 'valid envelope', bytes: Buffer.from(text) })),
  fc
    .tuple(validEnvelope, hostileNode, fc.nat())
    .map(([text, node, pick]) => {
      const envelope = JSON.parse(text) as Record<string, unknown>;
      plant(envelope.args, node, pick);
      return { label: 'hostile subtree', bytes: Buffer.from(JSON.stringify(envelope)) };
    }),
  fc
    .tuple(validEnvelope, hostileNode, fc.nat())
    .map(([text, node, pick]) => {
      // The legacy v0 format: plain JSON arguments, no "v".
      const envelope = JSON.parse(text) as Record<string, unknown>;
      delete envelope.v;
      plant(envelope.args, node, pick);
      return { label: 'hostile v0 envelope', bytes: Buffer.from(JSON.stringify(envelope)) };
    }),
  fc.tuple(validEnvelope, fc.array(envelopeMutation, { minLength: 1, maxLength: 3 })).map(([text, mutations]) => {
    const envelope = JSON.parse(text) as Record<string, unknown>;
    for (const mutate of mutations) mutate(envelope);
    return { label: 'mutated envelope', bytes: Buffer.from(JSON.stringify(envelope) ?? '') };
  }),
  fc
    .tuple(validEnvelope, fc.nat(2), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 8 }))
    .map(([text, kind, position, garbage]) => ({ label: 'damaged envelope', bytes: damage(text, kind, position, garbage) })),
  fc.integer({ min: 300, max: 20_000 }).map((depth) => ({ label: `raw nesting ${depth}`, bytes: Buffer.from(`{"v":1,"fn":"probe","args":[${'['.repeat(depth)}${']'.repeat(depth)}]}`) })),
);

/** Runs `RUNS` inputs in chunks of different seeds, yielding to the event loop between them (the test runner talks to its worker meanwhile). */
async function assertInChunks<T>(arbitrary: fc.Arbitrary<T>, predicate: (value: T) => Promise<void> | void): Promise<void> {
  const chunk = Math.min(RUNS, 5_000);
  for (let done = 0, round = 0; done < RUNS; done += chunk, round += 1) {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => predicate(value)),
      { numRuns: Math.min(chunk, RUNS - done), seed: seed + round },
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const TIMEOUT_MS = scaled(60_000, 60 * 60_000);

const describeInput = (label: string, bytes: Uint8Array) => `${label}: ${Buffer.from(bytes).subarray(0, 200).toString('utf8')} (seed ${seed})`;

describe('payload decoder fuzz', () => {
  const handler = new Handler();
  const outcomes = { decoded: 0, refused: 0, ran: 0 };

  beforeAll(async () => {
    await freshRuntime({ logger: { debug() {}, info() {}, warn() {}, error() {} } });
    register(function probe(...args: unknown[]) {
      probeCalls.push(args);
    });
  });
  afterAll(async () => {
    await resetRuntime();
    console.log(`payload fuzz (seed ${seed}): ${RUNS} inputs per property; decoder ${outcomes.decoded} decoded / ${outcomes.refused} refused; handler ran the probe ${outcomes.ran} times`);
  });

  it('decodeEnvelope returns an envelope or throws PayloadDecodeError, nothing else', async () => {
    await assertInChunks(payload, ({ label, bytes }) => {
      try {
        decodeEnvelope(bytes);
        outcomes.decoded += 1;
      } catch (error) {
        outcomes.refused += 1;
        if (!(error instanceof PayloadDecodeError)) throw new Error(`${describeInput(label, bytes)} threw ${String(error)}`);
      }
      expectNoPollution(label);
    });
    // The generator must reach both sides of the decoder, or it tests nothing.
    expect(outcomes.decoded).toBeGreaterThan(0);
    expect(outcomes.refused).toBeGreaterThan(0);
  }, TIMEOUT_MS);

  it('run() runs the registered probe or rejects with PermanentTaskFailure, nothing else', async () => {
    await assertInChunks(payload, async ({ label, bytes }) => {
      const before = probeCalls.length;
      try {
        await run(bytes);
        expect(probeCalls.length, describeInput(label, bytes)).toBe(before + 1);
      } catch (error) {
        if (!(error instanceof PermanentTaskFailure)) throw new Error(`${describeInput(label, bytes)} rejected with ${String(error)}`);
        expect(probeCalls.length, describeInput(label, bytes)).toBe(before);
      }
      expectNoPollution(label);
    });
  }, TIMEOUT_MS);

  it('Handler.post answers 200 Success (probe ran once) or 200 PermanentTaskFailure (nothing ran)', async () => {
    await assertInChunks(payload, async ({ label, bytes }) => {
      const before = probeCalls.length;
      const [body, status] = await handler.post(taskEnviron(bytes));
      const where = describeInput(label, bytes);
      expect(status, where).toBe(200);
      expect(['Success', 'PermanentTaskFailure'], where).toContain(body);
      expect(probeCalls.length - before, where).toBe(body === 'Success' ? 1 : 0);
      if (body === 'Success') outcomes.ran += 1;
      for (const arg of probeCalls.at(-1) ?? []) expect(hasOnlyPlainPrototypes(arg), where).toBe(true);
      expectNoPollution(label);
    });
    expect(outcomes.ran).toBeGreaterThan(0);
  }, TIMEOUT_MS);
});

/** Decoded arguments are built from plain prototypes only: no `__proto__` key became a real prototype. */
function hasOnlyPlainPrototypes(value: unknown, seen = new Set<unknown>()): boolean {
  if (value === null || typeof value !== 'object' || seen.has(value)) return true;
  seen.add(value);
  const proto = Object.getPrototypeOf(value);
  const allowed = [Object.prototype, Array.prototype, Map.prototype, Set.prototype, Date.prototype, Buffer.prototype];
  if (!allowed.includes(proto)) return false;
  if (value instanceof Map) return [...value].every(([k, v]) => hasOnlyPlainPrototypes(k, seen) && hasOnlyPlainPrototypes(v, seen));
  if (value instanceof Set) return [...value].every((item) => hasOnlyPlainPrototypes(item, seen));
  return Object.keys(value).every((key) => hasOnlyPlainPrototypes((value as Record<string, unknown>)[key], seen));
}
