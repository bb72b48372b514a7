// Typed values <-> JSON-safe trees. JSON values stay as they are; the other
// supported types become tagged objects `{ "$t": tag, "v": ... }`. A plain object
// that itself has a "$t" key is wrapped as `{ "$t": "obj", "v": {...} }`, so any
// data round-trips. Decoding never touches prototypes: every key, including
// `__proto__`, becomes an own data property.
import { PayloadDecodeError, UnserializableArgumentError } from '../api/errors.js';

export const TAG = '$t';
export const MAX_DEPTH = 256;
/** Digits of a BigInt (parsing a huge one is quadratic). */
const MAX_BIGINT_DIGITS = 10_000;

export type Encoded = null | boolean | number | string | Encoded[] | { [key: string]: Encoded };

/** Encodes one value; `label` names it in errors (e.g. "argument 2"). */
export function encodeValue(value: unknown, label = 'value'): Encoded {
  return encode(value, label, 0, new Set());
}

export function decodeValue(tree: unknown): unknown {
  return decode(tree, 0, '$');
}

function encode(value: unknown, path: string, depth: number, ancestors: Set<object>): Encoded {
  if (depth > MAX_DEPTH) throw refuse(path, `nests deeper than ${MAX_DEPTH} levels`);
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isNaN(value)) return { [TAG]: 'num', v: 'NaN' };
      if (value === Infinity) return { [TAG]: 'num', v: 'Infinity' };
      if (value === -Infinity) return { [TAG]: 'num', v: '-Infinity' };
      if (Object.is(value, -0)) return { [TAG]: 'num', v: '-0' };
      return value;
    case 'undefined':
      return { [TAG]: 'u' };
    case 'bigint':
      return { [TAG]: 'bigint', v: value.toString() };
    case 'function':
      throw refuse(path, `is a function (${value.name || 'anonymous'}); pass data, and register functions to defer them`);
    case 'symbol':
      throw refuse(path, `is a symbol (${value.toString()})`);
  }
  if (value === null) return null;
  const object = value as object;
  if (ancestors.has(object)) throw refuse(path, 'contains a circular reference');
  ancestors.add(object);
  try {
    return encodeObject(object, path, depth, ancestors);
  } finally {
    ancestors.delete(object);
  }
}

function encodeObject(object: object, path: string, depth: number, ancestors: Set<object>): Encoded {
  const next = depth + 1;
  if (Array.isArray(object)) {
    const out: Encoded[] = [];
    for (let i = 0; i < object.length; i += 1) out.push(encode(object[i], `${path}[${i}]`, next, ancestors));
    return out;
  }
  if (object instanceof Date) {
    const ms = object.getTime();
    return { [TAG]: 'date', v: Number.isNaN(ms) ? null : ms };
  }
  if (object instanceof Uint8Array && (Object.getPrototypeOf(object) === Uint8Array.prototype || Buffer.isBuffer(object))) {
    return { [TAG]: 'bytes', v: Buffer.from(object.buffer, object.byteOffset, object.byteLength).toString('base64') };
  }
  if (object instanceof Map && Object.getPrototypeOf(object) === Map.prototype) {
    let i = 0;
    const entries: Encoded[] = [];
    for (const [key, item] of object) {
      entries.push([encode(key, `${path}<key ${i}>`, next, ancestors), encode(item, `${path}.get(${describeKey(key)})`, next, ancestors)]);
      i += 1;
    }
    return { [TAG]: 'map', v: entries };
  }
  if (object instanceof Set && Object.getPrototypeOf(object) === Set.prototype) {
    let i = 0;
    const items: Encoded[] = [];
    for (const item of object) items.push(encode(item, `${path}<item ${i++}>`, next, ancestors));
    return { [TAG]: 'set', v: items };
  }
  const proto = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
    const what = ctor === Object ? 'an object with a custom prototype' : `an instance of ${ctor?.name || 'an unnamed class'}`;
    throw refuse(
      path,
      `is ${what}; only plain objects, arrays, Date, BigInt, Map, Set and Uint8Array/Buffer can be deferred ` +
        '(pass the data the task needs, e.g. an id or a plain object)',
    );
  }
  const symbols = Object.getOwnPropertySymbols(object).filter((s) => Object.prototype.propertyIsEnumerable.call(object, s));
  if (symbols.length > 0) throw refuse(path, `has a symbol key (${symbols[0]!.toString()})`);
  const out: Record<string, Encoded> = {};
  for (const key of Object.keys(object)) {
    define(out, key, encode((object as Record<string, unknown>)[key], `${path}.${key}`, next, ancestors));
  }
  return Object.prototype.hasOwnProperty.call(out, TAG) ? { [TAG]: 'obj', v: out } : out;
}

function decode(tree: unknown, depth: number, path: string): unknown {
  if (depth > MAX_DEPTH) throw new PayloadDecodeError(`payload nests deeper than ${MAX_DEPTH} levels (at ${path})`);
  if (tree === null || typeof tree === 'string' || typeof tree === 'boolean') return tree;
  if (typeof tree === 'number') return tree;
  if (typeof tree !== 'object') throw new PayloadDecodeError(`unexpected ${typeof tree} at ${path}`);
  const next = depth + 1;
  if (Array.isArray(tree)) return tree.map((item, i) => decode(item, next, `${path}[${i}]`));
  const record = tree as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(record, TAG)) return decodePlainObject(record, next, path);
  const tag = record[TAG];
  const v = record.v;
  switch (tag) {
    case 'u':
      return undefined;
    case 'num':
      if (v === 'NaN') return Number.NaN;
      if (v === 'Infinity') return Infinity;
      if (v === '-Infinity') return -Infinity;
      if (v === '-0') return -0;
      break;
    case 'bigint':
      if (typeof v === 'string' && v.length <= MAX_BIGINT_DIGITS && /^-?\d+$/.test(v)) return BigInt(v);
      break;
    case 'date':
      if (v === null) return new Date(Number.NaN);
      if (typeof v === 'number') return new Date(v);
      break;
    case 'bytes':
      if (typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v)) return Buffer.from(v, 'base64');
      break;
    case 'map':
      if (Array.isArray(v)) {
        const map = new Map<unknown, unknown>();
        v.forEach((entry: unknown, i) => {
          if (!Array.isArray(entry) || entry.length !== 2) throw new PayloadDecodeError(`bad map entry at ${path}<entry ${i}>`);
          map.set(decode(entry[0], next, `${path}<key ${i}>`), decode(entry[1], next, `${path}<value ${i}>`));
        });
        return map;
      }
      break;
    case 'set':
      if (Array.isArray(v)) return new Set(v.map((item: unknown, i) => decode(item, next, `${path}<item ${i}>`)));
      break;
    case 'obj':
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) return decodePlainObject(v as Record<string, unknown>, next, path);
      break;
    default:
      throw new PayloadDecodeError(`unknown type tag ${JSON.stringify(tag)} at ${path}`);
  }
  throw new PayloadDecodeError(`malformed ${String(tag)} value at ${path}`);
}

function decodePlainObject(record: Record<string, unknown>, depth: number, path: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) define(out, key, decode(record[key], depth, `${path}.${key}`));
  return out;
}

/** Copies plain JSON (the v0 envelope's arguments) with the same depth and `__proto__` safety. */
export function copyPlainJson(tree: unknown, depth = 0, path = '$'): unknown {
  if (depth > MAX_DEPTH) throw new PayloadDecodeError(`payload nests deeper than ${MAX_DEPTH} levels (at ${path})`);
  if (tree === null || typeof tree !== 'object') return tree;
  if (Array.isArray(tree)) return tree.map((item, i) => copyPlainJson(item, depth + 1, `${path}[${i}]`));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(tree)) define(out, key, copyPlainJson(value, depth + 1, `${path}.${key}`));
  return out;
}

/** An own, enumerable data property, even for `__proto__`. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function refuse(path: string, problem: string): UnserializableArgumentError {
  return new UnserializableArgumentError(`Cannot defer: ${path} ${problem}.`);
}

function describeKey(key: unknown): string {
  return typeof key === 'string' ? JSON.stringify(key) : typeof key === 'number' ? String(key) : typeof key;
}
